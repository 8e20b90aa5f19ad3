//! Health, readiness, metrics, and which listener serves what.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::api::helpers::{
    default_sims, json_of, settings, spawn_app, spawn_app_with, ADMIN_TOKEN, API_KEY,
};

async fn get(client: &reqwest::Client, url: String) -> reqwest::Response {
    client
        .get(url)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("request")
}

/// The value of one sample line of the exposition, e.g. `name{a="b"} 3`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

#[actix_rt::test]
async fn health_and_readiness_answer_200() {
    let app = spawn_app().await;
    let (status, body) = json_of(get(&app.client, format!("{}/healthz", app.address)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "ok"}));
    let (status, body) = json_of(get(&app.client, format!("{}/readyz", app.address)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "ready"}));
}

#[actix_rt::test]
async fn metrics_count_requests_durations_activations_and_stock() {
    let app = spawn_app().await;
    app.reserve("russia", "megafon", "vk").await;
    app.assert_no_numbers("russia", "megafon", "vk", Value::Null)
        .await;
    app.get_services().await;
    app.post_v1(&json!({"action": "GET_SERVICES", "key": "wrong"}))
        .await;
    app.post_v1(
        &json!({"action": "FINISH_ACTIVATION", "activationId": 999, "status": 3, "key": API_KEY}),
    )
    .await;

    let response = get(&app.client, format!("{}/metrics", app.address)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap();

    let requests = "simrelay_v1_requests_total";
    assert_eq!(
        sample(
            &text,
            &format!(r#"{requests}{{action="GET_NUMBER",outcome="success",platform="onlinesim"}}"#)
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!(
                r#"{requests}{{action="GET_NUMBER",outcome="no_numbers",platform="onlinesim"}}"#
            )
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!(
                r#"{requests}{{action="GET_SERVICES",outcome="success",platform="onlinesim"}}"#
            )
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!(
                r#"{requests}{{action="FINISH_ACTIVATION",outcome="UNKNOWN_ACTIVATION",platform="onlinesim"}}"#
            )
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with(requests) && l.contains(r#"outcome="BAD_KEY""#)),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"simrelay_get_number_duration_seconds_count{platform="onlinesim"}"#
        ),
        Some(2.0),
        "{text}"
    );
    assert!(
        text.contains(r#"simrelay_get_number_duration_seconds_bucket{platform="onlinesim",le="#),
        "{text}"
    );
    assert_eq!(
        sample(&text, "simrelay_active_activations"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"simrelay_stock{country="russia",service="vk"}"#),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"simrelay_stock{country="russia",service="ok"}"#),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"simrelay_stock{country="kazakhstan",service="vk"}"#
        ),
        Some(1.0),
        "{text}"
    );
}

#[actix_rt::test]
async fn with_an_internal_listener_admin_and_metrics_live_only_there() {
    let mut s = settings(default_sims());
    s.server.internal_listen = Some("127.0.0.1:0".parse().unwrap());
    let app = spawn_app_with(s).await;
    let internal = app.internal_address.clone().expect("internal port");
    assert_ne!(internal, app.address);

    for path in [
        "/admin/sims",
        "/admin/activations",
        "/metrics",
        "/healthz",
        "/readyz",
    ] {
        let platform = get(&app.client, format!("{}{path}", app.address)).await;
        assert_eq!(
            platform.status(),
            StatusCode::NOT_FOUND,
            "{path} on the platform port"
        );
        let inside = get(&app.client, format!("{internal}{path}")).await;
        assert_eq!(
            inside.status(),
            StatusCode::OK,
            "{path} on the internal port"
        );
    }
    let v1_path = &app.settings.onlinesim.v1().expect("v1 mode").path;
    let on_internal = app
        .client
        .post(format!("{internal}{v1_path}"))
        .json(&json!({"action": "GET_SERVICES", "key": API_KEY}))
        .send()
        .await
        .unwrap();
    assert_eq!(on_internal.status(), StatusCode::NOT_FOUND);
    // The platform port serves v1.
    app.get_services().await;
    let (number, _) = app.reserve("russia", "megafon", "vk").await;
    assert_eq!(app.admin_sim(number).await["state"], "busy");
}
