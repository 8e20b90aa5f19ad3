//! What `/metrics` says about requests, the process and SMS events, after real traffic.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use simrelay::config::FilteringMode;
use simrelay::store::MemoryStore;

use crate::delivery::helpers::{
    default_sims, metric, new_clock, rfc3339, settings, spawn_app_on_store, spawn_with_platform,
    RETRY_SECS,
};
use crate::delivery::platform::{Platform, Reply};

#[track_caller]
fn assert_series(text: &str, series: &str, expected: f64) {
    assert_eq!(
        metric(text, series),
        Some(expected),
        "{series} in\n{}",
        text.lines()
            .filter(|l| !l.starts_with('#') && (l.contains("sms") || l.contains("http")))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The SMS event counters: received, held, unmatched, delivered and failed (onlinesim).
fn sms_events(text: &str, [received, held, unmatched, delivered, failed]: [f64; 5]) {
    assert_series(text, "simrelay_sms_received_total", received);
    assert_series(text, "simrelay_sms_held_total", held);
    assert_series(text, "simrelay_sms_unmatched_total", unmatched);
    assert_series(
        text,
        r#"simrelay_sms_delivered_total{platform="onlinesim"}"#,
        delivered,
    );
    assert_series(
        text,
        r#"simrelay_sms_failed_total{platform="onlinesim"}"#,
        failed,
    );
}

#[actix_rt::test]
async fn requests_are_counted_by_route_pattern_method_and_status() {
    let (app, _platform) = spawn_with_platform(|_| {}).await;
    app.get_services().await;
    app.get_services().await;
    for path in ["/no/such/thing", "/admin/../../etc/passwd", "/x?y=1"] {
        let response = app
            .client
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // A route with a path parameter: labelled by its pattern, not by the id.
    for id in ["17", "18"] {
        let (status, _) = app.redeliver(id).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    // A wrong token is refused before the handler (an error, not a response): still counted.
    let refused = app
        .client
        .get(format!("{}/admin/sims", app.address))
        .bearer_auth("wrong")
        .send()
        .await
        .expect("admin request");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    let text = app.metrics().await;
    let v1 = &app.settings.onlinesim.v1().expect("v1").path;
    assert_series(
        &text,
        &format!(r#"simrelay_http_requests_total{{method="POST",route="{v1}",status="200"}}"#),
        2.0,
    );
    assert_series(
        &text,
        r#"simrelay_http_requests_total{method="GET",route="unmatched",status="404"}"#,
        3.0,
    );
    assert_series(
        &text,
        r#"simrelay_http_requests_total{method="POST",route="/admin/sms/{id}/redeliver",status="404"}"#,
        2.0,
    );
    assert_series(
        &text,
        r#"simrelay_http_requests_total{method="GET",route="/admin/sims",status="401"}"#,
        1.0,
    );
    assert_series(
        &text,
        &format!(r#"simrelay_http_request_duration_seconds_count{{method="POST",route="{v1}"}}"#),
        2.0,
    );
    assert_series(
        &text,
        r#"simrelay_http_request_duration_seconds_count{method="GET",route="unmatched"}"#,
        3.0,
    );
    for raw in ["/no/such/thing", "passwd", "/admin/sms/17"] {
        assert!(
            !text
                .lines()
                .any(|l| l.starts_with("simrelay_http") && l.contains(raw)),
            "a raw path ({raw}) became a label"
        );
    }
    // Invented methods fold into one label.
    let odd = reqwest::Method::from_bytes(b"BREW").expect("method");
    app.client
        .request(odd, format!("{}/healthz", app.address))
        .send()
        .await
        .expect("request");
    let text = app.metrics().await;
    assert!(
        text.lines()
            .any(|l| l
                .starts_with("simrelay_http_requests_total{method=\"OTHER\",route=\"/healthz\"")),
        "{text}"
    );
    // The previous scrape itself was counted.
    assert!(
        metric(
            &text,
            r#"simrelay_http_requests_total{method="GET",route="/metrics",status="200"}"#
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
}

#[cfg(target_os = "linux")]
#[actix_rt::test]
async fn process_cpu_memory_and_file_descriptors_are_exported() {
    let (app, _platform) = spawn_with_platform(|_| {}).await;
    let text = app.metrics().await;
    for name in [
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_max_fds",
        "process_start_time_seconds",
        "process_virtual_memory_bytes",
    ] {
        let value = metric(&text, name).unwrap_or_else(|| panic!("{name} missing:\n{text}"));
        assert!(value > 0.0, "{name} = {value}");
    }
    let cpu = metric(&text, "process_cpu_seconds_total").expect("process_cpu_seconds_total");
    assert!(cpu >= 0.0, "{cpu}");
    let started = metric(&text, "process_start_time_seconds").expect("start time");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    assert!(
        started <= now + 1.0 && started > now - 86_400.0,
        "{started}"
    );
}

#[actix_rt::test]
async fn sms_counters_only_grow_and_count_each_event_once() {
    let clock = new_clock();
    let store = std::sync::Arc::new(MemoryStore::new());
    let platform = Platform::start(Some(clock.clone())).await;
    let mut s = settings(default_sims());
    s.onlinesim.push_sms_url = Some(platform.url());
    s.filtering.mode = FilteringMode::Partner;
    let app = spawn_app_on_store(s.clone(), store.clone(), clock.clone()).await;
    sms_events(&app.metrics().await, [0.0; 5]);

    let mut numbers = Vec::new();
    for _ in 0..3 {
        numbers.push(app.reserve("russia", "any", "vk").await.0);
    }
    app.sms_to(numbers[0], "VK", "VK: 1").await;
    app.settle().await;
    platform.then(Reply::error(404, "NO_OPERATION"), 1);
    let (refused, _) = app.sms_to(numbers[1], "VK", "VK: 2").await;
    app.settle().await;
    app.sms_to(numbers[2], "Telegram", "Telegram code 3").await;
    app.sms(json!({"number": numbers[0].to_string(), "from": "VK", "text": "VK: 4", "received_at": rfc3339(-600)}))
        .await;
    // The same SMS posted again by the gateway is one SMS.
    let (status, repeat) = app
        .post_sms(json!({"number": numbers[0].to_string(), "from": "VK", "text": "VK: 1"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{repeat}");
    assert_eq!(repeat["duplicate"], true, "{repeat}");
    let text = app.metrics().await;
    sms_events(&text, [4.0, 1.0, 1.0, 1.0, 1.0]);
    // Scraping again adds nothing.
    sms_events(&app.metrics().await, [4.0, 1.0, 1.0, 1.0, 1.0]);

    // Redelivered, the refused SMS goes through: one more delivery, the failure stays counted.
    let (status, body) = app.redeliver(&refused.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.settle().await;
    sms_events(&app.metrics().await, [4.0, 1.0, 1.0, 2.0, 1.0]);
    assert_series(
        &app.metrics().await,
        r#"simrelay_sms{state="delivered"}"#,
        2.0,
    );

    // A week later the settled SMS leave memory: the state gauge shrinks, the counters do not.
    app.advance(8 * 24 * 3600);
    let archived = app.engine.archive_due().await.expect("archive");
    assert!(archived >= 4, "archived {archived}");
    let text = app.metrics().await;
    assert_series(&text, r#"simrelay_sms{state="delivered"}"#, 0.0);
    assert_series(&text, r#"simrelay_sms{state="received"}"#, 0.0);
    sms_events(&text, [4.0, 1.0, 1.0, 2.0, 1.0]);

    // A restart on the same store counts only what happens in the new process: records read
    // back are not events.
    let (number, _) = app.reserve("russia", "any", "vk").await;
    platform.then(Reply::server_error(), 1);
    app.sms_to(number, "VK", "VK: 5").await;
    app.settle().await;
    // The first process stops delivering (a graceful stop) before the second starts.
    assert!(app.engine.drain_deliveries(Duration::from_secs(5)).await);
    let again = spawn_app_on_store(s, store, clock.clone()).await;
    let text = again.metrics().await;
    assert_series(&text, r#"simrelay_sms{state="pending"}"#, 1.0);
    assert_series(&text, "simrelay_sms_received_total", 0.0);
    assert_series(
        &text,
        r#"simrelay_sms_delivered_total{platform="onlinesim"}"#,
        0.0,
    );
    again.advance_and_settle(RETRY_SECS).await;
    let text = again.metrics().await;
    assert_series(&text, r#"simrelay_sms{state="delivered"}"#, 1.0);
    assert_series(
        &text,
        r#"simrelay_sms_delivered_total{platform="onlinesim"}"#,
        1.0,
    );
    assert_series(&text, "simrelay_sms_received_total", 0.0);
}

#[actix_rt::test]
async fn a_long_sms_counts_once_when_its_parts_join() {
    let (app, platform) = spawn_with_platform(|_| {}).await;
    let (number, _) = app.reserve("russia", "any", "vk").await;
    for (part, text) in [(1, "VK code "), (2, "4821")] {
        let (status, body) = app
            .post_sms(
                json!({"number": number.to_string(), "from": "VK", "text": text,
                             "ref": 9, "part": part, "parts": 2}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        let text = app.metrics().await;
        assert_series(&text, "simrelay_sms_received_total", 1.0);
    }
    app.settle().await;
    assert_eq!(platform.count(), 1);
    sms_events(&app.metrics().await, [1.0, 0.0, 0.0, 1.0, 0.0]);
}
