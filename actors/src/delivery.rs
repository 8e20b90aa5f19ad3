//! SMS delivery: the task that takes the due SMS from the [`Outbox`](crate::outbox::Outbox)
//! and delivers each through the attached [`SmsSink`], writing every attempt before it is made
//! and its outcome after (see `outbox.rs` for the rules); and the graceful stop's drain.

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::domain::{SmsId, SmsRecord, SmsState};
use crate::outbox::{DeliveryOutcome, Wiring};
use crate::shared::Shared;
use crate::store::Change;

/// When the write that starts an attempt fails, try the attempt again this much later.
const STORE_RETRY: Duration = Duration::from_secs(5);
/// The first wait before writing an outcome again; it doubles up to [`OUTCOME_RETRY_MAX`].
const OUTCOME_RETRY: Duration = Duration::from_millis(200);
/// The longest wait between two writes of one outcome.
const OUTCOME_RETRY_MAX: Duration = Duration::from_secs(5);

async fn persist(shared: &Shared, record: &SmsRecord) -> bool {
    match shared.store.apply(vec![Change::Sms(record.clone())]).await {
        Ok(()) => {
            shared.sms.put(record.clone());
            true
        }
        Err(e) => {
            tracing::warn!(sms_id = %record.id, error = %e, "cannot record a delivery attempt; retrying later");
            false
        }
    }
}

/// Writes an attempt's outcome, again and again (200 ms doubling to 5 s) until the store has
/// it; only then does memory take it. Until then the store (and memory) say `in_flight`: a
/// restart counts the SMS as a possible repeat and sends it again, but this process never
/// treats an outcome the store does not have as done.
async fn persist_outcome(shared: &Shared, record: &SmsRecord) {
    let mut wait = OUTCOME_RETRY;
    let mut failures = 0u32;
    while let Err(e) = shared.store.apply(vec![Change::Sms(record.clone())]).await {
        failures += 1;
        if failures == 1 {
            tracing::warn!(sms_id = %record.id, state = ?record.state, error = %e, "cannot record a delivery outcome; retrying until the store takes it");
        } else {
            tracing::debug!(sms_id = %record.id, failures, error = %e, "delivery outcome still not recorded");
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(OUTCOME_RETRY_MAX);
    }
    if failures > 0 {
        tracing::info!(sms_id = %record.id, state = ?record.state, failures, "delivery outcome recorded");
    }
    shared.sms.put(record.clone());
}

/// One delivery attempt of one SMS, start to end.
async fn deliver_one(shared: &Shared, wiring: &Wiring, id: SmsId) {
    let Some(_attempt) = shared.outbox.begin() else {
        // Stopping: the SMS stays pending, in memory and in the store.
        if let Some(record) = shared.sms.get(id).filter(|r| r.state == SmsState::Pending) {
            let at = record.next_attempt_at.unwrap_or_else(|| shared.clock.now());
            shared.outbox.requeue(at, id);
        }
        return;
    };
    let Some(mut record) = shared.sms.get(id).filter(|r| r.state == SmsState::Pending) else {
        return;
    };
    let activation = record.activation_id.and_then(|a| shared.ledger.get(a));
    record.in_flight = true;
    record.attempts += 1;
    if !persist(shared, &record).await {
        shared
            .outbox
            .schedule(crate::clock::later(shared.clock.now(), STORE_RETRY), id);
        return;
    }
    let outcome = wiring.sink.deliver(&record, activation.as_ref()).await;
    let now = shared.clock.now();
    record.in_flight = false;
    match outcome {
        DeliveryOutcome::Delivered => {
            record.state = SmsState::Delivered;
            record.delivered_at = Some(now);
            record.next_attempt_at = None;
            record.last_error = None;
        }
        DeliveryOutcome::Terminal { reason } => {
            tracing::warn!(sms_id = %id, %reason, "the platform refused an SMS for good");
            record.state = SmsState::Failed;
            record.next_attempt_at = None;
            record.last_error = Some(reason);
        }
        DeliveryOutcome::Retry { reason, after } => {
            let capped = wiring
                .settings
                .max_attempts
                .is_some_and(|max| record.attempts >= max);
            record.last_error = Some(reason);
            if capped {
                record.state = SmsState::Failed;
                record.next_attempt_at = None;
            } else {
                let wait = after.unwrap_or(wiring.settings.retry_interval);
                record.next_attempt_at = Some(crate::clock::later(now, wait));
            }
        }
    }
    // A lost "delivered" would make a restart push the SMS again: the outcome is written before
    // anything else happens to this SMS (it is in no queue meanwhile).
    persist_outcome(shared, &record).await;
    if let (SmsState::Pending, Some(at)) = (record.state, record.next_attempt_at) {
        shared.outbox.schedule(at, id);
    }
}

/// Delivers everything due now and waits for those attempts to end; answers how many it
/// attempted. The background task does the same without waiting; tests call this after moving a
/// manual clock.
pub(crate) async fn deliver_due(shared: &Arc<Shared>) -> usize {
    let Some(wiring) = shared.outbox.wiring().filter(|_| !shared.outbox.stopping()) else {
        return 0;
    };
    let due = shared.outbox.take_due(shared.clock.now());
    let count = due.len();
    let attempts = due.into_iter().map(|id| {
        let wiring = Arc::clone(&wiring);
        async move {
            let _permit = wiring.permits.acquire().await;
            deliver_one(shared, &wiring, id).await;
        }
    });
    futures::future::join_all(attempts).await;
    count
}

/// The background task: sleep until the next SMS is due (or a wake-up), start its delivery.
pub(crate) async fn run(shared: Weak<Shared>) {
    let (mut jumps, wake) = match shared.upgrade() {
        Some(s) => (s.clock.jumps(), Arc::clone(&s.outbox.wake)),
        None => return,
    };
    loop {
        let Some(engine) = shared.upgrade() else {
            return;
        };
        let mut wait = None;
        // While stopping nothing starts: the task sleeps until the engine goes.
        if let Some(wiring) = engine.outbox.wiring().filter(|_| !engine.outbox.stopping()) {
            for id in engine.outbox.take_due(engine.clock.now()) {
                let Ok(permit) = Arc::clone(&wiring.permits).acquire_owned().await else {
                    return;
                };
                let (engine, wiring) = (Arc::clone(&engine), Arc::clone(&wiring));
                actix::spawn(async move {
                    deliver_one(&engine, &wiring, id).await;
                    drop(permit);
                });
            }
            wait = engine
                .outbox
                .next()
                .map(|at| (at - engine.clock.now()).to_std().unwrap_or_default());
        }
        let woken = wake.notified();
        drop(engine);
        crate::clock::wait_for(wait, woken, &mut jumps).await;
    }
}

/// Graceful stop: no delivery attempt starts from now on; waits up to `limit` for the attempts
/// in flight to end and their outcomes to be stored. Answers whether they all did in time (an
/// attempt still in flight at exit is sent again after the restart, counted as a possible
/// repeat).
pub(crate) async fn drain(shared: &Shared, limit: Duration) -> bool {
    let flight = &shared.outbox.flight;
    flight.send_modify(|f| f.stopping = true);
    let active = flight.borrow().active;
    if active == 0 {
        return true;
    }
    tracing::info!(
        active,
        "waiting for SMS deliveries in flight to end and their outcomes to be stored"
    );
    let mut watch = flight.subscribe();
    let ended = tokio::time::timeout(limit, async {
        let _ = watch.wait_for(|f| f.active == 0).await;
    })
    .await;
    match ended {
        Ok(()) => {
            tracing::info!("SMS deliveries in flight ended; outcomes stored");
            true
        }
        Err(_) => {
            let left = flight.borrow().active;
            tracing::warn!(
                left,
                ?limit,
                "SMS deliveries still in flight at exit: each is sent again after the restart"
            );
            false
        }
    }
}
