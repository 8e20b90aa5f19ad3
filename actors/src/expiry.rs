//! The activation safety net: frees a number whose activation got no FINISH_ACTIVATION within
//! TTL + grace.
//!
//! The mini-redis pattern: deadlines sit in a `BTreeSet<(deadline, id)>` and one background task
//! sleeps until the earliest, woken early when an earlier deadline is armed or, in tests, when a
//! [`ManualClock`](crate::ManualClock) jumps. Arming is a lock and an insert, no queue. Deadlines
//! come from the persisted `expires_at`, so after a restart they are re-armed with the time
//! that remains, and those already past fire at once.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Weak};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::domain::{ActivationId, Msisdn};
use crate::engine::{call, Shared};
use crate::number::{Release, ReleaseReason};

/// How many releases run at once when many deadlines pass together (e.g. after downtime).
const CONCURRENT_RELEASES: usize = 64;
/// When a release fails (the store is down), try again this much later.
const RETRY: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

#[derive(Default)]
struct Deadlines {
    queue: BTreeSet<(DateTime<Utc>, ActivationId)>,
    armed: HashMap<ActivationId, (DateTime<Utc>, Msisdn)>,
}

/// Armed deadlines and the wake-up signal of the task that fires them.
#[derive(Default)]
pub(crate) struct Expiries {
    deadlines: Mutex<Deadlines>,
    wake: Arc<Notify>,
}

impl Expiries {
    /// Arms (or re-arms) an activation's deadline.
    pub(crate) fn arm(&self, at: DateTime<Utc>, id: ActivationId, number: Msisdn) {
        let mut d = self.deadlines.lock();
        if let Some((old, _)) = d.armed.insert(id, (at, number)) {
            d.queue.remove(&(old, id));
        }
        let earliest = d.queue.first().is_none_or(|(first, _)| at < *first);
        d.queue.insert((at, id));
        drop(d);
        if earliest {
            self.wake.notify_one();
        }
    }

    /// Wakes the expiry task (after recovery armed deadlines).
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// Forgets an activation's deadline (it was finished).
    pub(crate) fn disarm(&self, id: ActivationId) {
        let mut d = self.deadlines.lock();
        if let Some((at, _)) = d.armed.remove(&id) {
            d.queue.remove(&(at, id));
        }
    }

    /// How many deadlines are armed.
    pub(crate) fn len(&self) -> usize {
        self.deadlines.lock().armed.len()
    }

    fn take_due(&self, now: DateTime<Utc>) -> Vec<(ActivationId, Msisdn)> {
        let mut d = self.deadlines.lock();
        let mut due = Vec::new();
        while let Some(&(at, id)) = d.queue.first() {
            if at > now {
                break;
            }
            d.queue.pop_first();
            if let Some((_, number)) = d.armed.remove(&id) {
                due.push((id, number));
            }
        }
        due
    }

    fn next(&self) -> Option<DateTime<Utc>> {
        self.deadlines.lock().queue.first().map(|(at, _)| *at)
    }
}

/// Releases every activation whose deadline has passed; answers how many were freed.
pub(crate) async fn release_due(shared: &Arc<Shared>) -> usize {
    let now = shared.clock.now();
    let due = shared.expiry.take_due(now);
    futures::stream::iter(due)
        .map(|(id, number)| async move {
            let released = call(
                shared,
                number,
                Release {
                    id,
                    reason: ReleaseReason::Expired,
                },
            )
            .await;
            match released {
                Ok(freed) => usize::from(freed),
                Err(e) => {
                    tracing::warn!(activation_id = %id, error = %e, "expiry failed; retrying later");
                    shared.expiry.arm(now + RETRY, id, number);
                    0
                }
            }
        })
        .buffer_unordered(CONCURRENT_RELEASES)
        .fold(0, |n, freed| async move { n + freed })
        .await
}

/// The background task: sleep until the next deadline (or a wake-up), release what is due.
/// Holds the engine weakly so that it ends when the engine is dropped.
pub(crate) async fn run(shared: Weak<Shared>) {
    let (mut jumps, wake) = match shared.upgrade() {
        Some(s) => (s.clock.jumps(), Arc::clone(&s.expiry.wake)),
        None => return,
    };
    loop {
        let Some(engine) = shared.upgrade() else {
            return;
        };
        release_due(&engine).await;
        let wait = engine
            .expiry
            .next()
            .map(|at| (at - engine.clock.now()).to_std().unwrap_or_default());
        let woken = wake.notified();
        drop(engine);
        crate::clock::wait_for(wait, woken, &mut jumps).await;
    }
}
