//! `POST /gateway/sms`: an SMS a SIM received (whole, or one part of a long SMS), stored
//! before the answer.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use simrelay_actors::domain::Msisdn;
use simrelay_actors::{IncomingSms, PartOf};
use utoipa::ToSchema;

use super::received_at::ReceivedAt;
use super::{authorised_body, bounded};
use crate::error::{json_response, ApiError, Code, ErrorReply};
use crate::openapi::GatewayErrors;
use crate::state::AppState;

/// Longest sender (alphanumeric senders are ≤ 11, numbers ≤ 15; room for odd gateways).
const MAX_FROM: usize = 64;
/// Longest text (a long multipart SMS is well under this).
const MAX_TEXT: usize = 10_000;
/// Longest gateway message id (and concatenation reference).
const MAX_ID: usize = 200;
/// Most parts of one long SMS (a 16-part SMS is over 1 000 characters of Cyrillic).
const MAX_PARTS: u64 = 16;

/// An SMS a SIM received, whole or one part of a long SMS. `number` or `port` names the SIM.
#[derive(Deserialize, ToSchema)]
#[schema(as = SmsIn)]
pub(crate) struct Body {
    /// The receiving SIM's international number.
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::NumberText>)]
    number: Option<String>,
    /// The port of the receiving SIM, when the bank does not know its number.
    #[serde(default)]
    port: Option<String>,
    /// Sender name or number.
    #[schema(min_length = 1, max_length = 64)]
    from: String,
    /// The text (of this part).
    #[schema(max_length = 10000)]
    text: String,
    /// When the SIM received it; now when absent (and when in the future).
    #[serde(default)]
    received_at: Option<ReceivedAt>,
    /// The gateway's message id: a repeat with the same id is answered, not stored twice.
    #[serde(default)]
    id: Option<IdValue>,
    /// Concatenation reference of a long SMS's parts.
    #[serde(default, rename = "ref")]
    reference: Option<IdValue>,
    /// This part's place, 1 to `parts`.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 16)]
    part: Option<u64>,
    /// How many parts the long SMS has.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 16)]
    parts: Option<u64>,
}

/// `POST /gateway/sms`: stored before this answer.
#[derive(Serialize, ToSchema)]
pub(crate) struct SmsAccepted {
    /// simrelay's id of the SMS (of the long SMS, for a part).
    sms_id: u64,
    /// The activation it belongs to; `null`: none (kept as `unmatched`).
    #[schema(required = true)]
    activation_id: Option<u64>,
    /// The same gateway id was received before: nothing new was stored.
    duplicate: bool,
    /// Only for a part: whether all parts are here (the joined SMS is forwarded).
    #[serde(skip_serializing_if = "Option::is_none")]
    complete: Option<bool>,
}

/// A gateway id or concatenation reference: a string or an integer.
#[derive(Deserialize, ToSchema)]
#[serde(untagged, expecting = "a string or an integer")]
enum IdValue {
    Text(String),
    Int(u64),
}

/// An SMS a SIM received, stored before the answer; one for a number in an active activation is
/// forwarded to the platform until it confirms.
#[utoipa::path(post, path = "/gateway/sms", tag = "gateway", security(("gateway_token" = [])),
    request_body = Body,
    responses((status = 202, body = SmsAccepted),
        (status = 404, description = "`UNKNOWN_PORT`: no SIM online in `port`", body = ErrorReply),
        GatewayErrors))]
pub(crate) async fn receive(
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
    let reply = SmsAccepted {
        sms_id: receipt.sms_id.0,
        activation_id: receipt.activation_id.map(|a| a.get()),
        duplicate: receipt.duplicate,
        // A "long" SMS of one part is whole at once.
        complete: is_part.then(|| receipt.complete.unwrap_or(true)),
    };
    Ok(json_response(StatusCode::ACCEPTED, &reply))
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
