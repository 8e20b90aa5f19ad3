//! The engine's background work on deadlines: what fires the due ones of each queue (activation
//! expiry, bank silence, the wait of a long SMS) and the task that sleeps until the next. The
//! queues themselves (`deadlines.rs`, `expiry.rs`) are plain structures; the work needs the
//! engine's actors, so it lives here, above them.

use std::hash::Hash;
use std::sync::{Arc, Weak};

use futures::future::BoxFuture;
use futures::StreamExt;

use crate::clock::later;
use crate::deadlines::{Deadlines, CONCURRENT, RETRY};
use crate::intake::Seal;
use crate::number::{Release, ReleaseReason};
use crate::shared::{call, Shared};

/// What fires the due deadlines of one queue: called with the engine, it does the work and
/// answers how many deadlines had an effect.
pub(crate) type Fire = for<'a> fn(&'a Arc<Shared>) -> BoxFuture<'a, usize>;

/// The background task of one queue: fire what is due, sleep until the next deadline (or a
/// wake-up, or a jump of a manual clock). Holds the engine weakly, so it ends with the engine.
pub(crate) async fn run<K: Clone + Ord + Hash>(
    shared: Weak<Shared>,
    queue: fn(&Shared) -> &Deadlines<K>,
    fire: Fire,
) {
    let (mut jumps, wake) = match shared.upgrade() {
        Some(s) => (s.clock.jumps(), queue(&s).waker()),
        None => return,
    };
    loop {
        let Some(engine) = shared.upgrade() else {
            return;
        };
        // Before recovery is done nothing fires; recovery wakes the task when it is.
        let ready = engine.ready.load(std::sync::atomic::Ordering::Acquire);
        if ready {
            fire(&engine).await;
        }
        let wait = queue(&engine)
            .next()
            .filter(|_| ready)
            .map(|at| (at - engine.clock.now()).to_std().unwrap_or_default());
        let woken = wake.notified();
        drop(engine);
        crate::clock::wait_for(wait, woken, &mut jumps).await;
    }
}

/// Releases every activation whose deadline has passed; answers how many were freed.
pub(crate) fn release_due(shared: &Arc<Shared>) -> BoxFuture<'_, usize> {
    Box::pin(async move {
        let now = shared.clock.now();
        let due = shared.expiry.take_due(now, shared.clock.monotonic());
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
                match call(&shared.numbers, number, release).await {
                    Ok(freed) => usize::from(freed),
                    Err(e) => {
                        tracing::warn!(activation_id = %id, error = %e, "expiry failed; retrying later");
                        shared
                            .expiry
                            .arm(&*shared.clock, later(now, RETRY), id);
                        0
                    }
                }
            })
            .buffer_unordered(CONCURRENT)
            .fold(0, |n, freed| async move { n + freed })
            .await
    })
}

/// Forwards what arrived of every long SMS whose wait is over; answers how many it sealed.
pub(crate) fn seal_due(shared: &Arc<Shared>) -> BoxFuture<'_, usize> {
    Box::pin(async move {
        let now = shared.clock.now();
        let due = shared.seals.take_due(now);
        futures::stream::iter(due)
            .map(|id| async move {
                let Some(record) = shared.sms.get(id) else {
                    return 0;
                };
                match call(&shared.numbers, record.number, Seal { id }).await {
                    Ok(sealed) => usize::from(sealed),
                    Err(e) => {
                        tracing::warn!(sms_id = %id, error = %e, "cannot forward a long SMS yet; retrying later");
                        shared.seals.arm(later(now, RETRY), id);
                        0
                    }
                }
            })
            .buffer_unordered(CONCURRENT)
            .fold(0, |n, sealed| async move { n + sealed })
            .await
    })
}

/// Silences every bank whose deadline has passed; answers how many fell silent.
pub(crate) fn silence_due(shared: &Arc<Shared>) -> BoxFuture<'_, usize> {
    Box::pin(async move {
        let now = shared.clock.now();
        shared
            .banks
            .deadlines
            .take_due(now)
            .iter()
            .filter(|bank| shared.banks.silence_if_due(bank, now, &shared.index))
            .count()
    })
}
