//! The in-memory store: for the quick start and tests. State is lost when the process ends.

use std::collections::HashMap;
use std::ops::Range;

use super::{Change, SimRecord, Snapshot, Store, StoreError};
use crate::domain::{ActivationId, ActivationRecord, Msisdn, SmsId, SmsRecord};
use futures::future::{self, BoxFuture};
use parking_lot::Mutex;

#[derive(Default)]
struct Inner {
    /// Boxed so that the map's buckets stay small (a million SIMs).
    sims: HashMap<Msisdn, Box<SimRecord>>,
    activations: HashMap<ActivationId, ActivationRecord>,
    sms: HashMap<SmsId, SmsRecord>,
    meta: HashMap<String, String>,
    next_id: u64,
    /// Archived activations: not loaded at recovery, still found by id.
    archived: HashMap<ActivationId, ActivationRecord>,
}

/// Keeps every record in process memory; batches apply under one lock, so they are atomic.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl Store for MemoryStore {
    fn apply(&self, batch: Vec<Change>) -> BoxFuture<'static, Result<(), StoreError>> {
        let mut inner = self.inner.lock();
        for change in batch {
            match change {
                Change::Sim(sim) => {
                    inner.sims.insert(sim.number, Box::new(sim));
                }
                Change::Activation(a) => {
                    inner.activations.insert(a.id, a);
                }
                Change::Sms(sms) => {
                    inner.sms.insert(sms.id, sms);
                }
                Change::Meta { key, value } => {
                    inner.meta.insert(key, value);
                }
            }
        }
        Box::pin(future::ready(Ok(())))
    }

    fn load(&self) -> BoxFuture<'static, Result<Snapshot, StoreError>> {
        let inner = self.inner.lock();
        let snapshot = Snapshot {
            sims: inner.sims.values().map(|s| SimRecord::clone(s)).collect(),
            activations: inner.activations.values().cloned().collect(),
            sms: inner.sms.values().cloned().collect(),
            meta: inner.meta.clone().into_iter().collect(),
        };
        Box::pin(future::ready(Ok(snapshot)))
    }

    fn sim(&self, number: Msisdn) -> BoxFuture<'static, Result<Option<SimRecord>, StoreError>> {
        let found = self
            .inner
            .lock()
            .sims
            .get(&number)
            .map(|s| SimRecord::clone(s));
        Box::pin(future::ready(Ok(found)))
    }

    fn archive(
        &self,
        activations: Vec<ActivationRecord>,
        sms: Vec<SmsRecord>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let mut inner = self.inner.lock();
        for a in activations {
            inner.activations.remove(&a.id);
            inner.archived.insert(a.id, a);
        }
        // Archived SMS are only ever read back by nobody: the memory store drops them.
        for s in sms {
            inner.sms.remove(&s.id);
        }
        Box::pin(future::ready(Ok(())))
    }

    fn activation(
        &self,
        id: ActivationId,
    ) -> BoxFuture<'static, Result<Option<ActivationRecord>, StoreError>> {
        let inner = self.inner.lock();
        let found = inner
            .activations
            .get(&id)
            .or_else(|| inner.archived.get(&id))
            .cloned();
        Box::pin(future::ready(Ok(found)))
    }

    fn allocate_ids(&self, count: u64) -> BoxFuture<'static, Result<Range<u64>, StoreError>> {
        let mut inner = self.inner.lock();
        let start = inner.next_id.max(1);
        inner.next_id = start + count;
        Box::pin(future::ready(Ok(start..start + count)))
    }
}
