//! `exceptionPhoneSet`: a number is never issued when any prefix matches it.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::api::helpers::{settings, sim, spawn_app_with, success_of, TestApp};

const NUMBERS: [&str; 6] = [
    "79181234567",
    "79181111111",
    "79281234567",
    "79283112345",
    "79283199999",
    "79031234570",
];

async fn app() -> TestApp {
    let sims = NUMBERS
        .iter()
        .map(|n| sim(n, "russia", Some("beeline")))
        .collect();
    spawn_app_with(settings(sims)).await
}

/// Issues numbers with these exclusions until NO_NUMBERS, then frees them all again (FINISH 5);
/// answers the numbers issued.
async fn drain(app: &TestApp, exclusions: Value) -> BTreeSet<u64> {
    let mut issued = BTreeSet::new();
    let mut ids = Vec::new();
    for _ in 0..=NUMBERS.len() {
        let reply = app
            .get_number("russia", "any", "vk", exclusions.clone())
            .await;
        if reply.1 == json!({"status": "NO_NUMBERS"}) {
            break;
        }
        let (number, id) = success_of(&reply);
        assert!(issued.insert(number), "{number} issued twice");
        ids.push(id);
    }
    for id in ids {
        app.finish_ok(id, 5).await;
    }
    issued
}

fn set(numbers: &[u64]) -> BTreeSet<u64> {
    numbers.iter().copied().collect()
}

#[actix_rt::test]
async fn no_exclusions_issue_every_number() {
    let app = app().await;
    let all: Vec<u64> = NUMBERS.iter().map(|n| n.parse().unwrap()).collect();
    assert_eq!(drain(&app, Value::Null).await, set(&all));
    assert_eq!(drain(&app, json!([])).await, set(&all));
}

#[actix_rt::test]
async fn integer_prefix_excludes_matching_numbers() {
    let app = app().await;
    let expected = set(&[79281234567, 79283112345, 79283199999, 79031234570]);
    assert_eq!(drain(&app, json!([7918])).await, expected);
}

#[actix_rt::test]
async fn string_prefixes_with_and_without_plus_exclude_matching_numbers() {
    let app = app().await;
    let expected = set(&[79281234567, 79283112345, 79283199999, 79031234570]);
    assert_eq!(drain(&app, json!(["7918"])).await, expected);
    assert_eq!(drain(&app, json!(["+7918"])).await, expected);
}

#[actix_rt::test]
async fn several_prefixes_all_apply() {
    let app = app().await;
    assert_eq!(
        drain(&app, json!([7918, "7903"])).await,
        set(&[79281234567, 79283112345, 79283199999])
    );
    assert_eq!(
        drain(&app, json!(["+7918", 792831, 7903])).await,
        set(&[79281234567])
    );
}

#[actix_rt::test]
async fn prefixes_longer_than_the_country_code_exclude_only_their_numbers() {
    let app = app().await;
    assert_eq!(
        drain(&app, json!([792831])).await,
        set(&[79181234567, 79181111111, 79281234567, 79031234570])
    );
    // A whole number is a prefix of itself.
    assert_eq!(
        drain(&app, json!(["79181111111"])).await,
        set(&[
            79181234567,
            79281234567,
            79283112345,
            79283199999,
            79031234570
        ])
    );
    // Longer than the number: matches nothing.
    let all: Vec<u64> = NUMBERS.iter().map(|n| n.parse().unwrap()).collect();
    assert_eq!(drain(&app, json!([792812345670_u64])).await, set(&all));
}

#[actix_rt::test]
async fn prefixes_that_cover_everything_answer_no_numbers() {
    let app = app().await;
    for exclusions in [
        json!([7]),
        json!(["79"]),
        json!([7918, "+7928", 7903]),
        json!([380, 7, 49]),
    ] {
        app.assert_no_numbers("russia", "any", "vk", exclusions.clone())
            .await;
        app.assert_no_numbers("russia", "beeline", "vk", exclusions)
            .await;
    }
    // Nothing was reserved by the refusals.
    let services = app.get_services().await;
    assert_eq!(
        crate::api::helpers::count(&services, "russia", "any", "vk"),
        Some(6)
    );
}

#[actix_rt::test]
async fn an_explicit_null_exclusion_set_excludes_nothing() {
    let app = app().await;
    let (status, body) = app
        .post_v1(&json!({
            "action": "GET_NUMBER",
            "country": "russia",
            "operator": "any",
            "service": "vk",
            "sum": 40,
            "exceptionPhoneSet": null,
            "key": crate::api::helpers::API_KEY,
        }))
        .await;
    success_of(&(status, body));
}
