//! The admin API: SIMs, banks, activations and SMS, and the operator's actions on them,
//! behind `admin.token`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use simrelay_actors::domain::{ActivationId, ActivationState, Msisdn, SmsId, SmsState};

use crate::auth::require_bearer;
use crate::error::{json_response, ApiError, Code};
use crate::state::AppState;

/// Most rows one listing returns.
const MAX_LIMIT: usize = 10_000;
/// Rows a listing returns when `limit` is not given.
const DEFAULT_LIMIT: usize = 100;

/// Mounts `/admin/...`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .route("/sims", web::get().to(sims))
            .route("/banks", web::get().to(banks))
            .route("/activations", web::get().to(activations))
            .route("/activations/{id}", web::get().to(activation))
            .route("/activations/{id}/release", web::post().to(release))
            .route("/sms", web::get().to(sms))
            .route("/sms/{id}/redeliver", web::post().to(redeliver))
            .route("/sims/{number}/block", web::post().to(block))
            .route("/sims/{number}/unblock", web::post().to(unblock)),
    );
}

/// The `limit` query parameter: at least 1, [`DEFAULT_LIMIT`] when absent; above
/// [`MAX_LIMIT`] it is answered with the maximum (a client asking for "everything" gets as much
/// as one page holds, not an error).
fn limit(raw: Option<&str>) -> Result<usize, ApiError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_LIMIT);
    };
    let digits = !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit());
    if !digits || raw.bytes().all(|b| b == b'0') {
        return Err(ApiError::bad_request(
            Code::BAD_QUERY,
            format!("limit must be a whole number from 1 (at most {MAX_LIMIT} rows are answered)"),
        ));
    }
    // Too many digits for any integer type is still just "more than the maximum".
    Ok(raw.parse::<usize>().unwrap_or(MAX_LIMIT).min(MAX_LIMIT))
}

fn authorise(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    require_bearer(req, &state.settings.admin.token)?;
    // A standby holds no state worth reading; the holder of the lease answers.
    state.require_leader()
}

async fn sims(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorise(&req, &state)?;
    let sims = state.engine.sims().await?;
    Ok(json_response(StatusCode::OK, &json!({ "sims": sims })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    state: Option<String>,
    limit: Option<String>,
}

/// `GET /admin/banks`: every bank with its SIMs, when it last reported, whether it is live.
async fn banks(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorise(&req, &state)?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "banks": state.engine.banks() }),
    ))
}

/// Which activations `GET /admin/activations` lists.
enum Listing {
    All,
    In(ActivationState),
    /// Active and past `expires_at`: the platform has not finished them.
    Overdue,
}

async fn activations(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorise(&req, &state)?;
    let query = web::Query::<ListQuery>::from_query(req.query_string())
        .map_err(|e| ApiError::bad_request(Code::BAD_QUERY, e.to_string()))?;
    let wanted = match query.state.as_deref() {
        None => Listing::All,
        Some("active") => Listing::In(ActivationState::Active),
        Some("finished") => Listing::In(ActivationState::Finished),
        Some("expired") => Listing::In(ActivationState::Expired),
        Some("overdue") => Listing::Overdue,
        Some(other) => {
            return Err(ApiError::bad_request(
                Code::BAD_QUERY,
                format!("state {other:?} is not one of active, finished, expired, overdue"),
            ))
        }
    };
    let limit = limit(query.limit.as_deref())?;
    let list = match wanted {
        Listing::All => state.engine.activations(None, limit),
        Listing::In(wanted) => state.engine.activations(Some(wanted), limit),
        Listing::Overdue => state.engine.overdue_activations(limit),
    };
    Ok(json_response(
        StatusCode::OK,
        &json!({ "activations": list }),
    ))
}

/// An activation id from the path: 400 `BAD_ID` unless an integer ≥ 1.
pub(crate) fn activation_id(raw: &str) -> Result<ActivationId, ApiError> {
    raw.parse::<u64>()
        .ok()
        .and_then(|n| ActivationId::new(n).ok())
        .ok_or_else(|| ApiError::bad_request(Code::BAD_ID, "activation ids are integers ≥ 1"))
}

async fn activation(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorise(&req, &state)?;
    let id = activation_id(&path)?;
    // In memory, or (closed long ago) in the store's archive; an archived activation's SMS
    // are archived with it and not listed.
    let in_memory = state.engine.activation(id).is_some();
    let record = state.engine.find_activation(id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            Code::UNKNOWN_ACTIVATION,
            format!("no activation {id}"),
        )
    })?;
    let sms = state.engine.sms_of(id);
    Ok(json_response(
        StatusCode::OK,
        &json!({ "activation": record, "sms": sms, "archived": !in_memory }),
    ))
}

/// `POST /admin/activations/{id}/release`: the operator frees the number of an active
/// activation (typically an overdue one the platform never finished; one not yet overdue may be
/// released too). It becomes `expired`; a later FINISH still answers SUCCESS and applies its
/// effect. Not active (finished, expired, released before): 409 `NOT_ACTIVE`, nothing changes.
async fn release(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorise(&req, &state)?;
    let id = activation_id(&path)?;
    let record = state.engine.release(id).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "activation": record }),
    ))
}

async fn block(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    set_blocked(req, path, state, true).await
}

async fn unblock(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    set_blocked(req, path, state, false).await
}

/// A blocked SIM is never issued; its current activation, if any, runs to its end.
async fn set_blocked(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
    blocked: bool,
) -> Result<HttpResponse, ApiError> {
    authorise(&req, &state)?;
    let number = Msisdn::parse(&path).map_err(|e| ApiError::bad_request(Code::BAD_NUMBER, e.0))?;
    state.engine.set_blocked(number, blocked).await?;
    let sim = state.engine.sim(number).await?;
    Ok(json_response(StatusCode::OK, &json!({ "sim": sim })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SmsQuery {
    state: Option<String>,
    limit: Option<String>,
}

/// `GET /admin/sms?state=pending|delivered|failed|held|unmatched&limit=N`: newest first.
async fn sms(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    authorise(&req, &state)?;
    let query = web::Query::<SmsQuery>::from_query(req.query_string())
        .map_err(|e| ApiError::bad_request(Code::BAD_QUERY, e.to_string()))?;
    let wanted = match query.state.as_deref() {
        None => None,
        Some("pending") => Some(SmsState::Pending),
        Some("delivered") => Some(SmsState::Delivered),
        Some("failed") => Some(SmsState::Failed),
        Some("held") => Some(SmsState::Held),
        Some("unmatched") => Some(SmsState::Unmatched),
        Some("assembling") => Some(SmsState::Assembling),
        Some(other) => {
            return Err(ApiError::bad_request(
                Code::BAD_QUERY,
                format!(
                    "state {other:?} is not one of pending, delivered, failed, held, unmatched, assembling"
                ),
            ))
        }
    };
    let limit = limit(query.limit.as_deref())?;
    let list = state.engine.sms(wanted, limit);
    Ok(json_response(StatusCode::OK, &json!({ "sms": list })))
}

/// `POST /admin/sms/{id}/redeliver`: a failed or held SMS goes back to the outbox.
async fn redeliver(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorise(&req, &state)?;
    let id = path
        .parse::<u64>()
        .map(SmsId)
        .map_err(|_| ApiError::bad_request(Code::BAD_ID, "SMS ids are integers"))?;
    let record = state.engine.redeliver(id).await?;
    Ok(json_response(StatusCode::OK, &json!({ "sms": record })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_above_the_maximum_answer_the_maximum() {
        assert_eq!(limit(None).ok(), Some(DEFAULT_LIMIT));
        assert_eq!(limit(Some("7")).ok(), Some(7));
        assert_eq!(limit(Some("10000")).ok(), Some(MAX_LIMIT));
        assert_eq!(limit(Some("10001")).ok(), Some(MAX_LIMIT));
        assert_eq!(limit(Some("99999999999999999999999")).ok(), Some(MAX_LIMIT));
        for bad in ["0", "000", "", "-1", "1.5", "ten", " 5"] {
            assert!(limit(Some(bad)).is_err(), "{bad:?}");
        }
    }
}
