//! Recovery at start: rebuild the directory, the ledger, the availability index and the expiry
//! deadlines from the store's snapshot, merged with the configured SIMs.
//!
//! Everything is computed first and written (repairs and config changes) before anything is
//! installed, so a store failure halfway leaves the engine empty and the caller may simply try
//! again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use crate::banks;
use crate::contract::SimSpec;
use crate::domain::{ActivationId, ActivationRecord, ActivationState, BankName, Msisdn, SmsState};
use crate::error::EngineError;
use crate::fast::{FastMap, FastSet};
use crate::number::NumberState;
use crate::shared::Shared;
use crate::store::{Change, SimRecord};

/// The layout of the records this engine writes.
pub const SCHEMA_VERSION: u32 = 1;
/// The meta key that holds it.
pub const SCHEMA_KEY: &str = "schema_version";

/// What recovery found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryReport {
    /// SIMs known after recovery (stored and configured).
    pub sims: usize,
    /// Activations loaded.
    pub activations: usize,
    /// Activations still active (their numbers busy, their expiry re-armed).
    pub active: usize,
    /// How long it took, in milliseconds.
    pub millis: u128,
}

pub(crate) async fn recover(
    shared: &Arc<Shared>,
    configured: Vec<SimSpec>,
) -> Result<RecoveryReport, EngineError> {
    let started = Instant::now();
    let snapshot = shared.store.load().await?;
    tracing::info!(
        sims = snapshot.sims.len(),
        activations = snapshot.activations.len(),
        millis = started.elapsed().as_millis() as u64,
        "store snapshot loaded"
    );
    let now = shared.clock.now();
    let mut changes = Vec::new();

    // The store's layout: written at the first start; a newer one than this engine knows is
    // refused (it could misread it), an older one is migrated (what serde's defaults fill in).
    let version = snapshot
        .meta
        .iter()
        .find(|(key, _)| key == SCHEMA_KEY)
        .map(|(_, value)| value.trim().parse::<u32>());
    match version {
        Some(Ok(v)) if v > SCHEMA_VERSION => {
            return Err(EngineError::Schema(format!(
                "the store's schema version is {v}, newer than this simrelay understands \
                 ({SCHEMA_VERSION}): run the simrelay that wrote it, or a newer one"
            )))
        }
        Some(Err(e)) => {
            return Err(EngineError::Schema(format!(
                "the store's schema version is unreadable ({e}): meta key {SCHEMA_KEY}"
            )))
        }
        Some(Ok(v)) if v == SCHEMA_VERSION => {}
        _ => {
            tracing::info!(version = SCHEMA_VERSION, "store schema version written");
            changes.push(Change::Meta {
                key: SCHEMA_KEY.to_owned(),
                value: SCHEMA_VERSION.to_string(),
            });
        }
    }

    // Which numbers are busy: the active activations say so. Two active activations on one
    // number cannot come from simrelay's atomic writes; should a store ever hold them, the
    // newest stays and the older ones are closed as expired.
    let mut activations: FastMap<ActivationId, ActivationRecord> = snapshot
        .activations
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let mut active_ids: Vec<ActivationId> = activations
        .values()
        .filter(|a| a.state == ActivationState::Active)
        .map(|a| a.id)
        .collect();
    active_ids.sort_unstable();
    let mut busy: FastMap<Msisdn, ActivationId> = FastMap::default();
    for id in active_ids {
        let number = activations[&id].number;
        if let Some(older) = busy.insert(number, id) {
            tracing::error!(%number, older = %older, newer = %id,
                "two active activations on one number in the store; closing the older as expired");
            if let Some(a) = activations.get_mut(&older) {
                a.state = ActivationState::Expired;
                a.expired_at = Some(now);
                changes.push(Change::Activation(a.clone()));
            }
        }
    }

    // Configured SIMs are always online; what they say wins over what was stored.
    let mut configured: FastMap<Msisdn, SimSpec> = configured
        .into_iter()
        .map(|spec| (spec.number, spec))
        .collect();
    let mut states: Vec<NumberState> = Vec::with_capacity(snapshot.sims.len() + configured.len());
    // Each record was read with its own copy of its bank's name: share one per bank.
    let mut bank_names: FastSet<BankName> = FastSet::default();
    // One record per number, the last one read winning: HSCAN may return a field twice (the
    // hash was rehashed between two calls), and the configured SIMs below must meet the copy
    // that is installed. A stable sort keeps the order of reading among equal numbers.
    let mut sims = snapshot.sims;
    sims.sort_by_key(|r| r.number);
    let mut unique: Vec<SimRecord> = Vec::with_capacity(sims.len());
    for record in sims {
        match unique.last_mut() {
            Some(last) if last.number == record.number => *last = record,
            _ => unique.push(record),
        }
    }
    for mut record in unique {
        match bank_names.get(&record.bank) {
            Some(shared_name) => record.bank = shared_name.clone(),
            None => {
                bank_names.insert(record.bank.clone());
            }
        }
        let active = busy.get(&record.number).copied();
        let mut state = NumberState {
            record,
            pinned: false,
        };
        match configured.remove(&state.record.number) {
            Some(spec) => {
                let stale = state.record.active != active;
                state.record.active = active;
                pin(&mut state, spec, now, &mut changes, stale);
            }
            None if state.record.active != active => {
                state.record.active = active;
                changes.push(Change::Sim(state.record.clone()));
            }
            None => {}
        }
        states.push(state);
    }
    for (number, spec) in configured {
        let mut state = NumberState {
            record: SimRecord {
                number,
                country: spec.country.clone(),
                operator: spec.operator.clone(),
                port: spec.port.clone(),
                online: false,
                blocked: false,
                active: busy.get(&number).copied(),
                used: Vec::new(),
                cancels: Vec::new(),
                last_activation: None,
                mcc_mnc: spec.mcc_mnc.clone(),
                rent: spec.rent.unwrap_or(false),
                online_since: None,
                bank: spec.bank.clone().unwrap_or_default(),
            },
            pinned: true,
        };
        pin(&mut state, spec, now, &mut changes, true);
        states.push(state);
    }
    // In the order of the numbers (the configured SIMs the store did not know come last): the
    // index's ordered sets then grow at their end instead of at random places.
    states.sort_unstable_by_key(NumberState::number);
    let known: FastSet<Msisdn> = busy
        .keys()
        .filter(|n| states.binary_search_by_key(*n, NumberState::number).is_ok())
        .copied()
        .collect();
    for (number, id) in &busy {
        if !known.contains(number) {
            tracing::error!(%number, activation_id = %id, "active activation for a number the store does not know");
        }
    }
    // Bank presence: what was persisted, and for a bank with SIMs online but no presence yet
    // (stored before banks existed) a fresh start, so it has one TTL to report.
    let (presence, meta): (Vec<_>, Vec<_>) = snapshot
        .meta
        .into_iter()
        .partition(|(key, _)| key.starts_with(banks::META_PREFIX));
    let mut found: HashMap<BankName, banks::Presence> = HashMap::new();
    for (key, value) in presence {
        let name = BankName::parse(&key[banks::META_PREFIX.len()..]);
        match (name, serde_json::from_str::<banks::Presence>(&value)) {
            (Ok(name), Ok(p)) => {
                found.insert(name, p);
            }
            _ => tracing::error!(key, "unreadable bank presence in the store; ignored"),
        }
    }
    let mut unseen: Vec<BankName> = states
        .iter()
        .filter(|s| !s.pinned && s.record.online && !found.contains_key(&s.record.bank))
        .map(|s| s.record.bank.clone())
        .collect();
    unseen.sort_unstable();
    unseen.dedup();
    for bank in unseen {
        changes.push(banks::bank_presence(&bank, now));
        found.insert(bank, banks::Presence { last_seen: now });
    }
    if !changes.is_empty() {
        shared.store.apply(changes).await?;
    }

    // Install.
    let grace = shared.settings.expiry_grace;
    let report = RecoveryReport {
        sims: states.len(),
        activations: activations.len(),
        active: busy.len(),
        millis: 0,
    };
    for activation in activations.into_values() {
        if activation.state == ActivationState::Active {
            if let (Some(at), Some(grace)) = (activation.expires_at, grace) {
                shared.expiry.arm(
                    &*shared.clock,
                    crate::clock::later(at, grace),
                    activation.id,
                );
            }
        }
        shared.ledger.put(activation);
    }
    {
        let max_cancels = shared.settings.max_cancels;
        shared.directory.reserve(states.len());
        // A bank that no SIM belongs to (a typo, a retired bank) is forgotten.
        let with_sims: std::collections::HashSet<&BankName> =
            states.iter().map(|s| &s.record.bank).collect();
        let found: Vec<(BankName, banks::Presence)> = found
            .into_iter()
            .filter(|(bank, _)| with_sims.contains(bank))
            .collect();
        // The banks' lock before the index's, as everywhere.
        let silent = shared.banks.recover(found, now);
        let mut index = shared.index.lock();
        index.reserve(states.len());
        for bank in silent {
            tracing::warn!(%bank, "SIM bank silent since before the restart; its SIMs stay off sale until it reports");
            index.set_bank_silent(&bank, true);
        }
        for state in states {
            index.update(state.number(), state.facts(max_cancels));
            shared.directory.insert(state);
        }
    }
    shared.meta.lock().extend(meta);
    let mut in_flight = 0u64;
    for sms in snapshot.sms {
        if sms.state == SmsState::Pending {
            in_flight += u64::from(sms.in_flight);
            shared
                .outbox
                .schedule(sms.next_attempt_at.unwrap_or(now), sms.id);
        }
        if let (SmsState::Assembling, Some(m)) = (sms.state, &sms.multipart) {
            // The gateway could not post the missing parts while simrelay was down: they get a
            // whole wait from now.
            let wait_until = m
                .wait_until
                .max(crate::clock::later(now, shared.settings.multipart_wait));
            shared.seals.arm(wait_until, sms.id);
        }
        shared.sms.restore(sms);
    }
    if in_flight > 0 {
        tracing::warn!(
            in_flight,
            "SMS were mid-delivery when simrelay stopped; the platform may see each once more"
        );
        shared
            .possible_repeats
            .fetch_add(in_flight, std::sync::atomic::Ordering::Relaxed);
    }
    let report = RecoveryReport {
        millis: started.elapsed().as_millis(),
        ..report
    };
    tracing::info!(
        sims = report.sims,
        activations = report.activations,
        active = report.active,
        millis = report.millis as u64,
        "recovery done"
    );
    Ok(report)
}

/// Applies a configured SIM's description to its state: configured SIMs are pinned and always
/// online. Records the change if anything changed or `changed` says it already did.
fn pin(
    state: &mut NumberState,
    spec: SimSpec,
    now: chrono::DateTime<chrono::Utc>,
    changes: &mut Vec<Change>,
    changed: bool,
) {
    let before = (!changed).then(|| state.record.clone());
    state.pinned = true;
    state.record.country = spec.country;
    state.record.operator = spec.operator;
    state.record.port = spec.port;
    state.record.mcc_mnc = spec.mcc_mnc;
    if let Some(bank) = spec.bank {
        state.record.bank = bank;
    }
    if let Some(rent) = spec.rent {
        state.record.rent = rent;
    }
    if !state.record.online || state.record.online_since.is_none() {
        state.record.online_since = Some(now);
    }
    state.record.online = true;
    if before.as_ref() != Some(&state.record) {
        changes.push(Change::Sim(state.record.clone()));
    }
}
