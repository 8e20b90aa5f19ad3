//! The outbox: delivers every pending SMS to the platform until it confirms.
//!
//! Pending SMS wait in a `BTreeSet<(due, id)>` (the same pattern as expiry); one background task
//! takes those that are due and delivers each on its own task, at most `concurrency` at a time,
//! so a slow or dead platform delays only SMS delivery, never GET_NUMBER or the gateway. Each
//! attempt is written before it is made (`in_flight`) and its outcome after; the wire format
//! lives behind [`SmsSink`], implemented by the server (PUSH_SMS for v1).
//!
//! An outcome counts only once it is durable: its write is retried (with back-off) for as long
//! as the process lives, and meanwhile the SMS is in no queue and memory keeps the in-flight
//! record the store has, so nothing attempts it again and nothing settles it early. A graceful
//! stop ([`drain`]) starts no attempt any more and waits for those in flight to end and their
//! outcomes to be written.

use std::collections::BTreeSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures::future::BoxFuture;
use parking_lot::{Mutex, RwLock};
use tokio::sync::{watch, Notify, Semaphore};

use crate::domain::{ActivationRecord, SmsId, SmsRecord, SmsState};
use crate::shared::Shared;
use crate::store::Change;

/// How one delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The platform confirmed: never send again.
    Delivered,
    /// Try again, after `after` or the configured retry interval.
    Retry {
        /// What went wrong.
        reason: String,
        /// A delay the platform asked for (429).
        after: Option<Duration>,
    },
    /// The platform refused for good (NO_OPERATION, BAD_SERVICE, …).
    Terminal {
        /// The platform's answer.
        reason: String,
    },
}

/// Sends one SMS to the platform.
pub trait SmsSink: Send + Sync + 'static {
    /// One attempt.
    fn deliver(
        &self,
        sms: &SmsRecord,
        activation: Option<&ActivationRecord>,
    ) -> BoxFuture<'static, DeliveryOutcome>;
}

/// The outbox's knobs.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Spacing of retries (the protocol says 10 s).
    pub retry_interval: Duration,
    /// Give up after this many attempts; `None` retries forever.
    pub max_attempts: Option<u32>,
    /// Deliveries in flight at once.
    pub concurrency: usize,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            retry_interval: Duration::from_secs(10),
            max_attempts: None,
            concurrency: 16,
        }
    }
}

/// When the write that starts an attempt fails, try the attempt again this much later.
const STORE_RETRY: TimeDelta = TimeDelta::seconds(5);
/// The first wait before writing an outcome again; it doubles up to [`OUTCOME_RETRY_MAX`].
const OUTCOME_RETRY: Duration = Duration::from_millis(200);
/// The longest wait between two writes of one outcome.
const OUTCOME_RETRY_MAX: Duration = Duration::from_secs(5);

struct Wiring {
    sink: Arc<dyn SmsSink>,
    settings: DeliverySettings,
    permits: Arc<Semaphore>,
}

/// The attempts under way, and whether new ones may start.
#[derive(Debug, Clone, Copy, Default)]
struct Flight {
    /// A graceful stop began: no attempt starts any more.
    stopping: bool,
    /// Attempts started whose outcome is not durable yet.
    active: usize,
}

/// One attempt under way; dropping it ends it.
struct Attempt<'a>(&'a watch::Sender<Flight>);

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|f| f.active -= 1);
    }
}

/// Pending SMS by due time, and the delivery wiring once it is attached.
pub(crate) struct Outbox {
    queue: Mutex<BTreeSet<(DateTime<Utc>, SmsId)>>,
    wake: Arc<Notify>,
    wiring: RwLock<Option<Arc<Wiring>>>,
    flight: watch::Sender<Flight>,
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox {
            queue: Mutex::default(),
            wake: Arc::default(),
            wiring: RwLock::default(),
            flight: watch::Sender::new(Flight::default()),
        }
    }
}

impl Outbox {
    /// Counts an attempt as started, unless a graceful stop began.
    fn begin(&self) -> Option<Attempt<'_>> {
        let mut started = false;
        self.flight.send_if_modified(|f| {
            started = !f.stopping;
            f.active += usize::from(started);
            started
        });
        started.then_some(Attempt(&self.flight))
    }

    fn stopping(&self) -> bool {
        self.flight.borrow().stopping
    }

    /// Queues a delivery attempt.
    pub(crate) fn schedule(&self, at: DateTime<Utc>, id: SmsId) {
        let mut q = self.queue.lock();
        let earliest = q.first().is_none_or(|(first, _)| at < *first);
        q.insert((at, id));
        drop(q);
        if earliest {
            self.wake.notify_one();
        }
    }

    /// Connects the sink; deliveries start.
    pub(crate) fn attach(&self, sink: Arc<dyn SmsSink>, settings: DeliverySettings) {
        let permits = Arc::new(Semaphore::new(settings.concurrency.max(1)));
        *self.wiring.write() = Some(Arc::new(Wiring {
            sink,
            settings,
            permits,
        }));
        self.wake.notify_one();
    }

    fn take_due(&self, now: DateTime<Utc>) -> Vec<SmsId> {
        let mut q = self.queue.lock();
        let mut due = Vec::new();
        while let Some(&(at, id)) = q.first() {
            if at > now {
                break;
            }
            q.pop_first();
            due.push(id);
        }
        due
    }

    fn next(&self) -> Option<DateTime<Utc>> {
        self.queue.lock().first().map(|(at, _)| *at)
    }

    fn wiring(&self) -> Option<Arc<Wiring>> {
        self.wiring.read().clone()
    }
}

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
            shared.outbox.queue.lock().insert((at, id));
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
        shared.outbox.schedule(shared.clock.now() + STORE_RETRY, id);
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
