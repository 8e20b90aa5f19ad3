//! The ledger of activations: every activation simrelay answered SUCCESS for, by id.
//!
//! Written only by the NumberActor that owns the activation's number (so each record has one
//! writer); read by the edges for FINISH lookups and the admin API. Sharded so that readers on
//! the HTTP workers rarely meet the engine thread on a lock.

use std::collections::BTreeSet;

use crate::fast::FastMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use crate::domain::{ActivationId, ActivationRecord, ActivationState, Msisdn};

const SHARDS: usize = 32;
/// How many recent activations per number are remembered for matching late SMS.
const RECENT_PER_NUMBER: usize = 16;

/// All activations, by id.
pub(crate) struct Ledger {
    shards: Vec<Mutex<FastMap<ActivationId, ActivationRecord>>>,
    /// Per number, its most recent activation ids (oldest first).
    by_number: Vec<Mutex<FastMap<Msisdn, Vec<ActivationId>>>>,
    active: AtomicUsize,
    /// The active activations that have an `expires_at`, split by whether it has passed.
    overdue: Mutex<Overdue>,
}

/// Active activations with an `expires_at` (not rent), in two sets: `expires_at` still ahead,
/// and passed (overdue). Looking at the overdue ones moves only the entries whose side changed
/// since the last look, so counting them never scans the other activations.
#[derive(Default)]
struct Overdue {
    ahead: BTreeSet<(DateTime<Utc>, ActivationId)>,
    passed: BTreeSet<(DateTime<Utc>, ActivationId)>,
}

impl Overdue {
    fn insert(&mut self, at: DateTime<Utc>, id: ActivationId) {
        if !self.passed.contains(&(at, id)) {
            self.ahead.insert((at, id));
        }
    }

    fn remove(&mut self, at: DateTime<Utc>, id: ActivationId) {
        self.ahead.remove(&(at, id));
        self.passed.remove(&(at, id));
    }

    /// Brings the split up to `now` (which may lie before the last look: a wall clock stepped
    /// back makes activations not overdue again).
    fn refresh(&mut self, now: DateTime<Utc>) {
        while let Some(entry) = self.ahead.first().copied().filter(|(at, _)| *at <= now) {
            self.ahead.pop_first();
            self.passed.insert(entry);
        }
        while let Some(entry) = self.passed.last().copied().filter(|(at, _)| *at > now) {
            self.passed.pop_last();
            self.ahead.insert(entry);
        }
    }
}

impl Ledger {
    pub(crate) fn new() -> Ledger {
        Ledger {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(FastMap::default()))
                .collect(),
            by_number: (0..SHARDS)
                .map(|_| Mutex::new(FastMap::default()))
                .collect(),
            active: AtomicUsize::new(0),
            overdue: Mutex::new(Overdue::default()),
        }
    }

    fn shard(&self, id: ActivationId) -> &Mutex<FastMap<ActivationId, ActivationRecord>> {
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
        let (id, expires_at) = (record.id, record.expires_at);
        let before = self.shard(record.id).lock().insert(record.id, record);
        let was_active = before
            .as_ref()
            .is_some_and(|r| r.state == ActivationState::Active);
        // Only the actor of the activation's number puts it, so puts of one id never race.
        let old_expiry = before.and_then(|r| r.expires_at).filter(|_| was_active);
        let new_expiry = expires_at.filter(|_| now_active);
        if old_expiry != new_expiry {
            let mut overdue = self.overdue.lock();
            if let Some(at) = old_expiry {
                overdue.remove(at, id);
            }
            if let Some(at) = new_expiry {
                overdue.insert(at, id);
            }
        }
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

    /// Closed activations (finished or expired) closed before `horizon`, at most `limit`: what
    /// leaves the hot state for the archive.
    pub(crate) fn closed_before(
        &self,
        horizon: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Vec<ActivationRecord> {
        let mut out = Vec::new();
        for shard in &self.shards {
            let shard = shard.lock();
            out.extend(
                shard
                    .values()
                    .filter(|r| {
                        r.state != ActivationState::Active
                            && r.expired_at
                                .or(r.finished_at)
                                .is_some_and(|closed| closed < horizon)
                    })
                    .take(limit.saturating_sub(out.len()))
                    .cloned(),
            );
            if out.len() >= limit {
                break;
            }
        }
        out
    }

    /// Drops archived activations from memory (the closed ones among `ids`: one that became
    /// active again meanwhile cannot, ids are never reused).
    pub(crate) fn forget(&self, ids: &[ActivationId]) {
        for id in ids {
            let mut shard = self.shard(*id).lock();
            if shard
                .get(id)
                .is_some_and(|r| r.state != ActivationState::Active)
            {
                shard.remove(id);
            }
        }
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

    /// How many active activations are past their `expires_at` at `now`.
    pub(crate) fn overdue_count(&self, now: DateTime<Utc>) -> usize {
        let mut overdue = self.overdue.lock();
        overdue.refresh(now);
        overdue.passed.len()
    }

    /// The newest `limit` active activations past their `expires_at` at `now` (highest ids
    /// first).
    pub(crate) fn overdue(&self, now: DateTime<Utc>, limit: usize) -> Vec<ActivationRecord> {
        let mut ids: Vec<ActivationId> = {
            let mut overdue = self.overdue.lock();
            overdue.refresh(now);
            overdue.passed.iter().map(|(_, id)| *id).collect()
        };
        ids.sort_unstable_by_key(|id| std::cmp::Reverse(*id));
        ids.into_iter()
            .filter_map(|id| self.get(id))
            .filter(|r| r.state == ActivationState::Active)
            .take(limit)
            .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CountryName, PlatformName, ServiceName};
    use chrono::{TimeDelta, TimeZone};

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    fn record(id: u64, service: &str, state: ActivationState) -> ActivationRecord {
        let service = ServiceName::parse(service).unwrap();
        ActivationRecord {
            id: ActivationId::new(id).unwrap(),
            platform: PlatformName::onlinesim(),
            number: Msisdn::parse(&format!("7928000000{id}")).unwrap(),
            expires_at: (!service.is_rent()).then(|| start() + TimeDelta::minutes(15)),
            service,
            country: CountryName::parse("russia").unwrap(),
            operator: None,
            sum: 1.0,
            created_at: start(),
            state,
            finish_status: None,
            finish_sum: None,
            finished_at: None,
            expired_at: None,
        }
    }

    fn ids(records: Vec<ActivationRecord>) -> Vec<u64> {
        records.into_iter().map(|r| r.id.get()).collect()
    }

    #[test]
    fn overdue_are_the_active_activations_past_expires_at() {
        let ledger = Ledger::new();
        ledger.put(record(1, "vk", ActivationState::Active));
        ledger.put(record(2, "vk", ActivationState::Active));
        ledger.put(record(3, "rent", ActivationState::Active));
        ledger.put(record(4, "vk", ActivationState::Finished));
        let at = start() + TimeDelta::minutes(15);
        assert_eq!(ledger.overdue_count(at - TimeDelta::seconds(1)), 0);
        assert_eq!(ledger.overdue_count(at), 2);
        assert_eq!(ids(ledger.overdue(at, 10)), vec![2, 1]);
        assert_eq!(ids(ledger.overdue(at, 1)), vec![2]);

        // Closing one takes it out; putting an active one again counts it once.
        ledger.put(record(2, "vk", ActivationState::Expired));
        ledger.put(record(1, "vk", ActivationState::Active));
        assert_eq!(ledger.overdue_count(at), 1);
        assert_eq!(ids(ledger.overdue(at, 10)), vec![1]);

        // A wall clock stepped back: not overdue any more, and again once it passes.
        assert_eq!(ledger.overdue_count(start()), 0);
        assert_eq!(ledger.overdue_count(at + TimeDelta::days(365)), 1);
        ledger.put(record(1, "vk", ActivationState::Finished));
        assert_eq!(ledger.overdue_count(at + TimeDelta::days(365)), 0);
        assert_eq!(ledger.active(), 1);
    }
}
