//! The test harness: a real simrelay (actix-web stack, engine, in-memory store) on random ports,
//! driven over HTTP, with time under a [`ManualClock`] the test holds.

use std::collections::BTreeMap;

use std::sync::Arc;

use crate::kit::app::{self, base_settings, new_clock};
pub use crate::kit::app::{client_builder, clock_start, services, sim, ADMIN_TOKEN};
pub use crate::kit::http::{assert_error, count, gunzip, gzip, json_of, time, JSON_UTF8};
use reqwest::StatusCode;
use serde_json::{json, Value};
use simrelay::config::{RawSettings, Settings, SimEntry};
use simrelay_actors::{Engine, ManualClock};

/// The partner key OnlineSIM sends in v1 bodies.
pub const API_KEY: &str = "test-partner-key";
/// The price every test GET_NUMBER offers.
pub const SUM: f64 = 40.0;

/// The SIMs most tests use. Russia: two beeline, one megafon, one with no operator;
/// Kazakhstan: one beeline.
pub fn default_sims() -> Vec<SimEntry> {
    vec![
        sim("79281000001", "russia", Some("beeline")),
        sim("79281000002", "russia", Some("beeline")),
        sim("79161000003", "russia", Some("megafon")),
        sim("79031000004", "russia", None),
        sim("77011000005", "kazakhstan", Some("beeline")),
    ]
}

/// Settings for a test app: random ports, known secrets, `vk ok wa tg` offered, these SIMs.
pub fn settings(sims: Vec<SimEntry>) -> RawSettings {
    base_settings(API_KEY, 2, sims)
}

/// A running simrelay and what a test needs to drive it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>` of the platform listener.
    pub address: String,
    /// `http://127.0.0.1:<port>` of the internal listener, when configured.
    pub internal_address: Option<String>,
    /// The clock the engine reads.
    pub clock: Arc<ManualClock>,
    /// The engine, to run the expiry safety net after moving the clock.
    pub engine: Engine,
    /// A client (accepts gzip and decodes it transparently).
    pub client: reqwest::Client,
    /// The settings the app runs with.
    pub settings: Settings,
}

/// An app with [`default_sims`].
pub async fn spawn_app() -> TestApp {
    spawn_app_with(settings(default_sims())).await
}

/// An app with these settings.
pub async fn spawn_app_with(settings: RawSettings) -> TestApp {
    let clock = new_clock();
    let running = app::start_in_memory(settings, clock.clone()).await;
    TestApp {
        address: running.address,
        internal_address: running.internal_address,
        clock,
        engine: running.engine,
        client: app::client(),
        settings: running.settings,
    }
}

/// GET_SERVICES as `country -> operatorMap`, after checking the envelope's shape.
pub fn operator_maps(services: &Value) -> BTreeMap<String, Value> {
    let object = services
        .as_object()
        .expect("GET_SERVICES answers an object");
    assert_eq!(object.len(), 2, "countryList and status only: {services}");
    assert_eq!(services["status"], "SUCCESS");
    let mut out = BTreeMap::new();
    for c in services["countryList"].as_array().expect("countryList") {
        assert_eq!(c.as_object().expect("country entry").len(), 2, "{c}");
        let name = c["country"].as_str().expect("country name").to_owned();
        assert!(
            out.insert(name, c["operatorMap"].clone()).is_none(),
            "country listed twice: {services}"
        );
    }
    out
}

/// `{"vk":n,"ok":n,"wa":n,"tg":n}`
pub fn all4(n: u64) -> Value {
    json!({"vk": n, "ok": n, "wa": n, "tg": n})
}

impl TestApp {
    /// Where admin, metrics and health live.
    pub fn internal_base(&self) -> &str {
        self.internal_address.as_deref().unwrap_or(&self.address)
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

    /// The v1 URL on the platform listener.
    pub fn v1_url(&self) -> String {
        self.v1().url()
    }

    /// POSTs a JSON value to the v1 endpoint.
    pub async fn post_v1(&self, body: &Value) -> (StatusCode, Value) {
        self.v1().post(body).await
    }

    /// POSTs raw bytes with extra headers to the v1 endpoint, with `client`.
    pub async fn post_v1_raw_with(
        &self,
        client: &reqwest::Client,
        bytes: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = client
            .post(self.v1_url())
            .header("User-Agent", "simrelay-tests")
            .body(bytes);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("v1 request")
    }

    /// POSTs raw bytes with extra headers to the v1 endpoint.
    pub async fn post_v1_raw(&self, bytes: Vec<u8>, headers: &[(&str, &str)]) -> reqwest::Response {
        self.post_v1_raw_with(&self.client, bytes, headers).await
    }

    /// GET_SERVICES, asserted 200 SUCCESS.
    pub async fn get_services(&self) -> Value {
        self.v1().get_services().await
    }

    /// GET_NUMBER; `exclusions` is sent as `exceptionPhoneSet` unless it is `null`.
    pub async fn get_number(
        &self,
        country: &str,
        operator: &str,
        service: &str,
        exclusions: Value,
    ) -> (StatusCode, Value) {
        let mut body = json!({
            "action": "GET_NUMBER",
            "country": country,
            "operator": operator,
            "service": service,
            "sum": SUM,
            "key": API_KEY,
        });
        if !exclusions.is_null() {
            body["exceptionPhoneSet"] = exclusions;
        }
        self.post_v1(&body).await
    }

    /// GET_NUMBER that must succeed: answers (number, activationId) after checking the shape.
    pub async fn reserve(&self, country: &str, operator: &str, service: &str) -> (u64, u64) {
        let reply = self
            .get_number(country, operator, service, Value::Null)
            .await;
        success_of(&reply)
    }

    /// GET_NUMBER that must answer NO_NUMBERS.
    pub async fn assert_no_numbers(
        &self,
        country: &str,
        operator: &str,
        service: &str,
        exclusions: Value,
    ) {
        let (status, body) = self
            .get_number(country, operator, service, exclusions)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!({"status": "NO_NUMBERS"}));
    }

    /// FINISH_ACTIVATION.
    pub async fn finish(&self, id: u64, status: u8) -> (StatusCode, Value) {
        self.v1().finish(id, status).await
    }

    /// FINISH_ACTIVATION that must answer `{"status":"SUCCESS"}`.
    pub async fn finish_ok(&self, id: u64, status: u8) {
        self.v1().finish_ok(id, status).await
    }

    /// GET on the admin API with the right token.
    pub async fn admin_get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.internal_base()))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("admin request")
    }

    /// GET on the admin API, answer as JSON, asserted 200.
    pub async fn admin_json(&self, path: &str) -> Value {
        let (status, body) = json_of(self.admin_get(path).await).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }

    /// One SIM as `GET /admin/sims` shows it.
    pub async fn admin_sim(&self, number: u64) -> Value {
        let sims = self.admin_json("/admin/sims").await;
        sims["sims"]
            .as_array()
            .expect("sims")
            .iter()
            .find(|s| s["number"] == number)
            .unwrap_or_else(|| panic!("SIM {number} not listed: {sims}"))
            .clone()
    }

    /// One activation as `GET /admin/activations/{id}` shows it.
    pub async fn admin_activation(&self, id: u64) -> Value {
        let body = self.admin_json(&format!("/admin/activations/{id}")).await;
        body["activation"].clone()
    }
}

/// (number, activationId) of a GET_NUMBER SUCCESS, after checking its exact shape.
#[track_caller]
pub fn success_of(reply: &(StatusCode, Value)) -> (u64, u64) {
    let (status, body) = reply;
    assert_eq!(*status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "SUCCESS", "{body}");
    assert_eq!(body.as_object().map(|o| o.len()), Some(3), "{body}");
    let number = body["number"]
        .as_u64()
        .unwrap_or_else(|| panic!("number is not a JSON integer: {body}"));
    let id = body["activationId"]
        .as_u64()
        .unwrap_or_else(|| panic!("activationId is not a JSON integer: {body}"));
    assert!(id >= 1, "{body}");
    (number, id)
}
