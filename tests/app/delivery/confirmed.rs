//! Nothing is pushed again after the platform confirmed it (invariant 7), with the real binary
//! on a private redis-server: a SIGTERM while a PUSH_SMS is in flight waits for its answer and
//! stores it before exiting; a Redis that refuses or stalls writes right after the SUCCESS
//! delays the "delivered" mark (the SMS is not attempted again meanwhile) but never loses it,
//! whatever follows (a SIGKILL and a restart here).
//!
//! Deterministic: the platform holds its SUCCESS ([`Reply::Held`]) until the test has acted
//! (signal sent, Redis refusing), and the test reads what Redis stores.

use std::time::Duration;

use crate::delivery::platform::{Platform, Reply};
use crate::delivery::restart::{eventually, per_text, sms_record, Redis, Simrelay};

/// A push timeout long enough for the test to act while a request is held.
const PUSH_TIMEOUT: &str = "10s";
/// The quiet after a restart in which a repeat would show: two retry intervals and a half.
const QUIET: Duration = Duration::from_millis(2500);

/// Posts one SMS to a fresh activation and waits until its PUSH_SMS is held by the platform;
/// answers the SMS id.
async fn one_sms_in_flight(server: &Simrelay, platform: &Platform, redis: &Redis) -> u64 {
    server.wait_ready().await;
    let (number, activation) = server.get_number().await;
    let (id, matched, _) = server.post_sms(number, "VK: 4242").await;
    assert_eq!(matched, Some(activation));
    platform.wait_for(1, Duration::from_secs(10)).await;
    let stored = sms_record(redis, id).expect("the SMS is stored");
    assert_eq!(
        (&stored["state"], &stored["in_flight"]),
        (&"pending".into(), &true.into()),
        "the attempt is recorded before it is made: {stored}"
    );
    id
}

/// After a restart: the SMS was pushed once, confirmed once, and stays delivered.
async fn assert_pushed_once(server: &mut Simrelay, platform: &Platform, id: u64) {
    server.restart();
    server.wait_ready().await;
    actix_rt::time::sleep(QUIET).await;
    let seen = per_text(platform);
    assert_eq!(
        seen.get("VK: 4242"),
        Some(&(1, 1)),
        "one push, confirmed: {seen:?}\n{}",
        server.log()
    );
    let sms = server.sms().await;
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert_eq!(sms[0]["id"], id);
    assert_eq!(sms[0]["state"], "delivered", "{}", sms[0]);
    assert_eq!(sms[0]["attempts"], 1, "{}", sms[0]);
    assert!(!server.log().contains("panicked"), "{}", server.log());
}

#[actix_rt::test]
async fn sigterm_during_a_push_waits_for_its_success_stores_it_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path());
    let platform = Platform::start(None).await;
    platform.then(Reply::Held, 1);
    let mut server =
        Simrelay::start_with(dir.path(), &redis.url(), &platform.url(), 1, PUSH_TIMEOUT);
    let id = one_sms_in_flight(&server, &platform, &redis).await;

    server.terminate();
    // The listeners close at once; the process stays until the delivery in flight ends.
    eventually(Duration::from_secs(10), "the listener closed", || async {
        !server.listening()
    })
    .await;
    assert_eq!(
        server.exited_within(Duration::from_millis(500)).await,
        None,
        "simrelay exited with a PUSH_SMS in flight\n{}",
        server.log()
    );
    platform.release_held(1);
    let code = server.exited_within(Duration::from_secs(10)).await;
    assert_eq!(code, Some(0), "graceful stop\n{}", server.log());
    let stored = sms_record(&redis, id).unwrap();
    assert_eq!(
        stored["state"], "delivered",
        "stored before the exit: {stored}"
    );
    assert_eq!(stored["in_flight"], false, "{stored}");

    assert_pushed_once(&mut server, &platform, id).await;
}

#[actix_rt::test]
async fn redis_refusing_writes_after_a_success_delays_the_delivered_mark_but_never_loses_it() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path());
    let platform = Platform::start(None).await;
    platform.then(Reply::Held, 1);
    let mut server =
        Simrelay::start_with(dir.path(), &redis.url(), &platform.url(), 1, PUSH_TIMEOUT);
    let id = one_sms_in_flight(&server, &platform, &redis).await;

    // Redis refuses every write (OOM) when the platform confirms, for longer than five writes
    // with back-off (0.2 + 0.4 + 0.8 + 1.6 + 3.2 s) take.
    redis.cmd(&["CONFIG", "SET", "maxmemory-policy", "noeviction"]);
    redis.cmd(&["CONFIG", "SET", "maxmemory", "1"]);
    platform.release_held(1);
    actix_rt::time::sleep(Duration::from_secs(8)).await;
    let stored = sms_record(&redis, id).unwrap();
    assert_eq!(stored["state"], "pending", "nothing written: {stored}");
    assert_eq!(platform.count(), 1, "not attempted again meanwhile");
    let sms = server.sms().await;
    assert_eq!(
        (&sms[0]["state"], &sms[0]["in_flight"]),
        (&"pending".into(), &true.into()),
        "memory shows what the store has: {}",
        sms[0]
    );

    redis.cmd(&["CONFIG", "SET", "maxmemory", "0"]);
    eventually(
        Duration::from_secs(10),
        "the delivered mark in Redis",
        || async { sms_record(&redis, id).is_some_and(|s| s["state"] == "delivered") },
    )
    .await;
    server.kill();
    assert_pushed_once(&mut server, &platform, id).await;
}

#[actix_rt::test]
async fn redis_stalled_after_a_success_delays_the_delivered_mark_but_never_loses_it() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path());
    let platform = Platform::start(None).await;
    platform.then(Reply::Held, 1);
    let mut server =
        Simrelay::start_with(dir.path(), &redis.url(), &platform.url(), 1, PUSH_TIMEOUT);
    let id = one_sms_in_flight(&server, &platform, &redis).await;

    // Redis stops answering (SIGSTOP) when the platform confirms: the writes time out, past
    // the lease too.
    redis.signal("STOP");
    platform.release_held(1);
    actix_rt::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(platform.count(), 1, "not attempted again meanwhile");
    redis.signal("CONT");
    eventually(
        Duration::from_secs(10),
        "the delivered mark in Redis",
        || async { sms_record(&redis, id).is_some_and(|s| s["state"] == "delivered") },
    )
    .await;
    server.wait_ready().await;
    server.kill();
    assert_pushed_once(&mut server, &platform, id).await;
}
