//! The directory of numbers: where each number's state lives and which actor, if any, owns it.
//!
//! NumberActors are virtual: a number has a live actor only while something is happening to it
//! (an activation, a message being handled). An idle number is a plain [`NumberState`] in this
//! directory, a few dozen bytes, which is what lets a million SIMs fit in memory. Activation and
//! retirement swap the entry under the shard lock, so at most one live actor owns a number and
//! only that actor writes its state.

use std::collections::HashMap;
use std::sync::Arc;

use actix::{Actor, Addr, ArbiterHandle};
use parking_lot::Mutex;

use crate::domain::Msisdn;
use crate::engine::Shared;
use crate::number::{NumberActor, NumberState};

const SHARDS: usize = 64;

/// Idle state is boxed: the map's buckets (half of them empty right after a resize) then hold
/// a pointer, not a whole record.
enum Entry {
    Idle(Box<NumberState>),
    Live(Addr<NumberActor>),
}

/// Every known number: its state when idle, its actor when live.
pub(crate) struct Directory {
    shards: Vec<Mutex<HashMap<Msisdn, Entry>>>,
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
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            arbiter,
        }
    }

    fn shard(&self, number: Msisdn) -> &Mutex<HashMap<Msisdn, Entry>> {
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

    /// The live actor of a number, activating one if the number is idle; `None` for unknown
    /// numbers.
    pub(crate) fn actor(&self, number: Msisdn, shared: &Arc<Shared>) -> Option<Addr<NumberActor>> {
        let mut shard = self.shard(number).lock();
        match shard.remove(&number)? {
            Entry::Live(addr) if addr.connected() => {
                shard.insert(number, Entry::Live(addr.clone()));
                Some(addr)
            }
            Entry::Live(_) => {
                // An actor only stops after retiring, which replaces its entry; a dead Live
                // entry would mean lost state, so say so loudly and keep the number unusable.
                tracing::error!(%number, "number actor stopped without retiring");
                None
            }
            Entry::Idle(state) => {
                let shared = Arc::clone(shared);
                let addr = NumberActor::start_in_arbiter(&self.arbiter, move |_| {
                    NumberActor::new(*state, shared)
                });
                shard.insert(number, Entry::Live(addr.clone()));
                Some(addr)
            }
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
            Entry::Live(_) => Some(None),
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
                out.push((
                    *number,
                    match entry {
                        Entry::Idle(state) => Peek::Idle(NumberState::clone(state)),
                        Entry::Live(_) => Peek::Live,
                    },
                ));
            }
        }
        out.sort_unstable_by_key(|(n, _)| *n);
        out
    }
}
