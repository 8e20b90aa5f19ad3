//! `POST /gateway/sms`: an SMS a SIM received, stored before the answer.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use simrelay_actors::domain::Msisdn;
use simrelay_actors::IncomingSms;

use super::{answer, authorised_body, bounded};
use crate::error::ApiError;
use crate::state::AppState;

/// Longest sender (alphanumeric senders are ≤ 11, numbers ≤ 15; room for odd gateways).
const MAX_FROM: usize = 64;
/// Longest text (a long multipart SMS is well under this).
const MAX_TEXT: usize = 10_000;
/// Longest gateway message id.
const MAX_ID: usize = 200;

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    number: Option<String>,
    #[serde(default)]
    port: Option<String>,
    from: String,
    text: String,
    #[serde(default)]
    received_at: Option<DateTime<Utc>>,
    #[serde(default)]
    id: Option<IdValue>,
}

/// Gateways send ids as strings or integers.
#[derive(Deserialize)]
#[serde(untagged, expecting = "a string or an integer")]
enum IdValue {
    Text(String),
    Int(u64),
}

pub(super) async fn receive(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body: Body = authorised_body(&req, payload, &state, &["from", "text"]).await?;
    let number = match (&body.number, &body.port) {
        (Some(n), _) => Msisdn::parse(n).map_err(|e| ApiError::bad_field("number", e))?,
        (None, Some(port)) => state.engine.number_at(port).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "UNKNOWN_PORT",
                format!("no SIM online in port {port:?}"),
            )
        })?,
        (None, None) => return Err(ApiError::missing("number (or port)")),
    };
    if body.from.trim().is_empty() {
        return Err(ApiError::bad_field("from", "must not be empty"));
    }
    bounded("from", &body.from, MAX_FROM)?;
    bounded("text", &body.text, MAX_TEXT)?;
    let gateway_id = body.id.map(|id| match id {
        IdValue::Text(s) => s,
        IdValue::Int(n) => n.to_string(),
    });
    if let Some(id) = &gateway_id {
        if id.is_empty() {
            return Err(ApiError::bad_field("id", "must not be empty"));
        }
        bounded("id", id, MAX_ID)?;
    }
    let receipt = state
        .engine
        .receive_sms(IncomingSms {
            number,
            from: body.from,
            text: body.text,
            received_at: body.received_at,
            gateway_id,
        })
        .await?;
    Ok(answer(
        StatusCode::ACCEPTED,
        json!({
            "sms_id": receipt.sms_id.0,
            "activation_id": receipt.activation_id.map(|a| a.get()),
            "duplicate": receipt.duplicate,
        }),
    ))
}
