//! Deadlines keyed by something (a bank, an SMS), and the background task that fires them.
//!
//! The mini-redis pattern again: a `BTreeSet<(deadline, key)>` plus the deadline of each key,
//! and one task that sleeps until the earliest, woken early when an earlier deadline is armed
//! or, in tests, when a [`ManualClock`](crate::ManualClock) jumps. Deadlines are wall-clock
//! instants of the engine's clock, so they can be re-armed from persisted times after a
//! restart; those already past fire at once.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use tokio::sync::Notify;

/// How many deadlines are worked on at once when many pass together (e.g. after downtime).
pub(crate) const CONCURRENT: usize = 64;
/// When firing a deadline fails (the store is down), it is tried again this much later.
pub(crate) const RETRY: std::time::Duration = std::time::Duration::from_secs(5);

struct Inner<K> {
    queue: BTreeSet<(DateTime<Utc>, K)>,
    armed: HashMap<K, DateTime<Utc>>,
}

/// Armed deadlines and the wake-up signal of the task that fires them.
pub(crate) struct Deadlines<K> {
    inner: Mutex<Inner<K>>,
    wake: Arc<Notify>,
}

impl<K> Default for Deadlines<K> {
    fn default() -> Self {
        Deadlines {
            inner: Mutex::new(Inner {
                queue: BTreeSet::new(),
                armed: HashMap::new(),
            }),
            wake: Arc::new(Notify::new()),
        }
    }
}

impl<K: Clone + Ord + Hash> Deadlines<K> {
    /// Arms (or moves) the deadline of `key`.
    pub(crate) fn arm(&self, at: DateTime<Utc>, key: K) {
        let mut d = self.inner.lock();
        if let Some(old) = d.armed.insert(key.clone(), at) {
            d.queue.remove(&(old, key.clone()));
        }
        let earliest = d.queue.first().is_none_or(|(first, _)| at < *first);
        d.queue.insert((at, key));
        drop(d);
        if earliest {
            self.wake.notify_one();
        }
    }

    /// Forgets the deadline of `key`.
    pub(crate) fn disarm(&self, key: &K) {
        let mut d = self.inner.lock();
        if let Some(at) = d.armed.remove(key) {
            d.queue.remove(&(at, key.clone()));
        }
    }

    /// Takes every key whose deadline is at or before `now`.
    pub(crate) fn take_due(&self, now: DateTime<Utc>) -> Vec<K> {
        let mut d = self.inner.lock();
        let mut due = Vec::new();
        while d.queue.first().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, key)) = d.queue.pop_first() {
                d.armed.remove(&key);
                due.push(key);
            }
        }
        due
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<DateTime<Utc>> {
        self.inner.lock().queue.first().map(|(at, _)| *at)
    }

    /// How many deadlines are armed.
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().armed.len()
    }

    /// Wakes the task (after recovery armed deadlines).
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// The signal that wakes the task firing this queue.
    pub(crate) fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }
}
