//! Strict recovery: a record recovery cannot read stops readiness with a message naming it;
//! `simrelay quarantine` sets it aside and keeps its number off sale; a store written by a newer
//! simrelay is refused at start.

use std::process::Command;
use std::time::Duration;

use crate::support::{eventually, Redis, Simrelay};

fn redis_cmd(redis: &Redis, args: &[&str]) -> redis::Value {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(&mut conn).unwrap()
}

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
    redis_cmd(&redis, &["HSET", "t:activations", &id, "{}"]);
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
        redis_cmd(
            &redis,
            &["HEXISTS", "t:quarantine", &format!("t:activations/{id}")]
        ),
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
        redis_cmd(&redis, &["HGET", "t:meta", "schema_version"]),
        redis::Value::BulkString(b"1".to_vec()),
        "written at the first start"
    );
    redis_cmd(&redis, &["HSET", "t:meta", "schema_version", "99"]);
    server.restart();
    let code = server.exited_within(Duration::from_secs(15));
    assert_eq!(code, Some(1), "{}", server.log());
    assert!(
        server.log().contains("schema version is 99"),
        "{}",
        server.log()
    );
}
