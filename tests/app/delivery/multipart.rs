//! Long SMS: parts posted with `ref`, `part`, `parts` make one SMS, forwarded once with the
//! joined text — when every part arrived, or after `gateway.multipart_wait` with those that
//! did; repeats are duplicates; inconsistent parts are refused.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::delivery::helpers::{assert_error, spawn_with_platform};

/// A part of the long SMS `reference` from "VK" to `number`.
fn part(number: u64, reference: Value, part: u64, parts: u64, text: &str) -> Value {
    json!({"number": number.to_string(), "from": "VK", "text": text,
           "ref": reference, "part": part, "parts": parts})
}

#[actix_rt::test]
async fn parts_out_of_order_are_forwarded_once_joined_in_order() {
    let (app, platform) = spawn_with_platform(|_| {}).await;
    let (number, activation) = app.reserve("russia", "any", "vk").await;
    let texts = ["Ваш код ВКонтакте: ", "48213. Никому ", "его не сообщайте."];
    let mut ids = Vec::new();
    for (i, (index, complete)) in [(3, false), (1, false), (2, true)].into_iter().enumerate() {
        let (status, body) = app
            .post_sms(part(number, json!(17), index, 3, texts[index as usize - 1]))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        assert_eq!(body["complete"], complete, "after {} parts: {body}", i + 1);
        assert_eq!(body["duplicate"], false, "{body}");
        assert_eq!(body["activation_id"], activation, "{body}");
        ids.push(body["sms_id"].as_u64().unwrap());
        if !complete {
            // Nothing is forwarded while parts are missing.
            app.settle().await;
            assert_eq!(platform.count(), 0);
        }
    }
    assert!(ids.iter().all(|id| *id == ids[0]), "one SMS: {ids:?}");
    app.settle().await;
    let requests = platform.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].json["text"], texts.concat());
    let stored = app.admin_sms(ids[0]).await;
    assert_eq!(stored["state"], "delivered", "{stored}");
    assert_eq!(stored["text"], texts.concat());
    assert_eq!(app.admin_sms_list().await.len(), 1);
}

#[actix_rt::test]
async fn a_repeated_part_is_a_duplicate() {
    let (app, platform) = spawn_with_platform(|_| {}).await;
    let (number, _) = app.reserve("russia", "any", "vk").await;
    let (_, first) = app
        .post_sms(part(number, json!("a7"), 1, 2, "VK code "))
        .await;
    let (status, again) = app
        .post_sms(part(number, json!("a7"), 1, 2, "VK code "))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        again,
        json!({"sms_id": first["sms_id"], "activation_id": first["activation_id"],
               "duplicate": true, "complete": false})
    );
    // By gateway id too.
    let mut with_id = part(number, json!("a7"), 2, 2, "555");
    with_id["id"] = json!("modem-9");
    let (_, done) = app.post_sms(with_id.clone()).await;
    assert_eq!(done["complete"], true, "{done}");
    let (_, repeat) = app.post_sms(with_id).await;
    assert_eq!(repeat["duplicate"], true, "{repeat}");
    assert_eq!(repeat["complete"], true, "{repeat}");
    let (_, repeat) = app.post_sms(part(number, json!("a7"), 2, 2, "555")).await;
    assert_eq!(repeat["duplicate"], true, "{repeat}");
    app.settle().await;
    assert_eq!(platform.count(), 1);
    assert_eq!(platform.requests()[0].json["text"], "VK code 555");
    assert_eq!(app.admin_sms_list().await.len(), 1);
}

#[actix_rt::test]
async fn after_the_wait_the_parts_that_arrived_are_forwarded() {
    let (app, platform) = spawn_with_platform(|_| {}).await;
    let (number, activation) = app.reserve("russia", "any", "vk").await;
    let (_, one) = app.post_sms(part(number, json!(9), 1, 3, "one ")).await;
    app.advance(10);
    app.post_sms(part(number, json!(9), 3, 3, "three")).await;
    let id = one["sms_id"].as_u64().unwrap();
    assert_eq!(app.admin_sms(id).await["state"], "assembling");
    assert_eq!(
        app.admin_json("/admin/sms?state=assembling").await["sms"][0]["id"],
        id
    );
    // 29 s after the first part: still waiting.
    app.advance(19);
    app.engine.seal_due_sms().await;
    app.settle().await;
    assert_eq!(platform.count(), 0);
    // 30 s: forwarded with what arrived, in order.
    app.advance(1);
    assert_eq!(app.engine.seal_due_sms().await, 1);
    app.settle().await;
    let requests = platform.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].json["text"], "one three");
    assert_eq!(requests[0].json["smsId"], activation);
    assert_eq!(app.admin_sms(id).await["state"], "delivered");

    // The missing part arriving later is forwarded at once, on its own: the client must get it.
    let (status, late) = app.post_sms(part(number, json!(9), 2, 3, "two ")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(late["duplicate"], false, "{late}");
    assert_eq!(late["complete"], true, "{late}");
    assert_eq!(late["activation_id"], activation, "{late}");
    assert_ne!(late["sms_id"], id);
    app.settle().await;
    assert_eq!(platform.count(), 2);
    assert_eq!(platform.requests()[1].json["text"], "two ");
    // Repeats of any part, early or late, are duplicates.
    for (i, text) in [(1, "one "), (2, "two "), (3, "three")] {
        let (_, again) = app.post_sms(part(number, json!(9), i, 3, text)).await;
        assert_eq!(again["duplicate"], true, "part {i}: {again}");
    }
    app.advance(30);
    app.engine.seal_due_sms().await;
    app.settle().await;
    assert_eq!(platform.count(), 2);
}

#[actix_rt::test]
async fn a_reference_that_comes_round_again_starts_a_new_sms() {
    let (app, platform) = spawn_with_platform(|_| {}).await;
    let (number, _) = app.reserve("russia", "any", "vk").await;
    // Reference 200, part 1 of a first SMS; then part 1 of another SMS with the same
    // reference (one byte on the air) while the first still waits for its part 2.
    let (_, first) = app
        .post_sms(part(number, json!(200), 1, 2, "code 111"))
        .await;
    let (_, second) = app
        .post_sms(part(number, json!(200), 1, 2, "code 222"))
        .await;
    assert_eq!(second["duplicate"], false, "{second}");
    assert_ne!(second["sms_id"], first["sms_id"]);
    app.settle().await;
    // The first is forwarded with what it had; the second waits for its own part 2.
    assert_eq!(platform.count(), 1);
    assert_eq!(platform.requests()[0].json["text"], "code 111");
    let (_, done) = app.post_sms(part(number, json!(200), 2, 2, " now")).await;
    assert_eq!(done["sms_id"], second["sms_id"]);
    assert_eq!(done["complete"], true);
    app.settle().await;
    assert_eq!(platform.count(), 2);
    assert_eq!(platform.requests()[1].json["text"], "code 222 now");
    // After the SMS was forwarded, the same reference with new texts is a new SMS again.
    let (_, third) = app
        .post_sms(part(number, json!(200), 1, 2, "code 333"))
        .await;
    assert_eq!(third["duplicate"], false, "{third}");
    app.post_sms(part(number, json!(200), 2, 2, "!")).await;
    app.settle().await;
    assert_eq!(platform.count(), 3);
    assert_eq!(platform.requests()[2].json["text"], "code 333!");
}

#[actix_rt::test]
async fn a_one_part_sms_is_whole_at_once() {
    let (app, platform) = spawn_with_platform(|_| {}).await;
    let (number, _) = app.reserve("russia", "any", "vk").await;
    let (status, body) = app.post_sms(part(number, json!(1), 1, 1, "VK 1")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["complete"], true, "{body}");
    app.settle().await;
    assert_eq!(platform.count(), 1);
}

#[actix_rt::test]
async fn inconsistent_parts_are_refused_and_change_nothing() {
    let (app, platform) = spawn_with_platform(|_| {}).await;
    let (number, _) = app.reserve("russia", "any", "vk").await;
    app.post_sms(part(number, json!(5), 1, 2, "a")).await;
    let before = app.admin_sms_list().await;
    let n = number.to_string();
    let cases = [
        (part(number, json!(5), 2, 3, "b"), 409, "CONFLICT", "parts"),
        (part(number, json!(5), 0, 2, "b"), 400, "BAD_FIELD", "part"),
        (part(number, json!(5), 3, 2, "b"), 400, "BAD_FIELD", "part"),
        (
            part(number, json!(6), 1, 17, "b"),
            400,
            "BAD_FIELD",
            "parts",
        ),
        (part(number, json!(6), 1, 0, "b"), 400, "BAD_FIELD", "parts"),
        (part(number, json!(""), 1, 2, "b"), 400, "BAD_FIELD", "ref"),
        (part(number, json!(-1), 1, 2, "b"), 400, "BAD_FIELD", "ref"),
        (
            json!({"number": n, "from": "VK", "text": "b", "ref": 5, "part": 1}),
            400,
            "MISSING_FIELD",
            "parts",
        ),
        (
            json!({"number": n, "from": "VK", "text": "b", "part": 1, "parts": 2}),
            400,
            "MISSING_FIELD",
            "ref",
        ),
        (
            json!({"number": n, "from": "VK", "text": "b", "ref": 5, "part": "x", "parts": 2}),
            400,
            "BAD_FIELD",
            "part",
        ),
    ];
    for (body, status, code, mentions) in cases {
        let reply = app.post_sms(body.clone()).await;
        assert_error(&reply, status, code, mentions);
    }
    assert_eq!(app.admin_sms_list().await, before);
    app.settle().await;
    assert_eq!(platform.count(), 0);
}
