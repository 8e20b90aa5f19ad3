//! Reading a request body (v1 endpoint, gateway): a size cap on the wire, gzip recognised by its magic bytes (with
//! or without `Content-Encoding`), a cap on the decoded size enforced while decoding (so a gzip
//! bomb costs at most that much memory), then UTF-8 and JSON.

use std::io::Read;

use actix_web::http::StatusCode;
use actix_web::web;
use futures::StreamExt;
use serde_json::{Map, Value};

use crate::error::{ApiError, Code};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

fn too_large(what: &str, limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        Code::TOO_LARGE,
        format!("{what} exceeds {limit} bytes"),
    )
}

/// Reads the whole body, decoding gzip; never holds more than the configured caps.
pub async fn read(
    mut payload: web::Payload,
    max_body: usize,
    max_decoded: usize,
) -> Result<Vec<u8>, ApiError> {
    let mut raw = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(Code::BAD_BODY, e.to_string()))?;
        if raw.len() + chunk.len() > max_body {
            return Err(too_large("request body", max_body));
        }
        raw.extend_from_slice(&chunk);
    }
    if raw.starts_with(&GZIP_MAGIC) {
        gunzip(&raw, max_decoded)
    } else if raw.len() > max_decoded {
        Err(too_large("request body", max_decoded))
    } else {
        Ok(raw.to_vec())
    }
}

/// Decodes gzip (several members allowed) up to `cap` bytes.
pub fn gunzip(data: &[u8], cap: usize) -> Result<Vec<u8>, ApiError> {
    let mut decoded = Vec::new();
    flate2::read::MultiGzDecoder::new(data)
        .take(cap as u64 + 1)
        .read_to_end(&mut decoded)
        .map_err(|e| ApiError::bad_request(Code::BAD_GZIP, format!("corrupt gzip body: {e}")))?;
    if decoded.len() > cap {
        return Err(too_large("decoded request body", cap));
    }
    Ok(decoded)
}

/// Parses the body as a UTF-8 JSON object.
pub fn json_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ApiError::bad_request(Code::BAD_ENCODING, format!("body is not UTF-8: {e}"))
    })?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ApiError::bad_request(
            Code::BAD_JSON,
            "body must be a JSON object",
        )),
        Err(e) => Err(ApiError::bad_request(
            Code::BAD_JSON,
            format!("malformed JSON: {e}"),
        )),
    }
}
