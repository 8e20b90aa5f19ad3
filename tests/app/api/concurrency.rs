//! Concurrent GET_NUMBER: allocation is atomic, a number is never issued twice.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::api::helpers::{count, settings, sim, spawn_app_with, success_of};

#[actix_rt::test]
async fn two_hundred_concurrent_get_number_over_fifty_sims_issue_each_number_once() {
    let numbers: Vec<String> = (0..50).map(|i| format!("792810{i:05}")).collect();
    let sims = numbers
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let operator = if i % 2 == 0 { "beeline" } else { "megafon" };
            sim(n, "russia", Some(operator))
        })
        .collect();
    let app = spawn_app_with(settings(sims)).await;

    let replies = futures::future::join_all(
        (0..200).map(|_| app.get_number("russia", "any", "vk", Value::Null)),
    )
    .await;

    let mut issued = HashSet::new();
    let mut ids = HashSet::new();
    let mut no_numbers = 0;
    for reply in &replies {
        if reply.1["status"] == "SUCCESS" {
            let (number, id) = success_of(reply);
            assert!(issued.insert(number), "number {number} issued twice");
            assert!(ids.insert(id), "activationId {id} answered twice");
        } else {
            assert_eq!(reply.0, reqwest::StatusCode::OK);
            assert_eq!(reply.1, json!({"status": "NO_NUMBERS"}));
            no_numbers += 1;
        }
    }
    assert_eq!(issued.len(), 50);
    assert_eq!(ids.len(), 50);
    assert_eq!(no_numbers, 150);
    let configured: HashSet<u64> = numbers.iter().map(|n| n.parse().unwrap()).collect();
    assert_eq!(issued, configured, "exactly the configured SIMs are issued");

    // Every number is busy: nothing is in stock, and 50 activations are open.
    let services = app.get_services().await;
    for service in ["vk", "ok", "wa", "tg"] {
        for operator in ["any", "beeline", "megafon"] {
            assert_eq!(count(&services, "russia", operator, service), Some(0));
        }
    }
    assert_eq!(app.engine.active_activations(), 50);
}

#[actix_rt::test]
async fn thirty_simultaneous_identical_requests_issue_each_number_once() {
    let app = spawn_app_with(settings(crate::api::helpers::default_sims())).await;
    let replies = futures::future::join_all(
        (0..30).map(|_| app.get_number("russia", "beeline", "vk", Value::Null)),
    )
    .await;
    let mut issued = HashSet::new();
    for reply in &replies {
        if reply.1 != json!({"status": "NO_NUMBERS"}) {
            let (number, _) = success_of(reply);
            assert!(issued.insert(number), "number {number} issued twice");
        }
    }
    assert_eq!(issued, HashSet::from([79281000001, 79281000002]));
}

#[actix_rt::test]
async fn one_sim_asked_for_several_services_at_once_is_issued_once() {
    let app = spawn_app_with(settings(vec![sim(
        "79161000003",
        "russia",
        Some("megafon"),
    )]))
    .await;
    let replies = futures::future::join_all(
        ["vk", "ok", "wa", "tg"]
            .iter()
            .cycle()
            .take(40)
            .map(|service| app.get_number("russia", "any", service, Value::Null)),
    )
    .await;
    let successes: Vec<_> = replies
        .iter()
        .filter(|r| r.1 != json!({"status": "NO_NUMBERS"}))
        .map(success_of)
        .collect();
    assert_eq!(successes.len(), 1, "{replies:?}");
    assert_eq!(successes[0].0, 79161000003);
}
