//! Strict recovery: a record recovery cannot read stops readiness with a message naming it;
//! `simrelay quarantine` sets it aside and keeps its number off sale; a store written by a newer
//! simrelay is refused at start.

use std::process::Command;
use std::time::Duration;

use crate::support::{eventually, Redis, Simrelay};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_record_stops_readiness_until_quarantined_and_its_number_stays_off_sale() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path());
    let mut server = Simrelay::start(dir.path(), &redis.url(), 3);
    let api = server.api();
    api.wait_ready().await;
    let (_, body) = api.get_number("vk").await.unwrap();
    assert_eq!(body["status"], "SUCCESS", "{body}");
    let busy = body["number"].as_u64().unwrap();
    let id = body["activationId"].as_u64().unwrap().to_string();
    server.stop();

    // The active activation's record is overwritten with something unreadable.
    redis.cmd(&["HSET", "t:activations", &id, "{}"]);
    server.restart();
    eventually(Duration::from_secs(20), "readyz names the record", || async {
        matches!(api.readyz().await, Some((503, body))
            if body["reason"].as_str().is_some_and(|r| r.contains("t:activations") && r.contains(&format!("field {id}")) && r.contains("simrelay quarantine")))
    })
    .await;
    // Nothing is served meanwhile: never that number.
    let (_, body) = api.get_number("vk").await.unwrap();
    assert_ne!(body["status"], "SUCCESS", "{body}");

    let out = Command::new(env!("CARGO_BIN_EXE_simrelay"))
        .args(["quarantine", "t:activations", &id, "--config"])
        .arg(server.config_path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains(&format!("SIM {busy} is blocked")), "{said}");
    // Recovery retries by itself and gets through.
    api.wait_ready().await;
    let sims = api.admin("/admin/sims").await;
    let sim = sims["sims"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["number"] == busy)
        .unwrap()
        .clone();
    assert_eq!(sim["state"], "blocked", "{sim}");
    for _ in 0..2 {
        let (_, body) = api.get_number("vk").await.unwrap();
        assert_eq!(body["status"], "SUCCESS", "{body}");
        assert_ne!(body["number"], busy);
    }
    let (_, body) = api.get_number("vk").await.unwrap();
    assert_eq!(
        body["status"], "NO_NUMBERS",
        "only the blocked number is left: {body}"
    );
    assert_eq!(
        redis.cmd(&["HEXISTS", "t:quarantine", &format!("t:activations/{id}")]),
        redis::Value::Int(1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_written_by_a_newer_simrelay_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path());
    let mut server = Simrelay::start(dir.path(), &redis.url(), 1);
    server.api().wait_ready().await;
    server.stop();
    assert_eq!(
        redis.cmd(&["HGET", "t:meta", "schema_version"]),
        redis::Value::BulkString(b"1".to_vec()),
        "written at the first start"
    );
    redis.cmd(&["HSET", "t:meta", "schema_version", "99"]);
    server.restart();
    let code = server.exited_within(Duration::from_secs(15)).await;
    assert_eq!(code, Some(1), "{}", server.log());
    assert!(
        server.log().contains("schema version is 99"),
        "{}",
        server.log()
    );
}

/// Recovery trusts the active activations over the SIM records, for configured SIMs too: a SIM
/// record that lost its activation stays busy, one that names an activation that is not active
/// is freed, and both records are repaired in Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_repairs_sim_records_from_the_active_activations() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path());
    let mut server = Simrelay::start(dir.path(), &redis.url(), 3);
    let api = server.api();
    api.wait_ready().await;
    let (_, body) = api.get_number("vk").await.unwrap();
    assert_eq!(body["status"], "SUCCESS", "{body}");
    let busy = body["number"].as_u64().unwrap().to_string();
    let id = body["activationId"].as_u64().unwrap();
    assert_eq!(api.stock("vk").await.unwrap().1, Some(2));
    server.stop();

    let record = |number: &str| -> serde_json::Value {
        match redis.cmd(&["HGET", "t:sims", number]) {
            redis::Value::BulkString(bytes) => serde_json::from_slice(&bytes).unwrap(),
            other => panic!("SIM {number}: {other:?}"),
        }
    };
    let mut lost = record(&busy);
    assert_eq!(lost["active"], id);
    lost["active"] = serde_json::Value::Null;
    redis.cmd(&["HSET", "t:sims", &busy, &lost.to_string()]);
    let free = match redis.cmd(&["HKEYS", "t:sims"]) {
        redis::Value::Array(keys) => keys
            .into_iter()
            .map(|k| match k {
                redis::Value::BulkString(b) => String::from_utf8(b).unwrap(),
                other => panic!("{other:?}"),
            })
            .find(|k| *k != busy)
            .unwrap(),
        other => panic!("{other:?}"),
    };
    let mut stale = record(&free);
    stale["active"] = serde_json::json!(id + 1000);
    redis.cmd(&["HSET", "t:sims", &free, &stale.to_string()]);

    server.restart();
    api.wait_ready().await;
    // The busy number is still busy, the other one on sale: stock as before the restart.
    assert_eq!(api.stock("vk").await.unwrap().1, Some(2));
    let sims = api.admin("/admin/sims").await;
    let state = |number: &str| {
        sims["sims"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["number"].as_u64().map(|n| n.to_string()).as_deref() == Some(number))
            .map(|s| (s["state"].clone(), s["activation_id"].clone()))
            .unwrap()
    };
    assert_eq!(
        state(&busy),
        (serde_json::json!("busy"), serde_json::json!(id))
    );
    assert_eq!(state(&free).0, "free");
    // Repaired in Redis.
    assert_eq!(record(&busy)["active"], id);
    assert_eq!(record(&free)["active"], serde_json::Value::Null);
}
