//! `/openapi.json`: the document covers exactly the gateway, admin and operations routes, each of
//! them is served, `openapi-spec-validator` accepts it, and schemathesis (a real client generated
//! from the document) finds no answer that breaks it against a running simrelay with SIMs,
//! activations and SMS in it.
//!
//! The Python tools live in a virtualenv: `$SIMRELAY_TEST_VENV`, by default
//! `~/.cache/simrelay-venv` (README's test command creates it when missing).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::api::helpers::{spawn_app, TestApp};
use crate::kit::app::{ADMIN_TOKEN, GATEWAY_TOKEN};

/// Every route the document must describe, as `METHOD path`: the gateway, admin and operations
/// APIs README documents (the platforms' v1 endpoints and the HTML `/status` are not in it).
const ROUTES: &[&str] = &[
    "PUT /gateway/sims",
    "PUT /gateway/banks/{bank}/sims",
    "POST /gateway/banks/{bank}/heartbeat",
    "POST /gateway/sims",
    "DELETE /gateway/sims/{number}",
    "POST /gateway/sms",
    "GET /admin/sims",
    "GET /admin/banks",
    "GET /admin/activations",
    "GET /admin/activations/{id}",
    "POST /admin/activations/{id}/release",
    "GET /admin/sms",
    "POST /admin/sms/{id}/redeliver",
    "POST /admin/sims/{number}/block",
    "POST /admin/sims/{number}/unblock",
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
    "GET /openapi.json",
];

async fn document(app: &TestApp) -> Value {
    let reply = app
        .client
        .get(format!("{}/openapi.json", app.internal_base()))
        .send()
        .await
        .expect("GET /openapi.json");
    assert_eq!(reply.status(), StatusCode::OK);
    assert!(
        reply.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("application/json")),
        "{:?}",
        reply.headers()
    );
    reply.json().await.expect("the document is JSON")
}

/// `METHOD path` of every operation in the document.
fn operations(doc: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            found.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    found
}

#[actix_rt::test]
async fn the_document_describes_every_route_and_each_is_served() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let expected: BTreeSet<String> = ROUTES.iter().map(|r| r.to_string()).collect();
    assert_eq!(operations(&doc), expected);

    // Each operation names the token it needs; the operations paths need none.
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let scheme = op["security"][0].as_object().and_then(|s| s.keys().next());
            let wanted = if path.starts_with("/admin/") {
                Some("admin_token")
            } else if path.starts_with("/gateway/") {
                Some("gateway_token")
            } else {
                None
            };
            assert_eq!(scheme.map(String::as_str), wanted, "{method} {path}");
            assert!(op["responses"]["200"].is_object() || op["responses"]["202"].is_object());
        }
    }
    // Fields always written, `null` or not, are required: dropping one is a breaking change
    // schemathesis catches.
    let required = |schema: &str| -> BTreeSet<String> {
        doc["components"]["schemas"][schema]["required"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(required("SimView").is_superset(
        &["port", "operator", "activation_id"]
            .map(String::from)
            .into()
    ));
    assert!(required("SmsRecord").is_superset(
        &["activation_id", "last_error", "delivered_at"]
            .map(String::from)
            .into()
    ));
    assert!(required("SmsAccepted").contains("activation_id"));
    for scheme in ["admin_token", "gateway_token"] {
        assert_eq!(
            doc["components"]["securitySchemes"][scheme]["scheme"],
            "bearer"
        );
    }

    // Every documented operation reaches a handler: whatever it answers, it is not the
    // "no such endpoint" of unrouted paths.
    for route in ROUTES {
        let (method, path) = route.split_once(' ').expect("METHOD path");
        let path = path
            .replace("{bank}", "bank1")
            .replace("{number}", "79281000001")
            .replace("{id}", "1");
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let reply = app
            .client
            .request(method, format!("{}{path}", app.internal_base()))
            .bearer_auth(if path.starts_with("/admin") {
                ADMIN_TOKEN
            } else {
                GATEWAY_TOKEN
            })
            .send()
            .await
            .expect("request");
        let status = reply.status();
        let body = reply.text().await.unwrap_or_default();
        assert!(
            !body.contains("NOT_FOUND: no such endpoint"),
            "{route}: {status} {body}"
        );
    }
}

/// The virtualenv with schemathesis and openapi-spec-validator.
fn venv_tool(name: &str) -> PathBuf {
    let venv = std::env::var_os("SIMRELAY_TEST_VENV")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/simrelay-venv")))
        .expect("SIMRELAY_TEST_VENV or HOME");
    let tool = venv.join("bin").join(name);
    assert!(
        tool.exists(),
        "{} is missing: README's test command installs schemathesis and openapi-spec-validator \
         into {} (or set SIMRELAY_TEST_VENV)",
        tool.display(),
        venv.display()
    );
    tool
}

/// Runs a command off the actix thread (the server under test keeps serving); answers
/// (success, stdout + stderr).
async fn run(mut command: Command) -> (bool, String) {
    let output = actix_web::rt::task::spawn_blocking(move || command.output())
        .await
        .expect("the command's thread")
        .expect("the command starts");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[actix_rt::test]
async fn openapi_spec_validator_accepts_the_document() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("openapi.json");
    let text = serde_json::to_string(&document(&app).await).expect("JSON");
    std::fs::write(&file, text).expect("write the document");
    let mut command = Command::new(venv_tool("openapi-spec-validator"));
    command.arg(&file);
    let (ok, out) = run(command).await;
    assert!(ok && out.contains("OK"), "{out}");

    // It can fail: a reference to a schema the document does not hold is refused.
    let mut broken = document(&app).await;
    broken["paths"]["/admin/sims"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"]["$ref"] = json!("#/components/schemas/NoSuchSchema");
    std::fs::write(&file, broken.to_string()).expect("write the broken document");
    let mut command = Command::new(venv_tool("openapi-spec-validator"));
    command.arg(&file);
    let (ok, out) = run(command).await;
    assert!(!ok, "{out}");
}

#[actix_rt::test]
async fn schemathesis_finds_no_answer_that_breaks_the_document() {
    let app = spawn_app().await;
    let base = app.internal_base().to_owned();
    // Something to read and act on, with every optional part of the answers filled somewhere:
    // an active activation with an SMS, a finished one, an unmatched SMS, and one part of a long
    // SMS still waiting for the other.
    let (number, first) = app.reserve("russia", "beeline", "vk").await;
    let (_, second) = app.reserve("russia", "megafon", "tg").await;
    app.finish_ok(second, 3).await;
    let mut ids = vec![first, second];
    for sms in [
        json!({"number": number.to_string(), "from": "VK", "text": "Your code 1234", "id": 7}),
        json!({"number": "77011000005", "from": "OK", "text": "nobody's"}),
        json!({"number": number.to_string(), "from": "VK", "text": "first half",
            "ref": "r1", "part": 1, "parts": 2, "received_at": "2024-12-31T23:59:00+03:00"}),
    ] {
        let reply = app
            .client
            .post(format!("{base}/gateway/sms"))
            .bearer_auth(GATEWAY_TOKEN)
            .json(&sms)
            .send()
            .await
            .expect("POST /gateway/sms");
        assert_eq!(reply.status(), StatusCode::ACCEPTED);
        let body: Value = reply.json().await.expect("JSON");
        ids.push(body["sms_id"].as_u64().expect("sms_id"));
    }

    // The tokens by security scheme, and real identifiers to draw path parameters from half
    // of the time (the rest are generated).
    let numbers: Vec<String> = app
        .settings
        .sims
        .iter()
        .map(|s| s.number.to_string())
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("schemathesis.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[auth.openapi.admin_token]
bearer = "{ADMIN_TOKEN}"
[auth.openapi.gateway_token]
bearer = "{GATEWAY_TOKEN}"
[dictionaries.numbers]
values = {numbers:?}
[dictionaries.ids]
values = {ids:?}
[dictionaries.banks]
values = ["default", "bank1"]
[parameters]
"path.number" = {{ dictionary = "numbers", probability = 0.5 }}
"path.id" = {{ dictionary = "ids", probability = 0.5 }}
"path.bank" = {{ dictionary = "banks", probability = 0.5 }}
"#
        ),
    )
    .expect("write the config");

    let mut command = Command::new(venv_tool("schemathesis"));
    command
        .current_dir(dir.path())
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("{base}/openapi.json")])
        // Every check but two that do not fit this API: `unsupported_method` wants 405 where
        // simrelay answers every unknown method and path with its 404 `NOT_FOUND`;
        // `positive_data_acceptance` wants every schema-valid request accepted, but a valid
        // number may have no known country and a valid id may name nothing.
        .args(["--checks", "all"])
        .args([
            "--exclude-checks",
            "unsupported_method,positive_data_acceptance",
        ])
        .args(["--max-examples", "25", "--workers", "2"])
        // The same cases every run: a failure here is the code's, and reproducible.
        .args(["--seed", "20261130"])
        .args(["--request-timeout", "10"])
        .env("NO_COLOR", "1");
    let (ok, out) = run(command).await;
    assert!(ok, "schemathesis found problems:\n{out}");
    // Every selected operation was tested (none skipped for a schema it could not use).
    let count = |label: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|rest| rest.split('/').next())
            .map(|n| n.trim().to_owned())
    };
    let tested = count("Tested:");
    assert!(tested.is_some(), "no summary:\n{out}");
    assert_eq!(
        tested,
        count("Selected:"),
        "not every operation was tested:\n{out}"
    );

    // Still serving afterwards.
    let health = app
        .client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("GET /healthz");
    assert_eq!(health.status(), StatusCode::OK);
}
