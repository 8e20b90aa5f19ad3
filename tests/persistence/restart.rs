//! Restarts of simrelay, graceful and SIGKILL: every activation answered SUCCESS is still there.

use std::collections::BTreeSet;

use serde_json::json;

use crate::support::{Api, Redis, Simrelay};

async fn reserve(app: &Api, n: usize) -> Vec<(u64, u64)> {
    let mut got = Vec::new();
    for _ in 0..n {
        let (status, body) = app.get_number("vk").await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "SUCCESS", "{body}");
        got.push((
            body["activationId"].as_u64().unwrap(),
            body["number"].as_u64().unwrap(),
        ));
    }
    got
}

async fn restart_keeps_activations(graceful: bool) {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path());
    let mut server = Simrelay::start(dir.path(), &redis.url(), 10);
    let app = server.api();
    app.wait_ready().await;
    let reserved = reserve(&app, 4).await;
    assert_eq!(app.stock("vk").await.unwrap().1, Some(6));

    if graceful {
        server.stop();
    } else {
        server.kill();
    }
    server.restart();
    app.wait_ready().await;

    // Every SUCCESS activation is active, its number still busy.
    let mut active = app.active().await;
    active.sort_unstable();
    assert_eq!(active, reserved);
    assert_eq!(app.stock("vk").await.unwrap().1, Some(6));
    let sims = app.admin("/admin/sims").await;
    for (id, number) in &reserved {
        let sim = sims["sims"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["number"] == *number)
            .unwrap();
        assert_eq!(sim["state"], "busy");
        assert_eq!(sim["activation_id"], *id);
    }
    // New ids do not collide with the old ones.
    let fresh = reserve(&app, 2).await;
    let old_ids: BTreeSet<u64> = reserved.iter().map(|r| r.0).collect();
    let max_old = *old_ids.iter().max().unwrap();
    for (id, number) in &fresh {
        assert!(*id > max_old, "id {id} reused or going back");
        assert!(
            !reserved.iter().any(|r| r.1 == *number),
            "busy number {number} issued"
        );
    }
    // Finishable, and repeats still answer SUCCESS.
    for (id, _) in &reserved {
        for _ in 0..2 {
            let (status, body) = app.finish(*id, 3).await.unwrap();
            assert_eq!((status, body["status"].as_str()), (200, Some("SUCCESS")));
        }
    }
    // Sold numbers stay sold for vk across another restart.
    server.kill();
    server.restart();
    app.wait_ready().await;
    assert_eq!(app.stock("vk").await.unwrap().1, Some(10 - 4 - 2));
    let (_, body) = app.finish(reserved[0].0, 3).await.unwrap();
    assert_eq!(body["status"], "SUCCESS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_restart_keeps_every_activation() {
    restart_keeps_activations(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_restart_keeps_every_activation() {
    restart_keeps_activations(false).await;
}

/// An SMSHub platform beside the `[onlinesim]` section.
const SMSHUB: &str = "[[platforms]]\nname = \"smshub\"\nprotocol = \"smshub\"\nkey = \"hub-key\"\npath = \"/smshub\"\n";

#[actix_rt::test]
async fn the_platform_of_each_activation_and_its_cancels_survive_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path());
    let mut server = Simrelay::start_with(dir.path(), &redis.url(), 1, SMSHUB);
    let app = server.api();
    app.wait_ready().await;
    let hub = |body: serde_json::Value| {
        let app = app.clone();
        async move { app.post("/smshub", body).await.unwrap() }
    };
    let get_number = json!({"action": "GET_NUMBER", "key": "hub-key", "country": "russia",
        "operator": "any", "service": "vk", "sum": 10, "currency": 643});
    // Three SMSHub cancels of vk, then a fourth activation left open across a crash.
    for _ in 0..3 {
        let (_, body) = hub(get_number.clone()).await;
        let id = body["activationId"].as_u64().expect("a number");
        let (_, done) = hub(json!({"action": "FINISH_ACTIVATION", "key": "hub-key",
            "activationId": id, "status": 4}))
        .await;
        assert_eq!(done["status"], "SUCCESS");
    }
    let (_, body) = hub(get_number.clone()).await;
    let id = body["activationId"].as_u64().expect("a number");
    server.kill();
    server.restart();
    app.wait_ready().await;
    let shown = app.admin(&format!("/admin/activations/{id}")).await;
    assert_eq!(shown["activation"]["platform"], "smshub", "{shown}");
    // Still SMSHub's alone to finish.
    let (status, refused) = app.finish(id, 4).await.unwrap();
    assert_eq!(status, 404, "{refused}");
    let (_, done) = hub(json!({"action": "FINISH_ACTIVATION", "key": "hub-key",
        "activationId": id, "status": 4}))
    .await;
    assert_eq!(done["status"], "SUCCESS");
    // The fourth cancel ends the number for vk, on every platform.
    let (_, none) = hub(get_number).await;
    assert_eq!(none["status"], "NO_NUMBERS", "{none}");
    let (_, none) = app.get_number("vk").await.unwrap();
    assert_eq!(none["status"], "NO_NUMBERS", "{none}");
}
