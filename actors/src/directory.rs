//! The directory of numbers: where each number's state lives and which actor, if any, owns it.
//!
//! NumberActors are virtual: a number has a live actor only while something is happening to it
//! (an activation, a message being handled). An idle number is a plain [`NumberState`] in this
//! directory, a few dozen bytes, which is what lets a million SIMs fit in memory. Activation and
//! retirement swap the entry under the shard lock, so at most one live actor owns a number and
//! only that actor writes its state.

use actix::ArbiterHandle;
use parking_lot::Mutex;

use crate::domain::Msisdn;
use crate::fast::FastMap;
use crate::number_state::NumberState;

const SHARDS: usize = 64;

/// Idle state is boxed: the map's buckets (half of them empty right after a resize) then hold
/// a pointer, not a whole record.
enum Entry<A> {
    Idle(Box<NumberState>),
    /// Its actor, and whether the number is configured (to restore it if the actor dies).
    Live(A, bool),
    /// Its actor died without handing its state back (a handler panicked): the number stays
    /// known and off sale while its last durable state is read back from the store.
    Lost {
        pinned: bool,
        restoring: bool,
    },
}

/// Why a number has no actor to talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    /// simrelay does not know the number.
    Unknown,
    /// Its state is being restored from the store; `restore: Some(pinned)` asks the caller to
    /// start reading it back (nobody is doing so yet).
    Lost {
        /// Start a restore of a number configured (`true`) or not.
        restore: Option<bool>,
    },
}

/// What the directory needs of a live actor's handle: whether the actor still runs.
pub(crate) trait Handle: Clone {
    /// The actor still runs (it has not stopped or died).
    fn alive(&self) -> bool;
}

/// Every known number: its state when idle, its actor's handle `A` when live. Generic over the
/// handle so that the directory knows nothing of the actor it holds.
pub(crate) struct Directory<A> {
    shards: Vec<Mutex<FastMap<Msisdn, Entry<A>>>>,
    arbiter: ArbiterHandle,
}

/// What the admin API sees of a number: its state if idle, or that its actor must be asked.
pub(crate) enum Peek {
    Idle(NumberState),
    Live,
}

impl<A: Handle> Directory<A> {
    /// A directory whose actors run on `arbiter`.
    pub(crate) fn new(arbiter: ArbiterHandle) -> Directory<A> {
        Directory {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(FastMap::default()))
                .collect(),
            arbiter,
        }
    }

    /// The arbiter the numbers' actors run on.
    pub(crate) fn arbiter(&self) -> &ArbiterHandle {
        &self.arbiter
    }

    fn shard(&self, number: Msisdn) -> &Mutex<FastMap<Msisdn, Entry<A>>> {
        &self.shards[(number.get() % SHARDS as u64) as usize]
    }

    /// Adds a number that is not known yet; false if it is.
    pub(crate) fn insert(&self, state: NumberState) -> bool {
        let mut shard = self.shard(state.number()).lock();
        if shard.contains_key(&state.number()) {
            return false;
        }
        shard.insert(state.number(), Entry::Idle(Box::new(state)));
        true
    }

    /// The live actor of a number, activating one with `spawn` if the number is idle.
    pub(crate) fn actor(
        &self,
        number: Msisdn,
        spawn: impl FnOnce(NumberState) -> A,
    ) -> Result<A, Missing> {
        let mut shard = self.shard(number).lock();
        match shard.remove(&number).ok_or(Missing::Unknown)? {
            Entry::Live(addr, pinned) if addr.alive() => {
                shard.insert(number, Entry::Live(addr.clone(), pinned));
                Ok(addr)
            }
            Entry::Live(_, pinned) => {
                // An actor only stops after retiring, which replaces its entry: this one died
                // with the number's state. Never forget the number (a gateway report would
                // recreate it blank): keep it known, off sale, and read it back from the store.
                tracing::error!(%number, "number actor stopped without handing its state back; the number is off sale until its state is restored from the store");
                shard.insert(
                    number,
                    Entry::Lost {
                        pinned,
                        restoring: true,
                    },
                );
                Err(Missing::Lost {
                    restore: Some(pinned),
                })
            }
            Entry::Lost { pinned, restoring } => {
                // Any request for it (an operator's too) tries the store again.
                shard.insert(
                    number,
                    Entry::Lost {
                        pinned,
                        restoring: true,
                    },
                );
                Err(Missing::Lost {
                    restore: (!restoring).then_some(pinned),
                })
            }
            Entry::Idle(state) => {
                let pinned = state.pinned;
                let addr = spawn(*state);
                shard.insert(number, Entry::Live(addr.clone(), pinned));
                Ok(addr)
            }
        }
    }

    /// Puts a lost number's state back; false if the number is not lost (any more).
    pub(crate) fn restore_state(&self, state: NumberState) -> bool {
        let mut shard = self.shard(state.number()).lock();
        match shard.get(&state.number()) {
            Some(Entry::Lost { .. }) => {
                shard.insert(state.number(), Entry::Idle(Box::new(state)));
                true
            }
            _ => false,
        }
    }

    /// Marks a lost number as waiting for an operator (no restore in progress).
    pub(crate) fn restore_failed(&self, number: Msisdn) {
        if let Some(Entry::Lost { restoring, .. }) = self.shard(number).lock().get_mut(&number) {
            *restoring = false;
        }
    }

    /// Takes back the state of a retiring actor.
    pub(crate) fn retire(&self, state: NumberState) {
        let mut shard = self.shard(state.number()).lock();
        shard.insert(state.number(), Entry::Idle(Box::new(state)));
    }

    /// Makes room for `additional` more numbers at once (recovery), instead of growing the
    /// shards step by step.
    pub(crate) fn reserve(&self, additional: usize) {
        let per_shard = additional / SHARDS + 1;
        for shard in &self.shards {
            shard.lock().reserve(per_shard);
        }
    }

    /// Looks at a number without activating it: `None` if unknown, `Some(None)` if its actor is
    /// live (only the actor may be asked), `Some(Some(f(state)))` if it is idle.
    pub(crate) fn peek<T>(
        &self,
        number: Msisdn,
        f: impl FnOnce(&NumberState) -> T,
    ) -> Option<Option<T>> {
        match self.shard(number).lock().get(&number)? {
            Entry::Idle(state) => Some(Some(f(state))),
            Entry::Live(..) | Entry::Lost { .. } => Some(None),
        }
    }

    /// Whether a number is known.
    pub(crate) fn contains(&self, number: Msisdn) -> bool {
        self.shard(number).lock().contains_key(&number)
    }

    /// How many numbers are known.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }

    /// Every number, for the admin API, in number order.
    pub(crate) fn peek_all(&self) -> Vec<(Msisdn, Peek)> {
        let mut out = Vec::new();
        for shard in &self.shards {
            for (number, entry) in shard.lock().iter() {
                let peek = match entry {
                    Entry::Idle(state) => Peek::Idle(NumberState::clone(state)),
                    Entry::Live(..) => Peek::Live,
                    // Being restored: listed once it is back.
                    Entry::Lost { .. } => continue,
                };
                out.push((*number, peek));
            }
        }
        out.sort_unstable_by_key(|(n, _)| *n);
        out
    }
}
