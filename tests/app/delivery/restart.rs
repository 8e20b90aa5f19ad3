//! Delivery across a SIGKILL: the real binary on a private redis-server, the platform failing
//! while simrelay is killed mid-retry; after the restart delivery continues until SUCCESS and
//! each SMS is confirmed exactly once. Real time (1 s retries): it crosses processes.
//! The process helpers are adapted from `tests/persistence/support.rs` (shared with
//! `confirmed.rs`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::delivery::platform::{Platform, Reply};

const KEY: &str = "test-key";
const ADMIN: &str = "test-admin";
const GATEWAY: &str = "test-gateway";

use crate::kit::Process;
pub(crate) use crate::kit::{eventually, RedisServer as Redis};

/// The stored record of one SMS (key prefix `d`), read straight from Redis.
pub(crate) fn sms_record(redis: &Redis, id: u64) -> Option<Value> {
    let json: Option<String> = redis::cmd("HGET")
        .arg("d:sms")
        .arg(id)
        .query(&mut redis.connection())
        .ok()?;
    serde_json::from_str(&json?).ok()
}

/// The real simrelay binary on a Redis store, delivering to `push_sms_url` every second (the
/// kit's [`Process`], with this harness's config and requests).
pub(crate) struct Simrelay {
    process: Process,
    http: reqwest::Client,
}

crate::wraps_process!(Simrelay);

impl Simrelay {
    fn start(dir: &Path, redis_url: &str, push_sms_url: &str, sims: usize) -> Simrelay {
        Simrelay::start_with(dir, redis_url, push_sms_url, sims, "2s")
    }

    /// [`Simrelay::start`] with another `push_sms.timeout`.
    pub(crate) fn start_with(
        dir: &Path,
        redis_url: &str,
        push_sms_url: &str,
        sims: usize,
        push_timeout: &str,
    ) -> Simrelay {
        let process = Process::serve(dir, |port| {
            let mut config = format!(
                "[server]\nlisten = \"127.0.0.1:{port}\"\n\
                 [store]\nredis_url = \"{redis_url}\"\nkey_prefix = \"d\"\ncommand_timeout = \"1s\"\nlease = \"2s\"\n\
                 [onlinesim]\napi_key = \"{KEY}\"\npush_sms_url = \"{push_sms_url}\"\npush_retry_interval = \"1s\"\n\
                 [push_sms]\ntimeout = \"{push_timeout}\"\n\
                 [gateway]\ntoken = \"{GATEWAY}\"\n\
                 [admin]\ntoken = \"{ADMIN}\"\n[log]\nfilter = \"warn\"\n"
            );
            for i in 0..sims {
                config.push_str(&format!(
                    "[[sims]]\nnumber = \"7928{i:07}\"\noperator = \"beeline\"\n"
                ));
            }
            config
        });
        Simrelay {
            process,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("client"),
        }
    }

    pub(crate) async fn wait_ready(&self) {
        eventually(Duration::from_secs(20), "simrelay ready", || async {
            match self.http.get(self.url("/readyz")).send().await {
                Ok(r) => r.status() == 200,
                Err(_) => false,
            }
        })
        .await;
    }

    pub(crate) async fn get_number(&self) -> (u64, u64) {
        let body: Value = self
            .http
            .post(self.url("/onlinesim/v1"))
            .json(&json!({"action":"GET_NUMBER","key":KEY,"country":"russia","operator":"any","service":"vk","sum":10}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["status"], "SUCCESS", "{body}");
        (
            body["number"].as_u64().unwrap(),
            body["activationId"].as_u64().unwrap(),
        )
    }

    /// Posts an SMS with gateway id `text`: (sms_id, activation_id, duplicate).
    pub(crate) async fn post_sms(&self, number: u64, text: &str) -> (u64, Option<u64>, bool) {
        let response = self
            .http
            .post(self.url("/gateway/sms"))
            .bearer_auth(GATEWAY)
            .json(&json!({"number": number.to_string(), "from": "VK", "text": text, "id": text}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
        let body: Value = response.json().await.unwrap();
        (
            body["sms_id"].as_u64().unwrap(),
            body["activation_id"].as_u64(),
            body["duplicate"].as_bool().unwrap(),
        )
    }

    /// Posts a JSON body to the gateway: (status, answer).
    async fn gateway(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(path))
            .bearer_auth(GATEWAY)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    pub(crate) async fn sms(&self) -> Vec<Value> {
        let body: Value = self
            .http
            .get(self.url("/admin/sms"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["sms"].as_array().cloned().unwrap_or_default()
    }
}

/// Attempts per SMS text, and how many of them the platform answered SUCCESS.
pub(crate) fn per_text(platform: &Platform) -> BTreeMap<String, (usize, usize)> {
    let mut out: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for r in platform.requests() {
        let entry = out.entry(r.text().to_owned()).or_default();
        entry.0 += 1;
        entry.1 += usize::from(r.reply.is_success());
    }
    out
}

#[actix_rt::test]
async fn delivery_continues_after_a_sigkill_mid_retry_and_confirms_each_sms_once() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path());
    let platform = Platform::start(None).await;
    platform.always(Reply::server_error());
    let mut server = Simrelay::start(dir.path(), &redis.url(), &platform.url(), 3);
    server.wait_ready().await;

    let (first_number, first) = server.get_number().await;
    let (second_number, second) = server.get_number().await;
    let texts = ["VK: 1", "VK: 2", "VK: 3"];
    let mut ids = Vec::new();
    for (number, activation, text) in [
        (first_number, first, texts[0]),
        (first_number, first, texts[1]),
        (second_number, second, texts[2]),
    ] {
        let (id, matched, duplicate) = server.post_sms(number, text).await;
        assert_eq!(matched, Some(activation));
        assert!(!duplicate);
        ids.push(id);
    }
    // The third SIM is free: its SMS is kept, never pushed.
    let free = (0..3u64)
        .map(|i| 79_280_000_000 + i)
        .find(|n| *n != first_number && *n != second_number)
        .unwrap();
    let (stray, matched, _) = server.post_sms(free, "stray").await;
    assert_eq!(matched, None);

    // Every SMS failed at least twice: simrelay is mid-retry.
    eventually(
        Duration::from_secs(10),
        "two failed attempts per SMS",
        || {
            let seen = per_text(&platform);
            async move { texts.iter().all(|t| seen.get(*t).is_some_and(|c| c.0 >= 2)) }
        },
    )
    .await;
    server.kill();
    // Let requests already on the wire be answered (500) before the platform changes its mind.
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    let before = platform.count();
    assert!(
        platform.requests().iter().all(|r| !r.reply.is_success()),
        "nothing was confirmed before the kill"
    );
    platform.always(Reply::Success);

    server.restart();
    server.wait_ready().await;
    eventually(Duration::from_secs(10), "every SMS delivered", || async {
        let sms = server.sms().await;
        sms.len() == 4
            && sms
                .iter()
                .all(|s| s["state"] == "delivered" || s["id"] == stray)
    })
    .await;
    // The gateway repeats an SMS it posted before the crash: recognised by its id.
    let (id, matched, duplicate) = server.post_sms(first_number, texts[0]).await;
    assert_eq!((id, matched, duplicate), (ids[0], Some(first), true));

    // Killed again once everything is confirmed: nothing is sent again after the restart.
    server.kill();
    server.restart();
    server.wait_ready().await;
    // Two retry intervals of quiet.
    actix_rt::time::sleep(Duration::from_millis(2500)).await;

    let seen = per_text(&platform);
    assert_eq!(seen.len(), 3, "{seen:?}");
    for text in texts {
        let (attempts, confirmed) = seen[text];
        assert_eq!(confirmed, 1, "{text} confirmed exactly once: {seen:?}");
        assert!(
            attempts >= 3,
            "{text}: two failures, then a success: {seen:?}"
        );
    }
    assert!(platform.count() > before);
    let stored = server.sms().await;
    assert_eq!(stored.len(), 4);
    for s in stored {
        if s["id"] == stray {
            assert_eq!(s["state"], "unmatched", "{s}");
            assert_eq!(s["attempts"], 0, "{s}");
        } else {
            assert!(ids.contains(&s["id"].as_u64().unwrap()), "{s}");
            assert_eq!(s["state"], "delivered", "{s}");
            assert!(s["attempts"].as_u64().unwrap() >= 3, "{s}");
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}\n{}",
        started.elapsed(),
        server.log()
    );
}

#[actix_rt::test]
async fn parts_of_a_long_sms_across_a_sigkill_make_one_sms_with_one_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path());
    let platform = Platform::start(None).await;
    platform.always(Reply::Success);
    let mut server = Simrelay::start(dir.path(), &redis.url(), &platform.url(), 1);
    server.wait_ready().await;
    let (number, activation) = server.get_number().await;
    let part = |i: u64, text: &str| {
        json!({"number": number.to_string(), "from": "VK", "text": text,
               "ref": 201, "part": i, "parts": 2})
    };
    let (status, first) = server.gateway("/gateway/sms", part(2, "is 7345")).await;
    assert_eq!(status, 202, "{first}");
    assert_eq!(first["complete"], false);

    server.kill();
    server.restart();
    server.wait_ready().await;
    // The gateway repeats the part it is not sure about, then sends the other.
    let (_, again) = server.gateway("/gateway/sms", part(2, "is 7345")).await;
    assert_eq!(again["duplicate"], true, "{again}");
    assert_eq!(again["sms_id"], first["sms_id"]);
    let (status, done) = server
        .gateway("/gateway/sms", part(1, "Your VK code "))
        .await;
    assert_eq!(status, 202, "{done}");
    assert_eq!(done["complete"], true, "{done}");
    assert_eq!(done["sms_id"], first["sms_id"]);
    assert_eq!(done["activation_id"], activation);
    eventually(
        Duration::from_secs(10),
        "the long SMS delivered",
        || async {
            server
                .sms()
                .await
                .first()
                .is_some_and(|s| s["state"] == "delivered")
        },
    )
    .await;
    let requests = platform.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].text(), "Your VK code is 7345");
    assert_eq!(server.sms().await.len(), 1);
}
