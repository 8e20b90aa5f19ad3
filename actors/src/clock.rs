//! Wall-clock time as the engine sees it, replaceable in tests.
//!
//! Activation timestamps and expiry deadlines are wall-clock instants (they are persisted and
//! survive restarts). Tests swap in a [`ManualClock`] and move it forward; the expiry scheduler
//! listens for those moves instead of sleeping, so a 15-minute expiry is tested in microseconds.
//!
//! Beside the wall clock every [`Clock`] has a monotonic side ([`Clock::monotonic`]): the host's
//! wall clock may be stepped (NTP, an operator, a VM resumed), the monotonic one never is, so
//! whatever frees a number checks both. A [`ManualClock`] moves both together with
//! [`ManualClock::advance`] (time passing) and only the wall clock with [`ManualClock::step`]
//! (a host clock step).

use std::time::Instant;

use chrono::{DateTime, Duration, TimeDelta, Utc};
use parking_lot::Mutex;
use tokio::sync::watch;

/// `at` plus `by`, saturating at the end of time instead of overflowing (durations come from
/// config and from the platform's Retry-After, either may be absurd).
pub fn later(at: DateTime<Utc>, by: std::time::Duration) -> DateTime<Utc> {
    TimeDelta::from_std(by)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `at` minus `by`, saturating at the beginning of time.
pub fn earlier(at: DateTime<Utc>, by: std::time::Duration) -> DateTime<Utc> {
    at.checked_sub_signed(span(by))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A duration as a signed span, saturating (a config duration of centuries is "forever").
pub fn span(d: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> DateTime<Utc>;

    /// Now on a clock that only moves forward at the pace of real time, whatever happens to
    /// the wall clock (the host's clock being stepped). Only differences of two readings mean
    /// anything.
    fn monotonic(&self) -> Instant {
        Instant::now()
    }

    /// A channel that ticks whenever time jumps (manual clocks); `None` when time just flows.
    fn jumps(&self) -> Option<watch::Receiver<()>> {
        None
    }
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<(DateTime<Utc>, Instant)>,
    jumps: watch::Sender<()>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> ManualClock {
        ManualClock {
            now: Mutex::new((start, Instant::now())),
            jumps: watch::channel(()).0,
        }
    }

    /// Lets time pass (both the wall clock and the monotonic clock move forward; a negative
    /// `by` moves only the wall clock back, like [`ManualClock::step`]) and wakes everything
    /// waiting on a deadline.
    pub fn advance(&self, by: Duration) {
        {
            let mut now = self.now.lock();
            now.0 += by;
            if let Some(passed) = by.to_std().ok().and_then(|d| now.1.checked_add(d)) {
                now.1 = passed;
            }
        }
        self.jumps.send_replace(());
    }

    /// Steps the wall clock only, as when the host's clock is set: no real time passes, so
    /// nothing that waits for a span of time may fire because of it.
    pub fn step(&self, by: Duration) {
        self.now.lock().0 += by;
        self.jumps.send_replace(());
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.now.lock().0
    }

    fn monotonic(&self) -> Instant {
        self.now.lock().1
    }

    fn jumps(&self) -> Option<watch::Receiver<()>> {
        Some(self.jumps.subscribe())
    }
}

/// What a background task sleeping until a deadline waits on: the deadline (in real time), an
/// explicit wake-up, or a jump of a manual clock, whichever comes first.
pub(crate) async fn wait_for(
    wait: Option<std::time::Duration>,
    woken: impl std::future::Future<Output = ()>,
    jumps: &mut Option<watch::Receiver<()>>,
) {
    let sleep = async {
        match wait {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let jump = async {
        match jumps.as_mut() {
            Some(rx) => {
                if rx.changed().await.is_err() {
                    std::future::pending::<()>().await
                }
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = sleep => {}
        _ = woken => {}
        _ = jump => {}
    }
}
