//! Delivery metrics on `/metrics` follow what happened.

use serde_json::json;
use simrelay::config::FilteringMode;

use crate::delivery::helpers::{metric, rfc3339, spawn_with_platform, RETRY_SECS};
use crate::delivery::platform::Reply;

#[track_caller]
fn assert_metric(text: &str, series: &str, expected: f64) {
    assert_eq!(
        metric(text, series),
        Some(expected),
        "{series} in\n{}",
        text.lines()
            .filter(|l| l.contains("sms") || l.contains("outbox"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn sms_states(text: &str, [received, delivered, failed, held, unmatched, pending]: [f64; 6]) {
    for (state, n) in [
        ("received", received),
        ("delivered", delivered),
        ("failed", failed),
        ("held", held),
        ("unmatched", unmatched),
        ("pending", pending),
    ] {
        assert_metric(text, &format!("simrelay_sms{{state=\"{state}\"}}"), n);
    }
}

#[actix_rt::test]
async fn delivery_metrics_match_what_happened() {
    let (app, platform) = spawn_with_platform(|s| s.filtering.mode = FilteringMode::Partner).await;
    let text = app.metrics().await;
    sms_states(&text, [0.0; 6]);
    assert_metric(&text, "simrelay_outbox_depth", 0.0);
    assert_metric(&text, "simrelay_outbox_oldest_pending_seconds", 0.0);
    assert_metric(&text, "simrelay_push_sms_duration_seconds_count", 0.0);

    let mut numbers = Vec::new();
    for _ in 0..4 {
        numbers.push(app.reserve("russia", "any", "vk").await.0);
    }
    // Delivered at once.
    app.sms_to(numbers[0], "VK", "VK: 1").await;
    app.settle().await;
    // Refused for good.
    platform.then(Reply::error(404, "NO_OPERATION"), 1);
    app.sms_to(numbers[1], "VK", "VK: 2").await;
    app.settle().await;
    // Held by filtering.
    app.sms_to(numbers[2], "Telegram", "Telegram code 3").await;
    // Unmatched: received before any activation (beyond gateway.clock_skew).
    app.sms(json!({"number": numbers[0].to_string(), "from": "VK", "text": "VK: 4", "received_at": rfc3339(-600)}))
        .await;
    // Pending after two failures.
    platform.then(Reply::server_error(), 2);
    app.sms_to(numbers[3], "VK", "VK: 5").await;
    app.settle().await;
    app.advance_and_settle(RETRY_SECS).await;
    app.advance(5);
    assert_eq!(platform.count(), 4);

    let text = app.metrics().await;
    sms_states(&text, [5.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
    assert_metric(&text, "simrelay_outbox_depth", 1.0);
    assert_metric(
        &text,
        "simrelay_outbox_oldest_pending_seconds",
        (RETRY_SECS + 5) as f64,
    );
    assert_metric(
        &text,
        "simrelay_push_sms_total{outcome=\"SUCCESS\",platform=\"onlinesim\"}",
        1.0,
    );
    assert_metric(
        &text,
        "simrelay_push_sms_total{outcome=\"NO_OPERATION\",platform=\"onlinesim\"}",
        1.0,
    );
    assert_metric(
        &text,
        "simrelay_push_sms_total{outcome=\"HTTP_5XX\",platform=\"onlinesim\"}",
        2.0,
    );
    assert_metric(&text, "simrelay_push_sms_duration_seconds_count", 4.0);
    let sum = metric(&text, "simrelay_push_sms_duration_seconds_sum").unwrap();
    assert!(sum > 0.0 && sum < 30.0, "duration sum {sum}");

    // The pending one goes through; the outbox empties.
    app.advance_and_settle(RETRY_SECS).await;
    let text = app.metrics().await;
    sms_states(&text, [5.0, 2.0, 1.0, 1.0, 1.0, 0.0]);
    assert_metric(&text, "simrelay_outbox_depth", 0.0);
    assert_metric(&text, "simrelay_outbox_oldest_pending_seconds", 0.0);
    assert_metric(
        &text,
        "simrelay_push_sms_total{outcome=\"SUCCESS\",platform=\"onlinesim\"}",
        2.0,
    );
    assert_metric(
        &text,
        "simrelay_push_sms_total{outcome=\"HTTP_5XX\",platform=\"onlinesim\"}",
        2.0,
    );
    assert_metric(&text, "simrelay_push_sms_duration_seconds_count", 5.0);
}
