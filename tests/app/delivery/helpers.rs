//! The harness: a real simrelay (actix-web stack, engine, in-memory store) on random ports with
//! time under a [`ManualClock`], a fake platform taking its PUSH_SMS, and helpers to drive the
//! gateway, admin and v1 APIs. Built on the kit's app builder.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use simrelay::config::{RawSettings, Settings, SimEntry};
use simrelay::store::MemoryStore;
use simrelay_actors::{Engine, ManualClock};

use crate::delivery::platform::Platform;
use crate::kit::app::{self, base_settings};
pub use crate::kit::app::{at, client, clock_start, new_clock, sim, ADMIN_TOKEN, GATEWAY_TOKEN};
pub use crate::kit::http::{assert_error, count, gunzip, json_of, time};

/// The partner key (v1 `key`, PUSH_SMS `key` and Bearer).
pub const API_KEY: &str = "test-partner-key";
/// The price every test GET_NUMBER offers.
pub const SUM: f64 = 40.0;
/// The retry interval every in-process test runs with (the protocol's 10 s).
pub const RETRY_SECS: i64 = 10;

/// Russian beeline SIMs of the delivery tests.
pub const RU1: u64 = 79281000001;
pub const RU2: u64 = 79281000002;
pub const RU3: u64 = 79281000003;
pub const RU4: u64 = 79281000004;
pub const RU5: u64 = 79281000005;

/// Five configured Russian beeline SIMs.
pub fn default_sims() -> Vec<SimEntry> {
    [RU1, RU2, RU3, RU4, RU5]
        .iter()
        .map(|n| sim(&n.to_string(), "russia", Some("beeline")))
        .collect()
}

/// Settings for a test app: random ports, known secrets, `vk ok wa tg` offered, these SIMs,
/// retries every 10 s.
pub fn settings(sims: Vec<SimEntry>) -> RawSettings {
    let mut s = base_settings(API_KEY, 1, sims);
    s.onlinesim.push_retry_interval = Duration::from_secs(RETRY_SECS as u64);
    s
}

/// RFC 3339 of `clock_start() + secs`.
pub fn rfc3339(secs: i64) -> String {
    at(secs).to_rfc3339()
}

/// A running simrelay and what a test needs to drive it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The clock the engine reads.
    pub clock: Arc<ManualClock>,
    /// The engine, to run due deliveries and expiries after moving the clock.
    pub engine: Engine,
    /// A client with a timeout.
    pub client: reqwest::Client,
    /// The settings the app runs with.
    pub settings: Settings,
}

/// An app on these settings and this clock.
pub async fn spawn_app_on(settings: RawSettings, clock: Arc<ManualClock>) -> TestApp {
    spawn_app_on_store(settings, Arc::new(MemoryStore::new()), clock).await
}

/// An app on these settings, this store and this clock (a second app on the same store is a
/// restart), ready once it answers.
pub async fn spawn_app_on_store(
    settings: RawSettings,
    store: Arc<dyn simrelay_actors::store::Store>,
    clock: Arc<ManualClock>,
) -> TestApp {
    TestApp::of(app::start(settings, store, clock.clone()).await, clock)
}

/// An app with these settings (no platform unless the settings name one).
pub async fn spawn_app_with(settings: RawSettings) -> TestApp {
    spawn_app_on(settings, new_clock()).await
}

/// A fake platform and an app delivering to it: [`default_sims`], then `tweak`.
pub async fn spawn_with_platform(tweak: impl FnOnce(&mut RawSettings)) -> (TestApp, Platform) {
    let clock = new_clock();
    let platform = Platform::start(Some(clock.clone())).await;
    let mut s = settings(default_sims());
    s.onlinesim.push_sms_url = Some(platform.url());
    tweak(&mut s);
    (spawn_app_on(s, clock).await, platform)
}

/// One value of a Prometheus text exposition: `series` is the metric name with its labels as
/// rendered, e.g. `simrelay_sms{state="held"}`.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (name, value) = l.rsplit_once(' ')?;
        (name == series).then(|| value.parse().expect("a metric value"))
    })
}

/// (number, activationId) of a GET_NUMBER SUCCESS, after checking its shape.
#[track_caller]
pub fn success_of(reply: &(StatusCode, Value)) -> (u64, u64) {
    let (status, body) = reply;
    assert_eq!(*status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "SUCCESS", "{body}");
    let number = body["number"]
        .as_u64()
        .unwrap_or_else(|| panic!("number is not a JSON integer: {body}"));
    let id = body["activationId"]
        .as_u64()
        .unwrap_or_else(|| panic!("activationId is not a JSON integer: {body}"));
    (number, id)
}

impl TestApp {
    /// The app of a started simrelay running on this clock.
    pub fn of(running: app::Running, clock: Arc<ManualClock>) -> TestApp {
        TestApp {
            address: running.address,
            clock,
            engine: running.engine,
            client: client(),
            settings: running.settings,
        }
    }

    /// Moves the test clock forward.
    pub fn advance(&self, secs: i64) {
        self.clock.advance(TimeDelta::seconds(secs));
    }

    /// Runs every delivery that is due now and waits until no attempt is in flight and no
    /// pending SMS is overdue (attempts the background outbox task started included).
    pub async fn settle(&self) {
        crate::kit::app::settle(&self.engine).await;
    }

    /// Moves the clock, then [`TestApp::settle`].
    pub async fn advance_and_settle(&self, secs: i64) {
        self.advance(secs);
        self.settle().await;
    }

    /// The v1 side, as the platform calls it.
    pub fn v1(&self) -> crate::kit::app::V1<'_> {
        crate::kit::app::V1 {
            client: &self.client,
            address: &self.address,
            settings: &self.settings,
            key: API_KEY,
        }
    }

    /// POSTs a JSON value to the v1 endpoint.
    pub async fn post_v1(&self, body: &Value) -> (StatusCode, Value) {
        self.v1().post(body).await
    }

    /// GET_SERVICES, asserted SUCCESS.
    pub async fn get_services(&self) -> Value {
        self.v1().get_services().await
    }

    /// GET_NUMBER.
    pub async fn get_number(
        &self,
        country: &str,
        operator: &str,
        service: &str,
    ) -> (StatusCode, Value) {
        self.post_v1(&json!({
            "action": "GET_NUMBER",
            "country": country,
            "operator": operator,
            "service": service,
            "sum": SUM,
            "key": API_KEY,
        }))
        .await
    }

    /// GET_NUMBER that must succeed: (number, activationId).
    pub async fn reserve(&self, country: &str, operator: &str, service: &str) -> (u64, u64) {
        success_of(&self.get_number(country, operator, service).await)
    }

    /// GET_NUMBER that must answer NO_NUMBERS.
    pub async fn assert_no_numbers(&self, country: &str, operator: &str, service: &str) {
        let (status, body) = self.get_number(country, operator, service).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!({"status": "NO_NUMBERS"}));
    }

    /// FINISH_ACTIVATION that must answer SUCCESS.
    pub async fn finish_ok(&self, id: u64, status: u8) {
        self.v1().finish_ok(id, status).await
    }

    /// A gateway request with this `Authorization` header value (none when `None`) and raw
    /// body.
    pub async fn gateway_raw(
        &self,
        method: Method,
        path: &str,
        auth: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body);
        }
        json_of(request.send().await.expect("gateway request")).await
    }

    /// A gateway request with the right token and a JSON body.
    pub async fn gateway(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.gateway_raw(
            method,
            path,
            Some(&format!("Bearer {GATEWAY_TOKEN}")),
            body.map(|b| b.to_string().into_bytes()),
        )
        .await
    }

    /// `PUT /gateway/sims`.
    pub async fn put_sims(&self, body: Value) -> (StatusCode, Value) {
        self.gateway(Method::PUT, "/gateway/sims", Some(body)).await
    }

    /// `POST /gateway/sims`.
    pub async fn post_sim(&self, body: Value) -> (StatusCode, Value) {
        self.gateway(Method::POST, "/gateway/sims", Some(body))
            .await
    }

    /// `POST /gateway/sims` that must succeed; answers the SIM view.
    pub async fn sim_online(&self, body: Value) -> Value {
        let (status, answer) = self.post_sim(body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer["sim"].clone()
    }

    /// `DELETE /gateway/sims/{number}`.
    pub async fn delete_sim(&self, number: &str) -> (StatusCode, Value) {
        self.gateway(Method::DELETE, &format!("/gateway/sims/{number}"), None)
            .await
    }

    /// `PUT /gateway/banks/{bank}/sims` with these numbers (ports `<bank>.<i>`).
    pub async fn put_bank(&self, bank: &str, numbers: &[u64]) -> (StatusCode, Value) {
        let sims: Vec<Value> = numbers
            .iter()
            .enumerate()
            .map(|(i, n)| json!({"number": n.to_string(), "port": format!("{bank}.{i}")}))
            .collect();
        self.gateway(
            Method::PUT,
            &format!("/gateway/banks/{bank}/sims"),
            Some(json!({ "sims": sims })),
        )
        .await
    }

    /// `PUT /gateway/banks/{bank}/sims` that must succeed.
    pub async fn bank_lists(&self, bank: &str, numbers: &[u64]) -> Value {
        let (status, body) = self.put_bank(bank, numbers).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// `POST /gateway/banks/{bank}/heartbeat`.
    pub async fn heartbeat(&self, bank: &str) -> (StatusCode, Value) {
        self.gateway(
            Method::POST,
            &format!("/gateway/banks/{bank}/heartbeat"),
            None,
        )
        .await
    }

    /// Every bank as `GET /admin/banks` lists it, by name.
    pub async fn admin_banks(&self) -> std::collections::BTreeMap<String, Value> {
        self.admin_json("/admin/banks").await["banks"]
            .as_array()
            .expect("banks")
            .iter()
            .map(|b| (b["name"].as_str().expect("name").to_owned(), b.clone()))
            .collect()
    }

    /// Moves the clock and silences the banks whose TTL ran out.
    pub async fn advance_banks(&self, secs: i64) {
        self.advance(secs);
        self.engine.silence_due_banks().await;
    }

    /// `POST /gateway/sms`.
    pub async fn post_sms(&self, body: Value) -> (StatusCode, Value) {
        self.gateway(Method::POST, "/gateway/sms", Some(body)).await
    }

    /// `POST /gateway/sms` that must be accepted as new: answers (sms_id, activation_id).
    pub async fn sms(&self, body: Value) -> (u64, Option<u64>) {
        let (status, answer) = self.post_sms(body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
        assert_eq!(
            answer.as_object().map(|o| o.len()),
            Some(3),
            "sms_id, activation_id, duplicate: {answer}"
        );
        assert_eq!(answer["duplicate"], false, "{answer}");
        let id = answer["sms_id"]
            .as_u64()
            .unwrap_or_else(|| panic!("sms_id is not an integer: {answer}"));
        (id, answer["activation_id"].as_u64())
    }

    /// A simple SMS to `number` from `from`, received now.
    pub async fn sms_to(&self, number: u64, from: &str, text: &str) -> (u64, Option<u64>) {
        self.sms(json!({"number": number.to_string(), "from": from, "text": text}))
            .await
    }

    /// GET on the admin API with the right token, as JSON, asserted 200.
    pub async fn admin_json(&self, path: &str) -> Value {
        let response = self
            .client
            .get(format!("{}{path}", self.address))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("admin request");
        let (status, body) = json_of(response).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }

    /// POST on the admin API with the right token.
    pub async fn admin_post(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.address))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("admin request");
        json_of(response).await
    }

    /// Every SIM as `GET /admin/sims` lists it.
    pub async fn admin_sims(&self) -> Value {
        self.admin_json("/admin/sims").await["sims"].clone()
    }

    /// One SIM as `GET /admin/sims` shows it.
    pub async fn admin_sim(&self, number: u64) -> Value {
        let sims = self.admin_sims().await;
        sims.as_array()
            .expect("sims")
            .iter()
            .find(|s| s["number"] == number)
            .unwrap_or_else(|| panic!("SIM {number} not listed: {sims}"))
            .clone()
    }

    /// Every SMS as `GET /admin/sms` lists it, newest first.
    pub async fn admin_sms_list(&self) -> Vec<Value> {
        self.admin_json("/admin/sms?limit=10000").await["sms"]
            .as_array()
            .expect("sms list")
            .clone()
    }

    /// One SMS as `GET /admin/sms` shows it.
    pub async fn admin_sms(&self, id: u64) -> Value {
        let list = self.admin_sms_list().await;
        list.iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("SMS {id} not listed: {list:#?}"))
            .clone()
    }

    /// `POST /admin/sms/{id}/redeliver`.
    pub async fn redeliver(&self, id: &str) -> (StatusCode, Value) {
        self.admin_post(&format!("/admin/sms/{id}/redeliver")).await
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
