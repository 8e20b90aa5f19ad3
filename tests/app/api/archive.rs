//! History that stays small: activations closed longer than `store.archive_after` leave memory
//! for the store's archive, and are still found by FINISH repeats and the admin lookup.

use chrono::TimeDelta;
use serde_json::Value;

use crate::api::helpers::spawn_app;

#[actix_rt::test]
async fn an_archived_activation_still_answers_finish_repeats_and_admin_lookups() {
    let app = spawn_app().await;
    let (_, closed) = app.reserve("russia", "any", "vk").await;
    app.finish_ok(closed, 3).await;
    let (_, active) = app.reserve("russia", "any", "vk").await;

    app.clock
        .advance(TimeDelta::days(7) - TimeDelta::seconds(1));
    assert_eq!(app.engine.archive_due().await.unwrap(), 0, "not yet 7 days");
    app.clock.advance(TimeDelta::seconds(2));
    assert_eq!(app.engine.archive_due().await.unwrap(), 1);

    let body = app
        .admin_json(&format!("/admin/activations/{closed}"))
        .await;
    assert_eq!(body["archived"], true, "{body}");
    assert_eq!(body["activation"]["state"], "finished", "{body}");
    assert_eq!(body["activation"]["finish_status"], "sold", "{body}");
    // The newest-first listing holds only what is in memory.
    let listed = app.admin_json("/admin/activations?limit=100").await;
    let ids: Vec<u64> = listed["activations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["id"].as_u64())
        .collect();
    assert_eq!(ids, vec![active]);
    // A FINISH repeat answers SUCCESS and changes nothing.
    app.finish_ok(closed, 3).await;
    app.finish_ok(closed, 5).await;
    let body = app
        .admin_json(&format!("/admin/activations/{closed}"))
        .await;
    assert_eq!(body["activation"]["finish_status"], "sold", "{body}");
    // The active one never leaves.
    let body = app
        .admin_json(&format!("/admin/activations/{active}"))
        .await;
    assert_eq!(body["archived"], false, "{body}");
    assert_eq!(body["activation"]["state"], "active", "{body}");
    assert_ne!(body["activation"]["state"], Value::Null);
}
