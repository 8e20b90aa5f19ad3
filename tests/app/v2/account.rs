//! Account errors (401 ERROR_WRONG_KEY, 403 ACCOUNT_BLOCKED): readiness says so with the code,
//! the `simrelay_v2_account_problem` gauge is 1 for the code, the list task backs off instead of
//! hammering, nothing crashes, and everything returns to normal once the platform accepts again.

use reqwest::StatusCode;

use crate::v2::fake::Endpoint::{AddMessage, SendNumbersOnline};
use crate::v2::fake::{FakeV2, Reply};
use crate::v2::helpers::{at, metric, spawn, V2App, C1, G1};

const PROBLEM: &str = "simrelay_v2_account_problem";

/// The test-clock times of every sendNumbersOnline, in seconds from the start.
fn list_times(fake: &FakeV2) -> Vec<i64> {
    fake.requests_to(SendNumbersOnline)
        .iter()
        .map(|r| (r.at.expect("clock") - at(0)).num_seconds())
        .collect()
}

async fn assert_not_ready_because(app: &V2App, code: &str) {
    let (status, body) = app.readyz().await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let reason = body["reason"].as_str().unwrap_or_default();
    assert!(reason.contains(code), "the reason names {code}: {body}");
}

async fn account_error_backs_off_and_recovers(reply: Reply, code: &str) {
    let (app, fake) = spawn(|_| {}).await;
    fake.always(SendNumbersOnline, reply);
    app.tick().await;
    assert_eq!(fake.count(SendNumbersOnline), 1);
    assert_not_ready_because(&app, code).await;
    let text = app.metrics().await;
    assert_eq!(
        metric(&text, PROBLEM, &[("code", code), ("platform", "onlinesim")]),
        Some(1.0),
        "{text}"
    );

    // Back-off: not again right away, however often the task looks.
    app.tick().await;
    app.tick().await;
    assert_eq!(
        fake.count(SendNumbersOnline),
        1,
        "no retry without a back-off"
    );

    // Then retries at growing intervals, capped (10 minutes) — never a burst.
    for _ in 0..1200 {
        app.advance_and_tick(1).await;
    }
    let times = list_times(&fake);
    assert!(times.len() >= 5, "it keeps retrying: {times:?}");
    let gaps: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps[0] >= 1, "{gaps:?}");
    assert!(
        gaps.windows(2).all(|g| g[1] >= g[0]),
        "the back-off never shrinks: {gaps:?}"
    );
    assert!(
        gaps.iter().all(|g| *g <= 600),
        "capped at 10 minutes: {gaps:?}"
    );
    assert!(times.len() <= 12, "{times:?}");
    assert_not_ready_because(&app, code).await;
    assert_eq!(app.healthz().await, StatusCode::OK, "never a crash");
    app.online(G1).await; // the gateway still works

    // The platform accepts again: within one back-off the list goes out and all is well.
    fake.always(SendNumbersOnline, Reply::Ok);
    let failures = fake.count(SendNumbersOnline);
    for _ in 0..61 {
        if fake.count(SendNumbersOnline) > failures {
            break;
        }
        app.advance_and_tick(10).await;
    }
    assert_eq!(fake.count(SendNumbersOnline), failures + 1);
    let mut listed = fake.last(SendNumbersOnline).numbers();
    listed.sort();
    assert_eq!(listed, vec![format!("+{C1}"), format!("+{G1}")]);
    let (status, body) = app.readyz().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let text = app.metrics().await;
    assert_ne!(
        metric(&text, PROBLEM, &[("code", code), ("platform", "onlinesim")]),
        Some(1.0),
        "{text}"
    );
    // Back on the normal cadence: the next list at the heartbeat, not sooner.
    app.advance_and_tick(299).await;
    assert_eq!(fake.count(SendNumbersOnline), failures + 1);
    app.advance_and_tick(1).await;
    assert_eq!(fake.count(SendNumbersOnline), failures + 2);
}

#[actix_rt::test]
async fn wrong_key_fails_readiness_backs_off_and_recovers() {
    account_error_backs_off_and_recovers(Reply::wrong_key(), "ERROR_WRONG_KEY").await;
}

#[actix_rt::test]
async fn account_blocked_fails_readiness_backs_off_and_recovers() {
    account_error_backs_off_and_recovers(Reply::blocked(), "ACCOUNT_BLOCKED").await;
}

#[actix_rt::test]
async fn the_account_problem_gauge_follows_the_failing_request_itself() {
    let (app, fake) = spawn(|_| {}).await;
    fake.always(SendNumbersOnline, Reply::wrong_key());
    app.tick().await;
    // Scraped without anyone asking /readyz first.
    let text = app.metrics().await;
    assert_eq!(
        metric(
            &text,
            PROBLEM,
            &[("code", "ERROR_WRONG_KEY"), ("platform", "onlinesim")]
        ),
        Some(1.0),
        "{text}"
    );
    fake.always(SendNumbersOnline, Reply::Ok);
    for _ in 0..20 {
        app.advance_and_tick(1).await;
    }
    assert_eq!(
        fake.requests_to(SendNumbersOnline)
            .last()
            .map(|r| r.reply.clone()),
        Some(Reply::Ok)
    );
    let text = app.metrics().await;
    assert_ne!(
        metric(
            &text,
            PROBLEM,
            &[("code", "ERROR_WRONG_KEY"), ("platform", "onlinesim")]
        ),
        Some(1.0),
        "cleared with the first accepted request: {text}"
    );
}

#[actix_rt::test]
async fn an_account_error_on_add_message_is_retried_and_reported() {
    let (app, fake) = spawn(|_| {}).await;
    app.tick().await;
    fake.then(AddMessage, Reply::blocked(), 1);
    let id = app.sms(C1, "VK", "VK: blocked account").await;
    app.settle().await;
    let stored = app.admin_sms(id).await;
    assert_eq!(
        stored["state"], "pending",
        "an account problem is not the SMS's fault: {stored}"
    );
    assert_not_ready_because(&app, "ACCOUNT_BLOCKED").await;
    let due = crate::v2::helpers::time(&stored["next_attempt_at"]);
    app.advance_and_settle((due - app.engine.now()).num_seconds())
        .await;
    assert_eq!(app.admin_sms(id).await["state"], "delivered");
    assert_eq!(fake.count(AddMessage), 2);
    let (status, body) = app.readyz().await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
