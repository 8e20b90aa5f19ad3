//! Redis outages: down at start, down mid-request, SIGKILLed and restarted from its AOF under
//! load. simrelay never hands out a number whose reservation is not durable, reports zero stock
//! and not-ready while Redis is gone, and carries on by itself when it is back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::crash::{assert_nothing_lost, client, Seen};
use crate::support::{eventually, Api, Redis, Simrelay};

const RECONNECT: Duration = Duration::from_secs(30);

async fn assert_refuses_everything(app: &Api) {
    let (status, body) = app.get_number("vk").await.unwrap();
    assert!(
        body["status"] == "NO_NUMBERS" || (status == 503 && body["status"] == "ERROR"),
        "GET_NUMBER while Redis is down: {status} {body}"
    );
    let (status, body) = app.finish(1, 3).await.unwrap();
    assert_eq!(
        body["status"], "ERROR",
        "FINISH while Redis is down: {body}"
    );
    assert!(status >= 500, "{status}");
    let (status, body) = app.readyz().await.unwrap();
    assert_eq!(status, 503);
    assert!(
        body["reason"].as_str().unwrap_or("").contains("store"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_at_start_then_recovers_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut redis = Redis::start(dir.path());
    redis.kill();
    let server = Simrelay::start(dir.path(), &redis.url(), 5);
    let app = server.api();
    eventually(Duration::from_secs(20), "the server listening", || async {
        app.readyz().await.is_some()
    })
    .await;
    assert_refuses_everything(&app).await;
    let (status, body) = app.stock_raw().await;
    assert_eq!(
        (status, body["status"].as_str()),
        (503, Some("ERROR")),
        "{body}"
    );

    redis.restart();
    app.wait_ready().await;
    let (_, body) = app.get_number("vk").await.unwrap();
    assert_eq!(body["status"], "SUCCESS", "{body}");
    assert!(!server.log().contains("panicked"), "{}", server.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_mid_flight_refuses_then_carries_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut redis = Redis::start(dir.path());
    let server = Simrelay::start(dir.path(), &redis.url(), 5);
    let app = server.api();
    app.wait_ready().await;
    let (_, body) = app.get_number("vk").await.unwrap();
    let held = body["activationId"].as_u64().unwrap();
    assert_eq!(app.stock("vk").await.unwrap(), (200, Some(4)));

    redis.kill();
    // The next write finds Redis gone, or the health check does first.
    let (status, body) = app.get_number("vk").await.unwrap();
    assert!(
        body["status"] == "NO_NUMBERS" || status == 503,
        "{status} {body}"
    );
    eventually(RECONNECT, "readiness to notice", || async {
        matches!(app.readyz().await, Some((503, _)))
    })
    .await;
    assert_refuses_everything(&app).await;
    // Nothing can be sold honestly: zero stock, same shape.
    assert_eq!(app.stock("vk").await.unwrap(), (200, Some(0)));
    let metrics = app.metrics().await;
    assert!(metrics.contains("simrelay_store_up 0"), "{metrics}");

    redis.restart();
    app.wait_ready().await;
    assert_eq!(app.stock("vk").await.unwrap(), (200, Some(4)));
    let (_, body) = app.finish(held, 3).await.unwrap();
    assert_eq!(body["status"], "SUCCESS", "{body}");
    let (_, body) = app.get_number("vk").await.unwrap();
    assert_eq!(body["status"], "SUCCESS", "{body}");
    assert!(app.metrics().await.contains("simrelay_store_up 1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_under_load_loses_no_acknowledged_activation() {
    let dir = tempfile::tempdir().unwrap();
    let mut redis = Redis::start(dir.path());
    let mut server = Simrelay::start(dir.path(), &redis.url(), 40);
    let app = server.api();
    app.wait_ready().await;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|_| tokio::spawn(client(app.clone(), Arc::clone(&seen), Arc::clone(&stop))))
        .collect();
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        redis.kill(); // SIGKILL: only what appendfsync always wrote survives
        tokio::time::sleep(Duration::from_millis(300)).await;
        redis.restart(); // reloads the AOF
        app.wait_ready().await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    let seen = seen.lock().clone();
    assert!(!seen.issued.is_empty(), "the load did nothing");
    // simrelay carried on by itself; and what it acknowledged is in Redis, as a restart shows.
    assert_nothing_lost(&app, &seen, "after the Redis restarts").await;
    server.kill();
    server.restart();
    app.wait_ready().await;
    assert_nothing_lost(&app, &seen, "after a simrelay restart").await;
    assert!(!server.log().contains("panicked"), "{}", server.log());
}
