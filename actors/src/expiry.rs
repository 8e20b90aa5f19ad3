//! The activation safety net: frees a number whose activation got no FINISH_ACTIVATION within
//! TTL + grace.
//!
//! Deadlines sit in a [`Deadlines`] queue (one task sleeping until the earliest, woken when an
//! earlier one is armed or a manual clock jumps). They come from the persisted `expires_at`, so
//! after a restart they are re-armed with the time that remains, and those already past fire at
//! once.

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::StreamExt;

use crate::deadlines::{Deadlines, CONCURRENT, RETRY};
use crate::domain::ActivationId;
use crate::engine::{call, Shared};
use crate::number::{Release, ReleaseReason};

/// Armed activation deadlines.
pub(crate) type Expiries = Deadlines<ActivationId>;

/// Releases every activation whose deadline has passed; answers how many were freed.
pub(crate) fn release_due(shared: &Arc<Shared>) -> BoxFuture<'_, usize> {
    Box::pin(async move {
        let now = shared.clock.now();
        let due = shared.expiry.take_due(now);
        futures::stream::iter(due)
            .map(|id| async move {
                // Only active activations are armed, and the ledger keeps every active one.
                let Some(number) = shared.ledger.get(id).map(|a| a.number) else {
                    return 0;
                };
                let release = Release {
                    id,
                    reason: ReleaseReason::Expired,
                };
                match call(shared, number, release).await {
                    Ok(freed) => usize::from(freed),
                    Err(e) => {
                        tracing::warn!(activation_id = %id, error = %e, "expiry failed; retrying later");
                        shared.expiry.arm(crate::clock::later(now, RETRY), id);
                        0
                    }
                }
            })
            .buffer_unordered(CONCURRENT)
            .fold(0, |n, freed| async move { n + freed })
            .await
    })
}
