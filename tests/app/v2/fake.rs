//! A fake OnlineSIM v2 server: an HTTP server on a free port that records every request
//! (method, path, query, headers, JSON body, the test clock's time on arrival) and answers from
//! a script kept per endpoint, so the list task running in the background can never eat a reply
//! scripted for addMessage (or the other way round).
//!
//! Unscripted requests get the platform's success answer, and the fake keeps the list the way
//! OnlineSIM would: sendNumbersOnline replaces it, addNumber / removeNumber edit it, `ids` map
//! every number to a stable id (removed numbers to `null`); `test1` requests change nothing and
//! `test2` requests are echoed.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde_json::{json, Map, Value};
use simrelay_actors::{Clock, ManualClock};

use crate::kit::fake::{capture, Captured, FakeServer};

/// The v2 requests, told apart by method and path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Endpoint {
    SendNumbersOnline,
    CheckWork,
    AddNumber,
    RemoveNumber,
    AddMessage,
    AddMessages,
    CheckNumber,
    TakeOffNumbers,
    SaveConfig,
    Unknown,
}

impl Endpoint {
    fn of(method: &str, path: &str) -> Endpoint {
        match (method, path.trim_end_matches('/')) {
            ("POST", "/api/resellers/sendNumbersOnline") => Endpoint::SendNumbersOnline,
            ("GET", "/api/resellers") => Endpoint::CheckWork,
            ("POST", "/api/resellers/addNumber") => Endpoint::AddNumber,
            ("DELETE", "/api/resellers/removeNumber") => Endpoint::RemoveNumber,
            ("POST", "/api/resellers/addMessage") => Endpoint::AddMessage,
            ("POST", "/api/resellers/addMessages") => Endpoint::AddMessages,
            ("GET", "/api/resellers/checkNumber") => Endpoint::CheckNumber,
            ("GET", "/api/resellers/takeOffNumbers") => Endpoint::TakeOffNumbers,
            ("POST", "/api/auth/me") => Endpoint::SaveConfig,
            _ => Endpoint::Unknown,
        }
    }
}

/// What the fake answers to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The platform's success answer for the endpoint (and its effect on the list).
    Ok,
    /// A JSON body with this status (`{"response":"ERROR_WRONG_KEY"}` with 401, …).
    Json(u16, Value),
    /// A 400 `text/html` error string (NO_NUMBER, ERROR_PARAMS, NUMBER_FORMAT_ERROR, …).
    Html(String),
    /// 500 with an HTML page.
    ServerError,
    /// [`Reply::Ok`] after this long (longer than `v2_timeout` in the timeout tests).
    Slow(Duration),
}

impl Reply {
    /// 400 `text/html` `code`.
    pub fn html(code: &str) -> Reply {
        Reply::Html(code.to_owned())
    }

    /// 401 `{"response":"ERROR_WRONG_KEY"}`.
    pub fn wrong_key() -> Reply {
        Reply::Json(401, json!({"response": "ERROR_WRONG_KEY"}))
    }

    /// 403 `{"response":"ACCOUNT_BLOCKED"}`.
    pub fn blocked() -> Reply {
        Reply::Json(403, json!({"response": "ACCOUNT_BLOCKED"}))
    }

    /// Whether the platform accepted the request.
    pub fn accepted(&self) -> bool {
        matches!(self, Reply::Ok | Reply::Slow(_))
    }
}

/// How a `test2` request is echoed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Echo {
    /// The request payload merged into the success answer: `{"response":1, …payload}`.
    Merged,
    /// The request payload alone, as the documentation words it ("echoes your request payload
    /// in the response").
    Bare,
}

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub endpoint: Endpoint,
    pub method: String,
    pub path: String,
    /// The query string as sent (still percent-encoded).
    pub raw_query: String,
    /// The query decoded into pairs.
    pub query: Vec<(String, String)>,
    /// Lower-cased names; repeated headers joined with ", ".
    pub headers: BTreeMap<String, String>,
    /// The body parsed as JSON; `Null` when empty or not JSON.
    pub json: Value,
    /// The test clock when the request arrived (`None` without a manual clock).
    pub at: Option<DateTime<Utc>>,
    /// What the fake answered.
    pub reply: Reply,
}

impl Recorded {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// A decoded query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The numbers of a sendNumbersOnline body, in the order sent.
    pub fn numbers(&self) -> Vec<String> {
        self.json["numbers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|n| n["number"].as_str().unwrap_or("<not a string>").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

struct Inner {
    scripts: BTreeMap<Endpoint, VecDeque<Reply>>,
    defaults: BTreeMap<Endpoint, Reply>,
    requests: Vec<Recorded>,
    clock: Option<Arc<ManualClock>>,
    /// The list as the platform holds it: number → the object last sent for it.
    held: BTreeMap<String, Value>,
    /// Ids handed out, stable per number.
    ids: BTreeMap<String, u64>,
    next_id: u64,
    /// Refuse addMessage(s) for numbers not held with NO_NUMBER, as the platform does.
    strict: bool,
    echo: Echo,
    /// Fixed answers of the optional requests.
    check_number: Value,
    take_off: Value,
}

/// The fake v2 server. Dropping it stops the server.
pub struct FakeV2 {
    inner: Arc<Mutex<Inner>>,
    server: FakeServer<Arc<Mutex<Inner>>>,
}

/// The checkNumber answer of the protocol's example.
pub fn check_number_example() -> Value {
    json!({
        "id": 110251, "balance": 0, "country_id": 46, "errors": 0, "number": "4605091080",
        "port_id": "Port1", "sum": 76.25, "used_service": {"whatsapp": "wa"},
        "banned_service": {"telegram": "tg"}, "banned": true, "reseller_id": 241, "rent": true,
        "status": 1, "status_text": "work", "clearable": true,
        "created_at": {"date": "2022-07-22 15:21:16.000000", "timezone_type": 3, "timezone": "Europe/Moscow"},
        "response": 1
    })
}

/// The takeOffNumbers answer of the protocol's example (two rows).
pub fn take_off_example() -> Value {
    json!({"response": 1, "list": [
        {"id": "40516575", "number": "2203830000", "sum": "75.76", "country": "220"},
        {"id": "40516999", "number": "79281234567", "sum": "120.5", "country": "7"}
    ]})
}

impl FakeV2 {
    /// A fake on a free port answering success to everything.
    pub async fn start(clock: Option<Arc<ManualClock>>) -> FakeV2 {
        let inner = Arc::new(Mutex::new(Inner {
            scripts: BTreeMap::new(),
            defaults: BTreeMap::new(),
            requests: Vec::new(),
            clock,
            held: BTreeMap::new(),
            ids: BTreeMap::new(),
            next_id: 1000,
            strict: false,
            echo: Echo::Merged,
            check_number: check_number_example(),
            take_off: take_off_example(),
        }));
        let server = FakeServer::start(Arc::clone(&inner), handle);
        FakeV2 { inner, server }
    }

    /// Stops listening: requests fail to connect until [`FakeV2::restart`].
    pub async fn stop(&mut self) {
        self.server.stop().await;
    }

    /// Listens again on the same port, keeping the script, the list and the record.
    pub async fn restart(&mut self) {
        self.server.restart();
    }

    /// The base URL to configure as `onlinesim.v2_base_url`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port())
    }

    /// Answers the next `times` requests to `endpoint` with `reply` (after what is scripted).
    pub fn then(&self, endpoint: Endpoint, reply: Reply, times: usize) {
        let mut inner = self.inner.lock();
        let script = inner.scripts.entry(endpoint).or_default();
        for _ in 0..times {
            script.push_back(reply.clone());
        }
    }

    /// Answers every unscripted request to `endpoint` with `reply`.
    pub fn always(&self, endpoint: Endpoint, reply: Reply) {
        self.inner.lock().defaults.insert(endpoint, reply);
    }

    /// Refuses addMessage(s) for numbers it does not hold with NO_NUMBER.
    pub fn strict(&self) {
        self.inner.lock().strict = true;
    }

    /// How `test2` requests are echoed.
    pub fn echo(&self, echo: Echo) {
        self.inner.lock().echo = echo;
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().requests.clone()
    }

    /// Every request to `endpoint`, oldest first.
    pub fn requests_to(&self, endpoint: Endpoint) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.endpoint == endpoint)
            .collect()
    }

    /// How many requests `endpoint` got.
    pub fn count(&self, endpoint: Endpoint) -> usize {
        self.inner
            .lock()
            .requests
            .iter()
            .filter(|r| r.endpoint == endpoint)
            .count()
    }

    /// The last request to `endpoint`.
    #[track_caller]
    pub fn last(&self, endpoint: Endpoint) -> Recorded {
        self.requests_to(endpoint)
            .pop()
            .unwrap_or_else(|| panic!("no {endpoint:?} request: {:#?}", self.requests()))
    }

    /// The numbers the platform holds now (international, with `+`).
    pub fn held(&self) -> Vec<String> {
        self.inner.lock().held.keys().cloned().collect()
    }

    /// The id the fake gave a number.
    pub fn id_of(&self, number: &str) -> Option<u64> {
        self.inner.lock().ids.get(number).copied()
    }

    /// Waits (real time, for work in the background) until `endpoint` got at least `n`
    /// requests.
    pub async fn wait_for(&self, endpoint: Endpoint, n: usize, limit: Duration) {
        let started = Instant::now();
        while self.count(endpoint) < n {
            assert!(
                started.elapsed() < limit,
                "{endpoint:?} got {} requests, expected {n}: {:#?}",
                self.count(endpoint),
                self.requests()
            );
            actix_rt::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn query_pairs(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Percent-decoding (and `+` as space, as forms do: a `+` that was not encoded as `%2B` shows
/// up as a space, which is how the tests catch it).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Inner {
    fn id(&mut self, number: &str) -> u64 {
        if let Some(id) = self.ids.get(number) {
            return *id;
        }
        self.next_id += 1;
        self.ids.insert(number.to_owned(), self.next_id);
        self.next_id
    }

    /// The success answer of `endpoint`, applying its effect unless it is a dry run.
    fn success(&mut self, endpoint: Endpoint, body: &Value, query: &[(String, String)]) -> Value {
        let test = body["test"].as_str().map(str::to_owned).or_else(|| {
            query
                .iter()
                .find(|(k, _)| k == "test")
                .map(|(_, v)| v.clone())
        });
        let dry = test.is_some();
        let mut answer = json!({"response": 1});
        match endpoint {
            Endpoint::SendNumbersOnline => {
                let numbers = body["numbers"].as_array().cloned().unwrap_or_default();
                let mut ids = Map::new();
                let sent: BTreeMap<String, Value> = numbers
                    .iter()
                    .filter_map(|n| Some((n["number"].as_str()?.to_owned(), n.clone())))
                    .collect();
                for number in sent.keys() {
                    let id = self.id(number);
                    ids.insert(number.clone(), json!(id));
                }
                for gone in self.held.keys().filter(|n| !sent.contains_key(*n)) {
                    ids.insert(gone.clone(), Value::Null);
                }
                if !dry {
                    self.held = sent;
                    answer["ids"] = Value::Object(ids);
                }
            }
            Endpoint::AddNumber => {
                if let Some(number) = body["number"].as_str() {
                    let id = self.id(number);
                    if !dry {
                        self.held.insert(number.to_owned(), body.clone());
                        answer["ids"] = json!({ number: id });
                    }
                }
            }
            Endpoint::RemoveNumber => {
                if let (Some((_, number)), false) = (query.iter().find(|(k, _)| k == "number"), dry)
                {
                    self.held.remove(number);
                }
            }
            Endpoint::CheckNumber => answer = self.check_number.clone(),
            Endpoint::TakeOffNumbers => answer = self.take_off.clone(),
            _ => {}
        }
        if test.as_deref() == Some("test2") {
            let payload = if body.is_object() {
                body.clone()
            } else {
                Value::Object(
                    query
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect(),
                )
            };
            answer = match self.echo {
                Echo::Bare => payload,
                Echo::Merged => {
                    let mut merged = payload;
                    merged["response"] = json!(1);
                    merged
                }
            };
        }
        answer
    }

    /// NO_NUMBER when strict and the SMS names a number the platform does not hold.
    fn refuses(&self, endpoint: Endpoint, body: &Value) -> bool {
        if !self.strict {
            return false;
        }
        let unknown = |m: &Value| {
            m["number"]
                .as_str()
                .is_none_or(|n| !self.held.contains_key(n))
        };
        match endpoint {
            Endpoint::AddMessage => unknown(body),
            Endpoint::AddMessages => body["messages"]
                .as_array()
                .is_some_and(|list| list.iter().any(unknown)),
            _ => false,
        }
    }
}

async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    inner: web::Data<Arc<Mutex<Inner>>>,
) -> HttpResponse {
    let Captured {
        method,
        path,
        raw_query,
        headers,
        raw,
        ..
    } = match capture(&req, payload).await {
        Ok(c) => c,
        Err(bad) => return bad,
    };
    let json: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    let query = query_pairs(&raw_query);
    let endpoint = Endpoint::of(&method, &path);
    let reply = {
        let mut inner = inner.lock();
        let scripted = inner
            .scripts
            .get_mut(&endpoint)
            .and_then(VecDeque::pop_front);
        let mut reply = scripted
            .or_else(|| inner.defaults.get(&endpoint).cloned())
            .unwrap_or(Reply::Ok);
        if reply.accepted() && inner.refuses(endpoint, &json) {
            reply = Reply::html("NO_NUMBER");
        }
        if endpoint == Endpoint::Unknown {
            reply = Reply::Json(405, json!({"response": "REQUEST_NOT_FOUND"}));
        }
        let at = inner.clock.as_ref().map(|c| c.now());
        inner.requests.push(Recorded {
            endpoint,
            method,
            path,
            raw_query,
            query: query.clone(),
            headers,
            json: json.clone(),
            at,
            reply: reply.clone(),
        });
        reply
    };
    let ok = |inner: &web::Data<Arc<Mutex<Inner>>>| {
        let answer = inner.lock().success(endpoint, &json, &query);
        HttpResponse::Ok()
            .content_type("application/json; charset=utf-8")
            .body(answer.to_string())
    };
    match reply {
        Reply::Ok => ok(&inner),
        Reply::Slow(d) => {
            actix_rt::time::sleep(d).await;
            ok(&inner)
        }
        Reply::Json(status, body) => {
            HttpResponse::build(StatusCode::from_u16(status).expect("a valid HTTP status"))
                .content_type("application/json; charset=utf-8")
                .body(body.to_string())
        }
        Reply::Html(code) => HttpResponse::BadRequest()
            .content_type("text/html; charset=UTF-8")
            .body(code),
        Reply::ServerError => HttpResponse::InternalServerError()
            .content_type("text/html; charset=UTF-8")
            .body("<html><body><h1>500 Internal Server Error</h1></body></html>"),
    }
}
