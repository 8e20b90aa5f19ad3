//! A number never forgets itself: when its actor dies without handing its state back (as a
//! panicking handler would), the number stays known and off sale, is restored from its last
//! durable state, and a gateway report never recreates it blank.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use simrelay_actors::domain::Msisdn;

use crate::delivery::helpers::{count, spawn_with_platform, TestApp};

/// Waits until the SIM is listed again by `/admin/sims` (restored), failing after 10 s.
async fn restored(app: &TestApp, number: u64) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let sims = app.admin_sims().await;
        if let Some(sim) = sims
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["number"] == number)
        {
            return sim.clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never restored"
        );
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_rt::test]
async fn a_number_whose_actor_died_keeps_its_activation_and_sold_services() {
    let (app, _platform) = spawn_with_platform(|_| {}).await;
    // The number was sold for tg, and is busy with a vk activation now.
    let (number, sold) = app.reserve("russia", "any", "tg").await;
    app.finish_ok(sold, 3).await;
    let before = app.get_services().await;
    let (again, activation) = loop {
        let (n, id) = app.reserve("russia", "any", "vk").await;
        if n == number {
            break (n, id);
        }
    };
    assert_eq!(again, number);
    let msisdn = Msisdn::parse(&number.to_string()).unwrap();
    app.engine.crash_actor_for_tests(msisdn).await.unwrap();

    // The gateway reports it while it is being restored: refused for now, never recreated blank.
    let (status, body) = app
        .post_sim(json!({"number": number.to_string(), "port": "x.1"}))
        .await;
    assert!(
        status == StatusCode::OK || status == StatusCode::SERVICE_UNAVAILABLE,
        "{status} {body}"
    );
    let sim = restored(&app, number).await;
    assert_eq!(sim["activation_id"], activation, "{sim}");
    assert_eq!(sim["state"], "busy", "{sim}");
    assert_eq!(sim["services_used"], json!(["tg"]), "{sim}");
    // Still never offered for tg; FINISH of the running activation works.
    assert_eq!(
        count(&app.get_services().await, "russia", "any", "tg"),
        count(&before, "russia", "any", "tg")
    );
    app.finish_ok(activation, 3).await;
    let sim = restored(&app, number).await;
    assert_eq!(sim["state"], "free", "{sim}");
    assert_eq!(sim["services_used"], json!(["tg", "vk"]), "{sim}");
}
