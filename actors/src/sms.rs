//! The SMS ledger: every SMS simrelay accepted, with the indexes intake needs to recognise a
//! repeat (the gateway's id, or the same sender and text within a short window).
//!
//! Records are created by the receiving number's actor (so intake of one number is serial and
//! de-duplication race-free) and their delivery state is written by the outbox task that owns
//! the delivery in flight.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeDelta, Utc};
use parking_lot::Mutex;

use crate::domain::{ActivationId, Msisdn, SmsId, SmsRecord, SmsState};

/// Identifies the parts of one long SMS: receiving number, sender, concatenation reference.
type PartsKey = (Msisdn, String, String);

/// How many recent (number, sender, text) keys are kept before old ones are pruned.
const RECENT_PRUNE_AT: usize = 100_000;
/// How far back those keys are kept when they are pruned.
const RECENT_KEPT: std::time::Duration = std::time::Duration::from_secs(3600);

#[derive(Default)]
struct Inner {
    by_id: BTreeMap<SmsId, SmsRecord>,
    by_gateway_id: HashMap<(Msisdn, String), SmsId>,
    recent: HashMap<(Msisdn, String, String), (DateTime<Utc>, SmsId)>,
    by_activation: HashMap<ActivationId, Vec<SmsId>>,
    /// The long SMS of each (number, sender, reference), oldest first.
    by_parts: HashMap<PartsKey, Vec<SmsId>>,
    /// Kept up to date on every put, so metrics never scan the ledger.
    per_state: HashMap<SmsState, u64>,
    pending: std::collections::BTreeSet<(DateTime<Utc>, SmsId)>,
    /// What happened to SMS in this process (never decreases; see [`SmsEvents`]).
    events: SmsEvents,
}

/// What happened to SMS since this process started, for counters that only grow (unlike
/// [`SmsCounts`], which shrink when old records leave memory for the archive).
///
/// Each event is counted once, when it happens in this process: a record's first put is one SMS
/// received (the parts of a long SMS make one record); a record entering `Held`, `Unmatched`,
/// `Delivered` or `Failed` from another state is one such event. Records read back at recovery
/// count nothing (they happened before); a redelivered SMS that fails again is a second failure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SmsEvents {
    /// SMS accepted from the gateway.
    pub received: u64,
    /// SMS held by our-side filtering.
    pub held: u64,
    /// SMS with no activation to deliver to.
    pub unmatched: u64,
    /// SMS the platform confirmed, per platform name.
    pub delivered: BTreeMap<String, u64>,
    /// SMS given up on (the platform refused for good, or the attempt cap), per platform name.
    pub failed: BTreeMap<String, u64>,
}

impl SmsEvents {
    fn record(&mut self, old: Option<SmsState>, record: &SmsRecord) {
        if old.is_none() {
            self.received += 1;
        }
        if old == Some(record.state) {
            return;
        }
        let platform = || {
            record
                .platform
                .as_ref()
                .map_or_else(String::new, |p| p.as_str().to_owned())
        };
        match record.state {
            SmsState::Held => self.held += 1,
            SmsState::Unmatched => self.unmatched += 1,
            SmsState::Delivered => *self.delivered.entry(platform()).or_default() += 1,
            SmsState::Failed => *self.failed.entry(platform()).or_default() += 1,
            SmsState::Pending | SmsState::Assembling => {}
        }
    }
}

/// Counts per delivery state, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SmsCounts {
    /// Every SMS accepted.
    pub received: u64,
    /// Confirmed by the platform.
    pub delivered: u64,
    /// Refused for good.
    pub failed: u64,
    /// Held by our-side filtering.
    pub held: u64,
    /// No activation to deliver to.
    pub unmatched: u64,
    /// Waiting for delivery (the outbox depth).
    pub pending: u64,
    /// Parts of long SMS waiting for the rest.
    pub assembling: u64,
    /// When the oldest pending SMS was accepted.
    pub oldest_pending: Option<DateTime<Utc>>,
}

/// See the module documentation.
#[derive(Default)]
pub(crate) struct SmsLedger {
    inner: Mutex<Inner>,
}

impl SmsLedger {
    /// A copy of one SMS.
    pub(crate) fn get(&self, id: SmsId) -> Option<SmsRecord> {
        self.inner.lock().by_id.get(&id).cloned()
    }

    /// Inserts or replaces a record and its indexes, counting what happened to it
    /// ([`SmsEvents`]).
    pub(crate) fn put(&self, record: SmsRecord) {
        self.insert(record, true);
    }

    /// Puts a record read back from the store at recovery: nothing happened to it now, so
    /// no event is counted.
    pub(crate) fn restore(&self, record: SmsRecord) {
        self.insert(record, false);
    }

    /// What happened to SMS in this process.
    pub(crate) fn events(&self) -> SmsEvents {
        self.inner.lock().events.clone()
    }

    fn insert(&self, record: SmsRecord, counted: bool) {
        let mut inner = self.inner.lock();
        if counted {
            let old = inner.by_id.get(&record.id).map(|r| r.state);
            inner.events.record(old, &record);
        }
        if let Some(gid) = &record.gateway_id {
            inner
                .by_gateway_id
                .insert((record.number, gid.clone()), record.id);
        }
        match &record.multipart {
            Some(multipart) => {
                for gid in multipart
                    .received
                    .iter()
                    .filter_map(|p| p.gateway_id.as_ref())
                {
                    inner
                        .by_gateway_id
                        .insert((record.number, gid.clone()), record.id);
                }
                let key = parts_key(&record, &multipart.reference);
                let ids = inner.by_parts.entry(key).or_default();
                if let Err(at) = ids.binary_search(&record.id) {
                    ids.insert(at, record.id);
                }
            }
            // A whole SMS: the same sender and text again soon after is the same SMS.
            None => {
                let key = (record.number, record.from.clone(), record.text.clone());
                let newer = inner
                    .recent
                    .get(&key)
                    .is_none_or(|(at, _)| *at <= record.received_at);
                if newer {
                    inner.recent.insert(key, (record.received_at, record.id));
                }
            }
        }
        if let Some(a) = record.activation_id {
            let list = inner.by_activation.entry(a).or_default();
            if !list.contains(&record.id) {
                list.push(record.id);
            }
        }
        if inner.recent.len() > RECENT_PRUNE_AT {
            let horizon = crate::clock::earlier(record.received_at, RECENT_KEPT);
            inner.recent.retain(|_, (at, _)| *at >= horizon);
        }
        if let Some(old) = inner
            .by_id
            .get(&record.id)
            .map(|r| (r.state, r.accepted_at))
        {
            if let Some(n) = inner.per_state.get_mut(&old.0) {
                *n = n.saturating_sub(1);
            }
            inner.pending.remove(&(old.1, record.id));
        }
        *inner.per_state.entry(record.state).or_default() += 1;
        if record.state == SmsState::Pending {
            inner.pending.insert((record.accepted_at, record.id));
        }
        inner.by_id.insert(record.id, record);
    }

    /// Settled SMS (not pending, not waiting for parts) accepted before `horizon`, at most
    /// `limit`: what leaves the hot state for the archive.
    pub(crate) fn settled_before(&self, horizon: DateTime<Utc>, limit: usize) -> Vec<SmsRecord> {
        self.inner
            .lock()
            .by_id
            .values()
            .filter(|r| {
                !matches!(r.state, SmsState::Pending | SmsState::Assembling)
                    && r.accepted_at < horizon
            })
            .take(limit)
            .cloned()
            .collect()
    }

    /// Drops archived SMS from memory, with their indexes and counts.
    pub(crate) fn forget(&self, ids: &[SmsId]) {
        let mut inner = self.inner.lock();
        for id in ids {
            let Some(r) = inner.by_id.remove(id) else {
                continue;
            };
            if let Some(n) = inner.per_state.get_mut(&r.state) {
                *n = n.saturating_sub(1);
            }
            if let Some(gid) = &r.gateway_id {
                inner.by_gateway_id.remove(&(r.number, gid.clone()));
            }
            if let Some(multipart) = &r.multipart {
                for gid in multipart
                    .received
                    .iter()
                    .filter_map(|p| p.gateway_id.as_ref())
                {
                    inner.by_gateway_id.remove(&(r.number, gid.clone()));
                }
                let key = parts_key(&r, &multipart.reference);
                if let Some(ids) = inner.by_parts.get_mut(&key) {
                    ids.retain(|i| *i != r.id);
                    if ids.is_empty() {
                        inner.by_parts.remove(&key);
                    }
                }
            }
            if let Some(a) = r.activation_id {
                if let Some(list) = inner.by_activation.get_mut(&a) {
                    list.retain(|i| *i != r.id);
                    if list.is_empty() {
                        inner.by_activation.remove(&a);
                    }
                }
            }
        }
    }

    /// The SMS a gateway already posted under this id for this number.
    pub(crate) fn by_gateway_id(&self, number: Msisdn, gateway_id: &str) -> Option<SmsId> {
        self.inner
            .lock()
            .by_gateway_id
            .get(&(number, gateway_id.to_owned()))
            .copied()
    }

    /// The long SMS with these parts' number, sender and reference, oldest first.
    pub(crate) fn by_parts(&self, number: Msisdn, from: &str, reference: &str) -> Vec<SmsRecord> {
        let inner = self.inner.lock();
        inner
            .by_parts
            .get(&(number, from.to_owned(), reference.to_owned()))
            .into_iter()
            .flatten()
            .filter_map(|id| inner.by_id.get(id).cloned())
            .collect()
    }

    /// An SMS with the same number, sender and text received within `window` of `received_at`.
    pub(crate) fn recent_twin(
        &self,
        number: Msisdn,
        from: &str,
        text: &str,
        received_at: DateTime<Utc>,
        window: TimeDelta,
    ) -> Option<SmsId> {
        let inner = self.inner.lock();
        let (at, id) = inner
            .recent
            .get(&(number, from.to_owned(), text.to_owned()))?;
        (received_at.signed_duration_since(*at).abs() <= window).then_some(*id)
    }

    /// The SMS of one activation, oldest first.
    pub(crate) fn of_activation(&self, id: ActivationId) -> Vec<SmsRecord> {
        let inner = self.inner.lock();
        inner
            .by_activation
            .get(&id)
            .map(|ids| {
                ids.iter()
                    .filter_map(|i| inner.by_id.get(i).cloned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The newest `limit` SMS, optionally in one state.
    pub(crate) fn newest(&self, state: Option<SmsState>, limit: usize) -> Vec<SmsRecord> {
        self.inner
            .lock()
            .by_id
            .values()
            .rev()
            .filter(|r| state.is_none_or(|s| r.state == s))
            .take(limit)
            .cloned()
            .collect()
    }

    /// Counts per state.
    pub(crate) fn counts(&self) -> SmsCounts {
        let inner = self.inner.lock();
        let of = |s: SmsState| inner.per_state.get(&s).copied().unwrap_or(0);
        SmsCounts {
            received: inner.by_id.len() as u64,
            delivered: of(SmsState::Delivered),
            failed: of(SmsState::Failed),
            held: of(SmsState::Held),
            unmatched: of(SmsState::Unmatched),
            pending: of(SmsState::Pending),
            assembling: of(SmsState::Assembling),
            oldest_pending: inner.pending.first().map(|(at, _)| *at),
        }
    }
}

fn parts_key(record: &SmsRecord, reference: &str) -> PartsKey {
    (record.number, record.from.clone(), reference.to_owned())
}
