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
//! stop (`delivery::drain`) starts no attempt any more and waits for those in flight to end and their
//! outcomes to be written.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use parking_lot::{Mutex, RwLock};
use tokio::sync::{watch, Notify, Semaphore};

use crate::domain::{ActivationRecord, SmsId, SmsRecord};

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

/// Where and how SMS are delivered, once attached.
pub(crate) struct Wiring {
    pub(crate) sink: Arc<dyn SmsSink>,
    pub(crate) settings: DeliverySettings,
    pub(crate) permits: Arc<Semaphore>,
}

/// The attempts under way, and whether new ones may start.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Flight {
    /// A graceful stop began: no attempt starts any more.
    pub(crate) stopping: bool,
    /// Attempts started whose outcome is not durable yet.
    pub(crate) active: usize,
}

/// One attempt under way; dropping it ends it.
pub(crate) struct Attempt<'a>(&'a watch::Sender<Flight>);

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|f| f.active -= 1);
    }
}

/// Pending SMS by due time, and the delivery wiring once it is attached.
pub(crate) struct Outbox {
    queue: Mutex<BTreeSet<(DateTime<Utc>, SmsId)>>,
    pub(crate) wake: Arc<Notify>,
    wiring: RwLock<Option<Arc<Wiring>>>,
    pub(crate) flight: watch::Sender<Flight>,
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
    pub(crate) fn begin(&self) -> Option<Attempt<'_>> {
        let mut started = false;
        self.flight.send_if_modified(|f| {
            started = !f.stopping;
            f.active += usize::from(started);
            started
        });
        // `then`, not `then_some`: an Attempt built and dropped would count an end.
        started.then(|| Attempt(&self.flight))
    }

    pub(crate) fn stopping(&self) -> bool {
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

    /// Puts an SMS back in the queue without waking the task (a graceful stop is under way).
    pub(crate) fn requeue(&self, at: DateTime<Utc>, id: SmsId) {
        self.queue.lock().insert((at, id));
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

    pub(crate) fn take_due(&self, now: DateTime<Utc>) -> Vec<SmsId> {
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

    pub(crate) fn next(&self) -> Option<DateTime<Utc>> {
        self.queue.lock().first().map(|(at, _)| *at)
    }

    pub(crate) fn wiring(&self) -> Option<Arc<Wiring>> {
        self.wiring.read().clone()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn due_sms_come_out_in_time_order_and_only_once_due() {
        let outbox = Outbox::default();
        outbox.schedule(t(30), SmsId(3));
        outbox.schedule(t(10), SmsId(1));
        outbox.schedule(t(20), SmsId(2));
        outbox.requeue(t(10), SmsId(4));
        assert_eq!(outbox.next(), Some(t(10)));
        assert_eq!(outbox.take_due(t(9)), Vec::<SmsId>::new());
        assert_eq!(outbox.take_due(t(20)), vec![SmsId(1), SmsId(4), SmsId(2)]);
        assert_eq!(outbox.next(), Some(t(30)));
        assert_eq!(outbox.take_due(t(20)), Vec::<SmsId>::new(), "taken once");
        assert_eq!(outbox.take_due(t(99)), vec![SmsId(3)]);
        assert_eq!(outbox.next(), None);
    }

    #[test]
    fn attempts_are_counted_until_dropped_and_none_start_once_stopping() {
        let outbox = Outbox::default();
        let first = outbox.begin().expect("an attempt may start");
        let second = outbox.begin().expect("another one too");
        assert_eq!(outbox.flight.borrow().active, 2);
        drop(first);
        assert_eq!(outbox.flight.borrow().active, 1);
        outbox.flight.send_modify(|f| f.stopping = true);
        assert!(outbox.stopping());
        assert!(outbox.begin().is_none(), "no attempt starts during a stop");
        drop(second);
        assert_eq!(outbox.flight.borrow().active, 0);
    }
}
