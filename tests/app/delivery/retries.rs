//! Delivery: SUCCESS is final, failures are retried every `push_retry_interval`, terminal
//! answers stop, 429 backs off, the attempt cap, slow and dead platforms, redelivery.
//! Time moves only with the test clock; attempts are counted on the fake platform.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::delivery::helpers::{
    assert_error, at, client, default_sims, json_of, metric, new_clock, rfc3339, settings,
    spawn_app_on, spawn_with_platform, time, TestApp, RETRY_SECS,
};
use crate::delivery::platform::{Platform, Reply};

/// Reserves a vk activation and posts one SMS to it: (sms_id, activation_id).
async fn one_sms(app: &TestApp, text: &str) -> (u64, u64) {
    let (number, activation) = app.reserve("russia", "any", "vk").await;
    let (sms, matched) = app.sms_to(number, "VK", text).await;
    assert_eq!(matched, Some(activation));
    (sms, activation)
}

#[actix_rt::test]
async fn success_is_delivered_and_never_sent_again() {
    let (app, platform) = spawn_with_platform(|_| {}).await;
    let (sms, _) = one_sms(&app, "VK: 1").await;
    app.settle().await;
    assert_eq!(platform.count(), 1);
    let stored = app.admin_sms(sms).await;
    assert_eq!(stored["state"], "delivered", "{stored}");
    assert_eq!(stored["next_attempt_at"], Value::Null, "{stored}");

    for step in [RETRY_SECS, RETRY_SECS, 60, 3600, 86_400] {
        app.advance(step);
        assert_eq!(app.engine.deliver_due().await, 0);
        app.settle().await;
    }
    assert_eq!(platform.count(), 1, "delivered SMS are never resent");
    assert_eq!(app.admin_sms(sms).await["attempts"], 1);
}

#[actix_rt::test]
async fn failures_are_retried_exactly_every_interval_then_delivered() {
    let (app, platform) = spawn_with_platform(|_| {}).await;
    platform.then(Reply::server_error(), 3);
    let (sms, _) = one_sms(&app, "VK: 2").await;
    app.settle().await;
    assert_eq!(platform.count(), 1);
    let stored = app.admin_sms(sms).await;
    assert_eq!(stored["state"], "pending", "{stored}");
    assert_eq!(stored["attempts"], 1, "{stored}");
    assert_eq!(time(&stored["next_attempt_at"]), at(RETRY_SECS), "{stored}");
    assert!(
        stored["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("500"),
        "{stored}"
    );

    for attempt in 1..=3 {
        app.advance_and_settle(RETRY_SECS - 1).await;
        assert_eq!(
            platform.count(),
            attempt,
            "no attempt {} s after the last one",
            RETRY_SECS - 1
        );
        app.advance_and_settle(1).await;
        assert_eq!(
            platform.count(),
            attempt + 1,
            "one attempt at exactly the interval"
        );
    }
    let stored = app.admin_sms(sms).await;
    assert_eq!(stored["state"], "delivered", "{stored}");
    assert_eq!(stored["attempts"], 4, "{stored}");
    assert_eq!(
        time(&stored["delivered_at"]),
        at(3 * RETRY_SECS),
        "{stored}"
    );
    assert_eq!(stored["last_error"], Value::Null, "{stored}");

    let requests = platform.requests();
    let times: Vec<_> = requests.iter().map(|r| r.at.unwrap()).collect();
    assert_eq!(
        times,
        (0..4).map(|k| at(k * RETRY_SECS)).collect::<Vec<_>>(),
        "attempts at 0, 10, 20, 30 s"
    );
    assert!(
        requests.iter().all(|r| r.json == requests[0].json),
        "the same payload every time"
    );
    for _ in 0..5 {
        app.advance_and_settle(RETRY_SECS).await;
    }
    assert_eq!(platform.count(), 4);
}

#[actix_rt::test]
async fn terminal_answers_stop_after_one_attempt() {
    let (app, platform) = spawn_with_platform(|_| {}).await;
    let answers = [
        (404, "NO_OPERATION"),
        (404, "NO_OP"),
        (200, "BAD_SERVICE"),
        (200, "IGNORED"),
        (403, "SERVICE_BAN"),
    ];
    let mut failed = Vec::new();
    for (status, code) in answers {
        platform.then(Reply::error(status, code), 1);
        let (sms, _) = one_sms(&app, &format!("VK: {code}")).await;
        app.settle().await;
        let stored = app.admin_sms(sms).await;
        assert_eq!(stored["state"], "failed", "{code}: {stored}");
        assert_eq!(stored["attempts"], 1, "{code}: {stored}");
        assert_eq!(stored["next_attempt_at"], Value::Null, "{code}: {stored}");
        let error = stored["last_error"].as_str().unwrap_or_default();
        assert!(error.contains(code), "{code}: last_error {error:?}");
        failed.push(sms);
    }
    assert_eq!(platform.count(), answers.len());
    for _ in 0..3 {
        app.advance_and_settle(3600).await;
    }
    assert_eq!(platform.count(), answers.len(), "none is retried");
    let listed = app.admin_json("/admin/sms?state=failed").await;
    assert_eq!(listed["sms"].as_array().unwrap().len(), failed.len());
}

#[actix_rt::test]
async fn too_many_attempts_backs_off_as_the_platform_says() {
    let (app, platform) = spawn_with_platform(|_| {}).await;

    // Retry-After: 30 is honoured (not the 10 s interval).
    platform.then(Reply::too_many(Some("30")), 1);
    let (first, _) = one_sms(&app, "VK: 429 with Retry-After").await;
    app.settle().await;
    assert_eq!(platform.count(), 1);
    let stored = app.admin_sms(first).await;
    assert_eq!(time(&stored["next_attempt_at"]), at(30), "{stored}");
    app.advance_and_settle(RETRY_SECS).await;
    assert_eq!(platform.count(), 1, "not at the normal interval");
    app.advance_and_settle(29 - RETRY_SECS).await;
    assert_eq!(platform.count(), 1, "not before Retry-After");
    app.advance_and_settle(1).await;
    assert_eq!(platform.count(), 2, "at Retry-After");
    assert_eq!(app.admin_sms(first).await["state"], "delivered");

    // Without Retry-After: longer than the normal interval, but it does come.
    platform.then(Reply::too_many(None), 1);
    let (second, _) = one_sms(&app, "VK: 429 bare").await;
    app.settle().await;
    assert_eq!(platform.count(), 3);
    let mut waited = 0;
    while platform.count() == 3 {
        assert!(waited < 600, "no retry within 10 minutes of a 429");
        app.advance_and_settle(RETRY_SECS).await;
        waited += RETRY_SECS;
    }
    assert!(
        waited > RETRY_SECS,
        "a bare 429 waits longer than the normal interval (retried after {waited} s)"
    );
    assert_eq!(platform.count(), 4);
    assert_eq!(app.admin_sms(second).await["state"], "delivered");
}

#[actix_rt::test]
async fn max_attempts_caps_the_retries() {
    let (app, platform) = spawn_with_platform(|s| s.push_sms.max_attempts = 3).await;
    platform.always(Reply::server_error());
    let (sms, _) = one_sms(&app, "VK: capped").await;
    app.settle().await;
    for _ in 0..6 {
        app.advance_and_settle(RETRY_SECS).await;
    }
    assert_eq!(platform.count(), 3, "exactly max_attempts attempts");
    let stored = app.admin_sms(sms).await;
    assert_eq!(stored["state"], "failed", "{stored}");
    assert_eq!(stored["attempts"], 3, "{stored}");
    assert!(
        stored["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("500"),
        "{stored}"
    );
}

#[actix_rt::test]
async fn a_slow_platform_times_out_and_is_retried() {
    let (app, platform) =
        spawn_with_platform(|s| s.push_sms.timeout = Duration::from_millis(300)).await;
    platform.then(Reply::Slow(Duration::from_secs(5)), 1);
    let started = Instant::now();
    let (sms, _) = one_sms(&app, "VK: slow").await;
    app.settle().await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the attempt gave up after push_sms.timeout, not after the platform answered ({:?})",
        started.elapsed()
    );
    assert_eq!(platform.count(), 1);
    let stored = app.admin_sms(sms).await;
    assert_eq!(stored["state"], "pending", "{stored}");
    assert_eq!(stored["attempts"], 1, "{stored}");
    assert_eq!(stored["in_flight"], false, "{stored}");
    assert!(stored["last_error"].is_string(), "{stored}");

    app.advance_and_settle(RETRY_SECS).await;
    assert_eq!(platform.count(), 2);
    let stored = app.admin_sms(sms).await;
    assert_eq!(stored["state"], "delivered", "{stored}");
    assert_eq!(stored["attempts"], 2, "{stored}");
    let text = app.metrics().await;
    assert_eq!(
        metric(
            &text,
            "simrelay_push_sms_total{outcome=\"TIMEOUT\",platform=\"onlinesim\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &text,
            "simrelay_push_sms_total{outcome=\"SUCCESS\",platform=\"onlinesim\"}"
        ),
        Some(1.0)
    );
}

#[actix_rt::test]
async fn a_platform_that_is_down_is_retried_until_it_comes_back() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let clock = new_clock();
    let mut s = settings(default_sims());
    s.onlinesim.push_sms_url = Some(format!("http://127.0.0.1:{port}/v1/PUSH_SMS"));
    let app = spawn_app_on(s, clock.clone()).await;
    let (sms, _) = one_sms(&app, "VK: down").await;
    app.settle().await;
    let stored = app.admin_sms(sms).await;
    assert_eq!(stored["state"], "pending", "{stored}");
    assert_eq!(stored["attempts"], 1, "{stored}");
    assert!(stored["last_error"].is_string(), "{stored}");
    app.advance_and_settle(RETRY_SECS).await;
    assert_eq!(app.admin_sms(sms).await["attempts"], 2);

    let platform = Platform::start_on(port, Some(clock)).await;
    app.advance_and_settle(RETRY_SECS - 1).await;
    assert_eq!(platform.count(), 0);
    app.advance_and_settle(1).await;
    assert_eq!(platform.count(), 1);
    let stored = app.admin_sms(sms).await;
    assert_eq!(stored["state"], "delivered", "{stored}");
    assert_eq!(stored["attempts"], 3, "{stored}");
    assert_eq!(
        metric(
            &app.metrics().await,
            "simrelay_push_sms_total{outcome=\"NETWORK\",platform=\"onlinesim\"}"
        ),
        Some(2.0)
    );
}

/// Runs `f`, asserting it answers within two seconds.
async fn fast<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    let started = Instant::now();
    let out = f.await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{what} took {:?} while deliveries hang",
        started.elapsed()
    );
    out
}

#[actix_rt::test]
async fn a_hanging_platform_slows_neither_get_number_nor_the_gateway() {
    let (app, platform) =
        spawn_with_platform(|s| s.push_sms.timeout = Duration::from_secs(120)).await;
    platform.always(Reply::Hang);
    let mut activations = Vec::new();
    for i in 0..3 {
        activations.push(one_sms(&app, &format!("VK: {i}")).await.1);
    }
    platform.wait_for(3, Duration::from_secs(10)).await;
    let hanging = app.engine.sms(None, 100);
    assert!(
        hanging.iter().all(|r| r.in_flight),
        "three attempts in flight: {hanging:#?}"
    );

    let (number, id) = fast("GET_NUMBER", app.reserve("russia", "any", "vk")).await;
    fast("GET_SERVICES", app.get_services()).await;
    let (_, matched) = fast("POST /gateway/sms", app.sms_to(number, "VK", "VK: 4")).await;
    assert_eq!(matched, Some(id));
    fast(
        "POST /gateway/sims",
        app.sim_online(json!({"number": "79281234599"})),
    )
    .await;
    fast("FINISH_ACTIVATION", app.finish_ok(activations[0], 3)).await;
    fast("GET /admin/sms", app.admin_sms_list()).await;
    fast("GET /metrics", app.metrics()).await;
    // The fourth SMS is being delivered too (deliveries run side by side).
    platform.wait_for(4, Duration::from_secs(10)).await;
    assert_eq!(app.engine.sms_counts().pending, 4);
}

#[actix_rt::test]
async fn redeliver_sends_a_failed_sms_again() {
    let (app, platform) = spawn_with_platform(|_| {}).await;
    platform.then(Reply::error(404, "NO_OPERATION"), 1);
    let (sms, _) = one_sms(&app, "VK: again").await;
    app.settle().await;
    assert_eq!(app.admin_sms(sms).await["state"], "failed");

    let (status, body) = app.redeliver(&sms.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sms"]["id"], sms, "{body}");
    assert_eq!(body["sms"]["state"], "pending", "{body}");
    app.settle().await;
    assert_eq!(platform.count(), 2);
    let requests = platform.requests();
    assert_eq!(requests[0].json, requests[1].json, "the same payload");
    assert_eq!(app.admin_sms(sms).await["state"], "delivered");

    // A delivered SMS is not redelivered; nor is an unmatched one, nor a pending one.
    assert_error(
        &app.redeliver(&sms.to_string()).await,
        409,
        "NOT_REDELIVERABLE",
        "",
    );
    let (unmatched, matched) = app
        .sms(json!({"number": "79281000005", "from": "VK", "text": "before", "received_at": rfc3339(-100)}))
        .await;
    assert_eq!(matched, None);
    assert_error(
        &app.redeliver(&unmatched.to_string()).await,
        409,
        "NOT_REDELIVERABLE",
        "",
    );
    assert_eq!(app.admin_sms(unmatched).await["state"], "unmatched");
    platform.always(Reply::server_error());
    let (pending, _) = one_sms(&app, "VK: pending").await;
    app.settle().await;
    assert_eq!(app.admin_sms(pending).await["state"], "pending");
    assert_error(
        &app.redeliver(&pending.to_string()).await,
        409,
        "NOT_REDELIVERABLE",
        "",
    );
    // Unknown and malformed ids.
    assert_error(
        &app.redeliver("987654321").await,
        404,
        "UNKNOWN_SMS",
        "987654321",
    );
    assert_error(&app.redeliver("abc").await, 400, "BAD_ID", "");
    // The admin token is required.
    let response = client()
        .post(format!("{}/admin/sms/{sms}/redeliver", app.address))
        .send()
        .await
        .unwrap();
    assert_error(&json_of(response).await, 401, "BAD_TOKEN", "");
    let count = platform.count();
    app.advance_and_settle(1).await;
    assert_eq!(platform.count(), count, "nothing sent by refused requests");
}

#[actix_rt::test]
async fn an_absurd_retry_after_does_not_wedge_the_sms() {
    let (app, platform) = spawn_with_platform(|_| {}).await;
    platform.then(Reply::too_many(Some("99999999999999")), 1);
    let (sms, _) = one_sms(&app, "VK: absurd").await;
    app.settle().await;
    let stored = app.admin_sms(sms).await;
    assert_eq!(stored["in_flight"], false, "the attempt ended: {stored}");
    assert_eq!(stored["state"], "pending", "{stored}");
    assert!(stored["next_attempt_at"].is_string(), "{stored}");
    // Other SMS still flow.
    let (other, _) = one_sms(&app, "VK: next").await;
    app.settle().await;
    assert_eq!(app.admin_sms(other).await["state"], "delivered");
}

#[actix_rt::test]
async fn an_answer_without_success_is_retried() {
    let (app, platform) = spawn_with_platform(|_| {}).await;
    let answer = |status: u16, body: &str| Reply::Answer {
        status,
        body: body.to_owned(),
        retry_after: None,
    };
    platform.then(answer(200, "OK"), 1);
    platform.then(answer(200, r#"{"status":"ERROR"}"#), 1);
    platform.then(answer(404, "Not Found"), 1);
    platform.then(answer(502, "<html>Bad Gateway</html>"), 1);
    let (sms, _) = one_sms(&app, "VK: odd answers").await;
    app.settle().await;
    for attempt in 2..=5 {
        app.advance_and_settle(RETRY_SECS).await;
        assert_eq!(platform.count(), attempt);
    }
    let stored = app.admin_sms(sms).await;
    assert_eq!(stored["state"], "delivered", "{stored}");
    assert_eq!(stored["attempts"], 5, "{stored}");
}

#[actix_rt::test]
async fn push_sms_concurrency_caps_the_attempts_in_flight() {
    let (app, platform) = spawn_with_platform(|s| s.push_sms.concurrency = 2).await;
    platform.always(Reply::Slow(Duration::from_secs(2)));
    for i in 0..3 {
        one_sms(&app, &format!("VK: {i}")).await;
    }
    platform.wait_for(2, Duration::from_secs(10)).await;
    actix_rt::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(platform.count(), 2, "two in flight at most");
    platform.wait_for(3, Duration::from_secs(10)).await;
    app.settle().await;
    assert_eq!(app.engine.sms_counts().delivered, 3);
    assert_eq!(platform.count(), 3);
}
