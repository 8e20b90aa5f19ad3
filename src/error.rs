//! The one error shape every HTTP edge answers with:
//! `{"status":"ERROR","error":"<STABLE_CODE>: <what>"}` and a fitting HTTP status.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;
use simrelay_actors::EngineError;

/// The content type of every JSON answer.
pub const JSON: &str = "application/json; charset=utf-8";

/// An error answer: a stable machine-readable code, a human message, an HTTP status.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code, e.g. `BAD_FIELD`.
    pub code: &'static str,
    /// What went wrong, for a human.
    pub message: String,
}

impl ApiError {
    /// Any error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 with a code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 400 MISSING_FIELD naming the field.
    pub fn missing(field: &str) -> ApiError {
        ApiError::bad_request("MISSING_FIELD", format!("{field} is required"))
    }

    /// 400 BAD_FIELD naming the field.
    pub fn bad_field(field: &str, why: impl fmt::Display) -> ApiError {
        ApiError::bad_request("BAD_FIELD", format!("{field}: {why}"))
    }

    /// 401 with a code.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 503: the service cannot answer honestly right now.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status)
            .content_type(JSON)
            .body(json!({"status": "ERROR", "error": self.to_string()}).to_string())
    }
}

/// A JSON answer with the charset the platform asks for.
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(JSON)
        .body(body.to_string())
}

/// The answer for paths nobody serves.
pub async fn not_found() -> HttpResponse {
    ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "no such endpoint").error_response()
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        match e {
            EngineError::Store(e) => ApiError::unavailable("STORE_UNAVAILABLE", e.to_string()),
            EngineError::NotReady => ApiError::unavailable("NOT_READY", "state is being recovered"),
            EngineError::UnknownActivation(id) => ApiError::new(
                StatusCode::NOT_FOUND,
                "UNKNOWN_ACTIVATION",
                format!("no activation {id}"),
            ),
            EngineError::UnknownNumber(n) => {
                ApiError::new(StatusCode::NOT_FOUND, "UNKNOWN_SIM", format!("no SIM {n}"))
            }
            EngineError::UnknownSms(id) => {
                ApiError::new(StatusCode::NOT_FOUND, "UNKNOWN_SMS", format!("no SMS {id}"))
            }
            EngineError::NotRedeliverable(why) => {
                ApiError::new(StatusCode::CONFLICT, "NOT_REDELIVERABLE", why)
            }
            EngineError::NotActive(why) => ApiError::new(StatusCode::CONFLICT, "NOT_ACTIVE", why),
            EngineError::Conflict(why) => ApiError::new(StatusCode::CONFLICT, "CONFLICT", why),
            EngineError::TooManyBanks => ApiError::bad_request("TOO_MANY_BANKS", e.to_string()),
            other => ApiError::unavailable("ENGINE_UNAVAILABLE", other.to_string()),
        }
    }
}
