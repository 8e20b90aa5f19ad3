//! Health, readiness and metrics.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use simrelay_actors::store::Role;

use crate::error::{json_response, ApiError, Code, ErrorReply};
use crate::state::AppState;

/// Mounts `/healthz`, `/readyz`, `/metrics`, `/openapi.json`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .route("/openapi.json", web::get().to(crate::openapi::document));
}

/// `GET /healthz`.
#[derive(Serialize, ToSchema)]
pub(crate) struct Health {
    /// Always `ok`.
    #[schema(pattern = "^ok$")]
    status: &'static str,
}

/// Where the process stands: `ready`, or why not.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ReadyState {
    /// Recovered, the store accepts writes, this process holds the lease.
    Ready,
    /// Not (yet) serving: `reason` says why.
    NotReady,
    /// Another process holds the lease.
    Standby,
    /// This process lost the lease; a restart makes it a standby.
    Deposed,
}

/// `GET /readyz`.
#[derive(Serialize, ToSchema)]
pub(crate) struct Readiness {
    /// Ready or not.
    status: ReadyState,
    /// Why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// Only on a standby: the id of the process holding the lease (`null` when unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    holder: Option<Option<String>>,
}

impl Readiness {
    /// The answer: 200 when ready, 503 otherwise.
    fn answer(
        status: ReadyState,
        reason: Option<String>,
        holder: Option<Option<String>>,
    ) -> HttpResponse {
        let code = match status {
            ReadyState::Ready => StatusCode::OK,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        };
        let body = Readiness {
            status,
            reason,
            holder,
        };
        json_response(code, &body)
    }
}

/// 200 while the process serves.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health)))]
pub(crate) async fn healthz() -> HttpResponse {
    json_response(StatusCode::OK, &Health { status: "ok" })
}

/// 200 once state is recovered, the store accepts writes and this process holds the lease;
/// 503 with the reason otherwise (`standby` on a standby).
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub(crate) async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.store.role() {
        Role::Leader => {}
        // Without Redis nobody can tell who holds the lease: say why.
        Role::Standby(_) if state.engine.store_down_reason().is_some() => {
            let reason = state.engine.store_down_reason().unwrap_or_default();
            return Readiness::answer(
                ReadyState::NotReady,
                Some(format!("store unavailable: {reason}")),
                None,
            );
        }
        Role::Standby(holder) => {
            return Readiness::answer(ReadyState::Standby, None, Some(holder));
        }
        Role::Deposed => {
            return Readiness::answer(
                ReadyState::Deposed,
                Some("this process lost the lease".into()),
                None,
            )
        }
    }
    let reason = state
        .readiness
        .reason()
        .or_else(|| {
            state
                .engine
                .store_down_reason()
                .map(|r| format!("store unavailable: {r}"))
        })
        // A v2 account problem stops only v2; while a platform calls us, taking the process out
        // of its load balancer would stop selling there too (the metric still says it).
        .or_else(|| {
            if sells_to_callers(&state) {
                return None;
            }
            state.v2_health.iter().find_map(|(name, health)| {
                health.problem().map(|code| {
                    format!("OnlineSIM v2 refuses our account: {code} (platform {name})")
                })
            })
        });
    match reason {
        None => Readiness::answer(ReadyState::Ready, None, None),
        Some(reason) => Readiness::answer(ReadyState::NotReady, Some(reason), None),
    }
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, content_type = "text/plain; version=0.0.4; charset=utf-8", body = String),
        (status = 500, description = "`METRICS`: the metrics could not be encoded", body = ErrorReply)))]
pub(crate) async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.metrics.v2_accounts(
        state
            .v2_health
            .iter()
            .map(|(name, health)| (name.as_str(), health.problem())),
    );
    state.metrics.lease_held(state.store.role() == Role::Leader);
    let text = state.metrics.render(&state.engine).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            Code::METRICS,
            e.to_string(),
        )
    })?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}

/// Whether some platform calls us (OnlineSIM v1, SMSHub).
fn sells_to_callers(state: &AppState) -> bool {
    state.settings.platforms.iter().any(|p| p.path().is_some())
}
