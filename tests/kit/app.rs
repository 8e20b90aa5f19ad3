//! The app builder every in-process suite uses: settings with known secrets on port 0, the
//! whole simrelay (`Application`, its real HTTP stack) on a store and a [`ManualClock`] the
//! test holds, and the time helpers. Each suite wraps [`Running`] with its own requests.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use simrelay::config::{RawSettings, Secret, Settings, SimEntry};
use simrelay::platforms::onlinesim_v2::sync::ListSync;
use simrelay::startup::Application;
use simrelay::store::MemoryStore;
use simrelay_actors::domain::{CountryName, Msisdn, OperatorName, ServiceName};
use simrelay_actors::store::Store;
use simrelay_actors::{Engine, ManualClock};

/// The admin API's Bearer token.
pub const ADMIN_TOKEN: &str = "test-admin-token";
/// The gateway's Bearer token.
pub const GATEWAY_TOKEN: &str = "test-gateway-token";

/// A configured SIM with port `bank.<number>`.
pub fn sim(number: &str, country: &str, operator: Option<&str>) -> SimEntry {
    SimEntry {
        number: Msisdn::parse(number).expect("test SIM number"),
        port: Some(format!("bank.{number}")),
        operator: operator.map(|o| OperatorName::parse(o).expect("test operator")),
        country: Some(CountryName::parse(country).expect("test country")),
        mcc_mnc: None,
        rent: false,
        bank: None,
    }
}

/// Service names.
pub fn services(names: &[&str]) -> Vec<ServiceName> {
    names
        .iter()
        .map(|s| ServiceName::parse(s).expect("test service"))
        .collect()
}

/// Settings every suite starts from: listener on port 0 (no internal one), `workers` HTTP
/// workers, the partner key `api_key`, the known admin and gateway tokens, `vk ok wa tg`
/// offered, a generous GET_NUMBER deadline (the machine is shared: a slow reservation must
/// not turn into NO_NUMBERS), these SIMs.
pub fn base_settings(api_key: &str, workers: usize, sims: Vec<SimEntry>) -> RawSettings {
    let mut s = RawSettings::default();
    s.server.listen = "127.0.0.1:0".parse().expect("address");
    s.server.internal_listen = None;
    s.server.workers = workers;
    s.onlinesim.api_key = Secret::new(api_key);
    s.engine.get_number_deadline = Some(Duration::from_secs(9));
    s.admin.token = Secret::new(ADMIN_TOKEN);
    s.gateway.token = Secret::new(GATEWAY_TOKEN);
    s.services.offered = services(&["vk", "ok", "wa", "tg"]);
    s.sims = sims;
    s
}

/// Where every test clock starts.
pub fn clock_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
}

/// `clock_start() + secs`.
pub fn at(secs: i64) -> DateTime<Utc> {
    clock_start() + TimeDelta::seconds(secs)
}

/// A new manual clock at [`clock_start`].
pub fn new_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(clock_start()))
}

/// A client builder with the harness's timeout (no test may hang).
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().timeout(Duration::from_secs(30))
}

/// A client with the harness's timeout; it accepts gzip and decodes it.
pub fn client() -> reqwest::Client {
    client_builder().build().expect("client")
}

/// A simrelay running in this process.
pub struct Running {
    /// `http://127.0.0.1:<port>` of the platform listener.
    pub address: String,
    /// `http://127.0.0.1:<port>` of the internal listener, when configured.
    pub internal_address: Option<String>,
    /// The engine, to run due work after moving the clock.
    pub engine: Engine,
    /// The first v2 platform's list task, in v2 mode.
    pub v2_sync: Option<Arc<ListSync>>,
    /// Every v2 platform's list task, in config order.
    pub v2_syncs: Vec<Arc<ListSync>>,
    /// The settings it runs with.
    pub settings: Settings,
}

/// Starts simrelay on these settings, this store (a second app on the same store is a
/// restart) and this clock; answers once it listens.
pub async fn start(
    settings: RawSettings,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
) -> Running {
    let settings: Settings = settings.parse().expect("valid test settings");
    let app = Application::build_with_store(settings.clone(), store, clock)
        .await
        .expect("failed to build the application");
    let running = Running {
        address: format!("http://127.0.0.1:{}", app.port()),
        internal_address: app.internal_port().map(|p| format!("http://127.0.0.1:{p}")),
        engine: app.engine().clone(),
        v2_sync: app.v2_sync().cloned(),
        v2_syncs: app.v2_syncs().to_vec(),
        settings,
    };
    actix_rt::spawn(app.run_until_stopped());
    running
}

/// [`start`] on a fresh in-memory store.
pub async fn start_in_memory(settings: RawSettings, clock: Arc<ManualClock>) -> Running {
    start(settings, Arc::new(MemoryStore::new()), clock).await
}

/// Runs every delivery that is due now and waits until no attempt is in flight and no pending
/// SMS is overdue (attempts the background outbox task started included).
pub async fn settle(engine: &Engine) {
    let started = std::time::Instant::now();
    loop {
        engine.deliver_due().await;
        let now = engine.now();
        let busy: Vec<_> = engine
            .sms(Some(simrelay_actors::domain::SmsState::Pending), 10_000)
            .into_iter()
            .filter(|r| r.in_flight || r.next_attempt_at.is_none_or(|at| at <= now))
            .collect();
        if busy.is_empty() {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "SMS still due or in flight: {busy:#?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The v1 side of an in-process app, as the platform calls it: each suite's app hands one out
/// and keeps its own shortcuts on top.
pub struct V1<'a> {
    /// The client to send with.
    pub client: &'a reqwest::Client,
    /// `http://127.0.0.1:<port>` of the platform listener.
    pub address: &'a str,
    /// The settings the app runs with (the v1 path).
    pub settings: &'a Settings,
    /// The partner key the requests carry.
    pub key: &'a str,
}

impl V1<'_> {
    /// The v1 endpoint.
    pub fn url(&self) -> String {
        format!(
            "{}{}",
            self.address,
            self.settings.onlinesim.v1().expect("v1 mode").path
        )
    }

    /// POSTs a JSON value: (status, JSON answer, its content type checked).
    pub async fn post(&self, body: &serde_json::Value) -> (reqwest::StatusCode, serde_json::Value) {
        let response = self
            .client
            .post(self.url())
            .header("User-Agent", "simrelay-tests")
            .json(body)
            .send()
            .await
            .expect("v1 request");
        super::http::json_of(response).await
    }

    /// GET_SERVICES, asserted 200 SUCCESS.
    pub async fn get_services(&self) -> serde_json::Value {
        let (status, body) = self
            .post(&serde_json::json!({"action": "GET_SERVICES", "key": self.key}))
            .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{body}");
        assert_eq!(body["status"], "SUCCESS", "{body}");
        body
    }

    /// FINISH_ACTIVATION.
    pub async fn finish(&self, id: u64, status: u8) -> (reqwest::StatusCode, serde_json::Value) {
        self.post(&serde_json::json!({
            "action": "FINISH_ACTIVATION",
            "activationId": id,
            "status": status,
            "key": self.key,
        }))
        .await
    }

    /// FINISH_ACTIVATION that must answer `{"status":"SUCCESS"}`.
    pub async fn finish_ok(&self, id: u64, status: u8) {
        let (code, body) = self.finish(id, status).await;
        assert_eq!(code, reqwest::StatusCode::OK, "{body}");
        assert_eq!(body, serde_json::json!({"status": "SUCCESS"}));
    }
}
