//! `PUT /gateway/banks/{bank}/sims` (the complete set of a bank's SIMs in ports; the
//! unscoped `PUT /gateway/sims` is bank `default`), `POST /gateway/banks/{bank}/heartbeat`
//! (the bank is alive), `POST /gateway/sims` (one SIM online), `DELETE /gateway/sims/{number}`
//! (one SIM offline).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use simrelay_actors::domain::{BankName, CountryName, Msisdn, OperatorName};
use simrelay_actors::SimSpec;
use utoipa::ToSchema;

use super::{authorised, authorised_body, authorised_bytes, bounded, typed};
use crate::admin::SimReply;
use crate::error::{json_response, ApiError, Code, ErrorReply};
use crate::openapi::GatewayErrors;
use crate::state::AppState;

/// Longest port name (the platform's `port_id` limit).
const MAX_PORT: usize = 100;
/// Most SIMs one PUT may list.
const MAX_SIMS: usize = 1_000_000;

/// A SIM as the SIM bank describes it; only `number` is required.
#[derive(Deserialize, ToSchema)]
#[schema(as = SimIn)]
pub(crate) struct SimObject {
    /// International number, digits only (optional leading `+`).
    #[schema(value_type = crate::openapi::NumberText)]
    number: String,
    /// The port it sits in.
    #[serde(default)]
    #[schema(max_length = 100)]
    port: Option<String>,
    /// Its operator as OnlineSIM names it (e.g. `beeline`); from `mcc_mnc` when absent.
    #[serde(default)]
    operator: Option<String>,
    /// Its network's MCC-MNC, 5 or 6 digits.
    #[serde(default)]
    #[schema(pattern = "^[0-9]{5,6}$")]
    mcc_mnc: Option<String>,
    /// Its country as OnlineSIM names it (e.g. `russia`); from the number when absent.
    #[serde(default)]
    country: Option<String>,
    /// Whether it may be rented.
    #[serde(default)]
    rent: Option<bool>,
    /// Only in `POST /gateway/sims` (refused in a list): the bank the SIM sits in.
    #[serde(default)]
    bank: Option<String>,
}

/// The complete set of a bank's SIMs in ports: SIMs of the bank not listed go offline.
#[derive(Deserialize, ToSchema)]
pub(crate) struct SimList {
    /// At most 1 000 000; each number once; no `bank` field.
    sims: Vec<SimObject>,
}

/// A bank's SIM list applied.
#[derive(Serialize, ToSchema)]
pub(crate) struct ListApplied {
    /// The bank (absent for `PUT /gateway/sims`, which is bank `default`).
    #[serde(skip_serializing_if = "Option::is_none")]
    bank: Option<BankName>,
    /// The bank's SIMs online now.
    online: usize,
    /// Listed SIMs that were not online in this bank before.
    added: usize,
    /// The bank's SIMs that went offline.
    removed: usize,
}

impl ListApplied {
    fn new(bank: Option<BankName>, done: simrelay_actors::BankReplaced) -> ListApplied {
        ListApplied {
            bank,
            online: done.online,
            added: done.added,
            removed: done.removed,
        }
    }
}

/// `POST /gateway/banks/{bank}/heartbeat`.
#[derive(Serialize, ToSchema)]
pub(crate) struct HeartbeatReply {
    /// The bank.
    bank: BankName,
    /// Its SIMs online.
    online: usize,
}

/// Turns a SIM object into a spec: number checked, operator named (directly or by MCC-MNC),
/// country given or derived from the number. `index` is the SIM's place in a list, for the
/// field names of errors. `known` is the country of a SIM simrelay already has: its number was
/// checked when it came, so neither check nor derivation (the numbering plan's parser, the
/// costly part of a large list) runs again.
fn spec(
    sim: SimObject,
    index: Option<usize>,
    known: Option<CountryName>,
    state: &AppState,
) -> Result<SimSpec, ApiError> {
    let field = |name: &str| match index {
        Some(i) => format!("sims[{i}].{name}"),
        None => name.to_owned(),
    };
    let number =
        Msisdn::parse(&sim.number).map_err(|e| ApiError::bad_field(&field("number"), e))?;
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
    let country = match (&sim.country, known) {
        (Some(name), known) => {
            let country =
                CountryName::parse(name).map_err(|e| ApiError::bad_field(&field("country"), e))?;
            if known.is_none() && !state.countries.plausible(number) {
                return Err(ApiError::bad_field(
                    &field("number"),
                    format!("{number} has no known country calling code"),
                ));
            }
            country
        }
        (None, Some(known)) => known,
        (None, None) => state
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
        bank: None,
    })
}

/// A bank name from the path or a body field.
fn bank_name(field: &str, raw: &str) -> Result<BankName, ApiError> {
    BankName::parse(raw).map_err(|e| ApiError::bad_request(Code::BAD_BANK, format!("{field}: {e}")))
}

/// The complete set of SIMs in ports of bank `default` (the unscoped form of
/// `PUT /gateway/banks/{bank}/sims`).
#[utoipa::path(put, path = "/gateway/sims", tag = "gateway", security(("gateway_token" = [])),
    request_body = SimList,
    responses((status = 200, body = ListApplied), GatewayErrors))]
pub(crate) async fn replace_default(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let done = replace_bank(&req, payload, &state, BankName::default_bank()).await?;
    Ok(json_response(StatusCode::OK, &ListApplied::new(None, done)))
}

/// The complete set of a bank's SIMs in ports; the bank is alive. Every SIM is checked before
/// anything changes.
#[utoipa::path(put, path = "/gateway/banks/{bank}/sims", tag = "gateway",
    security(("gateway_token" = [])), params(("bank" = String, Path, description = "The bank's name, e.g. `bank1`")), request_body = SimList,
    responses((status = 200, body = ListApplied), GatewayErrors))]
pub(crate) async fn replace(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorised(&req, &state)?;
    let bank = bank_name("bank", &path)?;
    let done = replace_bank(&req, payload, &state, bank.clone()).await?;
    Ok(json_response(
        StatusCode::OK,
        &ListApplied::new(Some(bank), done),
    ))
}

async fn replace_bank(
    req: &HttpRequest,
    payload: web::Payload,
    state: &web::Data<AppState>,
    bank: BankName,
) -> Result<simrelay_actors::BankReplaced, ApiError> {
    let bytes = authorised_bytes(req, payload, state).await?;
    // A large list takes a while to parse and check: off the HTTP worker, which serves other
    // requests meanwhile.
    let checking = state.clone();
    let specs = web::block(move || validated_list(&bytes, &checking))
        .await
        .map_err(|e| ApiError::unavailable(Code::OVERLOADED, e.to_string()))??;
    Ok(state.engine.replace_bank(&bank, specs).await?)
}

/// A bank's SIM list, every SIM checked before anything changes.
fn validated_list(bytes: &[u8], state: &AppState) -> Result<Vec<SimSpec>, ApiError> {
    let list: SimList = typed(bytes, &["sims"])?;
    if list.sims.len() > MAX_SIMS {
        return Err(ApiError::bad_field(
            "sims",
            format!("more than {MAX_SIMS} SIMs"),
        ));
    }
    let numbers: Vec<Option<Msisdn>> = list
        .sims
        .iter()
        .map(|s| Msisdn::parse(&s.number).ok())
        .collect();
    let known = state.engine.known_countries(&numbers);
    let mut specs = Vec::with_capacity(list.sims.len());
    let mut seen = std::collections::HashSet::with_capacity(list.sims.len());
    for (i, (sim, known)) in list.sims.into_iter().zip(known).enumerate() {
        if sim.bank.is_some() {
            return Err(ApiError::bad_field(
                &format!("sims[{i}].bank"),
                "a list belongs to the bank it is sent for; bank is not a SIM field here",
            ));
        }
        let spec = spec(sim, Some(i), known, state)?;
        if !seen.insert(spec.number) {
            return Err(ApiError::bad_field(
                &format!("sims[{i}].number"),
                "listed twice",
            ));
        }
        specs.push(spec);
    }
    Ok(specs)
}

/// The bank is alive; answers its SIMs online.
#[utoipa::path(post, path = "/gateway/banks/{bank}/heartbeat", tag = "gateway",
    security(("gateway_token" = [])), params(("bank" = String, Path, description = "The bank's name, e.g. `bank1`")),
    responses((status = 200, body = HeartbeatReply), GatewayErrors))]
pub(crate) async fn heartbeat(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorised(&req, &state)?;
    let bank = bank_name("bank", &path)?;
    state.engine.renew_bank(&bank).await?;
    let online = state.engine.bank(&bank).map_or(0, |b| b.online);
    Ok(json_response(
        StatusCode::OK,
        &HeartbeatReply { bank, online },
    ))
}

/// One SIM online (in `bank`, or, without it, in its bank or `default`).
#[utoipa::path(post, path = "/gateway/sims", tag = "gateway", security(("gateway_token" = [])),
    request_body = SimObject,
    responses((status = 200, body = SimReply), GatewayErrors))]
pub(crate) async fn upsert(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut sim: SimObject = authorised_body(&req, payload, &state, &["number"]).await?;
    // Without `bank` a known SIM stays in its bank (a tool that knows no banks must not move
    // SIMs out of theirs); a new one goes to `default`.
    let bank = sim
        .bank
        .take()
        .map(|raw| bank_name("bank", &raw))
        .transpose()?;
    let known = Msisdn::parse(&sim.number)
        .ok()
        .and_then(|n| state.engine.known_countries(&[Some(n)]).pop().flatten());
    let mut spec = spec(sim, None, known, &state)?;
    spec.bank = bank.clone();
    let number = spec.number;
    if let Some(bank) = &bank {
        state.engine.renew_bank(bank).await?;
    }
    state.engine.upsert_sim(spec, true).await?;
    let view = state.engine.sim(number).await?;
    if bank.is_none() {
        state.engine.renew_bank(&view.bank).await?;
    }
    Ok(json_response(StatusCode::OK, &SimReply { sim: view }))
}

/// One SIM offline: not sold until it is online again; its activation runs to its end.
#[utoipa::path(delete, path = "/gateway/sims/{number}", tag = "gateway",
    security(("gateway_token" = [])),
    params(("number" = crate::openapi::NumberText, Path,
        description = "The SIM's international number, digits only")),
    responses((status = 200, body = SimReply),
        (status = 404, description = "`UNKNOWN_SIM`", body = ErrorReply), GatewayErrors))]
pub(crate) async fn remove(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorised(&req, &state)?;
    let number = Msisdn::parse(&path).map_err(|e| ApiError::bad_request(Code::BAD_NUMBER, e.0))?;
    state.engine.set_online(number, false).await?;
    let view = state.engine.sim(number).await?;
    Ok(json_response(StatusCode::OK, &SimReply { sim: view }))
}
