//! A store for benches and tests that must not measure or depend on storage: every write is
//! acknowledged and forgotten, `load` answers a fixed snapshot (empty by default), ids count up.
//! Included with `#[path]` by the engine and memory benches and by the recovery test.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::{self, BoxFuture};
use simrelay_actors::store::{Change, Snapshot, Store, StoreError};

/// See the module documentation.
#[derive(Default)]
pub struct FixedStore {
    snapshot: Snapshot,
    next_id: AtomicU64,
}

impl FixedStore {
    /// A store whose `load` answers `snapshot`.
    #[allow(dead_code)] // not every includer loads one
    pub fn with_snapshot(snapshot: Snapshot) -> FixedStore {
        FixedStore {
            snapshot,
            next_id: AtomicU64::new(0),
        }
    }
}

impl Store for FixedStore {
    fn apply(&self, _: Vec<Change>) -> BoxFuture<'static, Result<(), StoreError>> {
        Box::pin(future::ready(Ok(())))
    }

    fn load(&self) -> BoxFuture<'static, Result<Snapshot, StoreError>> {
        Box::pin(future::ready(Ok(self.snapshot.clone())))
    }

    fn allocate_ids(&self, count: u64) -> BoxFuture<'static, Result<Range<u64>, StoreError>> {
        let start = self.next_id.fetch_add(count, Ordering::Relaxed) + 1;
        Box::pin(future::ready(Ok(start..start + count)))
    }
}
