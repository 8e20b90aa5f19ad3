//! A fake SMSHub: the hub as it calls an agent (GET_SERVICES, GET_NUMBER, FINISH_ACTIVATION in
//! SMSHub's shape: `currency`, string prefixes, a `User-Agent`) and its PUSH_SMS webhook, which
//! records what simrelay sends and answers from a script (the OnlineSIM fake's recorder: the
//! webhook's job is the same, only the rules of the answers differ).

use reqwest::StatusCode;
use serde_json::{json, Value};
use simrelay::config::RawPlatform;

use crate::delivery::helpers::{success_of, TestApp, SUM};
use crate::delivery::platform::Platform;
use crate::kit::http::json_of;

/// The hub's key for the agent.
pub const HUB_KEY: &str = "test-hub-key";
/// Where the hub POSTs its actions.
pub const HUB_PATH: &str = "/smshub";
/// RUB, ISO 4217 numeric.
const RUB: u32 = 643;

/// The fake hub.
pub struct FakeSmsHub {
    /// Its PUSH_SMS webhook.
    pub webhook: Platform,
}

impl FakeSmsHub {
    /// A hub whose webhook answers SUCCESS.
    pub async fn start(clock: std::sync::Arc<simrelay_actors::ManualClock>) -> FakeSmsHub {
        FakeSmsHub {
            webhook: Platform::start(Some(clock)).await,
        }
    }

    /// Its `[[platforms]]` entry: `smshub`, every bank, our service names.
    pub fn platform(&self) -> RawPlatform {
        RawPlatform {
            name: "smshub".into(),
            protocol: "smshub".into(),
            key: simrelay::config::Secret::new(HUB_KEY),
            path: Some(HUB_PATH.into()),
            push_url: Some(self.webhook.url()),
            ..RawPlatform::default()
        }
    }

    /// The PUSH_SMS bodies it received, oldest first.
    pub fn pushes(&self) -> Vec<Value> {
        self.webhook
            .requests()
            .into_iter()
            .map(|r| r.json)
            .collect()
    }
}

/// The hub calling an agent (simrelay) at `path` with `key`.
pub struct Hub<'a> {
    pub app: &'a TestApp,
    pub path: &'a str,
    pub key: &'a str,
}

impl<'a> Hub<'a> {
    /// The hub calling `app` on [`HUB_PATH`] with [`HUB_KEY`].
    pub fn of(app: &'a TestApp) -> Hub<'a> {
        Hub {
            app,
            path: HUB_PATH,
            key: HUB_KEY,
        }
    }

    /// One action, gzip-compressed as the hub sends it.
    pub async fn post(&self, body: Value) -> (StatusCode, Value) {
        let raw = body.to_string();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, raw.as_bytes()).expect("gzip");
        let response = self
            .app
            .client
            .post(format!("{}{}", self.app.address, self.path))
            .header("User-Agent", "fake-smshub")
            .header("Content-Type", "application/json")
            .header("Content-Encoding", "gzip")
            .header("Accept-Encoding", "gzip")
            .body(gz.finish().expect("gzip"))
            .send()
            .await
            .expect("hub request");
        json_of(response).await
    }

    /// GET_SERVICES, asserted SUCCESS: country → operator → service → count.
    pub async fn services(&self) -> Value {
        let (status, body) = self
            .post(json!({"action": "GET_SERVICES", "key": self.key}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "SUCCESS", "{body}");
        let mut by_country = serde_json::Map::new();
        for c in body["countryList"].as_array().expect("countryList") {
            by_country.insert(
                c["country"].as_str().expect("country").to_owned(),
                c["operatorMap"].clone(),
            );
        }
        Value::Object(by_country)
    }

    /// GET_NUMBER as SMSHub sends it (with `currency`, prefixes as strings).
    pub async fn get_number(
        &self,
        country: &str,
        operator: &str,
        service: &str,
        exceptions: &[&str],
    ) -> (StatusCode, Value) {
        self.post(json!({
            "action": "GET_NUMBER",
            "key": self.key,
            "country": country,
            "operator": operator,
            "service": service,
            "sum": SUM,
            "currency": RUB,
            "exceptionPhoneSet": exceptions,
        }))
        .await
    }

    /// GET_NUMBER that must succeed: (number, activationId).
    pub async fn reserve(&self, country: &str, operator: &str, service: &str) -> (u64, u64) {
        success_of(&self.get_number(country, operator, service, &[]).await)
    }

    /// GET_NUMBER that must answer `{"status":"NO_NUMBERS"}`.
    pub async fn assert_no_numbers(&self, country: &str, operator: &str, service: &str) {
        let (status, body) = self.get_number(country, operator, service, &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!({"status": "NO_NUMBERS"}));
    }

    /// FINISH_ACTIVATION.
    pub async fn finish(&self, id: u64, status: u8) -> (StatusCode, Value) {
        self.post(json!({
            "action": "FINISH_ACTIVATION",
            "key": self.key,
            "activationId": id,
            "status": status,
        }))
        .await
    }

    /// FINISH_ACTIVATION that must answer SUCCESS.
    pub async fn finish_ok(&self, id: u64, status: u8) {
        let (code, body) = self.finish(id, status).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        assert_eq!(body, json!({"status": "SUCCESS"}));
    }
}
