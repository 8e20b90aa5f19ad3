//! The expiry safety net (an operator opts into it with `expiry_grace`) under a ManualClock:
//! no sleeping, time moves when the test says so.

use std::time::Duration;

use chrono::TimeDelta;
use serde_json::{json, Value};

use crate::api::helpers::{
    clock_start, count, default_sims, services, settings, spawn_app_with, time, TestApp,
};

const MEGAFON: u64 = 79161000003;

/// The default test settings with the safety net on: `expiry_grace = "5m"`.
fn with_grace() -> simrelay::config::RawSettings {
    let mut s = settings(default_sims());
    s.engine.expiry_grace = Some(Some(Duration::from_secs(300)));
    s
}

async fn spawn_app() -> TestApp {
    spawn_app_with(with_grace()).await
}

fn ttl_and_grace(app: &TestApp) -> TimeDelta {
    let o = &app.settings.engine;
    TimeDelta::from_std(o.activation_ttl + o.expiry_grace.expect("a grace")).unwrap()
}

#[actix_rt::test]
async fn a_number_without_finish_is_freed_after_ttl_plus_grace() {
    let app = spawn_app().await;
    let before = app.get_services().await;
    let (number, id) = app.reserve("russia", "megafon", "vk").await;
    assert_eq!(number, MEGAFON);
    let busy = app.get_services().await;

    // One second before the deadline: still busy.
    app.clock
        .advance(ttl_and_grace(&app) - TimeDelta::seconds(1));
    assert_eq!(app.engine.expire_due().await, 0);
    assert_eq!(app.get_services().await, busy);
    app.assert_no_numbers("russia", "megafon", "vk", Value::Null)
        .await;
    assert_eq!(app.admin_activation(id).await["state"], "active");
    assert_eq!(app.admin_sim(MEGAFON).await["state"], "busy");

    // At the deadline: freed, the activation expired.
    app.clock.advance(TimeDelta::seconds(1));
    assert_eq!(app.engine.expire_due().await, 1);
    assert_eq!(app.get_services().await, before);
    let activation = app.admin_activation(id).await;
    assert_eq!(activation["state"], "expired");
    assert_eq!(activation["finish_status"], Value::Null);
    assert_eq!(time(&activation["created_at"]), clock_start());
    assert_eq!(
        time(&activation["expires_at"]),
        clock_start() + TimeDelta::from_std(app.settings.engine.activation_ttl).unwrap()
    );
    assert_eq!(
        time(&activation["expired_at"]),
        clock_start() + ttl_and_grace(&app)
    );
    let sim = app.admin_sim(MEGAFON).await;
    assert_eq!(sim["state"], "free");
    assert_eq!(sim["activation_id"], Value::Null);
    assert_eq!(app.engine.active_activations(), 0);

    // Issued again.
    let (again, new_id) = app.reserve("russia", "megafon", "vk").await;
    assert_eq!(again, MEGAFON);
    assert_ne!(new_id, id);
}

#[actix_rt::test]
async fn a_late_finish_3_succeeds_and_uses_the_number_for_that_service() {
    let app = spawn_app().await;
    let (number, id) = app.reserve("russia", "megafon", "vk").await;
    assert_eq!(number, MEGAFON);
    app.clock
        .advance(ttl_and_grace(&app) + TimeDelta::minutes(10));
    assert_eq!(app.engine.expire_due().await, 1);
    assert_eq!(
        count(&app.get_services().await, "russia", "megafon", "vk"),
        Some(1)
    );

    app.finish_ok(id, 3).await;
    let services = app.get_services().await;
    assert_eq!(count(&services, "russia", "megafon", "vk"), Some(0));
    assert_eq!(count(&services, "russia", "megafon", "ok"), Some(1));
    app.assert_no_numbers("russia", "megafon", "vk", Value::Null)
        .await;
    let sim = app.admin_sim(MEGAFON).await;
    assert_eq!(sim["services_used"], json!(["vk"]));
    assert_eq!(sim["state"], "free");
    let activation = app.admin_activation(id).await;
    assert_eq!(activation["state"], "finished");
    assert_eq!(activation["finish_status"], "sold");
    // And a repeat of the late FINISH is still just SUCCESS.
    app.finish_ok(id, 3).await;
    assert_eq!(app.get_services().await, services);
}

#[actix_rt::test]
async fn a_late_finish_does_not_free_the_numbers_next_activation() {
    let app = spawn_app().await;
    let (_, old) = app.reserve("russia", "megafon", "vk").await;
    app.clock.advance(ttl_and_grace(&app));
    assert_eq!(app.engine.expire_due().await, 1);
    let (number, new) = app.reserve("russia", "megafon", "ok").await;
    assert_eq!(number, MEGAFON);

    app.finish_ok(old, 4).await;
    let sim = app.admin_sim(MEGAFON).await;
    assert_eq!(sim["state"], "busy");
    assert_eq!(sim["activation_id"], new);
    assert_eq!(app.admin_activation(new).await["state"], "active");
    app.assert_no_numbers("russia", "megafon", "tg", Value::Null)
        .await;
}

#[actix_rt::test]
async fn a_finished_activation_never_expires() {
    let app = spawn_app().await;
    let (_, id) = app.reserve("russia", "megafon", "vk").await;
    app.finish_ok(id, 5).await;
    let (_, second) = app.reserve("russia", "megafon", "ok").await;
    // Only the open activation's deadline remains armed.
    app.clock.advance(ttl_and_grace(&app));
    assert_eq!(app.engine.expire_due().await, 1);
    assert_eq!(app.admin_activation(id).await["state"], "finished");
    assert_eq!(app.admin_activation(second).await["state"], "expired");
}

#[actix_rt::test]
async fn rent_activations_never_expire_locally() {
    let mut s = with_grace();
    s.onlinesim.rent = true;
    s.services.offered = services(&["vk"]);
    let app = spawn_app_with(s).await;
    let (number, id) = app.reserve("russia", "megafon", "rent").await;
    assert_eq!(number, MEGAFON);
    let busy = app.get_services().await;
    assert_eq!(count(&busy, "russia", "megafon", "rent"), Some(0));

    for _ in 0..4 {
        app.clock.advance(TimeDelta::days(90));
        assert_eq!(app.engine.expire_due().await, 0);
    }
    assert_eq!(app.get_services().await, busy);
    let activation = app.admin_activation(id).await;
    assert_eq!(activation["state"], "active");
    assert_eq!(activation["service"], "rent");
    assert_eq!(activation["expires_at"], Value::Null);
    assert_eq!(app.admin_sim(MEGAFON).await["state"], "busy");

    // Only the platform closes it.
    app.finish_ok(id, 3).await;
    let services = app.get_services().await;
    assert_eq!(count(&services, "russia", "megafon", "rent"), Some(0));
    assert_eq!(count(&services, "russia", "megafon", "vk"), Some(1));
    assert_eq!(app.admin_activation(id).await["state"], "finished");
}

#[actix_rt::test]
async fn a_host_clock_step_frees_nothing_before_its_time() {
    let app = spawn_app().await;
    let (number, id) = app.reserve("russia", "megafon", "vk").await;
    assert_eq!(number, MEGAFON);
    let busy = app.get_services().await;

    // The host's clock jumps two hours ahead: by the wall clock the deadline has passed, but
    // no time has, so nothing is freed.
    app.clock.step(TimeDelta::hours(2));
    assert_eq!(app.engine.expire_due().await, 0);
    assert_eq!(app.admin_activation(id).await["state"], "active");
    assert_eq!(app.admin_sim(MEGAFON).await["state"], "busy");
    assert_eq!(app.get_services().await, busy);
    app.assert_no_numbers("russia", "megafon", "vk", Value::Null)
        .await;
    assert_eq!(app.engine.armed_expiries(), 1);

    // The time really passes: one second short, then due.
    app.clock
        .advance(ttl_and_grace(&app) - TimeDelta::seconds(1));
    assert_eq!(app.engine.expire_due().await, 0);
    assert_eq!(app.admin_activation(id).await["state"], "active");
    app.clock.advance(TimeDelta::seconds(1));
    assert_eq!(app.engine.expire_due().await, 1);
    let activation = app.admin_activation(id).await;
    assert_eq!(activation["state"], "expired");
    assert_eq!(
        time(&activation["expired_at"]),
        clock_start() + TimeDelta::hours(2) + ttl_and_grace(&app)
    );
    assert_eq!(app.admin_sim(MEGAFON).await["state"], "free");
}

#[actix_rt::test]
async fn a_backward_clock_step_does_not_free_early_either() {
    let app = spawn_app().await;
    let (_, id) = app.reserve("russia", "megafon", "vk").await;
    // Back an hour, then the whole TTL + grace really passes: the wall clock still says an hour
    // remains, and the number stays busy until it says so too.
    app.clock.step(TimeDelta::hours(-1));
    app.clock.advance(ttl_and_grace(&app));
    assert_eq!(app.engine.expire_due().await, 0);
    assert_eq!(app.admin_activation(id).await["state"], "active");
    app.clock.advance(TimeDelta::hours(1));
    assert_eq!(app.engine.expire_due().await, 1);
    assert_eq!(app.admin_activation(id).await["state"], "expired");
}
