//! PUSH_SMS: delivering an SMS to OnlineSIM's v1 webhook (protocol §2.5).
//!
//! One POST per attempt to `onlinesim.push_sms_url`: JSON body (gzip-compressed) with `smsId`,
//! `phone`, `phoneFrom`, `text`, `action`, `key` (and `service: "rent"` for rent activations),
//! `Authorization: Bearer`, a `User-Agent`, `Content-Type: application/json; charset=utf-8`.
//! HTTP 200 with `status: SUCCESS` is delivered; NO_OPERATION / NO_OP / BAD_SERVICE / IGNORED /
//! SERVICE_BAN are final; 429 backs off (Retry-After, else six retry intervals); anything else
//! is retried after the retry interval by the outbox.

use std::io::Write;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use serde_json::{json, Value};
use simrelay_actors::domain::{ActivationRecord, SmsRecord};
use simrelay_actors::{DeliveryOutcome, SmsSink};

use url::Url;

use crate::config::{PhoneType, Secret, Settings, SmsIdKind};
use crate::metrics::Metrics;

/// Answers that mean "never send this again".
const TERMINAL: [&str; 5] = [
    "NO_OPERATION",
    "NO_OP",
    "BAD_SERVICE",
    "IGNORED",
    "SERVICE_BAN",
];
/// The longest Retry-After honoured; a larger one is the platform's mistake.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);
/// Most of a platform answer kept for the SMS's `last_error`.
const MAX_ERROR: usize = 300;

/// The PUSH_SMS client.
pub struct PushSms {
    http: reqwest::Client,
    url: Url,
    key: Secret,
    phone_type: PhoneType,
    sms_id: SmsIdKind,
    backoff_429: Duration,
    metrics: Metrics,
}

impl PushSms {
    /// A client for `onlinesim.push_sms_url`.
    pub fn new(settings: &Settings, url: &Url, metrics: Metrics) -> anyhow::Result<PushSms> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("simrelay/", env!("CARGO_PKG_VERSION")))
            .timeout(settings.push_sms.timeout)
            .build()?;
        Ok(PushSms {
            http,
            url: url.clone(),
            key: settings.onlinesim.api_key.clone(),
            phone_type: settings.push_sms.phone_type,
            sms_id: settings.push_sms.sms_id,
            backoff_429: settings.onlinesim.push_retry_interval * 6,
            metrics,
        })
    }

    /// The JSON body of one SMS.
    pub fn body(&self, sms: &SmsRecord, activation: Option<&ActivationRecord>) -> Value {
        let sms_id = match (self.sms_id, activation) {
            (SmsIdKind::Activation, Some(a)) => a.id.get(),
            _ => sms.id.0,
        };
        let phone = match self.phone_type {
            PhoneType::Integer => json!(sms.number.get()),
            PhoneType::String => json!(sms.number.to_string()),
        };
        let mut body = json!({
            "smsId": sms_id,
            "phone": phone,
            "phoneFrom": sms.from,
            "text": sms.text,
            "action": "PUSH_SMS",
            "key": self.key.expose(),
        });
        if sms.service.as_ref().is_some_and(|s| s.is_rent()) {
            body["service"] = json!("rent");
        }
        body
    }
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes)?;
    enc.finish()
}

/// The platform's code in an answer body: `status`, `error` or `response`.
fn code_of(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    ["error", "status", "response"]
        .iter()
        .filter_map(|k| value.get(*k).and_then(Value::as_str))
        .find(|s| !s.is_empty() && *s != "ERROR")
        .or_else(|| value.get("status").and_then(Value::as_str))
        .map(str::to_owned)
}

fn truncate(s: &str) -> String {
    s.chars().take(MAX_ERROR).collect()
}

/// Reads an answer into an outcome and the label it is counted under.
fn classify(
    status: u16,
    retry_after: Option<Duration>,
    body: &str,
    backoff_429: Duration,
) -> (DeliveryOutcome, String) {
    let code = code_of(body);
    if status == 200 && code.as_deref() == Some("SUCCESS") {
        return (DeliveryOutcome::Delivered, "SUCCESS".into());
    }
    // Terminal codes may come as the whole code or inside a message ("NO_OPERATION: …").
    let upper = code
        .clone()
        .unwrap_or_else(|| body.trim().to_owned())
        .to_ascii_uppercase();
    if let Some(t) = TERMINAL.iter().find(|t| {
        upper == **t || upper.starts_with(&format!("{t}:")) || upper.starts_with(&format!("{t} "))
    }) {
        return (
            DeliveryOutcome::Terminal {
                reason: format!("HTTP {status}: {}", truncate(&upper)),
            },
            (*t).to_owned(),
        );
    }
    if status == 429 {
        return (
            DeliveryOutcome::Retry {
                reason: format!("HTTP 429: {}", truncate(body)),
                after: Some(retry_after.unwrap_or(backoff_429)),
            },
            "HTTP_429".into(),
        );
    }
    let label = match status {
        200 => "NOT_SUCCESS".to_owned(),
        s if s >= 500 => "HTTP_5XX".to_owned(),
        s => format!("HTTP_{s}"),
    };
    (
        DeliveryOutcome::Retry {
            reason: format!("HTTP {status}: {}", truncate(body)),
            after: None,
        },
        label,
    )
}

impl SmsSink for PushSms {
    fn deliver(
        &self,
        sms: &SmsRecord,
        activation: Option<&ActivationRecord>,
    ) -> BoxFuture<'static, DeliveryOutcome> {
        let body = self.body(sms, activation).to_string();
        let request = gzip(body.as_bytes()).map(|compressed| {
            self.http
                .post(self.url.clone())
                .bearer_auth(self.key.expose())
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/json; charset=utf-8",
                )
                .header(reqwest::header::CONTENT_ENCODING, "gzip")
                .header(reqwest::header::ACCEPT_ENCODING, "gzip")
                .body(compressed)
        });
        let metrics = self.metrics.clone();
        let backoff_429 = self.backoff_429;
        let sms_id = sms.id;
        Box::pin(async move {
            let started = Instant::now();
            let (outcome, label) = match request {
                Err(e) => (
                    DeliveryOutcome::Retry {
                        reason: format!("cannot compress: {e}"),
                        after: None,
                    },
                    "LOCAL".to_owned(),
                ),
                Ok(request) => match request.send().await {
                    Err(e) => (
                        DeliveryOutcome::Retry {
                            reason: format!("cannot reach the platform: {e}"),
                            after: None,
                        },
                        if e.is_timeout() { "TIMEOUT" } else { "NETWORK" }.to_owned(),
                    ),
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let retry_after = response
                            .headers()
                            .get(reqwest::header::RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.trim().parse::<u64>().ok())
                            .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
                        let text = response.text().await.unwrap_or_default();
                        classify(status, retry_after, &text, backoff_429)
                    }
                },
            };
            metrics.push_sms_done(&label, started.elapsed().as_secs_f64());
            tracing::debug!(%sms_id, outcome = %label, "PUSH_SMS attempt");
            outcome
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Duration = Duration::from_secs(60);

    #[test]
    fn success_needs_200_and_the_status() {
        assert_eq!(
            classify(200, None, r#"{"status":"SUCCESS"}"#, B).0,
            DeliveryOutcome::Delivered
        );
        assert!(matches!(
            classify(200, None, r#"{"status":"ERROR"}"#, B).0,
            DeliveryOutcome::Retry { .. }
        ));
        assert!(matches!(
            classify(500, None, r#"{"status":"SUCCESS"}"#, B).0,
            DeliveryOutcome::Retry { .. }
        ));
    }

    #[test]
    fn terminal_codes_stop_wherever_they_are() {
        for body in [
            r#"{"status":"ERROR","error":"NO_OPERATION"}"#,
            r#"{"status":"NO_OP"}"#,
            r#"{"response":"BAD_SERVICE"}"#,
            r#"{"status":"ERROR","error":"IGNORED: wrong service"}"#,
            "SERVICE_BAN",
        ] {
            assert!(
                matches!(
                    classify(404, None, body, B).0,
                    DeliveryOutcome::Terminal { .. }
                ),
                "{body}"
            );
        }
        // A bare 404 may be a wrong URL: keep the SMS.
        assert!(matches!(
            classify(404, None, "Not Found", B).0,
            DeliveryOutcome::Retry { .. }
        ));
    }

    #[test]
    fn too_many_attempts_backs_off() {
        let (o, label) = classify(429, Some(Duration::from_secs(30)), "TOO_MANY_ATTEMPTS", B);
        assert_eq!(label, "HTTP_429");
        assert_eq!(
            o,
            DeliveryOutcome::Retry {
                reason: "HTTP 429: TOO_MANY_ATTEMPTS".into(),
                after: Some(Duration::from_secs(30))
            }
        );
        assert!(
            matches!(classify(429, None, "", B).0, DeliveryOutcome::Retry { after: Some(d), .. } if d == B)
        );
    }
}
