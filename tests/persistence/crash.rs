//! The binary is SIGKILLed at random moments under concurrent GET_NUMBER / FINISH load; after
//! each restart every activation a client got SUCCESS for exists, and no number is in two active
//! activations.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::support::{Api, Redis, Simrelay};

/// What the clients were told.
#[derive(Default, Clone)]
pub struct Seen {
    /// Every activation answered SUCCESS: id -> number.
    pub issued: BTreeMap<u64, u64>,
    /// FINISHes answered SUCCESS.
    pub finished: BTreeSet<u64>,
}

/// GET_NUMBER → FINISH 5 cycles until the server stops answering or `stop` is set.
pub async fn client(app: Api, seen: Arc<Mutex<Seen>>, stop: Arc<std::sync::atomic::AtomicBool>) {
    use std::sync::atomic::Ordering;
    while !stop.load(Ordering::Relaxed) {
        let Ok((_, body)) = app.get_number("vk").await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        if body["status"] != "SUCCESS" {
            tokio::time::sleep(Duration::from_millis(2)).await;
            continue;
        }
        let id = body["activationId"].as_u64().unwrap();
        seen.lock()
            .issued
            .insert(id, body["number"].as_u64().unwrap());
        if let Ok((_, body)) = app.finish(id, 5).await {
            if body["status"] == "SUCCESS" {
                seen.lock().finished.insert(id);
            }
        }
    }
}

/// Every acknowledged activation exists with its number, every acknowledged FINISH applied,
/// and no number is in two active activations.
pub async fn assert_nothing_lost(app: &Api, seen: &Seen, when: &str) {
    let active = app.active().await;
    let numbers: BTreeSet<u64> = active.iter().map(|a| a.1).collect();
    assert_eq!(
        numbers.len(),
        active.len(),
        "{when}: a number is in two active activations"
    );
    for (id, number) in &seen.issued {
        let body = app.admin(&format!("/admin/activations/{id}")).await;
        let record = &body["activation"];
        assert_eq!(
            record["number"], *number,
            "{when}: activation {id} lost: {body}"
        );
        if seen.finished.contains(id) {
            assert_eq!(record["state"], "finished", "{when}: FINISH of {id} lost");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_activation() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path());
    let mut server = Simrelay::start(dir.path(), &redis.url(), 40);
    let app = server.api();
    let seen = Arc::new(Mutex::new(Seen::default()));
    // A fixed-seed linear congruential sequence: "random" kill moments, repeatable.
    let mut lcg: u64 = 0x2545_f491_4f6c_dd1d;
    for round in 0..4 {
        app.wait_ready().await;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let clients: Vec<_> = (0..8)
            .map(|_| tokio::spawn(client(app.clone(), Arc::clone(&seen), Arc::clone(&stop))))
            .collect();
        lcg = lcg
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        tokio::time::sleep(Duration::from_millis(200 + (lcg >> 33) % 600)).await;
        server.kill(); // SIGKILL with requests in flight
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for c in clients {
            c.await.unwrap();
        }
        server.restart();
        app.wait_ready().await;
        let snapshot = seen.lock().clone();
        assert!(
            !snapshot.issued.is_empty(),
            "round {round}: the load did nothing"
        );
        assert_nothing_lost(&app, &snapshot, &format!("round {round}")).await;
    }
}
