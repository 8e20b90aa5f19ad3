//! `PUT /gateway/sims` (the complete set in ports), `POST /gateway/sims` (one SIM online),
//! `DELETE /gateway/sims/{number}` (one SIM offline).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use simrelay_actors::domain::{CountryName, Msisdn, OperatorName};
use simrelay_actors::SimSpec;

use super::{answer, authorised_body, bounded};
use crate::auth::require_bearer;
use crate::error::ApiError;
use crate::state::AppState;

/// Longest port name (the platform's `port_id` limit).
const MAX_PORT: usize = 100;
/// Most SIMs one PUT may list.
const MAX_SIMS: usize = 1_000_000;

/// A SIM as the SIM bank describes it; only `number` is required.
#[derive(Deserialize)]
pub(super) struct SimObject {
    number: String,
    #[serde(default)]
    port: Option<String>,
    #[serde(default)]
    operator: Option<String>,
    #[serde(default)]
    mcc_mnc: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    rent: Option<bool>,
}

#[derive(Deserialize)]
pub(super) struct SimList {
    sims: Vec<SimObject>,
}

/// Turns a SIM object into a spec: number checked, operator named (directly or by MCC-MNC),
/// country given or derived from the number. `at` prefixes field names in errors.
fn spec(sim: SimObject, at: &str, state: &AppState) -> Result<SimSpec, ApiError> {
    let field = |name: &str| format!("{at}{name}");
    let number =
        Msisdn::parse(&sim.number).map_err(|e| ApiError::bad_field(&field("number"), e))?;
    if !state.countries.plausible(number) {
        return Err(ApiError::bad_field(
            &field("number"),
            format!("{number} has no known country calling code"),
        ));
    }
    if let Some(port) = &sim.port {
        bounded(&field("port"), port, MAX_PORT)?;
    }
    if let Some(code) = &sim.mcc_mnc {
        if !crate::config::plausible_mcc_mnc(code) {
            return Err(ApiError::bad_field(
                &field("mcc_mnc"),
                "must be 5 or 6 digits",
            ));
        }
    }
    let operator = match (&sim.operator, &sim.mcc_mnc) {
        (Some(name), _) => Some(
            OperatorName::parse(name).map_err(|e| ApiError::bad_field(&field("operator"), e))?,
        ),
        (None, Some(code)) => state.operators.name(code),
        (None, None) => None,
    };
    let country = match &sim.country {
        Some(name) => {
            CountryName::parse(name).map_err(|e| ApiError::bad_field(&field("country"), e))?
        }
        None => state
            .countries
            .country_of(number)
            .map_err(|e| ApiError::bad_field(&field("number"), format!("{e:#}")))?,
    };
    Ok(SimSpec {
        number,
        country,
        operator,
        port: sim.port,
        pinned: false,
        mcc_mnc: sim.mcc_mnc,
        rent: sim.rent,
    })
}

pub(super) async fn replace(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let list: SimList = authorised_body(&req, payload, &state, &["sims"]).await?;
    if list.sims.len() > MAX_SIMS {
        return Err(ApiError::bad_field(
            "sims",
            format!("more than {MAX_SIMS} SIMs"),
        ));
    }
    // Validate everything before changing anything.
    let mut specs = Vec::with_capacity(list.sims.len());
    let mut seen = std::collections::HashSet::new();
    for (i, sim) in list.sims.into_iter().enumerate() {
        let spec = spec(sim, &format!("sims[{i}]."), &state)?;
        if !seen.insert(spec.number) {
            return Err(ApiError::bad_field(
                &format!("sims[{i}].number"),
                "listed twice",
            ));
        }
        specs.push(spec);
    }
    let (online, added, removed) = state.engine.replace_online(specs).await?;
    Ok(answer(
        StatusCode::OK,
        json!({"online": online, "added": added, "removed": removed}),
    ))
}

pub(super) async fn upsert(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let sim: SimObject = authorised_body(&req, payload, &state, &["number"]).await?;
    let spec = spec(sim, "", &state)?;
    let number = spec.number;
    state.engine.upsert_sim(spec, true).await?;
    let view = state.engine.sim(number).await?;
    Ok(answer(StatusCode::OK, json!({ "sim": view })))
}

pub(super) async fn remove(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_bearer(&req, &state.settings.gateway.token)?;
    let number = Msisdn::parse(&path).map_err(|e| ApiError::bad_request("BAD_NUMBER", e.0))?;
    state.engine.set_online(number, false).await?;
    let view = state.engine.sim(number).await?;
    Ok(answer(StatusCode::OK, json!({ "sim": view })))
}
