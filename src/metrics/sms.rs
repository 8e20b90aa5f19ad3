//! The SMS counters that only grow: each scrape brings them up to the engine's [`SmsEvents`]
//! (each event of this process counted once; see there).

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use prometheus::{IntCounter, IntCounterVec, Opts, Registry};
use simrelay_actors::SmsEvents;

const SMS_RECEIVED: &str = "simrelay_sms_received_total";
const SMS_HELD: &str = "simrelay_sms_held_total";
const SMS_UNMATCHED: &str = "simrelay_sms_unmatched_total";
const SMS_DELIVERED: &str = "simrelay_sms_delivered_total";
const SMS_FAILED: &str = "simrelay_sms_failed_total";

/// The SMS event counters, brought up to the engine's [`SmsEvents`] at each scrape.
#[derive(Clone)]
pub(super) struct SmsEventCounters {
    received: IntCounter,
    held: IntCounter,
    unmatched: IntCounter,
    delivered: IntCounterVec,
    failed: IntCounterVec,
    /// Serialises the catch-up so two concurrent scrapes never add the same events twice.
    sync: Arc<Mutex<()>>,
}

impl SmsEventCounters {
    pub(super) fn new(registry: &Registry) -> Result<SmsEventCounters, prometheus::Error> {
        let received = IntCounter::new(
            SMS_RECEIVED,
            "SMS accepted from the gateway since start (a long SMS counts once)",
        )?;
        let held = IntCounter::new(SMS_HELD, "SMS held by our-side filtering since start")?;
        let unmatched = IntCounter::new(
            SMS_UNMATCHED,
            "SMS that arrived with no activation on their number since start",
        )?;
        let delivered = IntCounterVec::new(
            Opts::new(
                SMS_DELIVERED,
                "SMS the platform confirmed since start, by platform",
            ),
            &["platform"],
        )?;
        let failed = IntCounterVec::new(
            Opts::new(
                SMS_FAILED,
                "SMS given up on since start (refused for good or attempt cap), by platform; a redelivered SMS that fails again counts again",
            ),
            &["platform"],
        )?;
        registry.register(Box::new(received.clone()))?;
        registry.register(Box::new(held.clone()))?;
        registry.register(Box::new(unmatched.clone()))?;
        registry.register(Box::new(delivered.clone()))?;
        registry.register(Box::new(failed.clone()))?;
        Ok(SmsEventCounters {
            received,
            held,
            unmatched,
            delivered,
            failed,
            sync: Arc::new(Mutex::new(())),
        })
    }

    /// Starts a platform's series at 0, so `rate()` sees its first delivery.
    pub(super) fn platform(&self, platform: &str) {
        self.delivered.with_label_values(&[platform]);
        self.failed.with_label_values(&[platform]);
    }

    /// Adds what the engine counted since the last scrape.
    pub(super) fn catch_up(&self, events: &SmsEvents) {
        let _one_at_a_time = self.sync.lock();
        let raise = |counter: &IntCounter, to: u64| {
            let now = counter.get();
            if to > now {
                counter.inc_by(to - now);
            }
        };
        raise(&self.received, events.received);
        raise(&self.held, events.held);
        raise(&self.unmatched, events.unmatched);
        let per_platform = |vec: &IntCounterVec, counts: &BTreeMap<String, u64>| {
            for (platform, n) in counts {
                raise(&vec.with_label_values(&[platform.as_str()]), *n);
            }
        };
        per_platform(&self.delivered, &events.delivered);
        per_platform(&self.failed, &events.failed);
    }
}
