//! Durability with Redis: SMS accepted while OnlineSIM answers 500 survive a SIGKILL of simrelay
//! and are delivered after the restart, exactly once. The real binary in v2 mode against a
//! private redis-server (AOF, `appendfsync always`) and the fake v2 server; real time, short
//! intervals.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::v2::fake::Endpoint::{AddMessage, SendNumbersOnline};
use crate::v2::fake::{FakeV2, Reply};
use crate::v2::helpers::{API_KEY, C1, GATEWAY_TOKEN};

/// The admin token of the binary: none of the in-process apps has it.
const ADMIN: &str = "restart-test-admin";

use crate::kit::{free_port, Process, RedisServer as Redis};

/// The real simrelay binary in v2 mode (the kit's [`Process`] with this harness's config and
/// requests).
struct Simrelay {
    process: Process,
    http: reqwest::Client,
}

crate::wraps_process!(Simrelay);

impl Simrelay {
    /// Starts on a free port and waits until it is ready; when another test took the port
    /// first, on another one.
    async fn start(dir: &Path, redis_url: &str, v2_base_url: &str) -> Simrelay {
        for _ in 0..5 {
            let mut s = Simrelay::on_port(dir, redis_url, v2_base_url, free_port());
            if s.wait_ready().await {
                return s;
            }
        }
        panic!("simrelay did not start on any of five ports");
    }

    fn on_port(dir: &Path, redis_url: &str, v2_base_url: &str, port: u16) -> Simrelay {
        let process = Process::serve_on(dir, port, |port| {
            format!(
                "[server]\nlisten = \"127.0.0.1:{port}\"\n\
                 [store]\nredis_url = \"{redis_url}\"\nkey_prefix = \"v2t\"\ncommand_timeout = \"1s\"\nlease = \"2s\"\n\
                 [onlinesim]\nmode = \"v2\"\napi_key = \"{API_KEY}\"\nv2_base_url = \"{v2_base_url}\"\n\
                 push_retry_interval = \"1s\"\nv2_timeout = \"2s\"\n\
                 [gateway]\ntoken = \"{GATEWAY_TOKEN}\"\n[admin]\ntoken = \"{ADMIN}\"\n\
                 [log]\nfilter = \"warn\"\n\
                 [[sims]]\nnumber = \"{C1}\"\nport = \"bank.1\"\nmcc_mnc = \"25099\"\n"
            )
        });
        Simrelay {
            process,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("client"),
        }
    }

    /// Waits until this process answers ready (its own admin token tells it from another
    /// test's server on a recycled port); `false` when it exited instead (port taken).
    async fn wait_ready(&mut self) -> bool {
        let started = Instant::now();
        loop {
            if self.exited_within(Duration::ZERO).await.is_some() {
                return false;
            }
            let ready = matches!(
                self.http.get(self.url("/readyz")).send().await,
                Ok(r) if r.status() == 200
            );
            let ours = ready
                && matches!(
                    self.http.get(self.url("/admin/sims")).bearer_auth(ADMIN).send().await,
                    Ok(r) if r.status() == 200
                );
            if ours {
                return true;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "simrelay not ready:\n{}",
                self.log()
            );
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn sms(&self, text: &str) -> u64 {
        let r = self
            .http
            .post(self.url("/gateway/sms"))
            .bearer_auth(GATEWAY_TOKEN)
            .json(&json!({"number": C1.to_string(), "from": "VK", "text": text}))
            .send()
            .await
            .expect("POST /gateway/sms");
        assert_eq!(r.status(), 202);
        let body: Value = r.json().await.expect("JSON");
        body["sms_id"].as_u64().expect("sms_id")
    }

    async fn sms_states(&self) -> Vec<(u64, String)> {
        let body: Value = self
            .http
            .get(self.url("/admin/sms?limit=100"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("GET /admin/sms")
            .json()
            .await
            .expect("JSON");
        let mut out: Vec<(u64, String)> = body["sms"]
            .as_array()
            .expect("sms")
            .iter()
            .map(|s| {
                (
                    s["id"].as_u64().expect("id"),
                    s["state"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        out.sort();
        out
    }
}

/// How many addMessage requests the fake accepted for each text.
fn accepted_by_text(fake: &FakeV2) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    for r in fake.requests_to(AddMessage) {
        if r.reply.accepted() {
            *out.entry(r.json["message"].as_str().unwrap_or_default().to_owned())
                .or_insert(0) += 1;
        }
    }
    out
}

#[actix_rt::test]
async fn sms_accepted_during_an_outage_are_delivered_once_after_a_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let redis = Redis::start(dir.path());
    let fake = FakeV2::start(None).await;
    fake.always(AddMessage, Reply::ServerError);
    let mut server = Simrelay::start(dir.path(), &redis.url(), &fake.url()).await;
    fake.wait_for(SendNumbersOnline, 1, Duration::from_secs(5))
        .await;

    let texts = ["VK: 1001", "VK: 1002", "VK: 1003"];
    let mut ids = Vec::new();
    for text in texts {
        ids.push(server.sms(text).await);
    }
    ids.sort_unstable();
    // Every SMS was tried and refused at least once.
    let started = Instant::now();
    while fake
        .requests_to(AddMessage)
        .iter()
        .map(|r| r.json["message"].as_str().unwrap_or_default().to_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        < texts.len()
    {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not every SMS was tried: {:#?}\n{}",
            fake.requests_to(AddMessage),
            server.log()
        );
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(accepted_by_text(&fake).is_empty());
    let states = server.sms_states().await;
    assert!(states.iter().all(|(_, s)| s == "pending"), "{states:?}");

    server.kill();
    fake.always(AddMessage, Reply::Ok);
    server.restart();
    assert!(
        server.wait_ready().await,
        "simrelay exited:\n{}",
        server.log()
    );

    let started = Instant::now();
    loop {
        let states = server.sms_states().await;
        if states.len() == texts.len() && states.iter().all(|(_, s)| s == "delivered") {
            assert_eq!(states.iter().map(|(id, _)| *id).collect::<Vec<_>>(), ids);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not delivered after the restart: {states:?}\n{}",
            server.log()
        );
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    // Exactly once each, and nothing more comes later.
    actix_rt::time::sleep(Duration::from_millis(2500)).await;
    let accepted = accepted_by_text(&fake);
    assert_eq!(
        accepted,
        texts.iter().map(|t| ((*t).to_owned(), 1)).collect(),
        "{:#?}",
        fake.requests_to(AddMessage)
    );
    // The list went out again after the restart, still naming the configured SIM.
    assert!(fake.count(SendNumbersOnline) >= 2);
    assert_eq!(
        fake.last(SendNumbersOnline).numbers(),
        vec![format!("+{C1}")]
    );
}
