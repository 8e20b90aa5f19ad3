//! The harness: a real simrelay in v2 mode (actix-web stack, engine, in-memory store) on a
//! random port with time under a [`ManualClock`], talking to a [`FakeV2`], and helpers to drive
//! the gateway, admin and ops APIs. The list task's cadence is driven by moving the clock and
//! calling [`V2App::tick`]; SMS delivery by [`V2App::settle`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use simrelay::config::{ModeName, RawSettings, SimEntry};
use simrelay::platforms::onlinesim_v2::sync::ListSync;
use simrelay_actors::domain::Msisdn;
use simrelay_actors::{Engine, ManualClock};

use crate::kit::app::{self, base_settings};
pub use crate::kit::app::{at, clock_start, ADMIN_TOKEN, GATEWAY_TOKEN};
pub use crate::kit::http::time;
use crate::v2::fake::FakeV2;

/// The OnlineSIM key (v2: the Bearer key).
pub const API_KEY: &str = "test-v2-key";
/// The retry interval of SMS delivery (the first back-off step).
pub const RETRY_SECS: i64 = 10;
/// The debounce of full-mode list changes.
pub const DEBOUNCE_SECS: i64 = 3;
/// The heartbeat period (the protocol's 5 minutes).
pub const HEARTBEAT_SECS: i64 = 300;

/// The configured SIM (always online): MCC-MNC 25099, port `bank.1`.
pub const C1: u64 = 79281000001;
/// SIMs the gateway reports.
pub const G1: u64 = 79281000011;
pub const G2: u64 = 79281000012;
pub const G3: u64 = 79281000013;
pub const G4: u64 = 79281000014;
/// A Swedish SIM (country calling code 46).
pub const SE1: u64 = 46701234567;

/// `+<number>`, as v2 lists numbers.
pub fn plus(number: u64) -> String {
    format!("+{number}")
}

/// UNIX time of `clock_start() + secs`.
pub fn unix(secs: i64) -> i64 {
    clock_start().timestamp() + secs
}

/// The configured SIM [`C1`].
pub fn configured_sim() -> SimEntry {
    SimEntry {
        number: Msisdn::parse(&C1.to_string()).expect("test SIM number"),
        port: Some("bank.1".into()),
        operator: None,
        country: None,
        mcc_mnc: Some("25099".into()),
        rent: false,
        bank: None,
    }
}

/// v2 settings talking to `base`: random port, known secrets, [`configured_sim`], retries
/// every 10 s, debounce 3 s, heartbeat 5 min.
pub fn settings(base: &str) -> RawSettings {
    let mut s = base_settings(API_KEY, 1, vec![configured_sim()]);
    s.engine.get_number_deadline = None;
    s.services.offered = RawSettings::default().services.offered;
    s.onlinesim.mode = ModeName::V2;
    s.onlinesim.v2_base_url = Some(base.to_owned());
    s.onlinesim.push_retry_interval = Duration::from_secs(RETRY_SECS as u64);
    s.onlinesim.v2_debounce = Duration::from_secs(DEBOUNCE_SECS as u64);
    s.onlinesim.v2_heartbeat = Duration::from_secs(HEARTBEAT_SECS as u64);
    s.onlinesim.v2_timeout = Duration::from_secs(5);
    s
}

/// A running simrelay in v2 mode and what a test needs to drive it.
pub struct V2App {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The clock the engine and the list task read.
    pub clock: Arc<ManualClock>,
    /// The engine.
    pub engine: Engine,
    /// The list task.
    pub sync: Arc<ListSync>,
    /// A client with a timeout.
    pub client: reqwest::Client,
}

/// A fake v2 server and simrelay talking to it: [`settings`], then `tweak`. Nothing has been
/// ticked yet (the background may have sent the first list already).
pub async fn spawn(tweak: impl FnOnce(&mut RawSettings)) -> (V2App, FakeV2) {
    let clock = Arc::new(ManualClock::new(clock_start()));
    let fake = FakeV2::start(Some(clock.clone())).await;
    let mut s = settings(&fake.url());
    tweak(&mut s);
    (spawn_app(s, clock).await, fake)
}

/// An app on these settings and this clock.
pub async fn spawn_app(settings: RawSettings, clock: Arc<ManualClock>) -> V2App {
    let running = app::start_in_memory(settings, clock.clone()).await;
    V2App {
        address: running.address,
        clock,
        engine: running.engine,
        sync: running.v2_sync.expect("v2 mode runs the list task"),
        client: app::client(),
    }
}

/// Samples of a Prometheus text exposition: (name, labels, value).
pub fn samples(text: &str) -> Vec<(String, BTreeMap<String, String>, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let value: f64 = value.parse().ok()?;
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => {
                    let labels = rest
                        .trim_end_matches('}')
                        .split(',')
                        .filter(|p| !p.is_empty())
                        .filter_map(|p| {
                            let (k, v) = p.split_once('=')?;
                            Some((k.to_owned(), v.trim_matches('"').to_owned()))
                        })
                        .collect();
                    (name.to_owned(), labels)
                }
                None => (series.to_owned(), BTreeMap::new()),
            };
            Some((name, labels, value))
        })
        .collect()
}

/// The value of `name` with exactly these labels, in any order.
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let wanted: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    samples(text)
        .into_iter()
        .find(|(n, l, _)| n == name && *l == wanted)
        .map(|(_, _, v)| v)
}

impl V2App {
    /// Moves the test clock forward.
    pub fn advance(&self, secs: i64) {
        self.clock.advance(TimeDelta::seconds(secs));
    }

    /// Whatever the list task has due now (waits for a background tick in progress).
    pub async fn tick(&self) {
        self.sync.tick().await;
    }

    /// Moves the clock, then [`V2App::tick`].
    pub async fn advance_and_tick(&self, secs: i64) {
        self.advance(secs);
        self.tick().await;
    }

    /// Runs every delivery that is due now and waits until no attempt is in flight and no
    /// pending SMS is overdue (attempts the background outbox task started included).
    pub async fn settle(&self) {
        crate::kit::app::settle(&self.engine).await;
    }

    /// Moves the clock, then [`V2App::settle`].
    pub async fn advance_and_settle(&self, secs: i64) {
        self.advance(secs);
        self.settle().await;
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request to simrelay");
        let status = response.status();
        let text = response.text().await.expect("answer body");
        let value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{path}: answer is not JSON ({e}): {status} {text:?}"));
        (status, value)
    }

    /// A gateway request with the right token.
    pub async fn gateway(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.request(method, path, GATEWAY_TOKEN, body).await
    }

    /// `POST /gateway/sims` that must succeed.
    pub async fn sim_online(&self, sim: Value) {
        let (status, answer) = self.gateway(Method::POST, "/gateway/sims", Some(sim)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }

    /// `POST /gateway/sims` with just a number, that must succeed.
    pub async fn online(&self, number: u64) {
        self.sim_online(json!({"number": number.to_string()})).await;
    }

    /// `DELETE /gateway/sims/{number}` that must succeed.
    pub async fn offline(&self, number: u64) {
        let (status, answer) = self
            .gateway(Method::DELETE, &format!("/gateway/sims/{number}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }

    /// `PUT /gateway/sims` with these numbers, that must succeed.
    pub async fn put_sims(&self, numbers: &[u64]) -> Value {
        let sims: Vec<Value> = numbers
            .iter()
            .map(|n| json!({"number": n.to_string()}))
            .collect();
        let (status, answer) = self
            .gateway(Method::PUT, "/gateway/sims", Some(json!({ "sims": sims })))
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer
    }

    /// `POST /gateway/sms` that must be accepted: the SMS id.
    pub async fn sms(&self, number: u64, from: &str, text: &str) -> u64 {
        self.sms_body(json!({"number": number.to_string(), "from": from, "text": text}))
            .await
    }

    /// `POST /gateway/sms` with this body, that must be accepted: the SMS id.
    pub async fn sms_body(&self, body: Value) -> u64 {
        let (status, answer) = self.gateway(Method::POST, "/gateway/sms", Some(body)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
        assert_eq!(answer["duplicate"], false, "{answer}");
        answer["sms_id"]
            .as_u64()
            .unwrap_or_else(|| panic!("sms_id is not an integer: {answer}"))
    }

    /// `POST /admin/sims/{number}/block` (or unblock) that must succeed.
    pub async fn block(&self, number: u64, blocked: bool) {
        let verb = if blocked { "block" } else { "unblock" };
        let (status, answer) = self
            .request(
                Method::POST,
                &format!("/admin/sims/{number}/{verb}"),
                ADMIN_TOKEN,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }

    /// GET on the admin API, asserted 200.
    pub async fn admin(&self, path: &str) -> Value {
        let (status, body) = self.request(Method::GET, path, ADMIN_TOKEN, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }

    /// One SMS as `GET /admin/sms` shows it.
    pub async fn admin_sms(&self, id: u64) -> Value {
        let list = self.admin("/admin/sms?limit=10000").await;
        list["sms"]
            .as_array()
            .expect("sms list")
            .iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("SMS {id} not listed: {list:#}"))
            .clone()
    }

    /// The numbers `GET /admin/sims` shows online and not blocked, as `+…`, sorted.
    pub async fn online_unblocked(&self) -> Vec<String> {
        let sims = self.admin("/admin/sims").await;
        let mut out: Vec<String> = sims["sims"]
            .as_array()
            .expect("sims")
            .iter()
            .filter(|s| s["online"] == true && s["state"] != "blocked")
            .map(|s| format!("+{}", s["number"]))
            .collect();
        out.sort();
        out
    }

    /// `GET /readyz`: (status, body).
    pub async fn readyz(&self) -> (StatusCode, Value) {
        let response = self
            .client
            .get(format!("{}/readyz", self.address))
            .send()
            .await
            .expect("readyz");
        let status = response.status();
        (status, response.json().await.expect("readyz JSON"))
    }

    /// `GET /healthz` status.
    pub async fn healthz(&self) -> StatusCode {
        self.client
            .get(format!("{}/healthz", self.address))
            .send()
            .await
            .expect("healthz")
            .status()
    }

    /// `/metrics` as text.
    pub async fn metrics(&self) -> String {
        let response = self
            .client
            .get(format!("{}/metrics", self.address))
            .send()
            .await
            .expect("metrics");
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.expect("metrics text")
    }
}
