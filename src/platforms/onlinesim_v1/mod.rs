//! OnlineSIM v1 (`onlinesim.mode = "v1"`, protocol `onlinesim-v1`): the platform pulls numbers
//! from us, we push it SMS. SMSHub's agent protocol has the same shape: this endpoint and the
//! PUSH_SMS client serve every platform that calls us, each under its protocol's [`PullRules`].
//!
//! Inbound, one POST route per platform (its `path`) dispatched on `action`, one file per action (`get_services`,
//! `get_number`, `finish_activation`); the transport is `crate::body` (size limits, gzip by
//! magic bytes, UTF-8), lenient-but-strict field parsing `crate::fields`. Authentication: the
//! body's `key` or an `Authorization: Bearer` header, compared in constant time with the key of
//! the platform whose path was called (one platform's key opens no other's path). Outbound,
//! `push_sms` delivers each SMS to its platform's PUSH_SMS webhook.

mod finish_activation;
mod get_number;
mod get_services;
pub mod push_sms;
mod reply;

use std::time::{Duration, Instant};

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{Map, Value};
use tracing::Instrument;

use simrelay_actors::domain::FinishRules;

use self::reply::Reply;
use super::{AnyOperator, PullRules};
use crate::auth::bearer;
use crate::body;
use crate::config::Platform;
use crate::error::{ApiError, Code};
use crate::state::AppState;

/// OnlineSIM v1's rules (protocol §2): FINISH 1, 4 and 5 return the number, only 3 uses it;
/// GET_SERVICES always reports `any`; the engine's own GET_NUMBER deadline (well within 10 s);
/// NO_NUMBERS, `smsId` and `phone` as configured; NO_OPERATION and its kin stop a PUSH_SMS.
pub const RULES: PullRules = PullRules {
    finish: FinishRules::OnlineSim,
    any: AnyOperator::Always,
    deadline: None,
    no_numbers: None,
    sms_id: None,
    phone: None,
    terminal: &push_sms::TERMINAL,
    any_2xx: false,
    rent: true,
};

/// A platform that calls us, with its protocol's rules: the data of its route.
pub struct PullPlatform {
    /// The platform as configured.
    pub platform: Platform,
    /// Its protocol's rules.
    pub rules: &'static PullRules,
}

impl PullPlatform {
    /// The GET_NUMBER deadline inside the engine for this platform.
    fn deadline(&self, state: &AppState) -> Duration {
        self.rules
            .deadline_within(state.settings.engine.get_number_deadline)
    }
}

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

/// `POST {path}` of a platform that calls us.
pub async fn endpoint(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    platform: web::Data<PullPlatform>,
) -> HttpResponse {
    let started = Instant::now();
    let name = platform.platform.name.as_str();
    let span = tracing::info_span!(
        "v1",
        platform = name,
        action = tracing::field::Empty,
        activation_id = tracing::field::Empty
    );
    let (action, result) = serve(&req, payload, &state, &platform)
        .instrument(span)
        .await;
    let outcome = match &result {
        Ok(reply) => reply.outcome(),
        Err(e) => e.code.as_str(),
    };
    state
        .metrics
        .v1_request(name, Action::label(action), outcome);
    if action == Some(Action::GetNumber) {
        state
            .metrics
            .get_number_took(name, started.elapsed().as_secs_f64());
    }
    match result {
        Ok(reply) => reply.render(platform.rules.no_numbers_reply(&state.settings)),
        Err(e) => reply::refused(&e),
    }
}

async fn serve(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    platform: &PullPlatform,
) -> (Option<Action>, Result<Reply, ApiError>) {
    let limits = &state.settings.server;
    let parsed = async {
        let bytes = body::read(payload, limits.max_body_bytes, limits.max_decoded_bytes).await?;
        let object = body::json_object(&bytes)?;
        authenticate(req, &object, platform)?;
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
        Action::GetServices => get_services::handle(state, platform).map(Reply::Services),
        Action::GetNumber => get_number::handle(object, state, platform)
            .await
            .map(|reserved| reserved.map_or(Reply::NoNumbers, Reply::Number)),
        Action::FinishActivation => finish_activation::handle(object, state, platform)
            .await
            .map(Reply::Finished),
    };
    (Some(action), result)
}

fn authenticate(
    req: &HttpRequest,
    object: &Map<String, Value>,
    platform: &PullPlatform,
) -> Result<(), ApiError> {
    let secret = &platform.platform.key;
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::platforms::smshub;

    /// The deadline inside the engine: SMSHub's own 2 s (3 s end to end with the edge's
    /// margin) unless the engine's is shorter; OnlineSIM's is the engine's.
    #[test]
    fn smshub_answers_within_its_own_deadline() {
        let within = |rules: &PullRules, engine: Duration| rules.deadline_within(engine);
        assert_eq!(
            within(&smshub::RULES, Duration::from_secs(3)),
            Duration::from_secs(2)
        );
        assert_eq!(
            within(&smshub::RULES, Duration::from_secs(1)),
            Duration::from_secs(1)
        );
        assert_eq!(
            within(&RULES, Duration::from_secs(3)),
            Duration::from_secs(3)
        );
        assert!(
            smshub::RULES.deadline.unwrap_or_default() + get_number::EDGE_MARGIN
                <= Duration::from_secs(3)
        );
    }
}
