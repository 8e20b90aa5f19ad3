//! The Store port: how the engine makes its state durable.
//!
//! Deliberately narrow: apply a batch of record upserts atomically, load everything at start,
//! and hand out ids. The SMS outbox is part of it: an SMS record is written before the gateway
//! is answered, and its delivery state (pending, delivered, failed) is written as it changes.
//! The engine never acknowledges a transition (a reservation, a FINISH effect, a block) before
//! `apply` has returned `Ok`. [`MemoryStore`] (here) serves tests, benches and the quick start;
//! the Redis store for production lives in the server crate (`src/store/`).

mod memory;

pub use memory::MemoryStore;

use std::ops::Range;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::domain::{
    ActivationId, ActivationRecord, BankName, CountryName, Msisdn, OperatorName, ServiceName,
    SmsRecord,
};

/// The persisted state of one SIM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimRecord {
    /// The SIM's number.
    pub number: Msisdn,
    /// The country it is sold under.
    pub country: CountryName,
    /// Its operator, when known.
    pub operator: Option<OperatorName>,
    /// Where it sits in the SIM bank, when known.
    pub port: Option<String>,
    /// Whether it is in a port now.
    pub online: bool,
    /// Blocked by an operator of simrelay: never issued.
    pub blocked: bool,
    /// The activation it is busy with.
    pub active: Option<ActivationId>,
    /// Services it must never be offered for again (FINISH 3 or 1).
    pub used: Vec<ServiceName>,
    /// Cancelled activations (FINISH 4) per service.
    pub cancels: Vec<(ServiceName, u8)>,
    /// The most recent activation on this number (active or closed): an SMS received after
    /// it closed belongs to no activation.
    #[serde(default)]
    pub last_activation: Option<ActivationId>,
    /// MCC-MNC of the SIM, when the SIM bank reports it (v2 lists it as `operator`).
    #[serde(default)]
    pub mcc_mnc: Option<String>,
    /// Offered for rent on v2.
    #[serde(default)]
    pub rent: bool,
    /// When it last came online (v2 `date_start`).
    #[serde(default)]
    pub online_since: Option<chrono::DateTime<chrono::Utc>>,
    /// The SIM bank it belongs to (records written before banks existed: `default`, the bank
    /// of the unscoped gateway requests that reported them).
    #[serde(default)]
    pub bank: BankName,
}

/// One upsert in a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Change {
    /// Write the whole SIM record.
    Sim(SimRecord),
    /// Write the whole activation record.
    Activation(ActivationRecord),
    /// Write the whole SMS record (its delivery state included: the outbox is the set of
    /// pending SMS).
    Sms(SmsRecord),
    /// Write a small named value (e.g. the v2 number ids).
    Meta {
        /// Name.
        key: String,
        /// Value (JSON text).
        value: String,
    },
}

/// Everything the store holds, for recovery at start.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Every SIM ever seen.
    pub sims: Vec<SimRecord>,
    /// Every activation kept.
    pub activations: Vec<ActivationRecord>,
    /// Every SMS kept, pending ones (the outbox) included.
    pub sms: Vec<SmsRecord>,
    /// Named values.
    pub meta: Vec<(String, String)>,
}

/// A store failure; the engine answers ERROR / NO_NUMBERS rather than acknowledge.
#[derive(Debug, Clone, thiserror::Error)]
#[error("store unavailable: {0}")]
pub struct StoreError(pub String);

/// Whether this process may write to the store: with one store shared by several processes
/// (an active/standby pair on one Redis), only the holder of the deployment's lease may.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// It holds the lease (or the store has no lease): it may write.
    Leader,
    /// Another process holds the lease (its id, when known); this one waits to take over.
    Standby(Option<String>),
    /// It held the lease and lost it: its memory may be stale, it must never write again. A
    /// restart makes it a standby.
    Deposed,
}

/// The durability port.
pub trait Store: Send + Sync + 'static {
    /// Applies every change of the batch, all or nothing.
    fn apply(&self, batch: Vec<Change>) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Loads everything at start.
    fn load(&self) -> BoxFuture<'static, Result<Snapshot, StoreError>>;

    /// Reserves `count` fresh activation ids: never handed out before, never handed out again.
    fn allocate_ids(&self, count: u64) -> BoxFuture<'static, Result<Range<u64>, StoreError>>;

    /// One SIM's record, to restore a number whose actor died. `None` when the store does not
    /// keep it (the default).
    fn sim(&self, _number: Msisdn) -> BoxFuture<'static, Result<Option<SimRecord>, StoreError>> {
        Box::pin(futures::future::ready(Ok(None)))
    }

    /// Moves closed activations and settled SMS out of the hot state (what [`Store::load`]
    /// reads) into the archive, all or nothing. Archived activations stay findable by
    /// [`Store::activation`] until the archive drops them. The default keeps everything hot.
    fn archive(
        &self,
        _activations: Vec<ActivationRecord>,
        _sms: Vec<SmsRecord>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        Box::pin(futures::future::ready(Ok(())))
    }

    /// One activation, hot or archived, for FINISH repeats and admin lookups of activations no
    /// longer kept in memory. `None` when the store keeps nothing beyond what it loads (the
    /// default).
    fn activation(
        &self,
        _id: ActivationId,
    ) -> BoxFuture<'static, Result<Option<ActivationRecord>, StoreError>> {
        Box::pin(futures::future::ready(Ok(None)))
    }

    /// Why the store cannot take writes right now (its last contact failed), or `None` when it
    /// can. Drives readiness and zero stock.
    fn down_reason(&self) -> Option<String> {
        None
    }

    /// Whether this process may write (see [`Role`]); a store without a lease always may.
    fn role(&self) -> Role {
        Role::Leader
    }

    /// Resolves once this process holds the lease.
    fn until_leader(&self) -> BoxFuture<'static, ()> {
        Box::pin(futures::future::ready(()))
    }

    /// Resolves when this process lost the lease for good.
    fn deposed(&self) -> BoxFuture<'static, ()> {
        Box::pin(futures::future::pending())
    }

    /// Gives the lease up (a graceful stop), so a standby takes over at once; writes are
    /// refused from then on.
    fn release(&self) -> BoxFuture<'static, ()> {
        Box::pin(futures::future::ready(()))
    }
}
