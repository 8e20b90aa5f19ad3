//! The ledger of activations: every activation simrelay answered SUCCESS for, by id.
//!
//! Written only by the NumberActor that owns the activation's number (so each record has one
//! writer); read by the edges for FINISH lookups and the admin API. Sharded so that readers on
//! the HTTP workers rarely meet the engine thread on a lock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::domain::{ActivationId, ActivationRecord, ActivationState, Msisdn};

const SHARDS: usize = 32;
/// How many recent activations per number are remembered for matching late SMS.
const RECENT_PER_NUMBER: usize = 16;

/// All activations, by id.
pub(crate) struct Ledger {
    shards: Vec<Mutex<HashMap<ActivationId, ActivationRecord>>>,
    /// Per number, its most recent activation ids (oldest first).
    by_number: Vec<Mutex<HashMap<Msisdn, Vec<ActivationId>>>>,
    active: AtomicUsize,
}

impl Ledger {
    pub(crate) fn new() -> Ledger {
        Ledger {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            by_number: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            active: AtomicUsize::new(0),
        }
    }

    fn shard(&self, id: ActivationId) -> &Mutex<HashMap<ActivationId, ActivationRecord>> {
        &self.shards[(id.get() % SHARDS as u64) as usize]
    }

    /// A copy of one activation.
    pub(crate) fn get(&self, id: ActivationId) -> Option<ActivationRecord> {
        self.shard(id).lock().get(&id).cloned()
    }

    /// Inserts or replaces a record, keeping the active count true.
    pub(crate) fn put(&self, record: ActivationRecord) {
        {
            let mut numbers = self.by_number[(record.number.get() % SHARDS as u64) as usize].lock();
            let recent = numbers.entry(record.number).or_default();
            if !recent.contains(&record.id) {
                recent.push(record.id);
                recent.sort_unstable();
                if recent.len() > RECENT_PER_NUMBER {
                    recent.remove(0);
                }
            }
        }
        let now_active = record.state == ActivationState::Active;
        let before = self.shard(record.id).lock().insert(record.id, record);
        let was_active = before.is_some_and(|r| r.state == ActivationState::Active);
        match (was_active, now_active) {
            (false, true) => {
                self.active.fetch_add(1, Ordering::Relaxed);
            }
            (true, false) => {
                self.active.fetch_sub(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    /// Drops activations closed before `horizon`; answers how many.
    pub(crate) fn prune(&self, horizon: chrono::DateTime<chrono::Utc>) -> usize {
        let mut dropped = 0;
        for shard in &self.shards {
            let mut shard = shard.lock();
            let before = shard.len();
            shard.retain(|_, r| {
                r.state == ActivationState::Active
                    || r.expired_at
                        .or(r.finished_at)
                        .is_none_or(|closed| closed >= horizon)
            });
            dropped += before - shard.len();
        }
        dropped
    }

    /// The number's most recent activation ids.
    pub(crate) fn recent_of(&self, number: Msisdn) -> Vec<ActivationId> {
        self.by_number[(number.get() % SHARDS as u64) as usize]
            .lock()
            .get(&number)
            .cloned()
            .unwrap_or_default()
    }

    /// How many activations are active.
    pub(crate) fn active(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }

    /// The newest `limit` activations (highest ids first), optionally in one state.
    pub(crate) fn newest(
        &self,
        state: Option<ActivationState>,
        limit: usize,
    ) -> Vec<ActivationRecord> {
        let mut out: Vec<ActivationRecord> = Vec::new();
        for shard in &self.shards {
            let shard = shard.lock();
            out.extend(
                shard
                    .values()
                    .filter(|r| state.is_none_or(|s| r.state == s))
                    .cloned(),
            );
        }
        out.sort_unstable_by_key(|r| std::cmp::Reverse(r.id));
        out.truncate(limit);
        out
    }
}
