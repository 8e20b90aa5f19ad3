//! `POST /gateway/sms`: an SMS a SIM received (whole, or one part of a long SMS), stored
//! before the answer.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use simrelay_actors::domain::Msisdn;
use simrelay_actors::{IncomingSms, PartOf};

use super::received_at::ReceivedAt;
use super::{answer, authorised_body, bounded};
use crate::error::{ApiError, Code};
use crate::state::AppState;

/// Longest sender (alphanumeric senders are ≤ 11, numbers ≤ 15; room for odd gateways).
const MAX_FROM: usize = 64;
/// Longest text (a long multipart SMS is well under this).
const MAX_TEXT: usize = 10_000;
/// Longest gateway message id (and concatenation reference).
const MAX_ID: usize = 200;
/// Most parts of one long SMS (a 16-part SMS is over 1 000 characters of Cyrillic).
const MAX_PARTS: u64 = 16;

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    number: Option<String>,
    #[serde(default)]
    port: Option<String>,
    from: String,
    text: String,
    #[serde(default)]
    received_at: Option<ReceivedAt>,
    #[serde(default)]
    id: Option<IdValue>,
    /// Concatenation reference of a long SMS's parts.
    #[serde(default, rename = "ref")]
    reference: Option<IdValue>,
    #[serde(default)]
    part: Option<u64>,
    #[serde(default)]
    parts: Option<u64>,
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
                Code::UNKNOWN_PORT,
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
    let gateway_id = body.id.map(|id| id.checked("id")).transpose()?;
    let received_at = body
        .received_at
        .map(|at| {
            at.parse()
                .map_err(|e| ApiError::bad_field("received_at", e))
        })
        .transpose()?;
    let part = part_of(body.reference, body.part, body.parts)?;
    let is_part = part.is_some();
    let receipt = state
        .engine
        .receive_sms(IncomingSms {
            number,
            from: body.from,
            text: body.text,
            received_at,
            gateway_id,
            part,
        })
        .await?;
    let mut reply = json!({
        "sms_id": receipt.sms_id.0,
        "activation_id": receipt.activation_id.map(|a| a.get()),
        "duplicate": receipt.duplicate,
    });
    if is_part {
        // A "long" SMS of one part is whole at once.
        reply["complete"] = json!(receipt.complete.unwrap_or(true));
    }
    Ok(answer(StatusCode::ACCEPTED, reply))
}

impl IdValue {
    /// The id as text: non-empty, bounded.
    fn checked(self, field: &str) -> Result<String, ApiError> {
        let id = match self {
            IdValue::Text(s) => s,
            IdValue::Int(n) => n.to_string(),
        };
        if id.is_empty() {
            return Err(ApiError::bad_field(field, "must not be empty"));
        }
        bounded(field, &id, MAX_ID)?;
        Ok(id)
    }
}

/// `ref`, `part` and `parts` come together or not at all; `part` is 1 to `parts`, `parts` 1 to
/// [`MAX_PARTS`].
fn part_of(
    reference: Option<IdValue>,
    part: Option<u64>,
    parts: Option<u64>,
) -> Result<Option<PartOf>, ApiError> {
    let (reference, part, parts) = match (reference, part, parts) {
        (None, None, None) => return Ok(None),
        (Some(r), Some(p), Some(n)) => (r.checked("ref")?, p, n),
        (r, p, _) => {
            let missing = if r.is_none() {
                "ref"
            } else if p.is_none() {
                "part"
            } else {
                "parts"
            };
            return Err(ApiError::missing(&format!(
                "{missing} (a part of a long SMS has ref, part and parts)"
            )));
        }
    };
    if !(1..=MAX_PARTS).contains(&parts) {
        return Err(ApiError::bad_field(
            "parts",
            format!("must be 1 to {MAX_PARTS}"),
        ));
    }
    if !(1..=parts).contains(&part) {
        return Err(ApiError::bad_field(
            "part",
            format!("must be 1 to parts ({parts})"),
        ));
    }
    // Both fit: parts ≤ MAX_PARTS.
    let small = |n: u64| u8::try_from(n).unwrap_or(u8::MAX);
    Ok(Some(PartOf {
        reference,
        part: small(part),
        parts: small(parts),
    }))
}
