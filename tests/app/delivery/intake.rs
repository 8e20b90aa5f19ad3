//! `POST /gateway/sms`: stored before the answer, matched to the activation active when the SIM
//! received it, de-duplicated, and the errors.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use simrelay::config::SmsIdKind;

use crate::delivery::helpers::{
    assert_error, at, rfc3339, spawn_with_platform, time, GATEWAY_TOKEN, RU1, RU2, RU3, RU4, RU5,
};

/// A configured SIM other than `number`.
fn other_than(number: u64) -> u64 {
    [RU1, RU2, RU3, RU4, RU5]
        .into_iter()
        .find(|n| *n != number)
        .unwrap()
}

#[actix_rt::test]
async fn an_sms_is_stored_matched_to_the_active_activation_and_pushed() {
    let (app, platform) = spawn_with_platform(|_| {}).await;
    let (number, activation) = app.reserve("russia", "any", "vk").await;
    app.advance(5);

    let (status, body) = app
        .post_sms(json!({"number": number.to_string(), "from": "VK", "text": "VK: 12345"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let sms_id = body["sms_id"].as_u64().expect("sms_id is an integer");
    assert_eq!(
        body,
        json!({"sms_id": sms_id, "activation_id": activation, "duplicate": false})
    );
    assert_ne!(
        sms_id, activation,
        "SMS ids and activation ids never collide"
    );

    // Stored before the answer: listed at once, with what the gateway sent.
    let stored = app.admin_sms(sms_id).await;
    assert_eq!(stored["number"], number, "{stored}");
    assert_eq!(stored["from"], "VK", "{stored}");
    assert_eq!(stored["text"], "VK: 12345", "{stored}");
    assert_eq!(stored["activation_id"], activation, "{stored}");
    assert_eq!(stored["service"], "vk", "{stored}");
    assert_eq!(time(&stored["received_at"]), at(5), "{stored}");
    assert_eq!(time(&stored["accepted_at"]), at(5), "{stored}");
    assert!(
        ["pending", "delivered"].contains(&stored["state"].as_str().unwrap()),
        "{stored}"
    );

    app.settle().await;
    assert_eq!(platform.count(), 1);
    let stored = app.admin_sms(sms_id).await;
    assert_eq!(stored["state"], "delivered", "{stored}");
    assert_eq!(stored["attempts"], 1, "{stored}");
    assert_eq!(time(&stored["delivered_at"]), at(5), "{stored}");
    assert_eq!(stored["last_error"], Value::Null, "{stored}");
}

#[actix_rt::test]
async fn the_activation_view_lists_its_sms() {
    let (app, _platform) = spawn_with_platform(|_| {}).await;
    let (number, activation) = app.reserve("russia", "any", "vk").await;
    let (first, _) = app.sms_to(number, "VK", "VK: 1").await;
    let (second, _) = app.sms_to(number, "VK", "VK: 2").await;
    app.settle().await;
    let body = app
        .admin_json(&format!("/admin/activations/{activation}"))
        .await;
    assert_eq!(body["activation"]["id"], activation, "{body}");
    // The SMS may sit beside the activation or inside it.
    let list = if body["sms"].is_array() {
        body["sms"].clone()
    } else {
        body["activation"]["sms"].clone()
    };
    let list = list
        .as_array()
        .unwrap_or_else(|| panic!("GET /admin/activations/{{id}} lists no SMS: {body}"))
        .clone();
    let ids: Vec<u64> = list.iter().map(|s| s["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, vec![first, second], "{body}");
    assert!(list.iter().all(|s| s["state"] == "delivered"), "{body}");
}

#[actix_rt::test]
async fn an_sms_received_before_the_activation_is_unmatched_and_never_pushed() {
    let (app, platform) = spawn_with_platform(|_| {}).await;
    app.advance(600);
    let (number, activation) = app.reserve("russia", "any", "vk").await;
    app.advance(5);

    let (early, matched) = app
        .sms(json!({"number": number.to_string(), "from": "VK", "text": "VK: 1", "received_at": rfc3339(30)}))
        .await;
    assert_eq!(
        matched, None,
        "received 570 s before the activation existed, beyond gateway.clock_skew (120 s)"
    );
    let free = other_than(number);
    let (stray, matched) = app.sms_to(free, "VK", "VK: 2").await;
    assert_eq!(matched, None, "no activation on {free}");
    // The control: received during the activation.
    let (good, matched) = app
        .sms(json!({"number": number.to_string(), "from": "VK", "text": "VK: 3", "received_at": rfc3339(601)}))
        .await;
    assert_eq!(matched, Some(activation));

    for id in [early, stray] {
        let stored = app.admin_sms(id).await;
        assert_eq!(stored["state"], "unmatched", "{stored}");
        assert_eq!(stored["activation_id"], Value::Null, "{stored}");
    }
    assert_eq!(time(&app.admin_sms(early).await["received_at"]), at(30));
    let unmatched = app.admin_json("/admin/sms?state=unmatched").await;
    let ids: Vec<u64> = unmatched["sms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![stray, early], "newest first: {unmatched}");

    app.settle().await;
    for _ in 0..10 {
        app.advance_and_settle(600).await;
    }
    let pushed: Vec<String> = platform
        .requests()
        .iter()
        .map(|r| r.text().to_owned())
        .collect();
    assert_eq!(pushed, vec!["VK: 3"], "only the matched SMS is pushed");
    assert_eq!(app.admin_sms(good).await["state"], "delivered");
    for id in [early, stray] {
        assert_eq!(app.admin_sms(id).await["state"], "unmatched");
    }
}

#[actix_rt::test]
async fn an_sms_received_during_the_activation_but_posted_after_finish_is_matched_to_it() {
    let (app, platform) = spawn_with_platform(|_| {}).await;
    let (number, activation) = app.reserve("russia", "any", "vk").await;
    app.advance(30);
    app.finish_ok(activation, 3).await;
    app.advance(30);

    let (late, matched) = app
        .sms(json!({"number": number.to_string(), "from": "VK", "text": "VK: 10", "received_at": rfc3339(10)}))
        .await;
    assert_eq!(
        matched,
        Some(activation),
        "received at +10 s, FINISH at +30 s"
    );
    let (after, matched) = app
        .sms(json!({"number": number.to_string(), "from": "VK", "text": "VK: 45", "received_at": rfc3339(45)}))
        .await;
    assert_eq!(matched, None, "received after FINISH");
    let (now, matched) = app.sms_to(number, "VK", "VK: now").await;
    assert_eq!(matched, None, "received now, after FINISH");

    app.settle().await;
    let requests = platform.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].json["smsId"], activation);
    assert_eq!(requests[0].json["text"], "VK: 10");
    assert_eq!(app.admin_sms(late).await["state"], "delivered");
    assert_eq!(app.admin_sms(after).await["state"], "unmatched");
    assert_eq!(app.admin_sms(now).await["state"], "unmatched");
}

#[actix_rt::test]
async fn the_same_gateway_id_is_one_sms_pushed_once() {
    let (app, platform) = spawn_with_platform(|s| s.push_sms.sms_id = SmsIdKind::Unique).await;
    let (number, activation) = app.reserve("russia", "any", "vk").await;
    let n = number.to_string();

    let (first, _) = app
        .sms(json!({"number": n, "from": "VK", "text": "VK: 1", "id": "gw-1"}))
        .await;
    // Again, and again with another text (the gateway id decides).
    for body in [
        json!({"number": n, "from": "VK", "text": "VK: 1", "id": "gw-1"}),
        json!({"number": format!("+{n}"), "from": "VK", "text": "changed", "id": "gw-1"}),
    ] {
        let (status, answer) = app.post_sms(body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
        assert_eq!(
            answer,
            json!({"sms_id": first, "activation_id": activation, "duplicate": true})
        );
    }
    // Integer ids are the same ids as their decimal strings.
    let (second, _) = app
        .sms(json!({"number": n, "from": "VK", "text": "VK: 2", "id": 77}))
        .await;
    let (status, answer) = app
        .post_sms(json!({"number": n, "from": "VK", "text": "VK: 2", "id": "77"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(answer["sms_id"], second, "{answer}");
    assert_eq!(answer["duplicate"], true, "{answer}");
    // Another id is another SMS, even with the same text.
    let (third, _) = app
        .sms(json!({"number": n, "from": "VK", "text": "VK: 1", "id": "gw-2"}))
        .await;
    // The same id on another SIM is another SMS.
    let free = other_than(number);
    let (fourth, matched) = app
        .sms(json!({"number": free.to_string(), "from": "VK", "text": "VK: 1", "id": "gw-1"}))
        .await;
    assert_eq!(matched, None);
    assert_eq!(
        [first, second, third, fourth]
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        4
    );

    app.settle().await;
    // A repeat after delivery is still a duplicate and is not pushed again.
    let (_, answer) = app
        .post_sms(json!({"number": n, "from": "VK", "text": "VK: 1", "id": "gw-1"}))
        .await;
    assert_eq!(answer["duplicate"], true, "{answer}");
    for _ in 0..3 {
        app.advance_and_settle(600).await;
    }
    let mut pushed: Vec<u64> = platform
        .requests()
        .iter()
        .map(|r| r.json["smsId"].as_u64().unwrap())
        .collect();
    pushed.sort_unstable();
    assert_eq!(pushed, vec![first, second, third], "each SMS pushed once");
    assert_eq!(app.admin_sms_list().await.len(), 4);
}

#[actix_rt::test]
async fn without_an_id_the_same_sms_within_the_dedup_window_is_one() {
    let (app, platform) = spawn_with_platform(|s| {
        s.push_sms.sms_id = SmsIdKind::Unique;
        s.gateway.dedup_window = std::time::Duration::from_secs(120);
    })
    .await;
    let (number, activation) = app.reserve("russia", "any", "vk").await;
    app.advance(600);
    let n = number.to_string();
    let sms = |text: &str, from: &str, received: Option<i64>| {
        let mut body = json!({"number": n, "from": from, "text": text});
        if let Some(secs) = received {
            body["received_at"] = json!(rfc3339(secs));
        }
        body
    };
    let mut expected = Vec::new();

    let (s1, _) = app.sms(sms("VK: 1", "VK", Some(500))).await;
    expected.push(s1);
    // Exactly the same; 60 s later; 100 s earlier: all within 120 s of the first.
    for received in [500, 560, 400] {
        let (status, answer) = app.post_sms(sms("VK: 1", "VK", Some(received))).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(
            answer,
            json!({"sms_id": s1, "activation_id": activation, "duplicate": true}),
            "received at +{received} s"
        );
    }
    // 250 s apart: another SMS. Another text or sender: another SMS.
    for body in [
        sms("VK: 1", "VK", Some(250)),
        sms("VK: 1 ", "VK", Some(500)),
        sms("VK: 1", "vk.com", Some(500)),
    ] {
        let (id, matched) = app.sms(body).await;
        assert_eq!(matched, Some(activation));
        expected.push(id);
    }
    // Without received_at: the time of arrival counts.
    let (s5, _) = app.sms(sms("VK: 2", "VK", None)).await;
    expected.push(s5);
    let (_, answer) = app.post_sms(sms("VK: 2", "VK", None)).await;
    assert_eq!(answer["sms_id"], s5, "{answer}");
    assert_eq!(answer["duplicate"], true, "{answer}");
    app.advance(121);
    let (s6, _) = app.sms(sms("VK: 2", "VK", None)).await;
    expected.push(s6);

    app.settle().await;
    let mut pushed: Vec<u64> = platform
        .requests()
        .iter()
        .map(|r| r.json["smsId"].as_u64().unwrap())
        .collect();
    pushed.sort_unstable();
    expected.sort_unstable();
    assert_eq!(pushed, expected, "each distinct SMS pushed once");
    assert_eq!(app.admin_sms_list().await.len(), expected.len());
}

#[actix_rt::test]
async fn an_sms_may_name_the_port_instead_of_the_number() {
    let (app, platform) = spawn_with_platform(|_| {}).await;
    let (number, activation) = app.reserve("russia", "any", "vk").await;
    let (id, matched) = app
        .sms(json!({"port": format!("bank.{number}"), "from": "VK", "text": "VK: 7"}))
        .await;
    assert_eq!(matched, Some(activation));
    assert_eq!(app.admin_sms(id).await["number"], number);

    // A port the gateway announced.
    app.sim_online(json!({"number": "79281234509", "port": "slot-9"}))
        .await;
    let (id, matched) = app
        .sms(json!({"port": "slot-9", "from": "VK", "text": "VK: 8"}))
        .await;
    assert_eq!(matched, None);
    assert_eq!(app.admin_sms(id).await["number"], 79281234509u64);

    // The port moves to another SIM: SMS by port follow it.
    let (_, body) = app
        .put_sims(json!({"sims": [{"number": "79281234510", "port": "slot-9"}]}))
        .await;
    assert_eq!(body["added"], 1, "{body}");
    let (id, _) = app
        .sms(json!({"port": "slot-9", "from": "VK", "text": "VK: 9"}))
        .await;
    assert_eq!(app.admin_sms(id).await["number"], 79281234510u64);

    let before = app.admin_sms_list().await;
    assert_error(
        &app.post_sms(json!({"port": "slot-404", "from": "VK", "text": "VK: 9"}))
            .await,
        404,
        "UNKNOWN_PORT",
        "slot-404",
    );
    assert_eq!(app.admin_sms_list().await, before);
    app.settle().await;
    assert_eq!(platform.count(), 1);
    assert_eq!(platform.requests()[0].json["phone"], number);
}

#[actix_rt::test]
async fn bad_sms_input_is_refused_and_nothing_is_stored() {
    let (app, platform) = spawn_with_platform(|_| {}).await;
    let (number, _) = app.reserve("russia", "any", "vk").await;
    let n = number.to_string();
    let cases: Vec<(Vec<u8>, u16, &str, &str)> = vec![
        (
            json!({"number": n, "text": "x"}),
            400,
            "MISSING_FIELD",
            "from",
        ),
        (
            json!({"number": n, "from": "VK"}),
            400,
            "MISSING_FIELD",
            "text",
        ),
        (
            json!({"number": n, "from": null, "text": "x"}),
            400,
            "MISSING_FIELD",
            "from",
        ),
        (
            json!({"number": n, "from": "", "text": "x"}),
            400,
            "BAD_FIELD",
            "from",
        ),
        (
            json!({"number": n, "from": "   ", "text": "x"}),
            400,
            "BAD_FIELD",
            "from",
        ),
        (
            json!({"number": n, "from": "F".repeat(65), "text": "x"}),
            400,
            "BAD_FIELD",
            "from",
        ),
        (
            json!({"number": n, "from": "VK", "text": "x".repeat(10_001)}),
            400,
            "BAD_FIELD",
            "text",
        ),
        (
            json!({"number": n, "from": "VK", "text": 12345}),
            400,
            "BAD_FIELD",
            "text",
        ),
        (
            json!({"number": n, "from": "VK", "text": "x", "received_at": "yesterday"}),
            400,
            "BAD_FIELD",
            "received_at",
        ),
        (
            json!({"number": n, "from": "VK", "text": "x", "received_at": "2025-13-01T00:00:00Z"}),
            400,
            "BAD_FIELD",
            "received_at",
        ),
        (
            json!({"number": n, "from": "VK", "text": "x", "received_at": "2025-01-01T00:00:00"}),
            400,
            "BAD_FIELD",
            "received_at",
        ),
        (
            json!({"number": n, "from": "VK", "text": "x", "received_at": 1e300}),
            400,
            "BAD_FIELD",
            "received_at",
        ),
        (
            json!({"number": n, "from": "VK", "text": "x", "received_at": true}),
            400,
            "BAD_FIELD",
            "received_at",
        ),
        (
            json!({"number": n, "from": "VK", "text": "x", "id": ""}),
            400,
            "BAD_FIELD",
            "id",
        ),
        (
            json!({"number": n, "from": "VK", "text": "x", "id": {"a": 1}}),
            400,
            "BAD_FIELD",
            "id",
        ),
        (
            json!({"number": n, "from": "VK", "text": "x", "id": "i".repeat(201)}),
            400,
            "BAD_FIELD",
            "id",
        ),
        (
            json!({"from": "VK", "text": "x"}),
            400,
            "MISSING_FIELD",
            "number",
        ),
        (
            json!({"number": "79-28", "from": "VK", "text": "x"}),
            400,
            "BAD_FIELD",
            "number",
        ),
        (
            json!({"number": "79990000099", "from": "VK", "text": "x"}),
            404,
            "UNKNOWN_SIM",
            "79990000099",
        ),
        (
            json!({"port": "nowhere", "from": "VK", "text": "x"}),
            404,
            "UNKNOWN_PORT",
            "nowhere",
        ),
    ]
    .into_iter()
    .map(|(body, status, code, field)| (body.to_string().into_bytes(), status, code, field))
    .chain([
        (b"{\"number\":".to_vec(), 400, "BAD_JSON", ""),
        (b"\"text\"".to_vec(), 400, "BAD_JSON", ""),
    ])
    .collect();
    for (body, status, code, field) in cases {
        let reply = app
            .gateway_raw(
                Method::POST,
                "/gateway/sms",
                Some(&format!("Bearer {GATEWAY_TOKEN}")),
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            reply.0.as_u16(),
            status,
            "{}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)]),
            reply.1
        );
        assert_error(&reply, status, code, field);
    }
    assert!(app.admin_sms_list().await.is_empty());
    assert!(app.engine.sms(None, 100).is_empty());
    app.advance_and_settle(600).await;
    assert_eq!(platform.count(), 0);

    // A counter-check that the same SIM does take a good SMS.
    let mut by_state = BTreeMap::new();
    app.sms_to(number, "VK", "VK: ok").await;
    app.settle().await;
    for s in app.admin_sms_list().await {
        *by_state
            .entry(s["state"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    assert_eq!(by_state, BTreeMap::from([("delivered".to_owned(), 1)]));
}

#[actix_rt::test]
async fn a_late_sms_is_matched_to_the_earlier_activation_even_after_the_number_was_issued_again() {
    let (app, platform) = spawn_with_platform(|s| {
        s.sims = vec![crate::delivery::helpers::sim(
            "79281000001",
            "russia",
            Some("beeline"),
        )];
    })
    .await;
    let (number, first) = app.reserve("russia", "any", "vk").await;
    app.advance(30);
    app.finish_ok(first, 3).await;
    app.advance(10);
    let (again, second) = app.reserve("russia", "any", "ok").await;
    assert_eq!(again, number);
    app.advance(20);

    // The gateway posts late an SMS the SIM received during the first activation.
    let (late, matched) = app
        .sms(json!({"number": number.to_string(), "from": "VK", "text": "VK: late", "received_at": rfc3339(20)}))
        .await;
    // One received between the two activations, within gateway.clock_skew of the second's
    // start: a SIM-bank clock behind ours, so it belongs to the second.
    let (between, gap) = app
        .sms(json!({"number": number.to_string(), "from": "VK", "text": "VK: gap", "received_at": rfc3339(35)}))
        .await;
    let (current, now) = app.sms_to(number, "OK", "OK code 1").await;
    assert_eq!(now, Some(second));
    assert_eq!(
        gap,
        Some(second),
        "received after the first FINISH, 5 s before the second GET_NUMBER"
    );
    assert_eq!(
        matched,
        Some(first),
        "received at +20 s, while activation {first} was active (+0 s .. +30 s)"
    );
    app.settle().await;
    assert_eq!(app.admin_sms(late).await["activation_id"], first);
    assert_eq!(app.admin_sms(between).await["activation_id"], second);
    assert_eq!(app.admin_sms(current).await["state"], "delivered");
    assert_eq!(platform.count(), 3);
}
