//! Bad input: every refusal has a stable code, changes nothing, and the server keeps serving.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::api::helpers::{
    assert_error, default_sims, gzip, json_of, settings, spawn_app, spawn_app_with, success_of,
    TestApp, API_KEY,
};

/// A refused request: its bytes, headers, and the answer expected.
struct Case {
    name: String,
    body: Vec<u8>,
    headers: Vec<(&'static str, &'static str)>,
    status: u16,
    code: &'static str,
    mentions: String,
}

fn case(name: &str, body: Value, status: u16, code: &'static str, mentions: &str) -> Case {
    Case {
        name: name.to_owned(),
        body: body.to_string().into_bytes(),
        headers: vec![],
        status,
        code,
        mentions: mentions.to_owned(),
    }
}

fn raw(name: &str, body: &[u8], status: u16, code: &'static str) -> Case {
    Case {
        name: name.to_owned(),
        body: body.to_vec(),
        headers: vec![],
        status,
        code,
        mentions: String::new(),
    }
}

fn get_number(extra: Value) -> Value {
    let mut body = json!({
        "action": "GET_NUMBER",
        "country": "russia",
        "operator": "any",
        "service": "vk",
        "sum": 40,
        "key": API_KEY,
    });
    for (k, v) in extra.as_object().expect("object") {
        if v.is_null() {
            body.as_object_mut().unwrap().remove(k);
        } else {
            body[k] = v.clone();
        }
    }
    body
}

fn finish(extra: Value) -> Value {
    let mut body = json!({
        "action": "FINISH_ACTIVATION",
        "activationId": 1,
        "status": 3,
        "key": API_KEY,
    });
    for (k, v) in extra.as_object().expect("object") {
        if v.is_null() {
            body.as_object_mut().unwrap().remove(k);
        } else {
            body[k] = v.clone();
        }
    }
    body
}

/// Sends each case; asserts its answer and that GET_SERVICES and the open activations are
/// the same before and after.
async fn check(app: &TestApp, cases: Vec<Case>) {
    for c in cases {
        let before = app.get_services().await;
        let active = app.engine.active_activations();
        let name = &c.name;
        eprintln!("case {name:?}");
        let reply = json_of(app.post_v1_raw(c.body, &c.headers).await).await;
        assert_error(&reply, c.status, c.code, &c.mentions);
        assert_eq!(
            app.get_services().await,
            before,
            "case {name:?} changed the stock"
        );
        assert_eq!(app.engine.active_activations(), active, "case {name:?}");
    }
    // Still serving.
    success_of(&app.get_number("russia", "any", "vk", Value::Null).await);
}

#[actix_rt::test]
async fn malformed_json_and_non_objects_are_bad_json() {
    let app = spawn_app().await;
    check(
        &app,
        vec![
            raw(
                "truncated",
                br#"{"action":"GET_SERVICES","key":"#,
                400,
                "BAD_JSON",
            ),
            raw("garbage", b"action=GET_SERVICES", 400, "BAD_JSON"),
            raw("empty", b"", 400, "BAD_JSON"),
            raw(
                "trailing",
                br#"{"action":"GET_SERVICES"} x"#,
                400,
                "BAD_JSON",
            ),
            raw("array", br#"[{"action":"GET_SERVICES"}]"#, 400, "BAD_JSON"),
            raw("string", br#""GET_SERVICES""#, 400, "BAD_JSON"),
            raw("number", b"42", 400, "BAD_JSON"),
            raw("null", b"null", 400, "BAD_JSON"),
        ],
    )
    .await;
}

#[actix_rt::test]
async fn wrong_types_are_bad_field_naming_the_field() {
    let app = spawn_app().await;
    let (_, id) = app.reserve("russia", "megafon", "vk").await;
    check(
        &app,
        vec![
            case(
                "sum string",
                get_number(json!({"sum": "forty"})),
                400,
                "BAD_FIELD",
                "sum",
            ),
            case(
                "sum negative",
                get_number(json!({"sum": -1})),
                400,
                "BAD_FIELD",
                "sum",
            ),
            case(
                "sum negative fraction",
                get_number(json!({"sum": -0.5})),
                400,
                "BAD_FIELD",
                "sum",
            ),
            case(
                "country number",
                get_number(json!({"country": 7})),
                400,
                "BAD_FIELD",
                "country",
            ),
            case(
                "service array",
                get_number(json!({"service": ["vk"]})),
                400,
                "BAD_FIELD",
                "service",
            ),
            case(
                "operator object",
                get_number(json!({"operator": {}})),
                400,
                "BAD_FIELD",
                "operator",
            ),
            case(
                "prefix bool",
                get_number(json!({"exceptionPhoneSet": [7918, true]})),
                400,
                "BAD_FIELD",
                "exceptionPhoneSet[1]",
            ),
            case(
                "prefix letters",
                get_number(json!({"exceptionPhoneSet": ["7918", "79a"]})),
                400,
                "BAD_FIELD",
                "exceptionPhoneSet[1]",
            ),
            case(
                "prefix empty string",
                get_number(json!({"exceptionPhoneSet": [""]})),
                400,
                "BAD_FIELD",
                "exceptionPhoneSet[0]",
            ),
            case(
                "prefix plus only",
                get_number(json!({"exceptionPhoneSet": [7, "+"]})),
                400,
                "BAD_FIELD",
                "exceptionPhoneSet[1]",
            ),
            case(
                "prefix negative",
                get_number(json!({"exceptionPhoneSet": [-7918]})),
                400,
                "BAD_FIELD",
                "exceptionPhoneSet[0]",
            ),
            case(
                "prefix set not an array",
                get_number(json!({"exceptionPhoneSet": 7918})),
                400,
                "BAD_FIELD",
                "exceptionPhoneSet",
            ),
            case(
                "action number",
                json!({"action": 1, "key": API_KEY}),
                400,
                "BAD_FIELD",
                "action",
            ),
            case(
                "id letters",
                finish(json!({"activationId": "abc"})),
                400,
                "BAD_FIELD",
                "activationId",
            ),
            case(
                "id zero",
                finish(json!({"activationId": 0})),
                400,
                "BAD_FIELD",
                "activationId",
            ),
            case(
                "id negative",
                finish(json!({"activationId": -5})),
                400,
                "BAD_FIELD",
                "activationId",
            ),
            case(
                "id fraction",
                finish(json!({"activationId": 1.5})),
                400,
                "BAD_FIELD",
                "activationId",
            ),
            case(
                "id bool",
                finish(json!({"activationId": true})),
                400,
                "BAD_FIELD",
                "activationId",
            ),
            case(
                "status string",
                finish(json!({"activationId": id, "status": "3"})),
                400,
                "BAD_FIELD",
                "status",
            ),
            case(
                "finish sum negative",
                finish(json!({"activationId": id, "sum": -4.5})),
                400,
                "BAD_FIELD",
                "sum",
            ),
        ],
    )
    .await;
    // The open activation was untouched by the refused FINISHes.
    assert_eq!(app.admin_activation(id).await["state"], "active");
}

#[actix_rt::test]
async fn missing_fields_are_named() {
    let app = spawn_app().await;
    let mut cases = Vec::new();
    for field in ["country", "operator", "service", "sum"] {
        let name = format!("GET_NUMBER without {field}");
        cases.push(case(
            &name,
            get_number(json!({ field: null })),
            400,
            "MISSING_FIELD",
            field,
        ));
        let mut explicit_null = get_number(json!({}));
        explicit_null[field] = Value::Null;
        let name = format!("GET_NUMBER with {field} null");
        cases.push(case(&name, explicit_null, 400, "MISSING_FIELD", field));
    }
    for field in ["activationId", "status"] {
        let name = format!("FINISH without {field}");
        cases.push(case(
            &name,
            finish(json!({ field: null })),
            400,
            "MISSING_FIELD",
            field,
        ));
    }
    cases.push(case(
        "no action",
        json!({"key": API_KEY}),
        400,
        "MISSING_FIELD",
        "action",
    ));
    check(&app, cases).await;
}

#[actix_rt::test]
async fn unknown_actions_are_refused() {
    let app = spawn_app().await;
    check(
        &app,
        vec![
            case(
                "GET_STATUS",
                json!({"action": "GET_STATUS", "key": API_KEY}),
                400,
                "UNKNOWN_ACTION",
                "GET_STATUS",
            ),
            case(
                "lower case",
                json!({"action": "get_services", "key": API_KEY}),
                400,
                "UNKNOWN_ACTION",
                "get_services",
            ),
            case(
                "PUSH_SMS",
                json!({"action": "PUSH_SMS", "key": API_KEY}),
                400,
                "UNKNOWN_ACTION",
                "PUSH_SMS",
            ),
        ],
    )
    .await;
}

#[actix_rt::test]
async fn wrong_or_missing_keys_are_refused_before_anything_happens() {
    let app = spawn_app().await;
    let wrong_key = get_number(json!({"key": "not-the-key"}));
    let no_key = get_number(json!({"key": null}));
    let mut cases = vec![
        case("wrong key", wrong_key.clone(), 401, "BAD_KEY", "wrong key"),
        case("missing key", no_key.clone(), 401, "BAD_KEY", "missing key"),
        case(
            "empty key",
            get_number(json!({"key": ""})),
            401,
            "BAD_KEY",
            "",
        ),
        case(
            "key prefix",
            get_number(json!({"key": "test-partner"})),
            401,
            "BAD_KEY",
            "",
        ),
        case(
            "key not a string",
            get_number(json!({"key": 123})),
            401,
            "BAD_KEY",
            "",
        ),
        case(
            "wrong key, GET_SERVICES",
            json!({"action": "GET_SERVICES", "key": "x"}),
            401,
            "BAD_KEY",
            "",
        ),
        case(
            "wrong key, unknown action",
            json!({"action": "NOPE", "key": "x"}),
            401,
            "BAD_KEY",
            "",
        ),
    ];
    // A wrong Bearer header does not stand in for a key.
    let mut bearer = case("wrong bearer", no_key.clone(), 401, "BAD_KEY", "wrong key");
    bearer.headers = vec![("Authorization", "Bearer not-the-key")];
    cases.push(bearer);
    check(&app, cases).await;

    // The matching Bearer header is accepted in place of the body key.
    let auth = format!("Bearer {API_KEY}");
    for body in [no_key, wrong_key] {
        let reply = json_of(
            app.post_v1_raw(body.to_string().into_bytes(), &[("Authorization", &auth)])
                .await,
        )
        .await;
        success_of(&reply);
    }
    let reply = json_of(
        app.post_v1_raw(
            json!({"action": "GET_SERVICES"}).to_string().into_bytes(),
            &[("Authorization", &auth)],
        )
        .await,
    )
    .await;
    assert_eq!(reply.0, StatusCode::OK);
    assert_eq!(reply.1["status"], "SUCCESS");
}

#[actix_rt::test]
async fn encoding_problems_are_refused() {
    let app = spawn_app().await;
    let mut corrupt = gzip(br#"{"action":"GET_SERVICES","key":"test-partner-key"}"#);
    let len = corrupt.len();
    corrupt[len / 2] ^= 0xff;
    corrupt[len - 6] ^= 0xff;
    let truncated = gzip(br#"{"action":"GET_SERVICES","key":"test-partner-key"}"#);
    let truncated = truncated[..truncated.len() / 2].to_vec();
    let mut with_header = raw("corrupt gzip with header", &corrupt, 400, "BAD_GZIP");
    with_header.headers = vec![("Content-Encoding", "gzip")];
    check(
        &app,
        vec![
            raw("corrupt gzip", &corrupt, 400, "BAD_GZIP"),
            raw("truncated gzip", &truncated, 400, "BAD_GZIP"),
            raw("gzip magic only", &[0x1f, 0x8b], 400, "BAD_GZIP"),
            with_header,
            raw(
                "latin-1 body",
                b"{\"action\":\"GET_SERVICES\",\"key\":\"test-partner-key\",\"x\":\"caf\xe9\"}",
                400,
                "BAD_ENCODING",
            ),
            raw(
                "invalid utf-8 in gzip",
                &gzip(b"{\"key\":\"\xff\xfe\"}"),
                400,
                "BAD_ENCODING",
            ),
        ],
    )
    .await;
}

#[actix_rt::test]
async fn a_gzip_bomb_is_refused_as_too_large() {
    let app = spawn_app().await;
    let limit = app.settings.server.max_decoded_bytes;
    let padding = " ".repeat(16 * 1024 * 1024);
    let body = format!(r#"{{"action":"GET_SERVICES","key":"{API_KEY}","pad":"{padding}"}}"#);
    let bomb = gzip(body.as_bytes());
    assert!(
        bomb.len() < 64 * 1024,
        "the bomb is small: {} bytes",
        bomb.len()
    );
    assert!(bomb.len() < app.settings.server.max_body_bytes);
    let mut plain = raw("gzip bomb", &bomb, 413, "TOO_LARGE");
    plain.mentions = "decoded".into();
    let mut with_header = raw("gzip bomb with header", &bomb, 413, "TOO_LARGE");
    with_header.headers = vec![("Content-Encoding", "gzip")];
    with_header.mentions = "decoded".into();
    check(&app, vec![plain, with_header]).await;

    // A gzip body that decodes to just under the limit is fine.
    let fits = format!(
        r#"{{"action":"GET_SERVICES","key":"{API_KEY}","pad":"{}"}}"#,
        " ".repeat(limit - 200)
    );
    let reply = json_of(app.post_v1_raw(gzip(fits.as_bytes()), &[]).await).await;
    assert_eq!(reply.0, StatusCode::OK, "{}", reply.1);
}

#[actix_rt::test]
async fn an_oversized_body_is_refused_as_too_large() {
    let mut s = settings(default_sims());
    s.server.max_body_bytes = 512;
    let app = spawn_app_with(s).await;
    let padded = |n: usize| {
        format!(
            r#"{{"action":"GET_SERVICES","key":"{API_KEY}","pad":"{}"}}"#,
            "x".repeat(n)
        )
    };
    // The cap applies to the body as sent: a gzip body over it is refused too.
    let noise: Vec<u8> = (0..4000u64)
        .map(|i| (i.wrapping_mul(6_364_136_223_846_793_005) >> 56) as u8)
        .collect();
    let gzip_over = gzip(&noise);
    assert!(gzip_over.len() > 512, "{}", gzip_over.len());
    check(
        &app,
        vec![
            raw("just over", padded(512).as_bytes(), 413, "TOO_LARGE"),
            raw("far over", padded(64 * 1024).as_bytes(), 413, "TOO_LARGE"),
            raw("gzip over", &gzip_over, 413, "TOO_LARGE"),
        ],
    )
    .await;
    let fits = padded(400);
    assert!(fits.len() <= 512);
    let reply = json_of(app.post_v1_raw(fits.into_bytes(), &[]).await).await;
    assert_eq!(reply.0, StatusCode::OK, "{}", reply.1);
}
