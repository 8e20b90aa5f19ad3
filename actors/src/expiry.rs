//! The activation safety net, when the operator opts into it (`expiry_grace` set): frees a
//! number whose activation got no FINISH_ACTIVATION within TTL + grace. Without a grace nothing
//! is armed here and simrelay never frees a number on its own.
//!
//! Deadlines sit in a [`Deadlines`] queue (one task sleeping until the earliest, woken when an
//! earlier one is armed or a manual clock jumps). They come from the persisted `expires_at`, so
//! after a restart they are re-armed with the time that remains, and those already past fire at
//! once.
//!
//! A wall-clock deadline alone would let a step of the host's clock (forward by an hour, say)
//! free live activations early. So each deadline also records, when armed, the instant of the
//! engine's monotonic clock at which the same span of time will really have passed; a number is
//! freed only when both say so. A deadline the wall clock reached too early is put back to when
//! the monotonic one will pass.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use crate::clock::{later, Clock};
use crate::deadlines::Deadlines;
use crate::domain::ActivationId;

/// Armed activation deadlines: wall-clock times in the queue, and beside them the monotonic
/// instant before which each may not fire (`None`: not within the monotonic clock's range,
/// i.e. never).
#[derive(Default)]
pub(crate) struct Expiries {
    pub(crate) queue: Deadlines<ActivationId>,
    not_before: Mutex<HashMap<ActivationId, Option<Instant>>>,
}

impl Expiries {
    /// Arms (or moves) the deadline of `id` to the wall-clock time `due`, and records when, on
    /// the monotonic clock, that much time will really have passed.
    pub(crate) fn arm(&self, clock: &dyn Clock, due: DateTime<Utc>, id: ActivationId) {
        let remaining = (due - clock.now()).to_std().unwrap_or_default();
        let not_before = clock.monotonic().checked_add(remaining);
        self.not_before.lock().insert(id, not_before);
        self.queue.arm(due, id);
    }

    /// Forgets the deadline of `id`.
    pub(crate) fn disarm(&self, id: &ActivationId) {
        self.queue.disarm(id);
        self.not_before.lock().remove(id);
    }

    /// Takes every activation whose deadline has passed on both clocks (`now` on the wall
    /// clock, `monotonic` on the monotonic one). Those the wall clock reached before the
    /// monotonic one (the host's clock was stepped forward) are re-armed for when the time
    /// really has passed.
    pub(crate) fn take_due(&self, now: DateTime<Utc>, monotonic: Instant) -> Vec<ActivationId> {
        let reached = self.queue.take_due(now);
        let mut due = Vec::with_capacity(reached.len());
        let mut early = Vec::new();
        {
            let mut not_before = self.not_before.lock();
            for id in reached {
                match not_before.get(&id).copied() {
                    Some(Some(at)) if at > monotonic => early.push((id, Some(at - monotonic))),
                    Some(None) => early.push((id, None)),
                    _ => {
                        not_before.remove(&id);
                        due.push(id);
                    }
                }
            }
        }
        for (id, remaining) in early {
            tracing::warn!(activation_id = %id, remaining_secs = remaining.map(|r| r.as_secs()),
                "the wall clock reached this expiry before that much time passed (host clock stepped?); waiting for the time to really pass");
            let wall = remaining.map_or(DateTime::<Utc>::MAX_UTC, |r| later(now, r));
            self.queue.arm(wall, id);
        }
        due
    }

    /// How many deadlines are armed.
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Wakes the task (after recovery armed deadlines).
    pub(crate) fn wake(&self) {
        self.queue.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;
    use chrono::{TimeDelta, TimeZone};

    fn id(n: u64) -> ActivationId {
        ActivationId::new(n).unwrap()
    }

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn a_forward_step_of_the_wall_clock_frees_nothing_early() {
        let clock = ManualClock::new(start());
        let expiries = Expiries::default();
        expiries.arm(&clock, start() + TimeDelta::minutes(20), id(1));
        expiries.arm(&clock, start() + TimeDelta::minutes(40), id(2));

        // The host clock jumps an hour ahead: by the wall clock both are due, but no time passed.
        clock.step(TimeDelta::hours(1));
        assert!(expiries.take_due(clock.now(), clock.monotonic()).is_empty());
        // Both wait for the time that really remains, measured from the stepped wall clock.
        assert_eq!(expiries.len(), 2);
        assert_eq!(
            expiries.queue.next(),
            Some(start() + TimeDelta::hours(1) + TimeDelta::minutes(20))
        );

        // 20 minutes really pass: only the first is due.
        clock.advance(TimeDelta::minutes(20));
        assert_eq!(
            expiries.take_due(clock.now(), clock.monotonic()),
            vec![id(1)]
        );
        clock.advance(TimeDelta::minutes(19));
        assert!(expiries.take_due(clock.now(), clock.monotonic()).is_empty());
        clock.advance(TimeDelta::minutes(1));
        assert_eq!(
            expiries.take_due(clock.now(), clock.monotonic()),
            vec![id(2)]
        );
        assert_eq!(expiries.len(), 0);
    }

    #[test]
    fn a_backward_step_waits_for_the_wall_clock_too() {
        let clock = ManualClock::new(start());
        let expiries = Expiries::default();
        expiries.arm(&clock, start() + TimeDelta::minutes(20), id(1));
        clock.step(TimeDelta::minutes(-30));
        clock.advance(TimeDelta::minutes(20));
        // The monotonic clock says 20 minutes passed, the wall clock is 30 minutes short.
        assert!(expiries.take_due(clock.now(), clock.monotonic()).is_empty());
        clock.advance(TimeDelta::minutes(29));
        assert!(expiries.take_due(clock.now(), clock.monotonic()).is_empty());
        clock.advance(TimeDelta::minutes(1));
        assert_eq!(
            expiries.take_due(clock.now(), clock.monotonic()),
            vec![id(1)]
        );
    }

    #[test]
    fn disarmed_deadlines_are_forgotten_on_both_clocks() {
        let clock = ManualClock::new(start());
        let expiries = Expiries::default();
        expiries.arm(&clock, start() + TimeDelta::minutes(20), id(1));
        expiries.disarm(&id(1));
        assert!(expiries.not_before.lock().is_empty());
        clock.advance(TimeDelta::hours(1));
        assert!(expiries.take_due(clock.now(), clock.monotonic()).is_empty());
    }

    #[test]
    fn the_system_clock_guards_with_the_real_monotonic_clock() {
        // A deadline armed 10 minutes ahead that a wall clock an hour fast says is due.
        let clock = crate::SystemClock;
        let expiries = Expiries::default();
        expiries.arm(&clock, clock.now() + TimeDelta::minutes(10), id(7));
        let stepped = clock.now() + TimeDelta::hours(1);
        assert!(expiries.take_due(stepped, clock.monotonic()).is_empty());
        assert_eq!(expiries.len(), 1);
        assert!(expiries.queue.next().is_some_and(|at| at > stepped));
    }
}
