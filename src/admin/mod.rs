//! The admin API: SIMs, banks, activations and SMS, and the operator's actions on them,
//! behind `admin.token`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use simrelay_actors::domain::{
    ActivationId, ActivationRecord, ActivationState, Msisdn, SmsId, SmsRecord, SmsState,
};
use simrelay_actors::{BankView, SimView};
use utoipa::{IntoParams, ToSchema};

use crate::auth::require_bearer;
use crate::error::{json_response, ApiError, Code, ErrorReply};
use crate::openapi::AdminErrors;
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

/// `limit` in the OpenAPI document: any whole number from 1, however large (not an `int64`).
fn limit_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::Integer)
        .minimum(Some(1))
        .build()
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

/// `GET /admin/sims`.
#[derive(Serialize, ToSchema)]
pub(crate) struct SimsReply {
    /// Every SIM simrelay knows, in ports or not.
    sims: Vec<SimView>,
}

/// `GET /admin/banks`.
#[derive(Serialize, ToSchema)]
pub(crate) struct BanksReply {
    /// Every bank.
    banks: Vec<BankView>,
}

/// `GET /admin/activations`.
#[derive(Serialize, ToSchema)]
pub(crate) struct ActivationsReply {
    /// Newest first.
    activations: Vec<ActivationRecord>,
}

/// `GET /admin/activations/{id}`.
#[derive(Serialize, ToSchema)]
pub(crate) struct ActivationReply {
    /// The activation.
    activation: ActivationRecord,
    /// Its SMS (none listed once archived).
    sms: Vec<SmsRecord>,
    /// Closed long ago: read from the store's archive.
    archived: bool,
}

/// `POST /admin/activations/{id}/release`.
#[derive(Serialize, ToSchema)]
pub(crate) struct ReleasedReply {
    /// The activation, now `expired`.
    activation: ActivationRecord,
}

/// `POST /admin/sims/{number}/block` and `/unblock`.
#[derive(Serialize, ToSchema)]
pub(crate) struct SimReply {
    /// The SIM as it is now.
    pub(crate) sim: SimView,
}

/// `GET /admin/sms`.
#[derive(Serialize, ToSchema)]
pub(crate) struct SmsListReply {
    /// Newest first.
    sms: Vec<SmsRecord>,
}

/// `POST /admin/sms/{id}/redeliver`.
#[derive(Serialize, ToSchema)]
pub(crate) struct RedeliveredReply {
    /// The SMS, back in the outbox.
    sms: SmsRecord,
}

fn authorise(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    require_bearer(req, &state.settings.admin.token)?;
    // A standby holds no state worth reading; the holder of the lease answers.
    state.require_leader()
}

/// Every SIM: number, port, bank, country, operator, online, state, activation, services used.
#[utoipa::path(get, path = "/admin/sims", tag = "admin", security(("admin_token" = [])),
    responses((status = 200, body = SimsReply), AdminErrors))]
pub(crate) async fn sims(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorise(&req, &state)?;
    let sims = state.engine.sims().await?;
    Ok(json_response(StatusCode::OK, &SimsReply { sims }))
}

/// Which activations `GET /admin/activations` lists.
#[derive(Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Listing {
    /// Reserved, not finished.
    Active,
    /// Closed by FINISH_ACTIVATION.
    Finished,
    /// Freed by the safety net or released by the operator.
    Expired,
    /// Active and past `expires_at`: the platform has not finished them.
    Overdue,
}

impl Listing {
    /// The one state it lists; `None` for overdue (active ones past their expiry).
    fn state(self) -> Option<ActivationState> {
        match self {
            Listing::Active => Some(ActivationState::Active),
            Listing::Finished => Some(ActivationState::Finished),
            Listing::Expired => Some(ActivationState::Expired),
            Listing::Overdue => None,
        }
    }
}

/// The query of `GET /admin/activations`.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ActivationsQuery {
    /// Only activations in this state (all when absent).
    #[param(value_type = Option<Listing>)]
    state: Option<String>,
    /// Most rows to answer (100 when absent); above 10 000, 10 000 are answered.
    #[param(schema_with = limit_schema)]
    limit: Option<String>,
}

/// The query of `GET /admin/sms`.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct SmsQuery {
    /// Only SMS in this delivery state (all when absent).
    #[param(value_type = Option<SmsState>)]
    state: Option<String>,
    /// Most rows to answer (100 when absent); above 10 000, 10 000 are answered.
    #[param(schema_with = limit_schema)]
    limit: Option<String>,
}

/// Every bank: its SIMs, SIMs online, when it last reported, whether it is live.
#[utoipa::path(get, path = "/admin/banks", tag = "admin", security(("admin_token" = [])),
    responses((status = 200, body = BanksReply), AdminErrors))]
pub(crate) async fn banks(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorise(&req, &state)?;
    let banks = state.engine.banks();
    Ok(json_response(StatusCode::OK, &BanksReply { banks }))
}

/// Activations, newest first.
#[utoipa::path(get, path = "/admin/activations", tag = "admin", security(("admin_token" = [])),
    params(ActivationsQuery),
    responses((status = 200, body = ActivationsReply), AdminErrors))]
pub(crate) async fn activations(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorise(&req, &state)?;
    let query = web::Query::<ActivationsQuery>::from_query(req.query_string())
        .map_err(|e| ApiError::bad_request(Code::BAD_QUERY, e.to_string()))?;
    let wanted = match query.state.as_deref() {
        None => None,
        Some(raw) => Some(one_of::<Listing>(
            "state",
            raw,
            "active, finished, expired, overdue",
        )?),
    };
    let limit = limit(query.limit.as_deref())?;
    let activations = match wanted {
        Some(Listing::Overdue) => state.engine.overdue_activations(limit),
        other => state
            .engine
            .activations(other.and_then(Listing::state), limit),
    };
    Ok(json_response(
        StatusCode::OK,
        &ActivationsReply { activations },
    ))
}

/// A query value that names one of an enum's snake_case variants (`names` lists them for
/// the error); anything else is 400 `BAD_QUERY`.
fn one_of<T: serde::de::DeserializeOwned>(
    field: &str,
    raw: &str,
    names: &str,
) -> Result<T, ApiError> {
    serde_json::from_value(serde_json::Value::String(raw.to_owned())).map_err(|_| {
        ApiError::bad_request(
            Code::BAD_QUERY,
            format!("{field} {raw:?} is not one of {names}"),
        )
    })
}

/// An activation id from the path: 400 `BAD_ID` unless an integer ≥ 1.
pub(crate) fn activation_id(raw: &str) -> Result<ActivationId, ApiError> {
    raw.parse::<u64>()
        .ok()
        .and_then(|n| ActivationId::new(n).ok())
        .ok_or_else(|| ApiError::bad_request(Code::BAD_ID, "activation ids are integers ≥ 1"))
}

/// One activation with its SMS.
#[utoipa::path(get, path = "/admin/activations/{id}", tag = "admin", security(("admin_token" = [])),
    params(("id" = u64, Path, minimum = 1, description = "The activation's id")),
    responses((status = 200, body = ActivationReply),
        (status = 404, description = "`UNKNOWN_ACTIVATION`", body = ErrorReply), AdminErrors))]
pub(crate) async fn activation(
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
    let reply = ActivationReply {
        activation: record,
        sms: state.engine.sms_of(id),
        archived: !in_memory,
    };
    Ok(json_response(StatusCode::OK, &reply))
}

/// `POST /admin/activations/{id}/release`: the operator frees the number of an active
/// activation (typically an overdue one the platform never finished; one not yet overdue may be
/// released too). It becomes `expired`; a later FINISH still answers SUCCESS and applies its
/// effect. Not active (finished, expired, released before): 409 `NOT_ACTIVE`, nothing changes.
#[utoipa::path(post, path = "/admin/activations/{id}/release", tag = "admin",
    security(("admin_token" = [])),
    params(("id" = u64, Path, minimum = 1, description = "The activation's id")),
    responses((status = 200, body = ReleasedReply),
        (status = 404, description = "`UNKNOWN_ACTIVATION`", body = ErrorReply),
        (status = 409, description = "`NOT_ACTIVE`: finished, expired or released before", body = ErrorReply),
        AdminErrors))]
pub(crate) async fn release(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorise(&req, &state)?;
    let id = activation_id(&path)?;
    let activation = state.engine.release(id).await?;
    Ok(json_response(StatusCode::OK, &ReleasedReply { activation }))
}

/// Blocks a SIM: it is never issued; its current activation, if any, runs to its end.
#[utoipa::path(post, path = "/admin/sims/{number}/block", tag = "admin",
    security(("admin_token" = [])), params(("number" = crate::openapi::NumberText, Path,
        description = "The SIM's international number, digits only")),
    responses((status = 200, body = SimReply), (status = 404, description = "`UNKNOWN_SIM`", body = ErrorReply), AdminErrors))]
pub(crate) async fn block(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    set_blocked(req, path, state, true).await
}

/// Unblocks a SIM: it is issued again.
#[utoipa::path(post, path = "/admin/sims/{number}/unblock", tag = "admin",
    security(("admin_token" = [])), params(("number" = crate::openapi::NumberText, Path,
        description = "The SIM's international number, digits only")),
    responses((status = 200, body = SimReply), (status = 404, description = "`UNKNOWN_SIM`", body = ErrorReply), AdminErrors))]
pub(crate) async fn unblock(
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
    Ok(json_response(StatusCode::OK, &SimReply { sim }))
}

/// The latest SMS with their delivery state, newest first.
#[utoipa::path(get, path = "/admin/sms", tag = "admin", security(("admin_token" = [])),
    params(SmsQuery),
    responses((status = 200, body = SmsListReply), AdminErrors))]
pub(crate) async fn sms(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorise(&req, &state)?;
    let query = web::Query::<SmsQuery>::from_query(req.query_string())
        .map_err(|e| ApiError::bad_request(Code::BAD_QUERY, e.to_string()))?;
    let wanted = match query.state.as_deref() {
        None => None,
        Some(raw) => Some(one_of::<SmsState>(
            "state",
            raw,
            "pending, delivered, failed, held, unmatched, assembling",
        )?),
    };
    let limit = limit(query.limit.as_deref())?;
    let sms = state.engine.sms(wanted, limit);
    Ok(json_response(StatusCode::OK, &SmsListReply { sms }))
}

/// Sends a failed or held SMS again: it goes back to the outbox.
#[utoipa::path(post, path = "/admin/sms/{id}/redeliver", tag = "admin",
    security(("admin_token" = [])),
    params(("id" = u64, Path, description = "The SMS's id")),
    responses((status = 200, body = RedeliveredReply),
        (status = 404, description = "`UNKNOWN_SMS`", body = ErrorReply),
        (status = 409, description = "`NOT_REDELIVERABLE`: not failed or held", body = ErrorReply),
        AdminErrors))]
pub(crate) async fn redeliver(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorise(&req, &state)?;
    let id = path
        .parse::<u64>()
        .map(SmsId)
        .map_err(|_| ApiError::bad_request(Code::BAD_ID, "SMS ids are integers"))?;
    let sms = state.engine.redeliver(id).await?;
    Ok(json_response(StatusCode::OK, &RedeliveredReply { sms }))
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
