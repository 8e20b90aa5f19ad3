//! PUSH_SMS: delivering an SMS to the webhook of the platform that bought its activation
//! (OnlineSIM v1 §2.5, SMSHub §6.1), shaped by that platform's [`PullRules`].
//!
//! One POST per attempt to the platform's `push_url`: JSON body (gzip-compressed) with `smsId`,
//! `phone`, `phoneFrom`, `text`, `action`, `key` (and `service: "rent"` for rent activations),
//! `Authorization: Bearer`, a `User-Agent`, `Content-Type: application/json; charset=utf-8`.
//! HTTP 200 with `status: SUCCESS` is delivered (SMSHub: any 2xx); on OnlineSIM NO_OPERATION /
//! NO_OP / BAD_SERVICE / IGNORED / SERVICE_BAN are final (SMSHub has no such code); 429 backs off (Retry-After, else six retry intervals); anything else
//! is retried after the retry interval by the outbox.

use std::io::Write;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use serde_json::{json, Value};
use simrelay_actors::domain::{ActivationRecord, SmsRecord};
use simrelay_actors::{DeliveryOutcome, SmsSink};

use url::Url;

use simrelay_actors::domain::PlatformName;

use crate::config::{PhoneType, Platform, Secret, Settings, SmsIdKind};
use crate::metrics::Metrics;
use crate::platforms::PullRules;

/// Answers that mean "never send this again".
pub(super) const TERMINAL: [&str; 5] = [
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
    platform: PlatformName,
    phone_type: PhoneType,
    sms_id: SmsIdKind,
    classify: Classify,
    metrics: Metrics,
}

/// How an answer is read.
#[derive(Debug, Clone, Copy)]
struct Classify {
    backoff_429: Duration,
    terminal: &'static [&'static str],
    any_2xx: bool,
}

impl PushSms {
    /// A client for the webhook `url` of `platform`, under its protocol's `rules`.
    pub fn new(
        settings: &Settings,
        platform: &Platform,
        rules: &PullRules,
        url: &Url,
        metrics: Metrics,
    ) -> anyhow::Result<PushSms> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("simrelay/", env!("CARGO_PKG_VERSION")))
            .timeout(settings.push_sms.timeout)
            .build()?;
        Ok(PushSms {
            http,
            url: url.clone(),
            key: platform.key.clone(),
            platform: platform.name.clone(),
            phone_type: rules.phone.unwrap_or(settings.push_sms.phone_type),
            sms_id: rules.sms_id.unwrap_or(settings.push_sms.sms_id),
            classify: Classify {
                backoff_429: settings.onlinesim.push_retry_interval * 6,
                terminal: rules.terminal,
                any_2xx: rules.any_2xx,
            },
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
    rules: Classify,
) -> (DeliveryOutcome, String) {
    let Classify {
        backoff_429,
        terminal,
        any_2xx,
    } = rules;
    let code = code_of(body);
    let ok = status == 200 || (any_2xx && (200..300).contains(&status));
    if ok && code.as_deref() == Some("SUCCESS") {
        return (DeliveryOutcome::Delivered, "SUCCESS".into());
    }
    // Terminal codes may come as the whole code or inside a message ("NO_OPERATION: …").
    let upper = code
        .clone()
        .unwrap_or_else(|| body.trim().to_owned())
        .to_ascii_uppercase();
    if let Some(t) = terminal.iter().find(|t| {
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
        let platform = self.platform.clone();
        let rules = self.classify;
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
                        classify(status, retry_after, &text, rules)
                    }
                },
            };
            metrics.push_sms_done(platform.as_str(), &label, started.elapsed().as_secs_f64());
            tracing::debug!(%sms_id, outcome = %label, "PUSH_SMS attempt");
            outcome
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Duration = Duration::from_secs(60);
    /// OnlineSIM's reading.
    const R: Classify = Classify {
        backoff_429: B,
        terminal: &TERMINAL,
        any_2xx: false,
    };
    /// SMSHub's reading.
    const H: Classify = Classify {
        backoff_429: B,
        terminal: &[],
        any_2xx: true,
    };

    #[test]
    fn smshub_confirms_on_success_only_and_never_stops_retrying() {
        assert_eq!(
            classify(201, None, r#"{"status":"SUCCESS"}"#, H).0,
            DeliveryOutcome::Delivered
        );
        for body in [
            r#"{"status":"ERROR","error":"NO_OPERATION"}"#,
            "BAD_SERVICE",
            "",
        ] {
            assert!(
                matches!(
                    classify(404, None, body, H).0,
                    DeliveryOutcome::Retry { .. }
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn success_needs_200_and_the_status() {
        assert_eq!(
            classify(200, None, r#"{"status":"SUCCESS"}"#, R).0,
            DeliveryOutcome::Delivered
        );
        assert!(matches!(
            classify(200, None, r#"{"status":"ERROR"}"#, R).0,
            DeliveryOutcome::Retry { .. }
        ));
        assert!(matches!(
            classify(500, None, r#"{"status":"SUCCESS"}"#, R).0,
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
                    classify(404, None, body, R).0,
                    DeliveryOutcome::Terminal { .. }
                ),
                "{body}"
            );
        }
        // A bare 404 may be a wrong URL: keep the SMS.
        assert!(matches!(
            classify(404, None, "Not Found", R).0,
            DeliveryOutcome::Retry { .. }
        ));
    }

    #[test]
    fn too_many_attempts_backs_off() {
        let (o, label) = classify(429, Some(Duration::from_secs(30)), "TOO_MANY_ATTEMPTS", R);
        assert_eq!(label, "HTTP_429");
        assert_eq!(
            o,
            DeliveryOutcome::Retry {
                reason: "HTTP 429: TOO_MANY_ATTEMPTS".into(),
                after: Some(Duration::from_secs(30))
            }
        );
        assert!(
            matches!(classify(429, None, "", R).0, DeliveryOutcome::Retry { after: Some(d), .. } if d == B)
        );
    }
}
