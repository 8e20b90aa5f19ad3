//! SMS time: which activation an SMS belongs to when the SIM bank's clock is not ours —
//! whole-second timestamps, clocks behind and ahead, other offsets and UNIX times, the
//! `gateway.clock_skew` tolerance and its limit, and absurd timestamps that must not panic.

use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::delivery::helpers::{at, clock_start, rfc3339, spawn_with_platform, time};

#[actix_rt::test]
async fn a_whole_second_timestamp_right_after_get_number_belongs_to_the_activation() {
    let (app, platform) = spawn_with_platform(|_| {}).await;
    app.advance(60);
    app.clock.advance(TimeDelta::milliseconds(700));
    let (number, activation) = app.reserve("russia", "any", "vk").await;
    app.clock.advance(TimeDelta::milliseconds(200));
    // Modems and SMSCs stamp whole seconds: 0.7 s before the activation was created.
    let (sms_id, matched) = app
        .sms(json!({"number": number.to_string(), "from": "VK", "text": "VK: 1", "received_at": rfc3339(60)}))
        .await;
    assert_eq!(matched, Some(activation));
    app.settle().await;
    assert_eq!(app.admin_sms(sms_id).await["state"], "delivered");
    assert_eq!(platform.count(), 1);
}

#[actix_rt::test]
async fn a_bank_clock_behind_or_ahead_never_makes_an_sms_of_a_running_activation_unmatched() {
    let (app, platform) = spawn_with_platform(|_| {}).await;
    app.advance(3600);
    let (number, activation) = app.reserve("russia", "any", "vk").await;
    app.advance(10);
    let n = number.to_string();
    let cases: Vec<(Value, &str)> = vec![
        (json!(rfc3339(3600 - 30)), "30 s behind"),
        (json!(rfc3339(3600 - 120)), "exactly clock_skew behind"),
        (json!(rfc3339(3610 + 3600)), "an hour ahead"),
        (
            json!((at(3605) + TimeDelta::hours(3))
                .with_timezone(&chrono::FixedOffset::east_opt(3 * 3600).unwrap())
                .to_rfc3339()),
            "+03:00 offset",
        ),
        (json!(at(3605).timestamp()), "UNIX seconds, a number"),
        (
            json!(at(3590).timestamp().to_string()),
            "UNIX seconds, a string, 10 s behind",
        ),
        (json!(at(3605).timestamp_millis()), "UNIX milliseconds"),
        (json!("2025-01-01T01:00:05.123456Z"), "fractions"),
    ];
    for (i, (received_at, what)) in cases.iter().enumerate() {
        let (_, matched) = app
            .sms(json!({"number": n, "from": "VK", "text": format!("VK: {i}"), "received_at": received_at}))
            .await;
        assert_eq!(matched, Some(activation), "{what}: {received_at}");
    }
    app.settle().await;
    assert_eq!(platform.count(), cases.len());
    // A future time counts as now.
    let ahead = &app.admin_sms_list().await;
    let future = ahead
        .iter()
        .find(|s| s["text"] == "VK: 2")
        .expect("the SMS from the future");
    assert_eq!(time(&future["received_at"]), app.engine.now());
}

#[actix_rt::test]
async fn beyond_the_clock_skew_and_after_a_close_an_sms_belongs_to_nobody() {
    let (app, platform) = spawn_with_platform(|s| {
        s.sims = vec![crate::delivery::helpers::sim(
            "79281000001",
            "russia",
            Some("beeline"),
        )];
        s.gateway.clock_skew = std::time::Duration::from_secs(60);
    })
    .await;
    app.advance(1000);
    let (number, first) = app.reserve("russia", "any", "vk").await;
    app.advance(100);
    app.finish_ok(first, 3).await;
    app.advance(20);
    let (_, second) = app.reserve("russia", "any", "ok").await;
    app.advance(5);
    let n = number.to_string();
    let post = |text: &str, secs: i64| json!({"number": n, "from": "X", "text": text, "received_at": rfc3339(secs)});
    // Inside the first activation's window: stays with it, although a newer one runs.
    assert_eq!(app.sms(post("in first", 1050)).await.1, Some(first));
    // After the first closed (+1100), within the skew of the second (+1120): the second's.
    assert_eq!(app.sms(post("gap", 1110)).await.1, Some(second));
    // Before the first activation, more than the skew (60 s) before it.
    assert_eq!(app.sms(post("too early", 900)).await.1, None);
    // Within the skew before the first, which is no longer the current one: the tolerance is
    // the current activation's only.
    assert_eq!(app.sms(post("skewed first", 950)).await.1, None);
    app.settle().await;
    let states: Vec<(String, String)> = app
        .admin_sms_list()
        .await
        .iter()
        .map(|s| {
            (
                s["text"].as_str().unwrap().to_owned(),
                s["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        states.contains(&("too early".into(), "unmatched".into())),
        "{states:?}"
    );
    // The platform got the two matched ones (the fake answers SUCCESS even for the finished
    // first activation).
    assert_eq!(platform.count(), 2);
}

#[actix_rt::test]
async fn the_first_and_last_representable_instants_do_not_panic_the_server() {
    let (app, _platform) = spawn_with_platform(|_| {}).await;
    let (number, activation) = app.reserve("russia", "any", "vk").await;
    let n = number.to_string();
    // Year -262143 and +262142, as UNIX milliseconds, and the largest RFC 3339 year.
    let min_ms = chrono::DateTime::<chrono::Utc>::MIN_UTC.timestamp_millis();
    let max_ms = chrono::DateTime::<chrono::Utc>::MAX_UTC.timestamp_millis();
    for (received_at, expected) in [
        (json!(min_ms), None),
        (json!(max_ms), Some(activation)),
        (json!("9999-12-31T23:59:59Z"), Some(activation)),
        (json!("0000-01-01T00:00:00Z"), None),
    ] {
        let (status, body) = app
            .post_sms(json!({"number": n, "from": "VK", "text": format!("t {received_at}"), "received_at": received_at}))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{received_at}: {body}");
        assert_eq!(
            body["activation_id"].as_u64(),
            expected,
            "{received_at}: {body}"
        );
    }
    // Still serving, and the clock start is still the clock start.
    assert_eq!(app.engine.now(), clock_start());
    app.get_services().await;
}
