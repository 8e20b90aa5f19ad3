//! Health, readiness and metrics.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::json;

use simrelay_actors::store::Role;

use crate::error::{json_response, ApiError, Code};
use crate::state::AppState;

/// Mounts `/healthz`, `/readyz`, `/metrics`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics));
}

async fn healthz() -> HttpResponse {
    json_response(StatusCode::OK, &json!({"status": "ok"}))
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.store.role() {
        Role::Leader => {}
        // Without Redis nobody can tell who holds the lease: say why.
        Role::Standby(_) if state.engine.store_down_reason().is_some() => {
            let reason = state.engine.store_down_reason().unwrap_or_default();
            return json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({"status": "not_ready", "reason": format!("store unavailable: {reason}")}),
            );
        }
        Role::Standby(holder) => {
            return json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({"status": "standby", "holder": holder}),
            )
        }
        Role::Deposed => {
            return json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({"status": "deposed", "reason": "this process lost the lease"}),
            )
        }
    }
    let v2_problem = state
        .v2_health
        .iter()
        .find_map(|(name, h)| h.problem().map(|p| (name.clone(), p)));
    state
        .metrics
        .v2_account(v2_problem.as_ref().map(|(_, code)| code.as_str()));
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
            v2_problem
                .filter(|_| !sells_to_callers(&state))
                .map(|(name, code)| {
                    format!("OnlineSIM v2 refuses our account: {code} (platform {name})")
                })
        });
    match reason {
        None => json_response(StatusCode::OK, &json!({"status": "ready"})),
        Some(reason) => json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"status": "not_ready", "reason": reason}),
        ),
    }
}

async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let problem = state.v2_health.iter().find_map(|(_, h)| h.problem());
    state.metrics.v2_account(problem.as_deref());
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
