//! Prometheus metrics, registered once in an explicit [`Registry`].
//!
//! Names are constants here; labels are bounded (v1 action and outcome are closed sets, stock is
//! labelled by configured country and service only).

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use simrelay_actors::Engine;

const V1_REQUESTS: &str = "simrelay_v1_requests_total";
const GET_NUMBER_SECONDS: &str = "simrelay_get_number_duration_seconds";
const ACTIVE_ACTIVATIONS: &str = "simrelay_active_activations";
const STOCK: &str = "simrelay_stock";
const SIMS: &str = "simrelay_sims";
const STORE_UP: &str = "simrelay_store_up";
const READY: &str = "simrelay_ready";

/// The metrics simrelay exports.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    v1_requests: IntCounterVec,
    get_number_seconds: Histogram,
    active_activations: IntGauge,
    stock: IntGaugeVec,
    sims: IntGauge,
    store_up: IntGauge,
    ready: IntGauge,
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let v1_requests = IntCounterVec::new(
            Opts::new(V1_REQUESTS, "OnlineSIM v1 requests by action and outcome"),
            &["action", "outcome"],
        )?;
        let get_number_seconds = Histogram::with_opts(
            HistogramOpts::new(GET_NUMBER_SECONDS, "Time to answer GET_NUMBER").buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
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
        registry.register(Box::new(stock.clone()))?;
        registry.register(Box::new(sims.clone()))?;
        registry.register(Box::new(store_up.clone()))?;
        registry.register(Box::new(ready.clone()))?;
        Ok(Metrics {
            registry,
            v1_requests,
            get_number_seconds,
            active_activations,
            stock,
            sims,
            store_up,
            ready,
        })
    }

    /// Counts one v1 request.
    pub fn v1_request(&self, action: &str, outcome: &str) {
        self.v1_requests.with_label_values(&[action, outcome]).inc();
    }

    /// Records how long a GET_NUMBER took.
    pub fn get_number_took(&self, seconds: f64) {
        self.get_number_seconds.observe(seconds);
    }

    /// Reads the engine's gauges and renders the text exposition.
    pub fn render(&self, engine: &Engine) -> Result<String, prometheus::Error> {
        self.active_activations
            .set(i64::try_from(engine.active_activations()).unwrap_or(i64::MAX));
        self.sims
            .set(i64::try_from(engine.sim_count()).unwrap_or(i64::MAX));
        self.store_up.set(i64::from(engine.store_up()));
        self.ready.set(i64::from(engine.is_ready()));
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
