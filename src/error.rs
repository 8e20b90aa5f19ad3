//! The one error shape every HTTP edge answers with:
//! `{"status":"ERROR","error":"<STABLE_CODE>: <what>"}` and a fitting HTTP status.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use simrelay_actors::EngineError;

/// The content type of every JSON answer.
pub const JSON: &str = "application/json; charset=utf-8";

/// A stable, machine-readable error code. Every code an error answer can carry is a constant
/// here, so this list is the contract and a typo cannot compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code(&'static str);

impl Code {
    /// A bank name that is not valid.
    pub const BAD_BANK: Code = Code("BAD_BANK");
    /// The request body could not be read.
    pub const BAD_BODY: Code = Code("BAD_BODY");
    /// The body is not UTF-8.
    pub const BAD_ENCODING: Code = Code("BAD_ENCODING");
    /// A field has a wrong value; the message names it.
    pub const BAD_FIELD: Code = Code("BAD_FIELD");
    /// A gzip body that does not decompress.
    pub const BAD_GZIP: Code = Code("BAD_GZIP");
    /// An id that is not a valid integer.
    pub const BAD_ID: Code = Code("BAD_ID");
    /// The body is not the JSON expected.
    pub const BAD_JSON: Code = Code("BAD_JSON");
    /// The platform's API key is wrong (v1).
    pub const BAD_KEY: Code = Code("BAD_KEY");
    /// A phone number that is not valid.
    pub const BAD_NUMBER: Code = Code("BAD_NUMBER");
    /// A query string that is not valid.
    pub const BAD_QUERY: Code = Code("BAD_QUERY");
    /// A missing or wrong bearer token.
    pub const BAD_TOKEN: Code = Code("BAD_TOKEN");
    /// The request contradicts what simrelay knows; nothing changed.
    pub const CONFLICT: Code = Code("CONFLICT");
    /// The engine could not answer (shutting down or overloaded).
    pub const ENGINE_UNAVAILABLE: Code = Code("ENGINE_UNAVAILABLE");
    /// simrelay could not encode its own answer: a bug, never the request's fault.
    pub const INTERNAL: Code = Code("INTERNAL");
    /// The metrics could not be encoded.
    pub const METRICS: Code = Code("METRICS");
    /// A required field is absent; the message names it.
    pub const MISSING_FIELD: Code = Code("MISSING_FIELD");
    /// The activation is not active.
    pub const NOT_ACTIVE: Code = Code("NOT_ACTIVE");
    /// No such endpoint.
    pub const NOT_FOUND: Code = Code("NOT_FOUND");
    /// This process is a standby: another one holds the lease.
    pub const NOT_LEADER: Code = Code("NOT_LEADER");
    /// State is being recovered.
    pub const NOT_READY: Code = Code("NOT_READY");
    /// The SMS cannot be sent again in its state.
    pub const NOT_REDELIVERABLE: Code = Code("NOT_REDELIVERABLE");
    /// Too much work queued; try again.
    pub const OVERLOADED: Code = Code("OVERLOADED");
    /// The store could not make the change durable; nothing was acknowledged.
    pub const STORE_UNAVAILABLE: Code = Code("STORE_UNAVAILABLE");
    /// The body is larger than allowed.
    pub const TOO_LARGE: Code = Code("TOO_LARGE");
    /// One more SIM bank would exceed the limit.
    pub const TOO_MANY_BANKS: Code = Code("TOO_MANY_BANKS");
    /// A v1 action simrelay does not serve.
    pub const UNKNOWN_ACTION: Code = Code("UNKNOWN_ACTION");
    /// No activation has this id.
    pub const UNKNOWN_ACTIVATION: Code = Code("UNKNOWN_ACTIVATION");
    /// No SIM is in this port.
    pub const UNKNOWN_PORT: Code = Code("UNKNOWN_PORT");
    /// No SIM has this number.
    pub const UNKNOWN_SIM: Code = Code("UNKNOWN_SIM");
    /// No SMS has this id.
    pub const UNKNOWN_SMS: Code = Code("UNKNOWN_SMS");

    /// The code as it appears on the wire and in metrics labels.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// An error answer: a stable machine-readable code, a human message, an HTTP status.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code, e.g. `BAD_FIELD`.
    pub code: Code,
    /// What went wrong, for a human.
    pub message: String,
}

impl ApiError {
    /// Any error.
    pub fn new(status: StatusCode, code: Code, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 with a code.
    pub fn bad_request(code: Code, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 400 MISSING_FIELD naming the field.
    pub fn missing(field: &str) -> ApiError {
        ApiError::bad_request(Code::MISSING_FIELD, format!("{field} is required"))
    }

    /// 400 BAD_FIELD naming the field.
    pub fn bad_field(field: &str, why: impl fmt::Display) -> ApiError {
        ApiError::bad_request(Code::BAD_FIELD, format!("{field}: {why}"))
    }

    /// 401 with a code.
    pub fn unauthorized(code: Code, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 503: the service cannot answer honestly right now.
    pub fn unavailable(code: Code, message: impl Into<String>) -> ApiError {
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
        json_response(self.status, &ErrorReply::new(&self.to_string()))
    }
}

/// The body of every error answer: `{"error":"<CODE>: <what>","status":"ERROR"}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorReply<'a> {
    /// The stable code and what went wrong (or a bare code, e.g. v1's `NO_NUMBERS`).
    #[schema(example = "BAD_FIELD: sims[3].number: \"12\" has 2 digits")]
    pub error: &'a str,
    /// Always `ERROR`.
    #[schema(pattern = "^ERROR$")]
    pub status: &'static str,
}

impl ErrorReply<'_> {
    /// The error answer carrying `error`.
    pub fn new(error: &str) -> ErrorReply<'_> {
        ErrorReply {
            error,
            status: "ERROR",
        }
    }
}

/// A JSON answer with the charset the platform asks for.
pub fn json_response(status: StatusCode, body: &(impl Serialize + ?Sized)) -> HttpResponse {
    match serde_json::to_string(body) {
        Ok(text) => HttpResponse::build(status).content_type(JSON).body(text),
        // Only maps with non-string keys fail to encode, and no answer has one: a bug, said as
        // one, without going through this function again.
        Err(e) => {
            tracing::error!(error = %e, "an answer could not be encoded");
            HttpResponse::InternalServerError()
                .content_type(JSON)
                .body(format!(
                    r#"{{"error":"{}: the answer could not be encoded","status":"ERROR"}}"#,
                    Code::INTERNAL
                ))
        }
    }
}

/// The answer for paths nobody serves.
pub async fn not_found() -> HttpResponse {
    ApiError::new(StatusCode::NOT_FOUND, Code::NOT_FOUND, "no such endpoint").error_response()
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        match e {
            EngineError::Store(e) => ApiError::unavailable(Code::STORE_UNAVAILABLE, e.to_string()),
            EngineError::NotReady => {
                ApiError::unavailable(Code::NOT_READY, "state is being recovered")
            }
            EngineError::UnknownActivation(id) => ApiError::new(
                StatusCode::NOT_FOUND,
                Code::UNKNOWN_ACTIVATION,
                format!("no activation {id}"),
            ),
            EngineError::UnknownNumber(n) => ApiError::new(
                StatusCode::NOT_FOUND,
                Code::UNKNOWN_SIM,
                format!("no SIM {n}"),
            ),
            EngineError::UnknownSms(id) => ApiError::new(
                StatusCode::NOT_FOUND,
                Code::UNKNOWN_SMS,
                format!("no SMS {id}"),
            ),
            EngineError::NotRedeliverable(why) => {
                ApiError::new(StatusCode::CONFLICT, Code::NOT_REDELIVERABLE, why)
            }
            EngineError::NotActive(why) => {
                ApiError::new(StatusCode::CONFLICT, Code::NOT_ACTIVE, why)
            }
            EngineError::Conflict(why) => ApiError::new(StatusCode::CONFLICT, Code::CONFLICT, why),
            EngineError::TooManyBanks => ApiError::bad_request(Code::TOO_MANY_BANKS, e.to_string()),
            other => ApiError::unavailable(Code::ENGINE_UNAVAILABLE, other.to_string()),
        }
    }
}
