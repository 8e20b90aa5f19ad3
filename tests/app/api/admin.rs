//! The admin API: Bearer-protected reads of SIMs and activations.

use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::api::helpers::{assert_error, clock_start, json_of, spawn_app, time, SUM};

#[actix_rt::test]
async fn admin_requires_the_bearer_token() {
    let app = spawn_app().await;
    let base = app.internal_base().to_owned();
    for path in ["/admin/sims", "/admin/activations", "/admin/activations/1"] {
        let missing = app
            .client
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap();
        assert_error(&json_of(missing).await, 401, "BAD_TOKEN", "missing");
        for header in [
            "Bearer wrong-token",
            "Basic dGVzdDp0ZXN0",
            "Bearer",
            "test-admin-token",
        ] {
            let wrong = app
                .client
                .get(format!("{base}{path}"))
                .header("Authorization", header)
                .send()
                .await
                .unwrap();
            let reply = json_of(wrong).await;
            assert_eq!(reply.0, StatusCode::UNAUTHORIZED, "{path} with {header:?}");
            assert!(
                reply.1["error"]
                    .as_str()
                    .unwrap()
                    .starts_with("BAD_TOKEN: "),
                "{}",
                reply.1
            );
        }
        // The v1 partner key is not the admin token.
        let partner = app
            .client
            .get(format!("{base}{path}"))
            .bearer_auth(crate::api::helpers::API_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(partner.status(), StatusCode::UNAUTHORIZED);
    }
}

#[actix_rt::test]
async fn sims_are_listed_with_their_state() {
    let app = spawn_app().await;
    let sims = app.admin_json("/admin/sims").await;
    let list = sims["sims"].as_array().expect("sims");
    let mut numbers: Vec<u64> = list.iter().map(|s| s["number"].as_u64().unwrap()).collect();
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        vec![
            77011000005,
            79031000004,
            79161000003,
            79281000001,
            79281000002
        ]
    );
    assert!(list
        .iter()
        .all(|s| s["state"] == "free" && s["online"] == true));

    let (number, id) = app.reserve("russia", "megafon", "vk").await;
    let sim = app.admin_sim(number).await;
    assert_eq!(
        sim,
        json!({
            "number": 79161000003_u64,
            "port": "bank.79161000003",
            "bank": "default",
            "country": "russia",
            "operator": "megafon",
            "online": true,
            "state": "busy",
            "activation_id": id,
            "services_used": [],
            "cancels": [],
        })
    );
    assert_eq!(app.admin_sim(79031000004).await["operator"], Value::Null);
    assert_eq!(app.admin_sim(79031000004).await["state"], "free");

    app.finish_ok(id, 3).await;
    let sim = app.admin_sim(number).await;
    assert_eq!(sim["state"], "free");
    assert_eq!(sim["activation_id"], Value::Null);
    assert_eq!(sim["services_used"], json!(["vk"]));
}

#[actix_rt::test]
async fn activations_are_listed_by_state_newest_first_with_a_limit() {
    let app = spawn_app().await;
    let (_, a) = app.reserve("russia", "any", "vk").await;
    let (_, b) = app.reserve("russia", "any", "vk").await;
    let (_, c) = app.reserve("russia", "any", "vk").await;
    app.finish_ok(b, 4).await;

    let ids = |body: &Value| -> Vec<u64> {
        body["activations"]
            .as_array()
            .expect("activations")
            .iter()
            .map(|a| a["id"].as_u64().unwrap())
            .collect()
    };
    let mut newest_first = vec![a, c];
    newest_first.sort_unstable_by(|x, y| y.cmp(x));
    let active = app.admin_json("/admin/activations?state=active").await;
    assert_eq!(ids(&active), newest_first);
    assert!(active["activations"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["state"] == "active"));
    let limited = app
        .admin_json("/admin/activations?state=active&limit=1")
        .await;
    assert_eq!(ids(&limited), vec![newest_first[0]]);
    let finished = app
        .admin_json("/admin/activations?state=finished&limit=10")
        .await;
    assert_eq!(ids(&finished), vec![b]);
    assert_eq!(finished["activations"][0]["finish_status"], "cancelled");
    let all = app.admin_json("/admin/activations").await;
    assert_eq!(ids(&all).len(), 3);
    // Above the maximum is answered with the maximum, not refused.
    for huge in ["10001", "99999999999999999999999"] {
        let clamped = app
            .admin_json(&format!("/admin/activations?limit={huge}"))
            .await;
        assert_eq!(ids(&clamped), ids(&all), "limit={huge}");
    }
    let all2 = app.admin_json("/admin/activations?limit=2").await;
    assert_eq!(ids(&all2).len(), 2);
}

#[actix_rt::test]
async fn one_activation_is_shown_with_its_times() {
    let app = spawn_app().await;
    let (number, id) = app.reserve("russia", "megafon", "vk").await;
    let body = app.admin_json(&format!("/admin/activations/{id}")).await;
    let a = &body["activation"];
    assert_eq!(a["id"], id);
    assert_eq!(a["number"], number);
    assert_eq!(a["service"], "vk");
    assert_eq!(a["country"], "russia");
    assert_eq!(a["operator"], "megafon");
    assert_eq!(a["sum"].as_f64(), Some(SUM));
    assert_eq!(a["state"], "active");
    assert_eq!(a["finish_status"], Value::Null);
    assert_eq!(a["finished_at"], Value::Null);
    assert_eq!(time(&a["created_at"]), clock_start());
    let ttl = TimeDelta::from_std(app.settings.engine.activation_ttl).unwrap();
    assert_eq!(time(&a["expires_at"]), clock_start() + ttl);

    app.clock.advance(TimeDelta::minutes(3));
    app.finish_ok(id, 3).await;
    let a = app.admin_activation(id).await;
    assert_eq!(a["state"], "finished");
    assert_eq!(a["finish_status"], "sold");
    assert_eq!(
        time(&a["finished_at"]),
        clock_start() + TimeDelta::minutes(3)
    );
}

#[actix_rt::test]
async fn unknown_activations_and_bad_queries_are_refused() {
    let app = spawn_app().await;
    let (_, id) = app.reserve("russia", "megafon", "vk").await;
    let reply = json_of(
        app.admin_get(&format!("/admin/activations/{}", id + 100))
            .await,
    )
    .await;
    assert_error(&reply, 404, "UNKNOWN_ACTIVATION", "");
    for path in [
        "/admin/activations/abc",
        "/admin/activations/0",
        "/admin/activations/-1",
        "/admin/activations?state=bogus",
        "/admin/activations?limit=0",
        "/admin/activations?limit=abc",
        "/admin/activations?limit=-1",
        "/admin/activations?limit=1.5",
        "/admin/activations?color=red",
    ] {
        let (status, body) = json_of(app.admin_get(path).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["status"], "ERROR", "{path}: {body}");
    }
    // Still serving.
    assert_eq!(app.admin_activation(id).await["id"], id);
}

#[actix_rt::test]
async fn a_blocked_sim_is_never_issued_until_unblocked() {
    let app = spawn_app().await;
    let base = app.internal_base().to_owned();
    let post = |path: String| {
        app.client
            .post(format!("{base}{path}"))
            .bearer_auth(crate::api::helpers::ADMIN_TOKEN)
            .send()
    };
    // Kazakhstan has exactly one SIM.
    let before = app.get_services().await;
    assert_eq!(
        crate::api::helpers::count(&before, "kazakhstan", "any", "vk"),
        Some(1)
    );
    let (status, body) = json_of(post("/admin/sims/77011000005/block".into()).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sim"]["state"], "blocked");
    let after = app.get_services().await;
    assert_eq!(
        crate::api::helpers::count(&after, "kazakhstan", "any", "vk"),
        Some(0)
    );
    app.assert_no_numbers("kazakhstan", "any", "vk", json!(null))
        .await;

    let (status, _) = json_of(
        post("/admin/sims/77011000005/unblock".into())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (number, _) = app.reserve("kazakhstan", "any", "vk").await;
    assert_eq!(number, 77011000005);

    // Unknown and malformed numbers, and no token.
    let unknown = json_of(post("/admin/sims/79999999999/block".into()).await.unwrap()).await;
    assert_error(&unknown, 404, "UNKNOWN_SIM", "79999999999");
    let bad = json_of(post("/admin/sims/12ab/block".into()).await.unwrap()).await;
    assert_error(&bad, 400, "BAD_NUMBER", "12ab");
    let anonymous = app
        .client
        .post(format!("{base}/admin/sims/77011000005/block"))
        .send()
        .await
        .unwrap();
    assert_error(&json_of(anonymous).await, 401, "BAD_TOKEN", "missing");
    assert_eq!(app.admin_sim(77011000005).await["state"], "busy");
}
