//! The directory of numbers: where each number's state lives and which actor, if any, owns it.
//!
//! NumberActors are virtual: a number has a live actor only while something is happening to it
//! (an activation, a message being handled). An idle number is a plain [`NumberState`] in this
//! directory, a few dozen bytes, which is what lets a million SIMs fit in memory. Activation and
//! retirement swap the entry under the shard lock, so at most one live actor owns a number and
//! only that actor writes its state.

use crate::fast::FastMap;
use std::sync::Arc;

use actix::{Actor, Addr, ArbiterHandle};
use parking_lot::Mutex;

use crate::domain::Msisdn;
use crate::number::{NumberActor, NumberState};
use crate::shared::Shared;

const SHARDS: usize = 64;

/// Idle state is boxed: the map's buckets (half of them empty right after a resize) then hold
/// a pointer, not a whole record.
enum Entry {
    Idle(Box<NumberState>),
    /// Its actor, and whether the number is configured (to restore it if the actor dies).
    Live(Addr<NumberActor>, bool),
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
    /// Its state is being restored from the store.
    Lost,
}

/// Every known number: its state when idle, its actor when live.
pub(crate) struct Directory {
    shards: Vec<Mutex<FastMap<Msisdn, Entry>>>,
    arbiter: ArbiterHandle,
}

/// What the admin API sees of a number: its state if idle, or that its actor must be asked.
pub(crate) enum Peek {
    Idle(NumberState),
    Live,
}

impl Directory {
    /// A directory whose actors run on `arbiter`.
    pub(crate) fn new(arbiter: ArbiterHandle) -> Directory {
        Directory {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(FastMap::default()))
                .collect(),
            arbiter,
        }
    }

    fn shard(&self, number: Msisdn) -> &Mutex<FastMap<Msisdn, Entry>> {
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

    /// The live actor of a number, activating one if the number is idle.
    pub(crate) fn actor(
        &self,
        number: Msisdn,
        shared: &Arc<Shared>,
    ) -> Result<Addr<NumberActor>, Missing> {
        let mut shard = self.shard(number).lock();
        match shard.remove(&number).ok_or(Missing::Unknown)? {
            Entry::Live(addr, pinned) if addr.connected() => {
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
                drop(shard);
                shared.index.lock().take_off_sale(number);
                actix::spawn(restore(Arc::clone(shared), number, pinned));
                Err(Missing::Lost)
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
                if !restoring {
                    actix::spawn(restore(Arc::clone(shared), number, pinned));
                }
                Err(Missing::Lost)
            }
            Entry::Idle(state) => {
                let pinned = state.pinned;
                let shared = Arc::clone(shared);
                let addr = NumberActor::start_in_arbiter(&self.arbiter, move |_| {
                    NumberActor::new(*state, shared)
                });
                shard.insert(number, Entry::Live(addr.clone(), pinned));
                Ok(addr)
            }
        }
    }

    /// Puts a lost number's state back; false if the number is not lost (any more).
    fn restore_state(&self, state: NumberState) -> bool {
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
    fn restore_failed(&self, number: Msisdn) {
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

/// Reads a lost number's last durable state back from the store and lists it again; retried
/// with back-off while the store is unreachable. A number the store does not know stays off
/// sale until an operator acts (any request for it tries again).
async fn restore(shared: Arc<Shared>, number: Msisdn, pinned: bool) {
    let mut wait = std::time::Duration::from_secs(1);
    for _ in 0..8 {
        match shared.store.sim(number).await {
            Ok(Some(record)) => {
                let state = NumberState { record, pinned };
                let facts = state.facts(shared.settings.max_cancels);
                if shared.directory.restore_state(state) {
                    shared.index.lock().update(number, facts);
                    tracing::warn!(%number, "number restored from its last durable state");
                }
                return;
            }
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(%number, error = %e, "cannot read the number's state back yet");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(std::time::Duration::from_secs(30));
            }
        }
    }
    tracing::error!(%number, "the number's state could not be restored; it stays off sale until an operator acts");
    shared.directory.restore_failed(number);
}
