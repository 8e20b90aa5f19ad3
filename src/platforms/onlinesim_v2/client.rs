//! The OnlineSIM v2 client: every documented request (protocol §3), Bearer auth, JSON with
//! `charset=utf-8`, a User-Agent, `{"response":1}` as success, 400 `text/html` error strings
//! and 401/403/405 account errors parsed into [`V2Error`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::{Secret, V2Endpoint, V2Test};

/// A number as sendNumbersOnline / addNumber list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct V2Number {
    /// International format with `+`.
    pub number: String,
    /// Country calling code.
    pub country_id: u16,
    /// MCC-MNC, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<u32>,
    /// When it was placed in its port (UNIX time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_start: Option<i64>,
    /// Port name shown in the partner UI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_id: Option<String>,
    /// Rent mode, 0 or 1.
    pub rent: u8,
}

/// One SMS as addMessage / addMessages send it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct V2Message {
    /// Receive time, UNIX seconds as a string.
    pub date: String,
    /// Receiving number, international with `+`.
    pub number: String,
    /// Sender.
    pub from: String,
    /// Text.
    pub message: String,
}

/// OnlineSIM's number ids: number → id, `None` for numbers removed.
pub type Ids = BTreeMap<String, Option<u64>>;

/// One row of takeOffNumbers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct TakeOff {
    /// OnlineSIM's number id.
    pub id: String,
    /// The number.
    pub number: String,
    /// Income so far, RUB.
    pub sum: String,
    /// Country code.
    pub country: String,
}

/// Why a v2 request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum V2Error {
    /// 401/403/405: the key or account is the problem (ERROR_WRONG_KEY, ERROR_NO_KEY,
    /// ACCOUNT_BLOCKED, API_ACCESS_DISABLED, API_ACCESS_IP, REQUEST_NOT_FOUND).
    #[error("account problem (HTTP {status}): {code}")]
    Account {
        /// HTTP status.
        status: u16,
        /// The platform's code.
        code: String,
    },
    /// 400 with an error string (NO_NUMBER, ERROR_PARAMS, NUMBER_FORMAT_ERROR, ERROR_DATE, …).
    #[error("refused: {0}")]
    Refused(String),
    /// Another HTTP status (5xx, 404, …).
    #[error("HTTP {status}: {body}")]
    Http {
        /// HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// No answer (connection refused, timeout).
    #[error("cannot reach OnlineSIM: {0}")]
    Network(String),
    /// 200 but not `{"response":1}`.
    #[error("unexpected answer: {0}")]
    Unexpected(String),
}

impl V2Error {
    /// The label metrics count this under.
    pub fn label(&self) -> String {
        match self {
            V2Error::Account { code, .. } | V2Error::Refused(code) => code.clone(),
            V2Error::Http { status, .. } => format!("HTTP_{status}"),
            V2Error::Network(_) => "NETWORK".into(),
            V2Error::Unexpected(_) => "UNEXPECTED".into(),
        }
    }
}

/// The v2 client.
#[derive(Clone)]
pub struct V2Client {
    http: reqwest::Client,
    base: String,
    key: Secret,
    test: Option<V2Test>,
    platform: simrelay_actors::domain::PlatformName,
}

fn first_chars(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Reads an answer: success is HTTP 200 with `response` 1 (integer or string).
fn parse(status: u16, body: &str) -> Result<Value, V2Error> {
    let json: Option<Value> = serde_json::from_str(body).ok();
    let code = json
        .as_ref()
        .and_then(|v| v.get("response"))
        .map(|r| match r {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    match status {
        200 => match (json, code.as_deref()) {
            (Some(v), Some("1")) => Ok(v),
            (Some(v), None) if v.get("id").is_some() || v.is_array() => Ok(v),
            _ => Err(V2Error::Unexpected(first_chars(body, 200))),
        },
        401 | 403 | 405 => Err(V2Error::Account {
            status,
            code: code.unwrap_or_else(|| first_chars(body.trim(), 100)),
        }),
        400 => Err(V2Error::Refused(code.unwrap_or_else(|| {
            first_chars(body.trim().trim_matches('"'), 100)
        }))),
        _ => Err(V2Error::Http {
            status,
            body: first_chars(body, 200),
        }),
    }
}

impl V2Client {
    /// A client of `base` (the `_SERVER_URL_` support gives).
    pub fn new(endpoint: &V2Endpoint, key: Secret) -> anyhow::Result<V2Client> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("simrelay/", env!("CARGO_PKG_VERSION")))
            .timeout(endpoint.timeout)
            .build()?;
        Ok(V2Client {
            http,
            base: endpoint.base_url.as_str().trim_end_matches('/').to_owned(),
            key,
            test: endpoint.test,
            platform: simrelay_actors::domain::PlatformName::onlinesim(),
        })
    }

    /// The same client, speaking for `platform` (its metrics label).
    pub fn for_platform(mut self, platform: simrelay_actors::domain::PlatformName) -> V2Client {
        self.platform = platform;
        self
    }

    /// The platform it speaks for.
    pub fn platform(&self) -> &str {
        self.platform.as_str()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn with_test(&self, mut body: Value) -> Value {
        if let (Some(test), Value::Object(map)) = (self.test, &mut body) {
            map.insert("test".into(), json!(test.as_str()));
        }
        body
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, V2Error> {
        let response = request
            .bearer_auth(self.key.expose())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| V2Error::Network(e.to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .text()
            .await
            .map_err(|e| V2Error::Network(e.to_string()))?;
        if self.test == Some(V2Test::Test2) {
            tracing::info!(status, echo = %first_chars(&body, 2000), "v2 test2 echo");
            // test2 answers with our own request echoed: a 200 is the success.
            if status == 200 {
                return Ok(serde_json::from_str(&body).unwrap_or(Value::Null));
            }
        }
        parse(status, &body)
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, V2Error> {
        let body = serde_json::to_vec(&body).map_err(|e| V2Error::Unexpected(e.to_string()))?;
        self.send(
            self.http
                .post(self.url(path))
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/json; charset=utf-8",
                )
                .body(body),
        )
        .await
    }

    fn ids(answer: &Value) -> Ids {
        answer
            .get("ids")
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_u64())).collect())
            .unwrap_or_default()
    }

    /// sendNumbersOnline: the full list (replaces the previous one).
    pub async fn send_numbers_online(&self, numbers: &[V2Number]) -> Result<Ids, V2Error> {
        let answer = self
            .post(
                "/api/resellers/sendNumbersOnline",
                self.with_test(json!({ "numbers": numbers })),
            )
            .await?;
        Ok(Self::ids(&answer))
    }

    /// checkWork: the heartbeat of the incremental mode.
    pub async fn check_work(&self) -> Result<(), V2Error> {
        self.send(self.http.get(self.url("/api/resellers")))
            .await
            .map(drop)
    }

    /// addNumber.
    pub async fn add_number(&self, number: &V2Number) -> Result<Ids, V2Error> {
        let body = serde_json::to_value(number).map_err(|e| V2Error::Unexpected(e.to_string()))?;
        let answer = self
            .post("/api/resellers/addNumber", self.with_test(body))
            .await?;
        Ok(Self::ids(&answer))
    }

    /// removeNumber (DELETE with query parameters).
    pub async fn remove_number(&self, number: &str) -> Result<(), V2Error> {
        let mut query = vec![("number", number.to_owned())];
        if let Some(test) = self.test {
            query.push(("test", test.as_str().to_owned()));
        }
        self.send(
            self.http
                .delete(self.url("/api/resellers/removeNumber"))
                .query(&query),
        )
        .await
        .map(drop)
    }

    /// addMessage.
    pub async fn add_message(&self, message: &V2Message) -> Result<(), V2Error> {
        let body = serde_json::to_value(message).map_err(|e| V2Error::Unexpected(e.to_string()))?;
        self.post("/api/resellers/addMessage", self.with_test(body))
            .await
            .map(drop)
    }

    /// addMessages: a batch.
    pub async fn add_messages(&self, messages: &[V2Message]) -> Result<(), V2Error> {
        self.post(
            "/api/resellers/addMessages",
            self.with_test(json!({ "messages": messages })),
        )
        .await
        .map(drop)
    }

    /// checkNumber: the platform's view of one number.
    pub async fn check_number(&self, number: &str) -> Result<Value, V2Error> {
        self.send(
            self.http
                .get(self.url("/api/resellers/checkNumber"))
                .query(&[("number", number)]),
        )
        .await
    }

    /// takeOffNumbers: online numbers whose income is at least `sum` RUB.
    pub async fn take_off_numbers(&self, sum: &str) -> Result<Vec<TakeOff>, V2Error> {
        let answer = self
            .send(
                self.http
                    .get(self.url("/api/resellers/takeOffNumbers"))
                    .query(&[("sum", sum)]),
            )
            .await?;
        serde_json::from_value(answer.get("list").cloned().unwrap_or(json!([])))
            .map_err(|e| V2Error::Unexpected(e.to_string()))
    }

    /// saveConfig: replaces the whole service blacklist.
    pub async fn save_config(&self, services: &[String]) -> Result<(), V2Error> {
        let map: BTreeMap<&str, &str> = services.iter().map(|s| (s.as_str(), s.as_str())).collect();
        self.post("/api/auth/me", json!({ "disabled_service": map }))
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_typed() {
        assert!(parse(200, r#"{"response":1}"#).is_ok());
        assert!(parse(200, r#"{"response":"1","ids":{"+7928":5}}"#).is_ok());
        assert_eq!(
            parse(400, "NO_NUMBER"),
            Err(V2Error::Refused("NO_NUMBER".into()))
        );
        assert_eq!(
            parse(401, r#"{"response":"ERROR_WRONG_KEY"}"#),
            Err(V2Error::Account {
                status: 401,
                code: "ERROR_WRONG_KEY".into()
            })
        );
        assert_eq!(
            parse(403, r#"{"response":"API_ACCESS_IP"}"#)
                .unwrap_err()
                .label(),
            "API_ACCESS_IP"
        );
        assert!(matches!(
            parse(200, r#"{"response":"ERROR"}"#),
            Err(V2Error::Unexpected(_))
        ));
        assert!(matches!(
            parse(502, "bad gateway"),
            Err(V2Error::Http { status: 502, .. })
        ));
    }
}
