//! FINISH_ACTIVATION: idempotent, applied once, strict about its fields.

use serde_json::{json, Value};

use crate::api::helpers::{assert_error, count, spawn_app, API_KEY};

const MEGAFON: u64 = 79161000003;

#[actix_rt::test]
async fn a_repeated_finish_answers_success_and_applies_once() {
    let app = spawn_app().await;
    let (number, id) = app.reserve("russia", "megafon", "vk").await;
    assert_eq!(number, MEGAFON);
    app.finish_ok(id, 3).await;
    let after_first = app.get_services().await;
    assert_eq!(count(&after_first, "russia", "megafon", "vk"), Some(0));
    assert_eq!(count(&after_first, "russia", "megafon", "ok"), Some(1));

    app.finish_ok(id, 3).await;
    assert_eq!(app.get_services().await, after_first);
    // A repeat with another status changes nothing either: the first one stands.
    app.finish_ok(id, 5).await;
    app.finish_ok(id, 4).await;
    assert_eq!(app.get_services().await, after_first);
    let activation = app.admin_activation(id).await;
    assert_eq!(activation["state"], "finished");
    assert_eq!(activation["finish_status"], "sold");
}

#[actix_rt::test]
async fn a_repeated_cancel_changes_nothing_more() {
    let app = spawn_app().await;
    let before = app.get_services().await;
    let (number, id) = app.reserve("russia", "megafon", "vk").await;
    assert_eq!(number, MEGAFON);
    // Five FINISH 4 for one activation: OnlineSIM's 4 returns the number to the pool, once.
    for _ in 0..5 {
        app.finish_ok(id, 4).await;
    }
    assert_eq!(app.get_services().await, before);
    let sim = app.admin_sim(MEGAFON).await;
    assert_eq!(sim["cancels"], json!([]));
    assert_eq!(sim["services_used"], json!([]));
    assert_eq!(app.admin_activation(id).await["finish_status"], "cancelled");
}

#[actix_rt::test]
async fn twenty_concurrent_identical_finishes_all_succeed_and_apply_once() {
    let app = spawn_app().await;
    let before = app.get_services().await;
    let (number, id) = app.reserve("russia", "megafon", "vk").await;
    assert_eq!(number, MEGAFON);
    let replies = futures::future::join_all((0..20).map(|_| app.finish(id, 4))).await;
    for (status, body) in replies {
        assert_eq!(status, reqwest::StatusCode::OK, "{body}");
        assert_eq!(body, json!({"status": "SUCCESS"}));
    }
    // Applied once: the activation finished, the number back in stock for every service (and,
    // OnlineSIM's 4, no cancel counted).
    assert_eq!(app.get_services().await, before);
    let sim = app.admin_sim(MEGAFON).await;
    assert_eq!(sim["state"], "free");
    assert_eq!(sim["cancels"], json!([]));
    assert_eq!(app.admin_activation(id).await["finish_status"], "cancelled");
    assert_eq!(app.engine.active_activations(), 0);
}

#[actix_rt::test]
async fn twenty_concurrent_sold_finishes_apply_once() {
    let app = spawn_app().await;
    let (number, id) = app.reserve("russia", "megafon", "vk").await;
    assert_eq!(number, MEGAFON);
    let replies = futures::future::join_all((0..20).map(|_| app.finish(id, 3))).await;
    for (status, body) in replies {
        assert_eq!(status, reqwest::StatusCode::OK, "{body}");
        assert_eq!(body, json!({"status": "SUCCESS"}));
    }
    let sim = app.admin_sim(MEGAFON).await;
    assert_eq!(sim["state"], "free");
    assert_eq!(sim["services_used"], json!(["vk"]));
    let services = app.get_services().await;
    assert_eq!(
        services["countryList"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["country"] == "russia")
            .unwrap()["operatorMap"]["megafon"],
        json!({"vk": 0, "ok": 1, "wa": 1, "tg": 1})
    );
}

#[actix_rt::test]
async fn finish_of_an_unknown_activation_is_an_error() {
    let app = spawn_app().await;
    let before = app.get_services().await;
    let reply = app.finish(987_654_321, 3).await;
    assert_error(&reply, 404, "UNKNOWN_ACTIVATION", "987654321");
    // Ids are u64: the spec's example id is unknown here, not malformed.
    let reply = app.finish(313_922_603_105_007, 3).await;
    assert_error(&reply, 404, "UNKNOWN_ACTIVATION", "313922603105007");
    // A real activation's id plus one is unknown too.
    let (_, id) = app.reserve("russia", "megafon", "vk").await;
    assert_error(&app.finish(id + 1, 3).await, 404, "UNKNOWN_ACTIVATION", "");
    app.finish_ok(id, 5).await;
    assert_eq!(app.get_services().await, before);
}

#[actix_rt::test]
async fn finish_with_status_2_or_7_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let (_, id) = app.reserve("russia", "megafon", "vk").await;
    let busy = app.get_services().await;
    for status in [2, 7, 0, -1] {
        let reply = app
            .post_v1(&json!({
                "action": "FINISH_ACTIVATION",
                "activationId": id,
                "status": status,
                "key": API_KEY,
            }))
            .await;
        assert_error(&reply, 400, "BAD_FIELD", "status");
        assert_eq!(app.get_services().await, busy);
        let activation = app.admin_activation(id).await;
        assert_eq!(activation["state"], "active");
        assert_eq!(activation["finish_status"], Value::Null);
    }
    // The activation is still open and closes normally.
    app.finish_ok(id, 3).await;
    assert_eq!(app.admin_activation(id).await["state"], "finished");
}

#[actix_rt::test]
async fn finish_accepts_the_optional_sum_and_records_it() {
    let app = spawn_app().await;
    let (_, id) = app.reserve("russia", "megafon", "vk").await;
    let (status, body) = app
        .post_v1(&json!({
            "action": "FINISH_ACTIVATION",
            "activationId": id,
            "sum": 4.5,
            "status": 3,
            "key": API_KEY,
        }))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(body, json!({"status": "SUCCESS"}));
    let activation = app.admin_activation(id).await;
    assert_eq!(activation["finish_sum"], json!(4.5));
    assert_eq!(activation["state"], "finished");
}
