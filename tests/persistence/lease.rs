//! One writer per deployment: two real simrelay processes on one private redis-server. The
//! second is a standby that answers nothing and writes nothing; it takes over when the holder
//! stops (SIGTERM hands the lease over, SIGKILL lets it lapse); a holder paused past its lease
//! wakes up to find it lost, writes nothing and exits.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::{json, Value};

use crate::crash::{assert_nothing_lost, client, Seen};
use crate::support::{eventually, Api, Redis, Simrelay, ADMIN, LEASE_SECS};

/// What the store holds, to prove a process wrote nothing: every key and its value.
fn store_dump(redis: &Redis) -> BTreeMap<String, String> {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("t:*").query(&mut conn).unwrap();
    let mut out = BTreeMap::new();
    for key in keys.into_iter().filter(|k| k != "t:lease") {
        let kind: String = redis::cmd("TYPE").arg(&key).query(&mut conn).unwrap();
        let value = match kind.as_str() {
            "hash" => {
                let all: BTreeMap<String, String> =
                    redis::cmd("HGETALL").arg(&key).query(&mut conn).unwrap();
                format!("{all:?}")
            }
            _ => redis::cmd("GET").arg(&key).query(&mut conn).unwrap(),
        };
        out.insert(key, value);
    }
    out
}

async fn status_of(
    app: &Api,
    path: &str,
    method: reqwest::Method,
    body: Option<Value>,
) -> (u16, Value) {
    let http = reqwest::Client::new();
    let mut request = http.request(method, app.url(path)).bearer_auth(ADMIN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_is_a_standby_that_writes_nothing_until_the_holder_stops() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path());
    let mut holder = Simrelay::start(dir.path(), &redis.url(), 5);
    holder.api().wait_ready().await;
    let (_, body) = holder.api().get_number("vk").await.unwrap();
    assert_eq!(body["status"], "SUCCESS", "{body}");
    let busy = body["number"].as_u64().unwrap();
    let activation = body["activationId"].as_u64().unwrap();

    let standby = Simrelay::start(dir.path(), &redis.url(), 5);
    let api = standby.api();
    eventually(
        Duration::from_secs(10),
        "the standby answers readyz",
        || async { matches!(api.readyz().await, Some((503, body)) if body["status"] == "standby") },
    )
    .await;
    let (_, ready) = api.readyz().await.unwrap();
    assert!(
        ready["holder"].as_str().is_some_and(|h| h.contains(':')),
        "readyz names the holder: {ready}"
    );
    let before = store_dump(&redis);
    let healthz = reqwest::get(api.url("/healthz")).await.unwrap();
    assert_eq!(healthz.status(), 200);
    for (what, (status, body)) in [
        ("GET_NUMBER", api.get_number("vk").await.unwrap()),
        ("GET_SERVICES", api.stock_raw().await),
        ("FINISH", api.finish(activation, 3).await.unwrap()),
    ] {
        assert_eq!(status, 503, "{what}: {body}");
        assert_eq!(body["status"], "ERROR", "{what}: {body}");
        assert!(
            body["error"].as_str().unwrap().starts_with("NOT_LEADER: "),
            "{what}: {body}"
        );
    }
    let (status, body) = status_of(&api, "/admin/sims", reqwest::Method::GET, None).await;
    assert_eq!(status, 503, "{body}");
    let (status, body) = status_of(
        &api,
        "/gateway/sims",
        reqwest::Method::PUT,
        Some(json!({"sims": []})),
    )
    .await;
    // The gateway token differs from the admin one: refused either way, nothing acted on.
    assert!(status == 401 || status == 503, "{status} {body}");
    assert!(api.metrics().await.contains("simrelay_lease_held 0"));
    assert_eq!(store_dump(&redis), before, "the standby wrote nothing");
    assert!(holder
        .api()
        .metrics()
        .await
        .contains("simrelay_lease_held 1"));

    // SIGTERM: the holder hands the lease over; the standby takes over well within the lease.
    let stopped = Instant::now();
    holder.stop();
    api.wait_ready().await;
    assert!(
        stopped.elapsed() < Duration::from_secs(LEASE_SECS),
        "took {:?} (the lease is {LEASE_SECS} s)\n{}",
        stopped.elapsed(),
        standby.log()
    );
    // It serves from what the holder wrote: the activation, the busy number.
    let active = api.active().await;
    assert_eq!(active, vec![(activation, busy)]);
    for _ in 0..4 {
        let (_, body) = api.get_number("vk").await.unwrap();
        assert_eq!(body["status"], "SUCCESS", "{body}");
        assert_ne!(body["number"], busy);
    }
    assert_eq!(
        api.finish(activation, 3).await.unwrap().1["status"],
        "SUCCESS"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_the_holder_under_load_hands_over_without_losing_or_doubling_anything() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path());
    let mut holder = Simrelay::start(dir.path(), &redis.url(), 30);
    holder.api().wait_ready().await;
    let standby = Simrelay::start(dir.path(), &redis.url(), 30);
    let api = standby.api();
    eventually(Duration::from_secs(10), "the standby", || async {
        matches!(api.readyz().await, Some((503, body)) if body["status"] == "standby")
    })
    .await;

    // Clients of both processes (as a proxy would spread them) for a while, then SIGKILL.
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|i| {
            let target = if i % 2 == 0 {
                holder.api()
            } else {
                api.clone()
            };
            tokio::spawn(client(target, Arc::clone(&seen), Arc::clone(&stop)))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let killed = Instant::now();
    holder.kill();
    api.wait_ready().await;
    let takeover = killed.elapsed();
    // Load on the new holder for a while.
    tokio::time::sleep(Duration::from_millis(700)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    let seen = seen.lock().clone();
    assert!(
        seen.issued.len() > 10,
        "the load did little: {}",
        seen.issued.len()
    );
    assert_nothing_lost(&api, &seen, "after the takeover").await;
    assert!(
        takeover < Duration::from_secs(LEASE_SECS + 5),
        "takeover took {takeover:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_paused_past_its_lease_wakes_up_deposed_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path());
    let mut holder = Simrelay::start(dir.path(), &redis.url(), 5);
    let old = holder.api();
    old.wait_ready().await;
    let standby = Simrelay::start(dir.path(), &redis.url(), 5);
    let api = standby.api();

    holder.signal("STOP");
    api.wait_ready().await;
    let (_, body) = api.get_number("vk").await.unwrap();
    assert_eq!(body["status"], "SUCCESS", "{body}");
    // A request reaches the paused process; it wakes up with the request in hand.
    let late = tokio::spawn(async move { old.get_number("vk").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = store_dump(&redis);
    holder.signal("CONT");
    let answer = late.await.unwrap();
    if let Ok((status, body)) = &answer {
        assert_ne!(
            body["status"], "SUCCESS",
            "the deposed process issued a number: {status} {body}"
        );
    }
    // Its renewal or its first write finds another holder: it exits for its supervisor.
    let code = holder.exited_within(Duration::from_secs(10)).await;
    assert_eq!(code, Some(75), "{}", holder.log());
    assert!(holder.log().contains("lost the lease"), "{}", holder.log());
    assert_eq!(
        store_dump(&redis),
        before,
        "the deposed process wrote nothing"
    );
    // The new holder still serves, and knows exactly one activation.
    assert_eq!(api.active().await.len(), 1);
}
