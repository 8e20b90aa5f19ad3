//! PUSH_SMS on the wire, as the fake platform received it (protocol §2.5, §2.6).

use serde_json::{json, Value};
use simrelay::config::{PhoneType, SmsIdKind};

use crate::delivery::helpers::{gunzip, spawn_with_platform, API_KEY};
use crate::delivery::platform::{Recorded, PUSH_PATH};

/// Asserts the transport of one PUSH_SMS and that its gzip body decodes to `json`.
#[track_caller]
fn assert_transport(r: &Recorded) {
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, PUSH_PATH, "the configured path");
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8"),
        "{:?}",
        r.headers
    );
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {API_KEY}").as_str()),
        "{:?}",
        r.headers
    );
    let agent = r.header("user-agent").unwrap_or_default();
    assert!(!agent.trim().is_empty(), "a User-Agent: {:?}", r.headers);
    assert_eq!(
        r.header("content-encoding"),
        Some("gzip"),
        "{:?}",
        r.headers
    );
    assert!(
        r.raw.starts_with(&[0x1f, 0x8b]),
        "the body is gzip: {:?}",
        &r.raw[..r.raw.len().min(16)]
    );
    let decoded: Value = serde_json::from_slice(&gunzip(&r.raw)).expect("the body is JSON");
    assert_eq!(decoded, r.json);
    assert!(r.json.is_object(), "{}", r.json);
}

#[actix_rt::test]
async fn push_sms_default_wire_format() {
    let (app, platform) = spawn_with_platform(|_| {}).await;
    let (number, activation) = app.reserve("russia", "any", "vk").await;
    let text = "Ваш код VK: 800142 — никому не сообщайте \"его\"";
    app.sms_to(number, "VK", text).await;
    app.sms_to(number, "+79001234567", "VK: second").await;
    app.settle().await;

    let requests = platform.requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    for r in &requests {
        assert_transport(r);
    }
    let mut bodies: Vec<Value> = requests.iter().map(|r| r.json.clone()).collect();
    bodies.sort_by_key(|b| b["text"].as_str().unwrap().to_owned());
    // Exact bodies: integers are JSON integers, smsId is the activation id, no `service`.
    assert_eq!(
        bodies,
        vec![
            json!({
                "smsId": activation,
                "phone": number,
                "phoneFrom": "+79001234567",
                "text": "VK: second",
                "action": "PUSH_SMS",
                "key": API_KEY,
            }),
            json!({
                "smsId": activation,
                "phone": number,
                "phoneFrom": "VK",
                "text": text,
                "action": "PUSH_SMS",
                "key": API_KEY,
            }),
        ]
    );
    for body in &bodies {
        assert!(body["smsId"].is_u64(), "{body}");
        assert!(body["phone"].is_u64(), "{body}");
    }
}

#[actix_rt::test]
async fn push_sms_with_a_string_phone_and_a_unique_sms_id() {
    let (app, platform) = spawn_with_platform(|s| {
        s.push_sms.phone_type = PhoneType::String;
        s.push_sms.sms_id = SmsIdKind::Unique;
    })
    .await;
    let (number, activation) = app.reserve("russia", "any", "wa").await;
    let (first, _) = app
        .sms_to(number, "WhatsApp", "WhatsApp code 111-222")
        .await;
    let (second, _) = app
        .sms_to(number, "WhatsApp", "WhatsApp code 333-444")
        .await;
    app.settle().await;

    let requests = platform.requests();
    assert_eq!(requests.len(), 2);
    let mut bodies: Vec<Value> = requests
        .iter()
        .map(|r| {
            assert_transport(r);
            r.json.clone()
        })
        .collect();
    bodies.sort_by_key(|b| b["smsId"].as_u64().unwrap());
    assert_eq!(
        bodies,
        vec![
            json!({
                "smsId": first,
                "phone": number.to_string(),
                "phoneFrom": "WhatsApp",
                "text": "WhatsApp code 111-222",
                "action": "PUSH_SMS",
                "key": API_KEY,
            }),
            json!({
                "smsId": second,
                "phone": number.to_string(),
                "phoneFrom": "WhatsApp",
                "text": "WhatsApp code 333-444",
                "action": "PUSH_SMS",
                "key": API_KEY,
            }),
        ]
    );
    assert!(first != activation && second != activation);
}

#[actix_rt::test]
async fn rent_activations_push_with_service_rent() {
    let (app, platform) = spawn_with_platform(|s| s.onlinesim.rent = true).await;
    let (rented, rent) = app.reserve("russia", "any", "rent").await;
    let (other, vk) = app.reserve("russia", "any", "vk").await;
    assert_ne!(rented, other);
    app.sms_to(rented, "Instagram", "784958 is your secret code")
        .await;
    app.sms_to(other, "VK", "VK: 4242").await;
    app.settle().await;

    let requests = platform.requests();
    assert_eq!(requests.len(), 2);
    let by_id = |id: u64| {
        requests
            .iter()
            .find(|r| r.json["smsId"] == id)
            .unwrap_or_else(|| panic!("no PUSH_SMS for activation {id}: {requests:#?}"))
    };
    let r = by_id(rent);
    assert_transport(r);
    assert_eq!(
        r.json,
        json!({
            "smsId": rent,
            "phone": rented,
            "phoneFrom": "Instagram",
            "text": "784958 is your secret code",
            "action": "PUSH_SMS",
            "key": API_KEY,
            "service": "rent",
        })
    );
    let r = by_id(vk);
    assert_transport(r);
    assert!(
        r.json.get("service").is_none(),
        "no service outside rent: {}",
        r.json
    );
    assert_eq!(r.json["phone"], other);
}
