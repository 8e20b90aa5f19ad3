//! Operator `any` versus a named operator; unknown operator, country or service.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::api::helpers::{spawn_app, success_of, TestApp};

/// Issues numbers until NO_NUMBERS; answers them.
async fn drain(app: &TestApp, country: &str, operator: &str, service: &str) -> BTreeSet<u64> {
    let mut issued = BTreeSet::new();
    for _ in 0..10 {
        let reply = app
            .get_number(country, operator, service, Value::Null)
            .await;
        if reply.1 == json!({"status": "NO_NUMBERS"}) {
            return issued;
        }
        let (number, _) = success_of(&reply);
        assert!(issued.insert(number), "{number} issued twice");
    }
    panic!("more numbers issued than configured: {issued:?}");
}

#[actix_rt::test]
async fn a_named_operator_gets_only_that_operators_sims() {
    let app = spawn_app().await;
    assert_eq!(
        drain(&app, "russia", "beeline", "vk").await,
        BTreeSet::from([79281000001, 79281000002])
    );
    assert_eq!(
        drain(&app, "russia", "megafon", "vk").await,
        BTreeSet::from([79161000003])
    );
    // The remaining Russian SIM has no operator: only `any` reaches it.
    assert_eq!(
        drain(&app, "russia", "any", "vk").await,
        BTreeSet::from([79031000004])
    );
    assert_eq!(
        drain(&app, "kazakhstan", "beeline", "vk").await,
        BTreeSet::from([77011000005])
    );
}

#[actix_rt::test]
async fn operator_any_gets_every_sim_of_the_country() {
    let app = spawn_app().await;
    assert_eq!(
        drain(&app, "russia", "any", "ok").await,
        BTreeSet::from([79281000001, 79281000002, 79161000003, 79031000004])
    );
    assert_eq!(
        drain(&app, "kazakhstan", "any", "ok").await,
        BTreeSet::from([77011000005])
    );
}

#[actix_rt::test]
async fn names_are_case_insensitive() {
    let app = spawn_app().await;
    let (number, _) = success_of(&app.get_number("Russia", "MegaFon", "VK", Value::Null).await);
    assert_eq!(number, 79161000003);
    let (number, _) = success_of(&app.get_number("russia", "ANY", "vk", Value::Null).await);
    assert_ne!(number, 79161000003);
}

#[actix_rt::test]
async fn unknown_operator_country_or_service_answers_no_numbers() {
    let app = spawn_app().await;
    let before = app.get_services().await;
    app.assert_no_numbers("russia", "tele2", "vk", Value::Null)
        .await;
    // The operator exists, but not in this country.
    app.assert_no_numbers("kazakhstan", "megafon", "vk", Value::Null)
        .await;
    app.assert_no_numbers("narnia", "any", "vk", Value::Null)
        .await;
    app.assert_no_numbers("russia", "any", "facebook", Value::Null)
        .await;
    app.assert_no_numbers("russia", "beeline", "facebook", Value::Null)
        .await;
    assert_eq!(app.get_services().await, before);
    assert_eq!(app.engine.active_activations(), 0);
}

#[actix_rt::test]
async fn no_numbers_can_be_answered_as_an_error_when_configured() {
    let mut s = crate::api::helpers::settings(crate::api::helpers::default_sims());
    s.onlinesim.no_numbers_reply = simrelay::config::NoNumbersReply::Error;
    let app = crate::api::helpers::spawn_app_with(s).await;
    let (status, body) = app.get_number("narnia", "any", "vk", Value::Null).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(body, json!({"status": "ERROR", "error": "NO_NUMBERS"}));
    success_of(&app.get_number("russia", "any", "vk", Value::Null).await);
}
