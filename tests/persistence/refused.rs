//! Redis refusing writes while it still answers reads: at `maxmemory` (OOM), turned into a
//! replica (READONLY), after a failed save (MISCONF). Each makes simrelay not ready with the
//! reason and sell nothing (zero stock, GET_NUMBER NO_NUMBERS or ERROR) for as long as it lasts,
//! past the lease too, without exiting or losing the lease; both come back within seconds once
//! Redis takes writes again, and what is answered then is durable.

use std::time::{Duration, Instant};

use crate::support::{eventually, Redis, Simrelay, LEASE_SECS};

/// How Redis refuses writes.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    /// `maxmemory` reached with `noeviction`.
    Oom,
    /// A replica of a master that does not exist.
    Replica,
    /// `stop-writes-on-bgsave-error` after a failed background save.
    Misconf,
}

fn info(redis: &Redis, section: &str) -> String {
    match redis.cmd(&["INFO", section]) {
        redis::Value::BulkString(bytes) => String::from_utf8(bytes).unwrap(),
        redis::Value::VerbatimString { text, .. } => text,
        other => panic!("INFO {section}: {other:?}"),
    }
}

/// Polls (real time) until `check` holds; fails after 10 s.
fn until(what: &str, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Refusal {
    /// What Redis's refusals start with.
    fn code(self) -> &'static str {
        match self {
            Refusal::Oom => "OOM",
            Refusal::Replica => "READONLY",
            Refusal::Misconf => "MISCONF",
        }
    }

    fn start(self, redis: &Redis) {
        match self {
            Refusal::Oom => {
                redis.cmd(&["CONFIG", "SET", "maxmemory-policy", "noeviction"]);
                redis.cmd(&["CONFIG", "SET", "maxmemory", "1"]);
            }
            Refusal::Replica => {
                let nobody = crate::support::free_port().to_string();
                redis.cmd(&["REPLICAOF", "127.0.0.1", &nobody]);
            }
            Refusal::Misconf => {
                // A background save killed by a signal fails; with a save point configured
                // (the test Redis has none) Redis then refuses writes.
                redis.cmd(&["CONFIG", "SET", "save", "3600 1"]);
                redis.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "100000000"]);
                let pid = info(redis, "server")
                    .lines()
                    .find_map(|l| l.strip_prefix("process_id:"))
                    .map(|p| p.trim().to_owned())
                    .expect("process_id");
                redis.cmd(&["BGSAVE"]);
                let children = format!("/proc/{pid}/task/{pid}/children");
                let mut child = String::new();
                until("the BGSAVE child", || {
                    child = std::fs::read_to_string(&children).unwrap_or_default();
                    !child.trim().is_empty()
                });
                let status = std::process::Command::new("kill")
                    .args(["-KILL", child.split_whitespace().next().unwrap()])
                    .status()
                    .unwrap();
                assert!(status.success());
                until("the failed save", || {
                    let i = info(redis, "persistence");
                    i.contains("rdb_bgsave_in_progress:0")
                        && i.contains("rdb_last_bgsave_status:err")
                });
            }
        }
    }

    fn end(self, redis: &Redis) {
        match self {
            Refusal::Oom => {
                redis.cmd(&["CONFIG", "SET", "maxmemory", "0"]);
            }
            Refusal::Replica => {
                redis.cmd(&["REPLICAOF", "NO", "ONE"]);
            }
            Refusal::Misconf => {
                redis.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "0"]);
                redis.cmd(&["BGSAVE"]);
                until("a successful save", || {
                    let i = info(redis, "persistence");
                    i.contains("rdb_bgsave_in_progress:0")
                        && i.contains("rdb_last_bgsave_status:ok")
                });
            }
        }
    }
}

async fn refused_writes_stop_sales_until_redis_takes_them_again(refusal: Refusal) {
    let code = refusal.code();
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path());
    let mut server = Simrelay::start(dir.path(), &redis.url(), 5);
    let app = server.api();
    app.wait_ready().await;
    let (_, body) = app.get_number("vk").await.unwrap();
    assert_eq!(body["status"], "SUCCESS", "{body}");
    let held = body["activationId"].as_u64().unwrap();
    assert_eq!(app.stock("vk").await.unwrap(), (200, Some(4)));

    refusal.start(&redis);
    // Noticed with nothing written: the health probe is a (fenced, no-op) write.
    eventually(Duration::from_secs(5), "readyz to say why", || async {
        matches!(app.readyz().await, Some((503, body))
            if body["reason"].as_str().is_some_and(|r| r.contains(code)))
    })
    .await;
    // For three leases: never ready (reads, PINGs and lease renewals still work: none of them
    // brings it back), nothing on sale, no number issued, FINISH refused.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3 * LEASE_SECS) {
        let (status, body) = app.readyz().await.unwrap();
        assert_eq!(status, 503, "{code}: {body}");
        assert!(
            body["reason"].as_str().is_some_and(|r| r.contains(code)),
            "{code}: {body}"
        );
        assert_eq!(app.stock("vk").await.unwrap(), (200, Some(0)), "{code}");
        let (status, body) = app.get_number("vk").await.unwrap();
        assert!(
            body["status"] == "NO_NUMBERS" || (status == 503 && body["status"] == "ERROR"),
            "{code}: GET_NUMBER {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, body) = app.finish(held, 3).await.unwrap();
    assert!(
        status >= 500 && body["status"] == "ERROR",
        "{code}: {status} {body}"
    );
    assert!(app.metrics().await.contains("simrelay_store_up 0"));
    assert_eq!(
        server.exited_within(Duration::ZERO).await,
        None,
        "{code}: simrelay exited\n{}",
        server.log()
    );

    refusal.end(&redis);
    let ended = Instant::now();
    app.wait_ready().await;
    assert!(
        ended.elapsed() < Duration::from_secs(5),
        "{code}: ready again after {:?}",
        ended.elapsed()
    );
    assert_eq!(app.stock("vk").await.unwrap(), (200, Some(4)));
    let (_, body) = app.finish(held, 3).await.unwrap();
    assert_eq!(body["status"], "SUCCESS", "{code}: {body}");
    let (_, body) = app.get_number("vk").await.unwrap();
    assert_eq!(body["status"], "SUCCESS", "{code}: {body}");
    let issued = (
        body["activationId"].as_u64().unwrap(),
        body["number"].as_u64().unwrap(),
    );
    assert!(app.metrics().await.contains("simrelay_store_up 1"));
    assert!(app.metrics().await.contains("simrelay_lease_held 1"));
    let log = server.log();
    assert!(
        !log.contains("lost the lease") && !log.contains("panicked"),
        "{code}: {log}"
    );

    // What it answered once Redis took writes again is durable; what it refused never existed.
    server.kill();
    server.restart();
    app.wait_ready().await;
    assert_eq!(app.active().await, vec![issued], "{code}");
    let (_, body) = app.finish(held, 3).await.unwrap();
    assert_eq!(body["status"], "SUCCESS", "{code}: a repeat: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_at_maxmemory() {
    refused_writes_stop_sales_until_redis_takes_them_again(Refusal::Oom).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_turned_replica() {
    refused_writes_stop_sales_until_redis_takes_them_again(Refusal::Replica).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_misconf_after_a_failed_save() {
    refused_writes_stop_sales_until_redis_takes_them_again(Refusal::Misconf).await;
}
