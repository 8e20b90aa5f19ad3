//! GET_SERVICES: the stock per country, operator and service, and how each transition moves it.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::api::helpers::{
    all4, count, default_sims, operator_maps, services, settings, sim, spawn_app, spawn_app_with,
};

const MEGAFON: u64 = 79161000003;

fn expected(entries: &[(&str, Value)]) -> BTreeMap<String, Value> {
    entries
        .iter()
        .map(|(c, v)| ((*c).to_owned(), v.clone()))
        .collect()
}

/// Asserts `any` equals the per-service sum over the named operators plus `unknown` (what the
/// SIMs without an operator add), for every service of every country.
fn assert_any_is_the_sum(services: &Value, unknown: &BTreeMap<(&str, &str), u64>) {
    for (country, map) in operator_maps(services) {
        let map = map.as_object().expect("operatorMap");
        let any = map["any"].as_object().expect("any");
        for (service, total) in any {
            let named: u64 = map
                .iter()
                .filter(|(op, _)| op.as_str() != "any")
                .map(|(_, counts)| counts[service].as_u64().expect("count"))
                .sum();
            let extra = unknown
                .get(&(country.as_str(), service.as_str()))
                .copied()
                .unwrap_or(0);
            assert_eq!(
                total.as_u64(),
                Some(named + extra),
                "{country}/{service}: {services}"
            );
        }
    }
}

#[actix_rt::test]
async fn get_services_reports_every_country_operator_and_service() {
    let app = spawn_app().await;
    let services = app.get_services().await;
    assert_eq!(
        operator_maps(&services),
        expected(&[
            ("kazakhstan", json!({"any": all4(1), "beeline": all4(1)})),
            (
                "russia",
                json!({"any": all4(4), "beeline": all4(2), "megafon": all4(1)})
            ),
        ])
    );
    // The SIM without an operator counts under `any` only.
    let unknown = [
        ("russia", "vk"),
        ("russia", "ok"),
        ("russia", "wa"),
        ("russia", "tg"),
    ]
    .into_iter()
    .map(|k| (k, 1))
    .collect();
    assert_any_is_the_sum(&services, &unknown);
}

#[actix_rt::test]
async fn reserve_makes_the_number_unavailable_for_every_service() {
    let app = spawn_app().await;
    let (number, _) = app.reserve("russia", "megafon", "vk").await;
    assert_eq!(number, MEGAFON);
    let services = app.get_services().await;
    assert_eq!(
        operator_maps(&services)["russia"],
        json!({"any": all4(3), "beeline": all4(2), "megafon": all4(0)})
    );
}

#[actix_rt::test]
async fn finish_3_uses_the_number_for_that_service_only_forever() {
    let app = spawn_app().await;
    let (number, id) = app.reserve("russia", "megafon", "vk").await;
    assert_eq!(number, MEGAFON);
    app.finish_ok(id, 3).await;
    let services = app.get_services().await;
    assert_eq!(
        operator_maps(&services)["russia"],
        json!({
            "any": {"vk": 3, "ok": 4, "wa": 4, "tg": 4},
            "beeline": all4(2),
            "megafon": {"vk": 0, "ok": 1, "wa": 1, "tg": 1},
        })
    );
    app.assert_no_numbers("russia", "megafon", "vk", Value::Null)
        .await;
    // Other services still get it, and after those close it stays out of vk.
    let (again, id2) = app.reserve("russia", "megafon", "ok").await;
    assert_eq!(again, MEGAFON);
    app.finish_ok(id2, 5).await;
    app.assert_no_numbers("russia", "megafon", "vk", Value::Null)
        .await;
    assert_eq!(
        count(&app.get_services().await, "russia", "megafon", "vk"),
        Some(0)
    );
}

/// OnlineSIM's FINISH 1 (§2.4): the number goes back to the pool with its count unchanged; only
/// 3 uses it for the service.
#[actix_rt::test]
async fn finish_1_returns_the_number_to_the_pool() {
    let app = spawn_app().await;
    let before = app.get_services().await;
    let (number, id) = app.reserve("russia", "megafon", "wa").await;
    assert_eq!(number, MEGAFON);
    app.finish_ok(id, 1).await;
    assert_eq!(app.get_services().await, before);
    let (number, _) = app.reserve("russia", "megafon", "wa").await;
    assert_eq!(number, MEGAFON, "offered for wa again");
}

/// OnlineSIM's FINISH 4: back to the pool every time, however often; no cancel limit.
#[actix_rt::test]
async fn finish_4_returns_the_number_however_often() {
    let app = spawn_app().await;
    let before = app.get_services().await;
    for cancel in 1..=6 {
        let (number, id) = app.reserve("russia", "megafon", "tg").await;
        assert_eq!(number, MEGAFON, "cancel {cancel}");
        app.finish_ok(id, 4).await;
        assert_eq!(app.get_services().await, before, "after cancel {cancel}");
    }
    assert_eq!(app.admin_sim(MEGAFON).await["cancels"], json!([]));
}

#[actix_rt::test]
async fn finish_5_frees_the_number_for_every_service() {
    let app = spawn_app().await;
    let before = app.get_services().await;
    for _ in 0..6 {
        let (number, id) = app.reserve("russia", "megafon", "vk").await;
        assert_eq!(number, MEGAFON);
        app.finish_ok(id, 5).await;
    }
    assert_eq!(app.get_services().await, before);
}

#[actix_rt::test]
async fn every_offered_service_appears_even_with_zero() {
    let mut s = settings(vec![sim("79161000003", "russia", Some("megafon"))]);
    s.services.offered = services(&["vk", "ok", "wa", "tg", "fb"]);
    let app = spawn_app_with(s).await;
    let (_, id) = app.reserve("russia", "any", "fb").await;
    app.finish_ok(id, 3).await;
    // And one busy country still lists everything at 0.
    let (_, _) = app.reserve("russia", "any", "vk").await;
    let services = app.get_services().await;
    let zero = json!({"vk": 0, "ok": 0, "wa": 0, "tg": 0, "fb": 0});
    assert_eq!(
        operator_maps(&services),
        expected(&[("russia", json!({"any": zero, "megafon": zero}))])
    );
}

#[actix_rt::test]
async fn rent_is_reported_when_offered() {
    let mut s = settings(default_sims());
    s.onlinesim.rent = true;
    s.services.offered = services(&["vk", "ok"]);
    let app = spawn_app_with(s).await;
    let services = app.get_services().await;
    let n = |n: u64| json!({"vk": n, "ok": n, "rent": n});
    assert_eq!(
        operator_maps(&services),
        expected(&[
            ("kazakhstan", json!({"any": n(1), "beeline": n(1)})),
            (
                "russia",
                json!({"any": n(4), "beeline": n(2), "megafon": n(1)})
            ),
        ])
    );
    let (number, _) = app.reserve("russia", "beeline", "rent").await;
    assert!([79281000001, 79281000002].contains(&number));
    let services = app.get_services().await;
    assert_eq!(count(&services, "russia", "beeline", "rent"), Some(1));
    assert_eq!(count(&services, "russia", "any", "rent"), Some(3));
}

#[actix_rt::test]
async fn rent_is_absent_unless_offered() {
    let app = spawn_app().await;
    let services = app.get_services().await;
    assert_eq!(count(&services, "russia", "any", "rent"), None);
    app.assert_no_numbers("russia", "any", "rent", Value::Null)
        .await;
}

#[actix_rt::test]
async fn any_is_the_sum_over_operators_through_a_mix_of_transitions() {
    let app = spawn_app().await;
    let (_, a) = app.reserve("russia", "beeline", "vk").await;
    let (_, b) = app.reserve("russia", "any", "ok").await;
    let (_, c) = app.reserve("kazakhstan", "any", "wa").await;
    app.finish_ok(a, 3).await;
    app.finish_ok(c, 1).await;
    let services = app.get_services().await;
    // The no-operator SIM's contribution to `any`, read from its admin view.
    let unknown_sim = app.admin_sim(79031000004).await;
    let mut unknown = BTreeMap::new();
    for service in ["vk", "ok", "wa", "tg"] {
        let free = unknown_sim["state"] == "free"
            && !unknown_sim["services_used"]
                .as_array()
                .unwrap()
                .contains(&json!(service));
        unknown.insert(("russia", service), u64::from(free));
    }
    assert_any_is_the_sum(&services, &unknown);
    app.finish_ok(b, 4).await;
    let services = app.get_services().await;
    let unknown = ["vk", "ok", "wa", "tg"]
        .into_iter()
        .map(|s| (("russia", s), 1))
        .collect();
    assert_any_is_the_sum(&services, &unknown);
}
