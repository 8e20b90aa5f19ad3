//! `PUT/POST /gateway/sims`, `DELETE /gateway/sims/{number}`: which SIMs are online, what
//! GET_SERVICES and GET_NUMBER make of it, and the errors.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::delivery::helpers::{
    assert_error, count, settings, sim, spawn_app_with, spawn_with_platform, TestApp, ADMIN_TOKEN,
    API_KEY, GATEWAY_TOKEN,
};

/// Configured (pinned) SIMs of these tests: one Russian, one Kazakh, both beeline.
const PINNED_RU: u64 = 79281000001;
const PINNED_KZ: u64 = 77011000005;

/// Gateway SIMs (Russian mobile numbers the numbering plan knows).
const A: &str = "79281234501";
const B: &str = "79281234502";
const C: &str = "79281234503";
const D: &str = "79281234504";

fn n(number: &str) -> u64 {
    number.parse().unwrap()
}

async fn pinned_app() -> TestApp {
    spawn_app_with(settings(vec![
        sim(&PINNED_RU.to_string(), "russia", Some("beeline")),
        sim(&PINNED_KZ.to_string(), "kazakhstan", Some("beeline")),
    ]))
    .await
}

/// An app whose only SIM is a configured Kazakh one: Russia holds only gateway SIMs.
async fn kz_only_app() -> TestApp {
    spawn_app_with(settings(vec![sim(
        &PINNED_KZ.to_string(),
        "kazakhstan",
        Some("beeline"),
    )]))
    .await
}

/// `number -> online` of every SIM.
async fn online_map(app: &TestApp) -> Vec<(u64, bool)> {
    app.admin_sims()
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["number"].as_u64().unwrap(),
                s["online"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[actix_rt::test]
async fn gateway_refuses_wrong_or_missing_tokens_and_changes_nothing() {
    let (app, platform) = spawn_with_platform(|_| {}).await;
    let (_, activation) = app.reserve("russia", "any", "vk").await;
    let sims_before = app.admin_sims().await;
    let services_before = app.get_services().await;
    let requests: [(Method, &str, Option<Value>); 4] = [
        (
            Method::PUT,
            "/gateway/sims",
            Some(json!({"sims": [{"number": A}]})),
        ),
        (Method::POST, "/gateway/sims", Some(json!({"number": B}))),
        (Method::DELETE, "/gateway/sims/79281000002", None),
        (
            Method::POST,
            "/gateway/sms",
            Some(json!({"number": "79281000001", "from": "VK", "text": "code 1"})),
        ),
    ];
    let wrong = [
        None,
        Some("Bearer wrong-token".to_owned()),
        Some(format!("Bearer {ADMIN_TOKEN}")),
        Some(format!("Bearer {API_KEY}")),
        Some(GATEWAY_TOKEN.to_owned()),
        Some(format!("Basic {GATEWAY_TOKEN}")),
        Some("Bearer".to_owned()),
    ];
    for (method, path, body) in &requests {
        for auth in &wrong {
            let reply = app
                .gateway_raw(
                    method.clone(),
                    path,
                    auth.as_deref(),
                    body.as_ref().map(|b| b.to_string().into_bytes()),
                )
                .await;
            assert_eq!(
                reply.0,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {auth:?}: {}",
                reply.1
            );
            assert_error(&reply, 401, "BAD_TOKEN", "");
        }
    }
    assert_eq!(app.admin_sims().await, sims_before);
    assert_eq!(app.get_services().await, services_before);
    assert!(app.admin_sms_list().await.is_empty());
    assert!(app.engine.sms(None, 10_000).is_empty());
    assert_eq!(
        app.admin_json(&format!("/admin/activations/{activation}"))
            .await["activation"]["state"],
        "active"
    );
    app.advance_and_settle(600).await;
    assert_eq!(platform.count(), 0, "nothing was pushed");
}

#[actix_rt::test]
async fn put_sims_replaces_the_online_set_and_the_stock_follows() {
    let app = pinned_app().await;
    let services = app.get_services().await;
    assert_eq!(count(&services, "russia", "any", "vk"), Some(1));

    let (status, body) = app
        .put_sims(json!({"sims": [
            {"number": A, "operator": "beeline"},
            {"number": B, "operator": "megafon", "port": "slot-2"},
            {"number": C},
        ]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"online": 5, "added": 3, "removed": 0}));
    let services = app.get_services().await;
    assert_eq!(count(&services, "russia", "any", "vk"), Some(4));
    assert_eq!(count(&services, "russia", "beeline", "vk"), Some(2));
    assert_eq!(count(&services, "russia", "megafon", "vk"), Some(1));
    assert_eq!(count(&services, "kazakhstan", "any", "vk"), Some(1));

    // The same set again changes nothing.
    let (_, body) = app
        .put_sims(json!({"sims": [{"number": A, "operator": "beeline"}, {"number": B, "operator": "megafon", "port": "slot-2"}, {"number": C}]}))
        .await;
    assert_eq!(body, json!({"online": 5, "added": 0, "removed": 0}));

    // B stays, D comes, A and C leave; the pinned Russian SIM listed too is not "added".
    let (status, body) = app
        .put_sims(json!({"sims": [
            {"number": B, "operator": "megafon"},
            {"number": D},
            {"number": PINNED_RU.to_string(), "operator": "beeline"},
        ]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"online": 4, "added": 1, "removed": 2}));
    let online = online_map(&app).await;
    for (number, expected) in [
        (n(A), false),
        (n(B), true),
        (n(C), false),
        (n(D), true),
        (PINNED_RU, true),
        (PINNED_KZ, true),
    ] {
        assert!(
            online.contains(&(number, expected)),
            "{number} online = {expected}: {online:?}"
        );
    }
    let services = app.get_services().await;
    assert_eq!(count(&services, "russia", "any", "vk"), Some(3));
    assert_eq!(count(&services, "russia", "beeline", "vk"), Some(1));

    // An empty set: every gateway SIM goes offline, configured SIMs stay online.
    let (status, body) = app.put_sims(json!({"sims": []})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"online": 2, "added": 0, "removed": 2}));
    let services = app.get_services().await;
    assert_eq!(count(&services, "russia", "any", "vk"), Some(1));
    assert_eq!(count(&services, "kazakhstan", "any", "vk"), Some(1));
    assert_eq!(app.admin_sim(PINNED_RU).await["online"], true);
    assert_eq!(app.admin_sim(PINNED_KZ).await["online"], true);

    // Offline SIMs are never issued: only the pinned Russian SIM is, once.
    let (number, _) = app.reserve("russia", "any", "vk").await;
    assert_eq!(number, PINNED_RU);
    app.assert_no_numbers("russia", "any", "vk").await;
    app.assert_no_numbers("russia", "megafon", "vk").await;
}

#[actix_rt::test]
async fn offline_sims_are_never_issued() {
    let app = kz_only_app().await;
    for number in [A, B] {
        let view = app.sim_online(json!({"number": number})).await;
        assert_eq!(view["online"], true, "{view}");
    }
    assert_eq!(
        count(&app.get_services().await, "russia", "any", "vk"),
        Some(2)
    );
    let (status, body) = app.delete_sim(A).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sim"]["online"], false, "{body}");
    assert_eq!(body["sim"]["number"], n(A), "{body}");
    assert_eq!(
        count(&app.get_services().await, "russia", "any", "vk"),
        Some(1)
    );
    // Many GET_NUMBERs for many services: only B is ever issued, once per service.
    for service in ["vk", "ok", "wa", "tg"] {
        let (number, id) = app.reserve("russia", "any", service).await;
        assert_eq!(number, n(B), "{service}");
        app.assert_no_numbers("russia", "any", service).await;
        app.finish_ok(id, 4).await;
    }
    // DELETE twice is fine.
    let (status, _) = app.delete_sim(A).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.admin_sim(n(A)).await["online"], false);
}

#[actix_rt::test]
async fn a_sim_that_goes_offline_keeps_its_activation() {
    let (app, platform) = spawn_with_platform(|s| {
        s.sims = vec![sim(&PINNED_KZ.to_string(), "kazakhstan", Some("beeline"))];
    })
    .await;
    app.sim_online(json!({"number": A, "operator": "beeline"}))
        .await;
    let (number, id) = app.reserve("russia", "beeline", "vk").await;
    assert_eq!(number, n(A));

    let (status, body) = app.delete_sim(A).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sim"]["online"], false, "{body}");
    assert_eq!(body["sim"]["state"], "busy", "{body}");
    assert_eq!(body["sim"]["activation_id"], id, "{body}");
    let activation = app.admin_json(&format!("/admin/activations/{id}")).await;
    assert_eq!(activation["activation"]["state"], "active");

    // An SMS it still received is matched and delivered.
    let (_, matched) = app.sms_to(n(A), "VK", "VK: 11111").await;
    assert_eq!(matched, Some(id));
    app.settle().await;
    assert_eq!(platform.count(), 1);

    // FINISH works; the number is free but offline, so it is not issued again.
    app.finish_ok(id, 3).await;
    let view = app.admin_sim(n(A)).await;
    assert_eq!(view["state"], "free", "{view}");
    assert_eq!(view["online"], false, "{view}");
    for service in ["ok", "wa", "tg"] {
        app.assert_no_numbers("russia", "any", service).await;
    }
    let services = app.get_services().await;
    assert_eq!(count(&services, "russia", "any", "ok").unwrap_or(0), 0);

    // The same SIM going offline through PUT while busy behaves the same.
    app.sim_online(json!({"number": A, "operator": "beeline"}))
        .await;
    let (number, second) = app.reserve("russia", "any", "ok").await;
    assert_eq!(number, n(A));
    let (_, body) = app.put_sims(json!({"sims": []})).await;
    assert_eq!(body, json!({"online": 1, "added": 0, "removed": 1}));
    let view = app.admin_sim(n(A)).await;
    assert_eq!(view["online"], false, "{view}");
    assert_eq!(view["activation_id"], second, "{view}");
    app.finish_ok(second, 4).await;
    app.assert_no_numbers("russia", "any", "ok").await;
}

#[actix_rt::test]
async fn post_sims_creates_or_updates_one_sim() {
    let app = kz_only_app().await;

    // Created, operator by name, country derived (+7 928 is Russia).
    let view = app
        .sim_online(json!({"number": A, "operator": "megafon", "port": "slot-1"}))
        .await;
    assert_eq!(view["number"], n(A), "{view}");
    assert_eq!(view["online"], true, "{view}");
    assert_eq!(view["operator"], "megafon", "{view}");
    assert_eq!(view["country"], "russia", "{view}");
    assert_eq!(view["port"], "slot-1", "{view}");
    assert_eq!(view["state"], "free", "{view}");
    let services = app.get_services().await;
    assert_eq!(count(&services, "russia", "megafon", "vk"), Some(1));
    assert_eq!(count(&services, "russia", "any", "vk"), Some(1));

    // Updated: operator from MCC-MNC 25099 (beeline); a leading + is accepted.
    let view = app
        .sim_online(json!({"number": format!("+{A}"), "mcc_mnc": "25099", "port": "slot-1"}))
        .await;
    assert_eq!(view["operator"], "beeline", "{view}");
    let services = app.get_services().await;
    assert_eq!(count(&services, "russia", "beeline", "vk"), Some(1));
    assert_eq!(count(&services, "russia", "megafon", "vk").unwrap_or(0), 0);
    assert_eq!(count(&services, "russia", "any", "vk"), Some(1));
    assert_eq!(app.admin_sims().await.as_array().unwrap().len(), 2);

    // An explicit operator wins over the MCC-MNC.
    let view = app
        .sim_online(json!({"number": A, "operator": "tele2", "mcc_mnc": "25099"}))
        .await;
    assert_eq!(view["operator"], "tele2", "{view}");

    // Unknown MCC-MNC: no operator, counted only under `any`.
    let view = app
        .sim_online(json!({"number": B, "mcc_mnc": "99999"}))
        .await;
    assert_eq!(view["operator"], Value::Null, "{view}");
    let services = app.get_services().await;
    assert_eq!(count(&services, "russia", "any", "vk"), Some(2));
    assert_eq!(count(&services, "russia", "tele2", "vk"), Some(1));
    let russia = services["countryList"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["country"] == "russia")
        .unwrap();
    let named: u64 = russia["operatorMap"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(operator, _)| *operator != "any")
        .map(|(_, counts)| counts["vk"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(named, 1, "only A counts under a named operator: {russia}");

    // Country derived from the number: +7 701 is Kazakhstan.
    let view = app.sim_online(json!({"number": "77011234501"})).await;
    assert_eq!(view["country"], "kazakhstan", "{view}");
    // Country given explicitly.
    let view = app
        .sim_online(json!({"number": C, "country": "kazakhstan"}))
        .await;
    assert_eq!(view["country"], "kazakhstan", "{view}");
    let services = app.get_services().await;
    assert_eq!(count(&services, "kazakhstan", "any", "vk"), Some(3));
    assert_eq!(count(&services, "russia", "any", "vk"), Some(2));

    // A SIM taken offline comes back online through POST.
    app.delete_sim(B).await;
    assert_eq!(
        count(&app.get_services().await, "russia", "any", "vk"),
        Some(1)
    );
    let view = app.sim_online(json!({"number": B})).await;
    assert_eq!(view["online"], true, "{view}");
    assert_eq!(
        count(&app.get_services().await, "russia", "any", "vk"),
        Some(2)
    );
}

#[actix_rt::test]
async fn delete_of_an_unknown_or_bad_number_is_refused() {
    let app = pinned_app().await;
    let before = app.admin_sims().await;
    assert_error(
        &app.delete_sim("79990000099").await,
        404,
        "UNKNOWN_SIM",
        "79990000099",
    );
    assert_error(&app.delete_sim("not-a-number").await, 400, "BAD_NUMBER", "");
    assert_eq!(app.admin_sims().await, before);
    // A configured SIM stays online whatever the gateway says.
    let (status, body) = app.delete_sim(&PINNED_RU.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sim"]["online"], true, "{body}");
    assert_eq!(app.reserve("russia", "any", "vk").await.0, PINNED_RU);
}

#[actix_rt::test]
async fn bad_sim_input_is_refused_naming_the_field_and_changes_nothing() {
    let app = pinned_app().await;
    app.sim_online(json!({"number": C})).await;
    let sims_before = app.admin_sims().await;
    let services_before = app.get_services().await;
    let long_port = "p".repeat(101);

    let put_cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (
            json!({"sims": [{"number": A}, {"number": "79-28"}]})
                .to_string()
                .into_bytes(),
            "BAD_FIELD",
            "sims[1].number",
        ),
        (
            json!({"sims": [{"number": A, "mcc_mnc": "25O99"}]})
                .to_string()
                .into_bytes(),
            "BAD_FIELD",
            "sims[0].mcc_mnc",
        ),
        (
            json!({"sims": [{"number": A, "mcc_mnc": "250"}]})
                .to_string()
                .into_bytes(),
            "BAD_FIELD",
            "sims[0].mcc_mnc",
        ),
        (
            json!({"sims": [{"number": A}, {"number": B}, {"number": format!("+{A}")}]})
                .to_string()
                .into_bytes(),
            "BAD_FIELD",
            "sims[2].number",
        ),
        (json!({}).to_string().into_bytes(), "MISSING_FIELD", "sims"),
        (
            json!({"sims": null}).to_string().into_bytes(),
            "MISSING_FIELD",
            "sims",
        ),
        (
            json!({"sims": "A"}).to_string().into_bytes(),
            "BAD_FIELD",
            "sims",
        ),
        (
            json!({"sims": [{"port": "slot-1"}]})
                .to_string()
                .into_bytes(),
            "BAD_FIELD",
            "number",
        ),
        (
            br#"{"sims": [{"number": "79281234501"}"#.to_vec(),
            "BAD_JSON",
            "",
        ),
        (b"[]".to_vec(), "BAD_JSON", ""),
        (
            json!({"sims": [{"number": A, "port": long_port}]})
                .to_string()
                .into_bytes(),
            "BAD_FIELD",
            "sims[0].port",
        ),
    ];
    for (body, code, field) in put_cases {
        let reply = app
            .gateway_raw(
                Method::PUT,
                "/gateway/sims",
                Some(&format!("Bearer {GATEWAY_TOKEN}")),
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            reply.0.as_u16(),
            400,
            "PUT {}: {}",
            String::from_utf8_lossy(&body),
            reply.1
        );
        assert_error(&reply, 400, code, field);
    }

    let post_cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (
            json!({"number": "abc"}).to_string().into_bytes(),
            "BAD_FIELD",
            "number",
        ),
        (
            json!({"number": "0928123450"}).to_string().into_bytes(),
            "BAD_FIELD",
            "number",
        ),
        (
            json!({}).to_string().into_bytes(),
            "MISSING_FIELD",
            "number",
        ),
        (
            json!({"number": A, "mcc_mnc": "abcde"})
                .to_string()
                .into_bytes(),
            "BAD_FIELD",
            "mcc_mnc",
        ),
        (
            json!({"number": A, "port": long_port})
                .to_string()
                .into_bytes(),
            "BAD_FIELD",
            "port",
        ),
        (b"{\"number\":".to_vec(), "BAD_JSON", ""),
    ];
    for (body, code, field) in post_cases {
        let reply = app
            .gateway_raw(
                Method::POST,
                "/gateway/sims",
                Some(&format!("Bearer {GATEWAY_TOKEN}")),
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            reply.0.as_u16(),
            400,
            "POST {}: {}",
            String::from_utf8_lossy(&body),
            reply.1
        );
        assert_error(&reply, 400, code, field);
    }

    assert_eq!(app.admin_sims().await, sims_before, "no SIM changed");
    assert_eq!(
        app.get_services().await,
        services_before,
        "the stock did not change"
    );
}

#[actix_rt::test]
async fn a_configured_sim_listed_by_the_gateway_keeps_its_configured_description() {
    let app = pinned_app().await;
    let configured = app.admin_sim(PINNED_RU).await;
    assert_eq!(configured["operator"], "beeline");
    assert_eq!(configured["port"], format!("bank.{PINNED_RU}"));

    // The SIM bank reports the fixed modem among the SIMs in its ports, with its number only.
    let (status, body) = app
        .put_sims(json!({"sims": [{"number": PINNED_RU.to_string()}, {"number": A}]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.sim_online(json!({"number": PINNED_RU.to_string()}))
        .await;
    let after = app.admin_sim(PINNED_RU).await;
    assert_eq!(after, configured, "[[sims]] describes a configured SIM");
    assert_eq!(
        count(&app.get_services().await, "russia", "beeline", "vk"),
        Some(1)
    );
}
