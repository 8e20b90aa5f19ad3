//! Bearer tokens, compared in constant time.

use actix_web::HttpRequest;

use crate::config::Secret;
use crate::error::{ApiError, Code};

/// The token of an `Authorization: Bearer …` header, if any.
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(actix_web::http::header::AUTHORIZATION)?;
    let value = value.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Lets the request through only with the right Bearer token; 401 otherwise.
pub fn require_bearer(req: &HttpRequest, secret: &Secret) -> Result<(), ApiError> {
    match bearer(req) {
        Some(token) if secret.matches(token) => Ok(()),
        Some(_) => Err(ApiError::unauthorized(
            Code::BAD_TOKEN,
            "wrong bearer token",
        )),
        None => Err(ApiError::unauthorized(
            Code::BAD_TOKEN,
            "missing Authorization: Bearer token",
        )),
    }
}
