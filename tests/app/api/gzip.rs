//! Compression: gzip request bodies with or without `Content-Encoding`, gzip answers when the
//! client accepts them, and the JSON content type on every answer.

use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::api::helpers::{client_builder, gunzip, gzip, json_of, spawn_app, API_KEY, JSON_UTF8};

fn get_number_body() -> Vec<u8> {
    json!({
        "action": "GET_NUMBER",
        "country": "russia",
        "operator": "megafon",
        "service": "vk",
        "sum": 40,
        "key": API_KEY,
    })
    .to_string()
    .into_bytes()
}

fn services_body() -> Vec<u8> {
    json!({"action": "GET_SERVICES", "key": API_KEY})
        .to_string()
        .into_bytes()
}

/// A client that neither asks for nor decodes gzip by itself.
fn raw_client() -> reqwest::Client {
    client_builder().no_gzip().build().expect("client")
}

#[actix_rt::test]
async fn a_gzip_body_with_content_encoding_is_accepted() {
    let app = spawn_app().await;
    let response = app
        .post_v1_raw(
            gzip(&get_number_body()),
            &[
                ("Content-Encoding", "gzip"),
                ("Content-Type", "application/json"),
            ],
        )
        .await;
    let reply = json_of(response).await;
    let (number, _) = crate::api::helpers::success_of(&reply);
    assert_eq!(number, 79161000003);
}

#[actix_rt::test]
async fn a_gzip_body_without_content_encoding_is_accepted() {
    let app = spawn_app().await;
    let response = app
        .post_v1_raw(
            gzip(&get_number_body()),
            &[("Content-Type", "application/json")],
        )
        .await;
    let reply = json_of(response).await;
    let (number, _) = crate::api::helpers::success_of(&reply);
    assert_eq!(number, 79161000003);
    // And the reservation is real.
    assert_eq!(
        crate::api::helpers::count(&app.get_services().await, "russia", "megafon", "vk"),
        Some(0)
    );
}

#[actix_rt::test]
async fn a_plain_body_is_accepted() {
    let app = spawn_app().await;
    let response = app
        .post_v1_raw(services_body(), &[("Content-Type", "application/json")])
        .await;
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "SUCCESS");
    assert!(body["countryList"].is_array());
}

#[actix_rt::test]
async fn the_answer_is_gzip_when_the_client_accepts_gzip() {
    let app = spawn_app().await;
    let client = raw_client();
    for (request, expect_status) in [
        (services_body(), StatusCode::OK),
        (get_number_body(), StatusCode::OK),
        (b"{not json".to_vec(), StatusCode::BAD_REQUEST),
        (
            br#"{"action":"GET_SERVICES","key":"wrong"}"#.to_vec(),
            StatusCode::UNAUTHORIZED,
        ),
    ] {
        let response = app
            .post_v1_raw_with(&client, request, &[("Accept-Encoding", "gzip")])
            .await;
        assert_eq!(response.status(), expect_status);
        assert_eq!(
            response
                .headers()
                .get(CONTENT_ENCODING)
                .map(|v| v.as_bytes()),
            Some(&b"gzip"[..])
        );
        assert_eq!(
            response.headers().get(CONTENT_TYPE).map(|v| v.as_bytes()),
            Some(JSON_UTF8.as_bytes())
        );
        let raw = response.bytes().await.expect("body");
        assert_eq!(&raw[..2], &[0x1f, 0x8b], "gzip magic");
        let body: Value = serde_json::from_slice(&gunzip(&raw)).expect("gzip of JSON");
        if expect_status == StatusCode::OK {
            assert_eq!(body["status"], "SUCCESS", "{body}");
        } else {
            assert_eq!(body["status"], "ERROR", "{body}");
        }
    }
}

#[actix_rt::test]
async fn the_answer_is_plain_when_the_client_does_not_accept_gzip() {
    let app = spawn_app().await;
    let client = raw_client();
    for (request, headers) in [
        (services_body(), vec![]),
        (gzip(&services_body()), vec![("Content-Encoding", "gzip")]),
        (services_body(), vec![("Accept-Encoding", "identity")]),
    ] {
        let response = app.post_v1_raw_with(&client, request, &headers).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers().get(CONTENT_ENCODING), None);
        assert_eq!(
            response.headers().get(CONTENT_TYPE).map(|v| v.as_bytes()),
            Some(JSON_UTF8.as_bytes())
        );
        let raw = response.bytes().await.expect("body");
        let body: Value = serde_json::from_slice(&raw).expect("plain JSON");
        assert_eq!(body["status"], "SUCCESS");
    }
}

#[actix_rt::test]
async fn every_v1_answer_is_json_utf8() {
    let app = spawn_app().await;
    let client = raw_client();
    let exhausted = json!({
        "action": "GET_NUMBER", "country": "narnia", "operator": "any",
        "service": "vk", "sum": 1, "key": API_KEY,
    });
    let finish_unknown = json!({
        "action": "FINISH_ACTIVATION", "activationId": 424242, "status": 3, "key": API_KEY,
    });
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (services_body(), 200),
        (get_number_body(), 200),
        (exhausted.to_string().into_bytes(), 200),
        (finish_unknown.to_string().into_bytes(), 404),
        (b"[]".to_vec(), 400),
        (br#"{"action":"GET_SERVICES"}"#.to_vec(), 401),
        (vec![0x1f, 0x8b, 0, 1, 2, 3], 400),
    ];
    for accept in ["gzip", "identity"] {
        for (body, status) in &cases {
            let response = app
                .post_v1_raw_with(&client, body.clone(), &[("Accept-Encoding", accept)])
                .await;
            assert_eq!(response.status().as_u16(), *status);
            assert_eq!(
                response.headers().get(CONTENT_TYPE).map(|v| v.as_bytes()),
                Some(JSON_UTF8.as_bytes()),
                "{status} with Accept-Encoding: {accept}"
            );
        }
    }
}
