//! Activation ids, taken from the store in blocks so that most reservations need no extra I/O.

use std::ops::Range;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::domain::ActivationId;
use crate::store::{Store, StoreError};

/// How many ids one trip to the store fetches.
const BLOCK: u64 = 1024;

/// Hands out activation ids from a block reserved in the store.
pub(crate) struct IdAllocator {
    block: Mutex<Range<u64>>,
    store: Arc<dyn Store>,
}

impl IdAllocator {
    pub(crate) fn new(store: Arc<dyn Store>) -> IdAllocator {
        IdAllocator {
            block: Mutex::new(0..0),
            store,
        }
    }

    /// The next id; goes to the store only when the current block is used up.
    pub(crate) async fn next(&self) -> Result<ActivationId, StoreError> {
        loop {
            if let Some(id) = self.block.lock().next() {
                return ActivationId::new(id).map_err(|e| StoreError(e.to_string()));
            }
            let fresh = self.store.allocate_ids(BLOCK).await?;
            let mut block = self.block.lock();
            // Another caller may have refilled meanwhile; keep whichever has ids left.
            if block.is_empty() {
                *block = fresh;
            }
        }
    }
}
