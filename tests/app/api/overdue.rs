//! No local close by default (`expiry_grace = "off"`): an activation past its TTL without
//! FINISH stays active and its number busy (overdue), is listed and counted as such, and only
//! the platform's FINISH or the operator's release ends it.

use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::api::helpers::{
    assert_error, clock_start, count, default_sims, json_of, services, settings, spawn_app,
    spawn_app_with, time, TestApp, ADMIN_TOKEN,
};

const MEGAFON: u64 = 79161000003;

fn ttl(app: &TestApp) -> TimeDelta {
    TimeDelta::from_std(app.settings.engine.activation_ttl).unwrap()
}

/// The ids `GET /admin/activations?state=overdue` lists.
async fn overdue_ids(app: &TestApp) -> Vec<u64> {
    let body = app.admin_json("/admin/activations?state=overdue").await;
    body["activations"]
        .as_array()
        .expect("activations")
        .iter()
        .map(|a| a["id"].as_u64().expect("id"))
        .collect()
}

/// `simrelay_overdue_activations` as `/metrics` shows it.
async fn overdue_gauge(app: &TestApp) -> u64 {
    let text = app
        .client
        .get(format!("{}/metrics", app.internal_base()))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|l| l.strip_prefix("simrelay_overdue_activations "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no simrelay_overdue_activations sample:\n{text}"))
}

/// `POST /admin/activations/{id}/release` with the admin token.
async fn release(app: &TestApp, id: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .post(format!(
            "{}/admin/activations/{id}/release",
            app.internal_base()
        ))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("release request");
    json_of(response).await
}

#[actix_rt::test]
async fn by_default_an_activation_past_its_ttl_stays_active_and_overdue() {
    let app = spawn_app().await;
    assert_eq!(app.settings.engine.expiry_grace, None);
    let (number, id) = app.reserve("russia", "megafon", "vk").await;
    assert_eq!(number, MEGAFON);
    let busy = app.get_services().await;
    assert_eq!(app.engine.armed_expiries(), 0);

    // Within its TTL: active, not overdue.
    app.clock.advance(ttl(&app) - TimeDelta::seconds(1));
    assert!(overdue_ids(&app).await.is_empty());
    assert_eq!(overdue_gauge(&app).await, 0);

    // An hour past the TTL (and far past what was the grace): nothing freed it.
    app.clock
        .advance(TimeDelta::hours(1) + TimeDelta::seconds(1));
    assert_eq!(app.engine.expire_due().await, 0);
    let activation = app.admin_activation(id).await;
    assert_eq!(activation["state"], "active");
    assert_eq!(activation["expired_at"], Value::Null);
    assert_eq!(time(&activation["expires_at"]), clock_start() + ttl(&app));
    let sim = app.admin_sim(MEGAFON).await;
    assert_eq!(sim["state"], "busy");
    assert_eq!(sim["activation_id"], id);
    assert_eq!(app.get_services().await, busy);
    app.assert_no_numbers("russia", "megafon", "vk", Value::Null)
        .await;
    assert_eq!(app.engine.active_activations(), 1);

    // Listed and counted as overdue; still listed as active too.
    assert_eq!(overdue_ids(&app).await, vec![id]);
    assert_eq!(overdue_gauge(&app).await, 1);
    let active = app.admin_json("/admin/activations?state=active").await;
    assert_eq!(active["activations"][0]["id"], id);

    // The platform's FINISH still ends it, as always.
    app.finish_ok(id, 3).await;
    let activation = app.admin_activation(id).await;
    assert_eq!(activation["state"], "finished");
    assert_eq!(activation["finish_status"], "sold");
    let sim = app.admin_sim(MEGAFON).await;
    assert_eq!(sim["state"], "free");
    assert_eq!(sim["services_used"], json!(["vk"]));
    assert!(overdue_ids(&app).await.is_empty());
    assert_eq!(overdue_gauge(&app).await, 0);
    let (again, _) = app.reserve("russia", "megafon", "ok").await;
    assert_eq!(again, MEGAFON);
}

#[actix_rt::test]
async fn overdue_lists_only_the_active_activations_past_their_ttl_newest_first() {
    let app = spawn_app().await;
    let (_, first) = app.reserve("russia", "megafon", "vk").await;
    let (_, finished) = app.reserve("russia", "beeline", "vk").await;
    app.finish_ok(finished, 4).await;
    app.clock.advance(TimeDelta::minutes(10));
    let (_, second) = app.reserve("russia", "beeline", "vk").await;
    // 15 minutes after the first: only it is overdue.
    app.clock.advance(TimeDelta::minutes(5));
    assert_eq!(overdue_ids(&app).await, vec![first]);
    app.clock.advance(TimeDelta::minutes(10));
    assert_eq!(overdue_ids(&app).await, vec![second, first]);
    assert_eq!(overdue_gauge(&app).await, 2);
    let limited = app
        .admin_json("/admin/activations?state=overdue&limit=1")
        .await;
    assert_eq!(limited["activations"].as_array().unwrap().len(), 1);
    assert_eq!(limited["activations"][0]["id"], second);
}

#[actix_rt::test]
async fn release_frees_an_overdue_activation_and_a_late_finish_still_applies() {
    let app = spawn_app().await;
    let before = app.get_services().await;
    let (number, id) = app.reserve("russia", "megafon", "vk").await;
    assert_eq!(number, MEGAFON);
    app.clock.advance(ttl(&app) + TimeDelta::hours(1));
    assert_eq!(overdue_gauge(&app).await, 1);

    let (status, body) = release(&app, &id.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let activation = &body["activation"];
    assert_eq!(activation["id"], id);
    assert_eq!(activation["number"], MEGAFON);
    assert_eq!(activation["service"], "vk");
    assert_eq!(activation["state"], "expired");
    assert_eq!(activation["finish_status"], Value::Null);
    assert_eq!(
        time(&activation["expired_at"]),
        clock_start() + ttl(&app) + TimeDelta::hours(1)
    );
    assert_eq!(app.admin_activation(id).await, *activation);

    // The number is free again: stock back, no longer overdue.
    let sim = app.admin_sim(MEGAFON).await;
    assert_eq!(sim["state"], "free");
    assert_eq!(sim["activation_id"], Value::Null);
    assert_eq!(app.get_services().await, before);
    assert!(overdue_ids(&app).await.is_empty());
    assert_eq!(overdue_gauge(&app).await, 0);
    assert_eq!(app.engine.active_activations(), 0);

    // A FINISH after the release answers SUCCESS and applies its effect, as a late FINISH does.
    app.finish_ok(id, 3).await;
    let activation = app.admin_activation(id).await;
    assert_eq!(activation["state"], "finished");
    assert_eq!(activation["finish_status"], "sold");
    let services = app.get_services().await;
    assert_eq!(count(&services, "russia", "megafon", "vk"), Some(0));
    assert_eq!(count(&services, "russia", "megafon", "ok"), Some(1));
    app.assert_no_numbers("russia", "megafon", "vk", Value::Null)
        .await;
    let (again, new_id) = app.reserve("russia", "megafon", "ok").await;
    assert_eq!(again, MEGAFON);
    assert_ne!(new_id, id);
}

#[actix_rt::test]
async fn an_activation_within_its_ttl_may_be_released_too() {
    let app = spawn_app().await;
    let (_, id) = app.reserve("russia", "megafon", "vk").await;
    let (status, body) = release(&app, &id.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["activation"]["state"], "expired");
    assert_eq!(time(&body["activation"]["expired_at"]), clock_start());
    assert_eq!(app.admin_sim(MEGAFON).await["state"], "free");
    let (again, _) = app.reserve("russia", "megafon", "vk").await;
    assert_eq!(again, MEGAFON);
}

#[actix_rt::test]
async fn release_refuses_what_it_cannot_release_and_changes_nothing() {
    let app = spawn_app().await;
    let (_, active) = app.reserve("russia", "megafon", "vk").await;
    let (_, finished) = app.reserve("russia", "beeline", "vk").await;
    app.finish_ok(finished, 3).await;
    app.clock.advance(ttl(&app) + TimeDelta::hours(1));
    let sims = app.admin_json("/admin/sims").await;
    let activations = app.admin_json("/admin/activations").await;

    assert_error(
        &release(&app, &(active + 100).to_string()).await,
        404,
        "UNKNOWN_ACTIVATION",
        "",
    );
    for bad in ["abc", "0", "-1", "1.5", "99999999999999999999999"] {
        assert_error(&release(&app, bad).await, 400, "BAD_ID", "");
    }
    assert_error(
        &release(&app, &finished.to_string()).await,
        409,
        "NOT_ACTIVE",
        "finished",
    );
    // Wrong or missing token: 401, nothing acted on.
    let url = format!("{}/admin/activations/{active}/release", app.internal_base());
    let wrong = app
        .client
        .post(&url)
        .bearer_auth("wrong-token")
        .send()
        .await
        .unwrap();
    assert_error(&json_of(wrong).await, 401, "BAD_TOKEN", "");
    let missing = app.client.post(&url).send().await.unwrap();
    assert_error(&json_of(missing).await, 401, "BAD_TOKEN", "missing");
    let partner = app
        .client
        .post(&url)
        .bearer_auth(crate::api::helpers::API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(partner.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.admin_json("/admin/sims").await, sims);
    assert_eq!(app.admin_json("/admin/activations").await, activations);

    // Released once; the repeat is refused and changes nothing.
    let (status, body) = release(&app, &active.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sims = app.admin_json("/admin/sims").await;
    let activations = app.admin_json("/admin/activations").await;
    assert_error(
        &release(&app, &active.to_string()).await,
        409,
        "NOT_ACTIVE",
        "expired",
    );
    assert_eq!(app.admin_json("/admin/sims").await, sims);
    assert_eq!(app.admin_json("/admin/activations").await, activations);
}

#[actix_rt::test]
async fn rent_activations_are_never_overdue() {
    let mut s = settings(default_sims());
    s.onlinesim.rent = true;
    s.services.offered = services(&["vk"]);
    let app = spawn_app_with(s).await;
    let (number, id) = app.reserve("russia", "megafon", "rent").await;
    assert_eq!(number, MEGAFON);
    app.clock.advance(TimeDelta::days(90));
    assert_eq!(app.engine.expire_due().await, 0);
    assert!(overdue_ids(&app).await.is_empty());
    assert_eq!(overdue_gauge(&app).await, 0);
    assert_eq!(app.admin_activation(id).await["state"], "active");
    // The operator may still release it.
    let (status, body) = release(&app, &id.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.admin_sim(MEGAFON).await["state"], "free");
}

#[actix_rt::test]
async fn concurrent_releases_free_the_number_once() {
    let app = spawn_app().await;
    let (_, id) = app.reserve("russia", "megafon", "vk").await;
    let id = id.to_string();
    let replies = futures::future::join_all((0..8).map(|_| release(&app, &id))).await;
    let ok = replies
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .count();
    assert_eq!(ok, 1, "{replies:?}");
    for reply in replies
        .iter()
        .filter(|(status, _)| *status != StatusCode::OK)
    {
        assert_error(reply, 409, "NOT_ACTIVE", "expired");
    }
    assert_eq!(app.admin_sim(MEGAFON).await["state"], "free");
    assert_eq!(app.engine.active_activations(), 0);
}
