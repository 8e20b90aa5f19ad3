//! History that stays small: closed activations and settled SMS older than `archive_after`
//! leave the hot state — the process's memory and what recovery reads — for the store's
//! archive, which keeps them findable by id (a FINISH repeat, an admin lookup) until it drops
//! them. Without it, every activation ever sold would be read at every start and held in memory.
//!
//! A pass runs every ten minutes: it takes a chunk of old records, has the store move them (all
//! or nothing, fenced by the lease like every write), and only then forgets them in memory, so a
//! store failure leaves everything where it was for the next pass.

use std::sync::Weak;
use std::time::Duration;

use crate::domain::{ActivationId, SmsId};
use crate::shared::Shared;
use crate::store::StoreError;

/// Records moved per store call (one script run: keep Redis responsive).
const CHUNK: usize = 1000;
/// Time between passes.
const EVERY: Duration = Duration::from_secs(600);

/// Moves everything older than `archive_after` to the archive; answers how many records moved.
pub(crate) async fn archive_due(shared: &Shared) -> Result<usize, StoreError> {
    let horizon = crate::clock::earlier(shared.clock.now(), shared.settings.archive_after);
    let mut moved = 0;
    loop {
        let activations = shared.ledger.closed_before(horizon, CHUNK);
        let sms = shared.sms.settled_before(horizon, CHUNK);
        if activations.is_empty() && sms.is_empty() {
            break;
        }
        let activation_ids: Vec<ActivationId> = activations.iter().map(|a| a.id).collect();
        let sms_ids: Vec<SmsId> = sms.iter().map(|s| s.id).collect();
        shared.store.archive(activations, sms).await?;
        shared.ledger.forget(&activation_ids);
        shared.sms.forget(&sms_ids);
        moved += activation_ids.len() + sms_ids.len();
    }
    if moved > 0 {
        tracing::info!(moved, "closed activations and settled SMS archived");
    }
    Ok(moved)
}

/// Archives every ten minutes while the engine lives (and once right after recovery).
pub(crate) async fn run(shared: Weak<Shared>) {
    loop {
        tokio::time::sleep(EVERY).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if !shared.ready.load(std::sync::atomic::Ordering::Acquire) {
            continue;
        }
        if let Err(e) = archive_due(&shared).await {
            tracing::warn!(error = %e, "archiving failed; the next pass tries again");
        }
    }
}
