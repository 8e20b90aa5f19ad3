//! What the in-process suites share to talk HTTP to the app: reading JSON answers, asserting
//! the error shape, gzip, and reading the v1 stock and times.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::Value;

/// The content type every JSON answer carries.
pub const JSON_UTF8: &str = "application/json; charset=utf-8";

/// Reads a response as (status, JSON), asserting the content type.
pub async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("<not text>").to_owned());
    let text = response.text().await.expect("response body");
    assert_eq!(
        content_type.as_deref(),
        Some(JSON_UTF8),
        "content type of {status} {text}"
    );
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("answer is not JSON ({e}): {status} {text:?}"));
    (status, value)
}

/// Asserts `{"status":"ERROR","error":"<code>: ..."}` with this HTTP status, and that the
/// message mentions `mentions`.
#[track_caller]
pub fn assert_error(got: &(StatusCode, Value), status: u16, code: &str, mentions: &str) {
    let (got_status, body) = got;
    assert_eq!(got_status.as_u16(), status, "HTTP status of {body}");
    let object = body.as_object().expect("error body is an object");
    assert_eq!(
        object.len(),
        2,
        "error body has status and error only: {body}"
    );
    assert_eq!(body["status"], "ERROR", "{body}");
    let error = body["error"].as_str().expect("error is a string");
    assert!(
        error.starts_with(&format!("{code}: ")),
        "error {error:?} should start with {code:?}"
    );
    assert!(
        error[code.len() + 2..].contains(mentions),
        "error {error:?} should mention {mentions:?}"
    );
}

/// Gzip-compresses bytes.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// Decodes gzip bytes.
pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("the answer is valid gzip");
    out
}

/// An RFC 3339 time from an admin answer.
pub fn time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(
        value
            .as_str()
            .unwrap_or_else(|| panic!("not a time: {value}")),
    )
    .unwrap_or_else(|e| panic!("{value}: {e}"))
    .with_timezone(&Utc)
}

/// The count GET_SERVICES reports for (country, operator, service); `None` when absent.
pub fn count(services: &Value, country: &str, operator: &str, service: &str) -> Option<u64> {
    services["countryList"]
        .as_array()?
        .iter()
        .find(|c| c["country"] == country)?["operatorMap"][operator][service]
        .as_u64()
}
