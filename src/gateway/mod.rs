//! The SIM-bank side: which SIMs sit in ports (per bank), whether each bank is alive, and
//! every SMS they receive. `Authorization: Bearer {gateway.token}`.

mod received_at;
pub(crate) mod sims;
pub(crate) mod sms;

use actix_web::{web, HttpRequest};
use serde::de::DeserializeOwned;

use crate::auth::require_bearer;
use crate::body;
use crate::error::ApiError;
use crate::fields;
use crate::state::AppState;

/// Mounts `/gateway/...`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/gateway")
            .route("/sims", web::put().to(sims::replace_default))
            .route("/banks/{bank}/sims", web::put().to(sims::replace))
            .route("/banks/{bank}/heartbeat", web::post().to(sims::heartbeat))
            .route("/sims", web::post().to(sims::upsert))
            .route("/sims/{number}", web::delete().to(sims::remove))
            .route("/sms", web::post().to(sms::receive)),
    );
}

/// Checks the token, then reads and parses the body (size limits, gzip, UTF-8, JSON object,
/// required fields named, types checked).
async fn authorised_body<T: DeserializeOwned>(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    required: &[&str],
) -> Result<T, ApiError> {
    let bytes = authorised_bytes(req, payload, state).await?;
    typed(&bytes, required)
}

/// Checks the token, then reads the body (size limits, gzip).
async fn authorised_bytes(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<Vec<u8>, ApiError> {
    authorised(req, state)?;
    // A bank's SIM list can be large (100 000 SIMs is about 7 MiB): the gateway has its own
    // cap, separate from the platform listener's.
    let limit = state.settings.gateway.max_body_bytes;
    body::read(payload, limit, limit).await
}

/// The gateway token, and this process holding the lease: every gateway request starts here.
fn authorised(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    require_bearer(req, &state.settings.gateway.token)?;
    state.require_leader()
}

/// Parses a body: UTF-8, JSON object, required fields named, types checked.
fn typed<T: DeserializeOwned>(bytes: &[u8], required: &[&str]) -> Result<T, ApiError> {
    // Straight into the typed body (one pass: a 100 000-SIM list is megabytes); when that
    // fails, the careful path finds the error to report (UTF-8, JSON, the field by name).
    if let Ok(typed) = serde_json::from_slice::<T>(bytes) {
        return Ok(typed);
    }
    let object = body::json_object(bytes)?;
    fields::parse(object, required)
}

/// A string field that must not be longer than `max` characters.
fn bounded(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.chars().count() > max {
        return Err(ApiError::bad_field(
            field,
            format!("longer than {max} characters"),
        ));
    }
    Ok(())
}
