//! Prometheus metrics, registered once in an explicit [`Registry`].
//!
//! Names are constants here; labels are bounded (v1 action and outcome are closed sets, stock is
//! labelled by configured country and service only, HTTP requests by route pattern).
//!
//! Gauges read the engine's state at each scrape; the `_total` counters only grow for the life of
//! the process (Prometheus' `rate()` handles the reset a restart makes). The SMS event counters
//! follow [`SmsEvents`]: each event counted once, when it happens in this process.

mod http;
mod sms;

pub use http::RequestMetrics;
use sms::SmsEventCounters;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use simrelay_actors::Engine;

const V1_REQUESTS: &str = "simrelay_v1_requests_total";
const GET_NUMBER_SECONDS: &str = "simrelay_get_number_duration_seconds";
const ACTIVE_ACTIVATIONS: &str = "simrelay_active_activations";
const OVERDUE_ACTIVATIONS: &str = "simrelay_overdue_activations";
const STOCK: &str = "simrelay_stock";
const SIMS: &str = "simrelay_sims";
const STORE_UP: &str = "simrelay_store_up";
const READY: &str = "simrelay_ready";
const SMS: &str = "simrelay_sms";
const OUTBOX_DEPTH: &str = "simrelay_outbox_depth";
const OUTBOX_OLDEST: &str = "simrelay_outbox_oldest_pending_seconds";
const PUSH_SMS: &str = "simrelay_push_sms_total";
const PUSH_SMS_SECONDS: &str = "simrelay_push_sms_duration_seconds";
const POSSIBLE_REPEATS: &str = "simrelay_push_sms_possible_repeats";
const V2_REQUESTS: &str = "simrelay_v2_requests_total";
const V2_SECONDS: &str = "simrelay_v2_request_duration_seconds";
const V2_HEARTBEAT: &str = "simrelay_v2_last_heartbeat_timestamp_seconds";
const V2_LISTED: &str = "simrelay_v2_listed_sims";
const V2_ACCOUNT: &str = "simrelay_v2_account_problem";
const BANK_SIMS_ONLINE: &str = "simrelay_bank_sims_online";
const BANK_LIVE: &str = "simrelay_bank_live";
const LEASE_HELD: &str = "simrelay_lease_held";

/// The metrics simrelay exports.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    v1_requests: IntCounterVec,
    get_number_seconds: HistogramVec,
    active_activations: IntGauge,
    overdue_activations: IntGauge,
    stock: IntGaugeVec,
    sims: IntGauge,
    store_up: IntGauge,
    ready: IntGauge,
    sms: IntGaugeVec,
    outbox_depth: IntGauge,
    outbox_oldest: prometheus::Gauge,
    push_sms: IntCounterVec,
    push_sms_seconds: Histogram,
    possible_repeats: IntGauge,
    v2_requests: IntCounterVec,
    v2_seconds: Histogram,
    v2_heartbeat: IntGaugeVec,
    v2_listed: IntGaugeVec,
    v2_account: IntGaugeVec,
    bank_sims_online: IntGaugeVec,
    bank_live: IntGaugeVec,
    lease_held: IntGauge,
    sms_events: SmsEventCounters,
    requests: RequestMetrics,
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let v1_requests = IntCounterVec::new(
            Opts::new(
                V1_REQUESTS,
                "Requests of the platforms that call us (OnlineSIM v1, SMSHub) by platform, action and outcome",
            ),
            &["platform", "action", "outcome"],
        )?;
        let get_number_seconds = HistogramVec::new(
            HistogramOpts::new(GET_NUMBER_SECONDS, "Time to answer GET_NUMBER, by platform")
                .buckets(vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ]),
            &["platform"],
        )?;
        let active_activations = IntGauge::new(
            ACTIVE_ACTIVATIONS,
            "Activations answered SUCCESS and not yet closed",
        )?;
        let stock = IntGaugeVec::new(
            Opts::new(
                STOCK,
                "Numbers GET_SERVICES reports, per country and service (operator any)",
            ),
            &["country", "service"],
        )?;
        let sims = IntGauge::new(SIMS, "SIMs known to simrelay")?;
        let store_up = IntGauge::new(
            STORE_UP,
            "1 when the store accepts writes, 0 when it is down",
        )?;
        let ready = IntGauge::new(READY, "1 once state is recovered from the store")?;
        registry.register(Box::new(v1_requests.clone()))?;
        registry.register(Box::new(get_number_seconds.clone()))?;
        registry.register(Box::new(active_activations.clone()))?;
        let overdue_activations = IntGauge::new(
            OVERDUE_ACTIVATIONS,
            "Active activations past activation_ttl without FINISH_ACTIVATION (their numbers stay busy until the platform finishes them or the operator releases them)",
        )?;
        registry.register(Box::new(overdue_activations.clone()))?;
        registry.register(Box::new(stock.clone()))?;
        let sms = IntGaugeVec::new(
            Opts::new(
                SMS,
                "SMS accepted from the gateway, by delivery state (received = all)",
            ),
            &["state"],
        )?;
        let outbox_depth = IntGauge::new(OUTBOX_DEPTH, "SMS waiting for the platform to confirm")?;
        let outbox_oldest = prometheus::Gauge::new(
            OUTBOX_OLDEST,
            "Age of the oldest SMS waiting for the platform (0 when none)",
        )?;
        let push_sms = IntCounterVec::new(
            Opts::new(
                PUSH_SMS,
                "PUSH_SMS attempts by platform and outcome (SUCCESS, platform code, HTTP_xxx, NETWORK, TIMEOUT)",
            ),
            &["platform", "outcome"],
        )?;
        let push_sms_seconds = Histogram::with_opts(
            HistogramOpts::new(PUSH_SMS_SECONDS, "Time of one PUSH_SMS attempt").buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
        )?;
        let possible_repeats = IntGauge::new(
            POSSIBLE_REPEATS,
            "SMS found mid-delivery at start-up: the platform may have seen them once more",
        )?;
        let v2_requests = IntCounterVec::new(
            Opts::new(
                V2_REQUESTS,
                "OnlineSIM v2 requests by platform, endpoint and outcome",
            ),
            &["platform", "endpoint", "outcome"],
        )?;
        let v2_seconds = Histogram::with_opts(HistogramOpts::new(
            V2_SECONDS,
            "Time of one OnlineSIM v2 request",
        ))?;
        // One series per v2 platform (platforms are few: the config names them).
        let v2_heartbeat = IntGaugeVec::new(
            Opts::new(
                V2_HEARTBEAT,
                "UNIX time of the last successful v2 heartbeat (sendNumbersOnline or checkWork), by platform",
            ),
            &["platform"],
        )?;
        let v2_listed = IntGaugeVec::new(
            Opts::new(
                V2_LISTED,
                "SIMs the v2 platform holds in our list, by platform",
            ),
            &["platform"],
        )?;
        let v2_account = IntGaugeVec::new(
            Opts::new(
                V2_ACCOUNT,
                "1 while a v2 platform refuses our account, by platform and code",
            ),
            &["platform", "code"],
        )?;
        // Banks are few (at most MAX_BANKS), so the bank label stays bounded.
        let bank_sims_online = IntGaugeVec::new(
            Opts::new(BANK_SIMS_ONLINE, "SIMs in a port now, per SIM bank"),
            &["bank"],
        )?;
        let bank_live = IntGaugeVec::new(
            Opts::new(
                BANK_LIVE,
                "1 while a SIM bank reports within gateway.bank_ttl (its SIMs on sale), 0 when silent",
            ),
            &["bank"],
        )?;
        let lease_held = IntGauge::new(
            LEASE_HELD,
            "1 while this process holds the deployment's lease (serves and writes), 0 on a standby",
        )?;
        registry.register(Box::new(lease_held.clone()))?;
        registry.register(Box::new(bank_sims_online.clone()))?;
        registry.register(Box::new(bank_live.clone()))?;
        registry.register(Box::new(v2_requests.clone()))?;
        registry.register(Box::new(v2_seconds.clone()))?;
        registry.register(Box::new(v2_heartbeat.clone()))?;
        registry.register(Box::new(v2_listed.clone()))?;
        registry.register(Box::new(v2_account.clone()))?;
        registry.register(Box::new(sims.clone()))?;
        registry.register(Box::new(sms.clone()))?;
        registry.register(Box::new(outbox_depth.clone()))?;
        registry.register(Box::new(outbox_oldest.clone()))?;
        registry.register(Box::new(push_sms.clone()))?;
        registry.register(Box::new(push_sms_seconds.clone()))?;
        registry.register(Box::new(possible_repeats.clone()))?;
        registry.register(Box::new(store_up.clone()))?;
        registry.register(Box::new(ready.clone()))?;
        let sms_events = SmsEventCounters::new(&registry)?;
        let requests = RequestMetrics::new(&registry)?;
        register_process_metrics(&registry)?;
        Ok(Metrics {
            registry,
            v1_requests,
            get_number_seconds,
            active_activations,
            overdue_activations,
            stock,
            sims,
            store_up,
            ready,
            sms,
            outbox_depth,
            outbox_oldest,
            push_sms,
            push_sms_seconds,
            possible_repeats,
            v2_requests,
            v2_seconds,
            v2_heartbeat,
            v2_listed,
            v2_account,
            bank_sims_online,
            bank_live,
            lease_held,
            sms_events,
            requests,
        })
    }

    /// Exports a configured platform's per-platform SMS counters from 0 at start.
    pub fn platform(&self, platform: &str) {
        self.sms_events.platform(platform);
    }

    /// The HTTP request metrics, for the middleware every listener wraps.
    pub fn requests(&self) -> &RequestMetrics {
        &self.requests
    }

    /// Records whether this process holds the lease.
    pub fn lease_held(&self, held: bool) {
        self.lease_held.set(i64::from(held));
    }

    /// Counts one request of a platform that calls us. `platform` is a configured name, never
    /// request input: the label stays bounded.
    pub fn v1_request(&self, platform: &str, action: &str, outcome: &str) {
        self.v1_requests
            .with_label_values(&[platform, action, outcome])
            .inc();
    }

    /// Records how long a platform's GET_NUMBER took.
    pub fn get_number_took(&self, platform: &str, seconds: f64) {
        self.get_number_seconds
            .with_label_values(&[platform])
            .observe(seconds);
    }

    /// Counts one PUSH_SMS attempt to a platform.
    pub fn push_sms_done(&self, platform: &str, outcome: &str, seconds: f64) {
        self.push_sms.with_label_values(&[platform, outcome]).inc();
        self.push_sms_seconds.observe(seconds);
    }

    /// Counts one v2 request to a platform.
    pub fn v2_request(&self, platform: &str, endpoint: &str, outcome: &str, seconds: f64) {
        self.v2_requests
            .with_label_values(&[platform, endpoint, outcome])
            .inc();
        self.v2_seconds.observe(seconds);
    }

    /// Records a platform's successful heartbeat.
    pub fn v2_heartbeat(&self, platform: &str, unix: i64) {
        self.v2_heartbeat.with_label_values(&[platform]).set(unix);
    }

    /// Records how many SIMs a platform holds.
    pub fn v2_listed(&self, platform: &str, listed: usize) {
        self.v2_listed
            .with_label_values(&[platform])
            .set(i64::try_from(listed).unwrap_or(i64::MAX));
    }

    /// Records the v2 platforms' account problems now: one series per platform with one.
    pub fn v2_accounts<'a>(&self, problems: impl IntoIterator<Item = (&'a str, Option<String>)>) {
        self.v2_account.reset();
        for (platform, problem) in problems {
            if let Some(code) = problem {
                self.v2_account
                    .with_label_values(&[platform, code.as_str()])
                    .set(1);
            }
        }
    }

    /// Reads the engine's gauges and renders the text exposition.
    pub fn render(&self, engine: &Engine) -> Result<String, prometheus::Error> {
        self.active_activations
            .set(i64::try_from(engine.active_activations()).unwrap_or(i64::MAX));
        self.overdue_activations
            .set(i64::try_from(engine.overdue_count()).unwrap_or(i64::MAX));
        self.sims
            .set(i64::try_from(engine.sim_count()).unwrap_or(i64::MAX));
        self.store_up.set(i64::from(engine.store_up()));
        self.ready.set(i64::from(engine.is_ready()));
        let c = engine.sms_counts();
        for (state, n) in [
            ("received", c.received),
            ("delivered", c.delivered),
            ("failed", c.failed),
            ("held", c.held),
            ("unmatched", c.unmatched),
            ("pending", c.pending),
            ("assembling", c.assembling),
        ] {
            self.sms
                .with_label_values(&[state])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        self.sms_events.catch_up(&engine.sms_events());
        self.outbox_depth
            .set(i64::try_from(c.pending).unwrap_or(i64::MAX));
        let oldest = c.oldest_pending.map_or(0.0, |at| {
            (engine.now() - at).num_milliseconds().max(0) as f64 / 1000.0
        });
        self.outbox_oldest.set(oldest);
        self.possible_repeats
            .set(i64::try_from(engine.possible_repeats()).unwrap_or(i64::MAX));
        self.bank_sims_online.reset();
        self.bank_live.reset();
        for bank in engine.banks() {
            self.bank_sims_online
                .with_label_values(&[bank.name.as_str()])
                .set(i64::try_from(bank.online).unwrap_or(i64::MAX));
            self.bank_live
                .with_label_values(&[bank.name.as_str()])
                .set(i64::from(bank.live));
        }
        self.stock.reset();
        for country in engine.stock().countries {
            for (service, count) in &country.any {
                self.stock
                    .with_label_values(&[country.country.as_str(), service.as_str()])
                    .set(i64::from(*count));
            }
        }
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        String::from_utf8(out).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

/// CPU seconds, resident memory, open and max file descriptors, threads and start time of this
/// process (`process_*`, read from /proc at each scrape).
#[cfg(target_os = "linux")]
fn register_process_metrics(registry: &Registry) -> Result<(), prometheus::Error> {
    registry.register(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    ))
}

/// No /proc to read: no process metrics.
#[cfg(not(target_os = "linux"))]
fn register_process_metrics(_registry: &Registry) -> Result<(), prometheus::Error> {
    Ok(())
}
