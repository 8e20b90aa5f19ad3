//! The v2 metrics: the last heartbeat's time, how many SIMs the platform holds, and requests by
//! endpoint and outcome (`ok`, the platform's code, `HTTP_<status>`, `NETWORK`).

use std::time::Duration;

use simrelay::config::V2ListMode;

use crate::v2::fake::Endpoint::AddMessage;
use crate::v2::fake::Reply;
use crate::v2::helpers::{
    metric, spawn, unix, C1, DEBOUNCE_SECS, G1, G2, HEARTBEAT_SECS, RETRY_SECS,
};

const HEARTBEAT: &str = "simrelay_v2_last_heartbeat_timestamp_seconds";
const LISTED: &str = "simrelay_v2_listed_sims";
const REQUESTS: &str = "simrelay_v2_requests_total";
/// The label of the v2 platform these tests run.
const ONLINESIM: &[(&str, &str)] = &[("platform", "onlinesim")];

fn requests(text: &str, endpoint: &str, outcome: &str) -> Option<f64> {
    metric(
        text,
        REQUESTS,
        &[
            ("endpoint", endpoint),
            ("outcome", outcome),
            ("platform", "onlinesim"),
        ],
    )
}

#[actix_rt::test]
async fn full_mode_heartbeat_listed_sims_and_request_counts() {
    let (app, fake) = spawn(|_| {}).await;
    app.tick().await;
    let text = app.metrics().await;
    assert_eq!(
        metric(&text, HEARTBEAT, ONLINESIM),
        Some(unix(0) as f64),
        "{text}"
    );
    assert_eq!(metric(&text, LISTED, ONLINESIM), Some(1.0), "{text}");
    assert_eq!(
        requests(&text, "sendNumbersOnline", "ok"),
        Some(1.0),
        "{text}"
    );

    app.online(G1).await;
    app.online(G2).await;
    app.tick().await;
    app.advance_and_tick(DEBOUNCE_SECS).await;
    let text = app.metrics().await;
    assert_eq!(metric(&text, LISTED, ONLINESIM), Some(3.0), "{text}");
    assert_eq!(
        requests(&text, "sendNumbersOnline", "ok"),
        Some(2.0),
        "{text}"
    );

    app.advance_and_tick(HEARTBEAT_SECS).await;
    let text = app.metrics().await;
    assert_eq!(
        metric(&text, HEARTBEAT, ONLINESIM),
        Some(unix(DEBOUNCE_SECS + HEARTBEAT_SECS) as f64),
        "{text}"
    );
    assert_eq!(
        requests(&text, "sendNumbersOnline", "ok"),
        Some(3.0),
        "{text}"
    );

    // A failed heartbeat does not move the timestamp.
    fake.always(
        crate::v2::fake::Endpoint::SendNumbersOnline,
        Reply::ServerError,
    );
    app.advance_and_tick(HEARTBEAT_SECS).await;
    let text = app.metrics().await;
    assert_eq!(
        metric(&text, HEARTBEAT, ONLINESIM),
        Some(unix(DEBOUNCE_SECS + HEARTBEAT_SECS) as f64),
        "{text}"
    );
    assert_eq!(
        requests(&text, "sendNumbersOnline", "HTTP_500"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(metric(&text, LISTED, ONLINESIM), Some(3.0), "{text}");
}

#[actix_rt::test]
async fn sms_outcomes_are_counted_by_endpoint() {
    let (app, fake) = spawn(|s| s.onlinesim.v2_timeout = Duration::from_millis(300)).await;
    app.tick().await;
    fake.then(AddMessage, Reply::ServerError, 1);
    fake.then(AddMessage, Reply::Slow(Duration::from_secs(2)), 1);
    fake.then(AddMessage, Reply::Ok, 1);
    fake.then(AddMessage, Reply::html("ERROR_PARAMS"), 1);
    app.sms(C1, "VK", "VK: counted").await;
    app.settle().await;
    app.advance_and_settle(RETRY_SECS).await;
    app.advance_and_settle(4 * RETRY_SECS).await;
    app.sms(C1, "VK", "VK: refused").await;
    app.settle().await;
    let text = app.metrics().await;
    assert_eq!(
        requests(&text, "addMessage", "HTTP_500"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        requests(&text, "addMessage", "NETWORK"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(requests(&text, "addMessage", "ok"), Some(1.0), "{text}");
    assert_eq!(
        requests(&text, "addMessage", "ERROR_PARAMS"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(fake.count(AddMessage), 4);
}

#[actix_rt::test]
async fn incremental_mode_counts_check_work_add_and_remove() {
    let (app, _fake) = spawn(|s| s.onlinesim.v2_list_mode = V2ListMode::Incremental).await;
    app.tick().await;
    let text = app.metrics().await;
    assert_eq!(requests(&text, "checkWork", "ok"), Some(1.0), "{text}");
    assert_eq!(
        metric(&text, HEARTBEAT, ONLINESIM),
        Some(unix(0) as f64),
        "{text}"
    );
    app.online(G1).await;
    app.tick().await;
    app.advance_and_tick(DEBOUNCE_SECS).await;
    app.offline(G1).await;
    app.tick().await;
    app.advance_and_tick(DEBOUNCE_SECS).await;
    let text = app.metrics().await;
    assert_eq!(requests(&text, "addNumber", "ok"), Some(1.0), "{text}");
    assert_eq!(requests(&text, "removeNumber", "ok"), Some(1.0), "{text}");
    assert_eq!(metric(&text, LISTED, ONLINESIM), Some(1.0), "{text}");
    assert_eq!(
        metric(&text, HEARTBEAT, ONLINESIM),
        Some(unix(0) as f64),
        "changes are not heartbeats: {text}"
    );
    app.advance_and_tick(HEARTBEAT_SECS).await;
    let text = app.metrics().await;
    assert_eq!(requests(&text, "checkWork", "ok"), Some(2.0), "{text}");
    assert_eq!(
        metric(&text, HEARTBEAT, ONLINESIM),
        Some(unix(2 * DEBOUNCE_SECS + HEARTBEAT_SECS) as f64),
        "{text}"
    );
}
