//! A fake OnlineSIM PUSH_SMS webhook: an HTTP server on a free port that records every request
//! (method, path, headers, raw body, decoded JSON, the test clock's time on arrival) and answers
//! from a programmable script.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde_json::{json, Value};
use simrelay_actors::{Clock, ManualClock};

use crate::kit::fake::{capture, Captured, FakeServer};

/// Where the fake platform takes PUSH_SMS.
pub const PUSH_PATH: &str = "/v1/PUSH_SMS";

/// What the platform answers to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// 200 `{"status":"SUCCESS"}`.
    Success,
    /// Any status and body, optionally with `Retry-After`.
    Answer {
        status: u16,
        body: String,
        retry_after: Option<String>,
    },
    /// Answers SUCCESS after this long (longer than `push_sms.timeout` in the timeout tests).
    Slow(Duration),
    /// Never answers while the test runs.
    Hang,
    /// Answers SUCCESS once the test lets it go ([`Platform::release_held`]): the test acts
    /// (signals a process, pauses Redis) while the request is in flight, then lets it answer.
    Held,
}

impl Reply {
    /// `{"status":"ERROR","error":"<code>"}` with this HTTP status.
    pub fn error(status: u16, code: &str) -> Reply {
        Reply::Answer {
            status,
            body: json!({"status": "ERROR", "error": code}).to_string(),
            retry_after: None,
        }
    }

    /// 500 with an error body.
    pub fn server_error() -> Reply {
        Reply::error(500, "INTERNAL_ERROR")
    }

    /// 429 TOO_MANY_ATTEMPTS, with `Retry-After` when given.
    pub fn too_many(retry_after: Option<&str>) -> Reply {
        Reply::Answer {
            status: 429,
            body: json!({"status": "ERROR", "error": "TOO_MANY_ATTEMPTS"}).to_string(),
            retry_after: retry_after.map(str::to_owned),
        }
    }

    /// Whether this answer confirms the SMS.
    pub fn is_success(&self) -> bool {
        matches!(self, Reply::Success | Reply::Slow(_) | Reply::Held)
    }
}

/// One request as the platform received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Lower-cased names; repeated headers joined with ", ".
    pub headers: BTreeMap<String, String>,
    /// The body as sent (gzip when simrelay compresses).
    pub raw: Vec<u8>,
    /// The body decoded (gunzipped when it is gzip) and parsed; `Null` when it is not JSON.
    pub json: Value,
    /// The test clock when the request arrived (`None` without a manual clock).
    pub at: Option<DateTime<Utc>>,
    /// What the platform answered.
    pub reply: Reply,
}

impl Recorded {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The PUSH_SMS `text`.
    pub fn text(&self) -> &str {
        self.json["text"].as_str().unwrap_or_default()
    }
}

struct Inner {
    script: VecDeque<Reply>,
    default: Reply,
    requests: Vec<Recorded>,
    clock: Option<Arc<ManualClock>>,
    /// One permit per held request the test let go.
    gate: Arc<tokio::sync::Semaphore>,
}

/// The fake platform. Dropping it stops the server.
pub struct Platform {
    inner: Arc<Mutex<Inner>>,
    server: FakeServer<Arc<Mutex<Inner>>>,
}

impl Platform {
    /// A platform on a free port answering SUCCESS.
    pub async fn start(clock: Option<Arc<ManualClock>>) -> Platform {
        let inner = Platform::inner(clock);
        let server = FakeServer::start(Arc::clone(&inner), handle);
        Platform { inner, server }
    }

    /// A platform on a given port (one that was closed before: "the platform comes back").
    pub async fn start_on(port: u16, clock: Option<Arc<ManualClock>>) -> Platform {
        let inner = Platform::inner(clock);
        let server = FakeServer::start_on(port, Arc::clone(&inner), handle);
        Platform { inner, server }
    }

    fn inner(clock: Option<Arc<ManualClock>>) -> Arc<Mutex<Inner>> {
        Arc::new(Mutex::new(Inner {
            script: VecDeque::new(),
            default: Reply::Success,
            requests: Vec::new(),
            clock,
            gate: Arc::new(tokio::sync::Semaphore::new(0)),
        }))
    }

    /// The PUSH_SMS URL to configure.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}{PUSH_PATH}", self.server.port())
    }

    /// Answers the next `times` requests with `reply` (after what is already scripted).
    pub fn then(&self, reply: Reply, times: usize) {
        let mut inner = self.inner.lock();
        for _ in 0..times {
            inner.script.push_back(reply.clone());
        }
    }

    /// Answers every unscripted request with `reply`.
    pub fn always(&self, reply: Reply) {
        self.inner.lock().default = reply;
    }

    /// Lets `n` requests answered [`Reply::Held`] answer SUCCESS (those waiting, or the next).
    pub fn release_held(&self, n: usize) {
        self.inner.lock().gate.add_permits(n);
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().requests.clone()
    }

    /// How many requests arrived.
    pub fn count(&self) -> usize {
        self.inner.lock().requests.len()
    }

    /// Waits (real time, for work in flight) until at least `n` requests arrived.
    pub async fn wait_for(&self, n: usize, limit: Duration) {
        let started = Instant::now();
        while self.count() < n {
            assert!(
                started.elapsed() < limit,
                "the platform got {} requests, expected {n}: {:#?}",
                self.count(),
                self.requests()
            );
            actix_rt::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    inner: web::Data<Arc<Mutex<Inner>>>,
) -> HttpResponse {
    let captured = match capture(&req, payload).await {
        Ok(c) => c,
        Err(bad) => return bad,
    };
    let Captured { headers, raw, .. } = captured.clone();
    let json = serde_json::from_slice(&captured.body).unwrap_or(Value::Null);
    let gate = Arc::clone(&inner.lock().gate);
    let reply = {
        let mut inner = inner.lock();
        let reply = inner
            .script
            .pop_front()
            .unwrap_or_else(|| inner.default.clone());
        let at = inner.clock.as_ref().map(|c| c.now());
        inner.requests.push(Recorded {
            method: captured.method,
            path: captured.path,
            headers,
            raw,
            json,
            at,
            reply: reply.clone(),
        });
        reply
    };
    let success = || {
        HttpResponse::Ok()
            .content_type("application/json; charset=utf-8")
            .body(r#"{"status":"SUCCESS"}"#)
    };
    match reply {
        Reply::Success => success(),
        Reply::Slow(d) => {
            actix_rt::time::sleep(d).await;
            success()
        }
        Reply::Held => {
            if let Ok(permit) = gate.acquire().await {
                permit.forget();
            }
            success()
        }
        Reply::Hang => {
            actix_rt::time::sleep(Duration::from_secs(3600)).await;
            success()
        }
        Reply::Answer {
            status,
            body,
            retry_after,
        } => {
            let mut response =
                HttpResponse::build(StatusCode::from_u16(status).expect("a valid HTTP status"));
            response.content_type("application/json; charset=utf-8");
            if let Some(after) = retry_after {
                response.insert_header(("Retry-After", after));
            }
            response.body(body)
        }
    }
}
