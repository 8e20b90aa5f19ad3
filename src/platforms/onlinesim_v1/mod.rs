//! OnlineSIM v1 (`onlinesim.mode = "v1"`): the platform pulls numbers from us, we push it SMS.
//!
//! Inbound, one POST route dispatched on `action`, one file per action (`get_services`,
//! `get_number`, `finish_activation`); the transport is `crate::body` (size limits, gzip by
//! magic bytes, UTF-8), lenient-but-strict field parsing `crate::fields`. Authentication: the
//! body's `key` or an `Authorization: Bearer` header, compared in constant time. Outbound,
//! `push_sms` delivers each SMS to the platform's PUSH_SMS webhook.

mod finish_activation;
mod get_number;
mod get_services;
pub mod push_sms;
mod reply;

use std::time::Instant;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Value};
use tracing::Instrument;

use self::reply::Reply;
use crate::auth::bearer;
use crate::body;
use crate::error::{ApiError, Code};
use crate::state::AppState;

/// The v1 actions simrelay serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    GetServices,
    GetNumber,
    FinishActivation,
}

impl Action {
    fn parse(raw: &str) -> Option<Action> {
        match raw {
            "GET_SERVICES" => Some(Action::GetServices),
            "GET_NUMBER" => Some(Action::GetNumber),
            "FINISH_ACTIVATION" => Some(Action::FinishActivation),
            _ => None,
        }
    }

    fn label(action: Option<Action>) -> &'static str {
        match action {
            Some(Action::GetServices) => "GET_SERVICES",
            Some(Action::GetNumber) => "GET_NUMBER",
            Some(Action::FinishActivation) => "FINISH_ACTIVATION",
            None => "unknown",
        }
    }
}

/// `POST {onlinesim.v1_path}`.
pub async fn endpoint(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let started = Instant::now();
    let span = tracing::info_span!(
        "v1",
        action = tracing::field::Empty,
        activation_id = tracing::field::Empty
    );
    let (action, result) = serve(&req, payload, &state).instrument(span).await;
    let outcome = match &result {
        Ok(reply) => reply.outcome(),
        Err(e) => e.code.as_str(),
    };
    state.metrics.v1_request(Action::label(action), outcome);
    if action == Some(Action::GetNumber) {
        state
            .metrics
            .get_number_took(started.elapsed().as_secs_f64());
    }
    match result {
        Ok(reply) => reply.render(state.settings.onlinesim.no_numbers_reply),
        Err(e) => reply::refused(&e),
    }
}

async fn serve(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> (Option<Action>, Result<Reply, ApiError>) {
    let limits = &state.settings.server;
    let parsed = async {
        let bytes = body::read(payload, limits.max_body_bytes, limits.max_decoded_bytes).await?;
        let object = body::json_object(&bytes)?;
        authenticate(req, &object, state)?;
        state.require_leader()?;
        let action = match object.get("action") {
            None | Some(Value::Null) => return Err(ApiError::missing("action")),
            Some(Value::String(s)) => Action::parse(s).ok_or_else(|| {
                ApiError::bad_request(
                    Code::UNKNOWN_ACTION,
                    format!("action {s:?} is not served here"),
                )
            })?,
            Some(_) => return Err(ApiError::bad_field("action", "must be a string")),
        };
        Ok((action, object))
    }
    .await;
    let (action, object) = match parsed {
        Ok(p) => p,
        Err(e) => return (None, Err(e)),
    };
    tracing::Span::current().record("action", Action::label(Some(action)));
    let result = match action {
        Action::GetServices => get_services::handle(state).map(Reply::Services),
        Action::GetNumber => get_number::handle(object, state)
            .await
            .map(|reserved| reserved.map_or(Reply::NoNumbers, Reply::Number)),
        Action::FinishActivation => finish_activation::handle(object, state)
            .await
            .map(Reply::Finished),
    };
    (Some(action), result)
}

fn authenticate(
    req: &HttpRequest,
    object: &Map<String, Value>,
    state: &AppState,
) -> Result<(), ApiError> {
    let secret = &state.settings.onlinesim.api_key;
    let body_key = object.get("key").and_then(Value::as_str);
    if body_key.is_some_and(|k| secret.matches(k)) || bearer(req).is_some_and(|k| secret.matches(k))
    {
        return Ok(());
    }
    let why = if body_key.is_none() && bearer(req).is_none() {
        "missing key"
    } else {
        "wrong key"
    };
    Err(ApiError::unauthorized(Code::BAD_KEY, why))
}
