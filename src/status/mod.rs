//! The status page: server-rendered HTML on the internal listener for an operator's browser —
//! stock, banks, SIMs, activations and the SMS that need attention, with the redeliver and
//! release buttons of the admin API.
//!
//! The admin token is typed once into a login form; the browser then holds a session cookie
//! (HttpOnly, SameSite=Strict, see [`session`]). Every form that changes something carries the
//! session's CSRF token. The actions call the same engine methods as `/admin`.

mod page;
pub mod session;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::Markup;
use serde::Deserialize;
use simrelay_actors::domain::{SmsId, SmsRecord, SmsState};

use crate::error::{ApiError, Code};
use crate::state::AppState;
pub use session::Sessions;
use session::{Session, COOKIE, SESSION_TTL};

/// Most SIM rows the page shows; the count of all matching SIMs is shown beside.
pub const MAX_SIM_ROWS: usize = 500;
/// Most rows of each activation and SMS table.
pub const MAX_ROWS: usize = 200;

/// How many of the latest SMS (any state) the page lists.
pub const LATEST_SMS: usize = 50;

/// Mounts `/status/...` with the listener's sessions.
pub fn routes(cfg: &mut web::ServiceConfig, sessions: web::Data<Sessions>) {
    cfg.service(
        web::scope("/status")
            .app_data(sessions)
            .route("", web::get().to(overview))
            .route("/login", web::get().to(login_form))
            .route("/login", web::post().to(login))
            .route("/logout", web::post().to(logout))
            .route("/sms/{id}/redeliver", web::post().to(redeliver))
            .route("/activations/{id}/release", web::post().to(release)),
    );
}

/// The SIM filter of the overview (`?bank=&state=&online=`; empty means any) and what the
/// last action did.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimFilter {
    /// Only SIMs of this bank.
    pub bank: Option<String>,
    /// Only SIMs in this state: `free`, `busy` or `blocked`.
    pub state: Option<String>,
    /// `yes`: only SIMs in a port; `no`: only those out.
    pub online: Option<String>,
    /// The SMS the last action sent back to the outbox.
    pub redelivered: Option<u64>,
    /// The activation the last action released.
    pub released: Option<u64>,
}

impl SimFilter {
    /// Empty choices (the "any" option) count as absent; unknown choices are refused.
    fn checked(mut self) -> Result<SimFilter, ApiError> {
        for value in [&mut self.bank, &mut self.state, &mut self.online] {
            if value.as_deref() == Some("") {
                *value = None;
            }
        }
        if let Some(state) = self.state.as_deref() {
            if !["free", "busy", "blocked"].contains(&state) {
                return Err(ApiError::bad_request(
                    Code::BAD_QUERY,
                    format!("state {state:?} is not one of free, busy, blocked"),
                ));
            }
        }
        if let Some(online) = self.online.as_deref() {
            if !["yes", "no"].contains(&online) {
                return Err(ApiError::bad_request(
                    Code::BAD_QUERY,
                    format!("online {online:?} is not one of yes, no"),
                ));
            }
        }
        Ok(self)
    }

    fn keeps(&self, sim: &simrelay_actors::SimView) -> bool {
        self.bank.as_deref().is_none_or(|b| sim.bank.as_str() == b)
            && self
                .state
                .as_deref()
                .is_none_or(|s| sim.state.as_str() == s)
            && self
                .online
                .as_deref()
                .is_none_or(|o| sim.online == (o == "yes"))
    }
}

/// The lower-case name of an SMS state, as the admin API writes it.
pub fn sms_state(state: SmsState) -> &'static str {
    match state {
        SmsState::Pending => "pending",
        SmsState::Delivered => "delivered",
        SmsState::Failed => "failed",
        SmsState::Held => "held",
        SmsState::Unmatched => "unmatched",
        SmsState::Assembling => "assembling",
    }
}

/// An HTML answer that no cache keeps, no frame shows and no script runs in.
fn html(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ))
        .body(markup.into_string())
}

/// The error page for an [`ApiError`], with its status.
fn error_page(e: &ApiError) -> HttpResponse {
    html(e.status, page::error(e.code.as_str(), &e.message))
}

/// 303 to `to` (after a POST the browser GETs it).
fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// The value of our cookie in the request's `Cookie` headers, if any.
fn cookie(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then(|| value.to_owned())
        })
}

/// The session the request's cookie names, if it is live.
fn session(req: &HttpRequest, sessions: &Sessions, state: &AppState) -> Option<Session> {
    sessions.find(&cookie(req)?, state.engine.now())
}

/// `Set-Cookie` for a session, or (`None`) one that clears it. No `Secure`: the internal
/// listener speaks plain HTTP; a TLS proxy in front may add it.
fn set_cookie(session: Option<&Session>) -> HeaderValue {
    let (value, age) = match session {
        Some(s) => (s.id.as_str(), SESSION_TTL.as_secs()),
        None => ("", 0),
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/status; HttpOnly; SameSite=Strict; Max-Age={age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("simrelay_status=; Path=/status; Max-Age=0"))
}

async fn login_form() -> HttpResponse {
    html(StatusCode::OK, page::login(None))
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

/// `POST /status/login`: the admin token, once; a session cookie in return.
async fn login(
    form: Result<web::Form<LoginForm>, actix_web::Error>,
    state: web::Data<AppState>,
    sessions: web::Data<Sessions>,
) -> HttpResponse {
    let Ok(form) = form else {
        return html(
            StatusCode::BAD_REQUEST,
            page::login(Some("The form must carry the admin token.")),
        );
    };
    if !state.settings.admin.token.matches(&form.token) {
        tracing::warn!("status page: login with a wrong admin token");
        return html(
            StatusCode::UNAUTHORIZED,
            page::login(Some("Wrong token: type admin.token from the config.")),
        );
    }
    match sessions.open(state.engine.now()) {
        Some(session) => {
            let mut response = see_other("/status");
            response
                .headers_mut()
                .insert(header::SET_COOKIE, set_cookie(Some(&session)));
            response
        }
        None => error_page(&ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            Code::INTERNAL,
            "the system gave no randomness for a session id; try again",
        )),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

/// Why a POST may not act, as the answer to give: to the login page without a session, 403
/// when its form lacks the session's CSRF token, 503 on a standby. `None`: it may.
fn refusal(
    req: &HttpRequest,
    form: &Result<web::Form<CsrfForm>, actix_web::Error>,
    sessions: &Sessions,
    state: &AppState,
) -> Option<HttpResponse> {
    let Some(session) = session(req, sessions, state) else {
        return Some(see_other("/status/login"));
    };
    match form {
        Ok(form) if session.csrf_matches(&form.csrf) => {}
        _ => {
            tracing::warn!("status page: a POST without the session's CSRF token was refused");
            return Some(html(
                StatusCode::FORBIDDEN,
                page::error(
                    "BAD_CSRF",
                    "this form is not from your session's page; reload the status page and try again",
                ),
            ));
        }
    }
    state.require_leader().err().map(|e| error_page(&e))
}

/// `POST /status/logout`: ends the session.
async fn logout(
    req: HttpRequest,
    form: Result<web::Form<CsrfForm>, actix_web::Error>,
    state: web::Data<AppState>,
    sessions: web::Data<Sessions>,
) -> HttpResponse {
    let Some(session) = session(&req, &sessions, &state) else {
        return see_other("/status/login");
    };
    if !matches!(&form, Ok(f) if session.csrf_matches(&f.csrf)) {
        return html(
            StatusCode::FORBIDDEN,
            page::error("BAD_CSRF", "reload the status page and try again"),
        );
    }
    sessions.close(&session.id);
    let mut response = see_other("/status/login");
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(None));
    response
}

/// An SMS id from the path: 400 `BAD_ID` unless an integer ≥ 1.
fn sms_id(raw: &str) -> Result<u64, ApiError> {
    raw.parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::bad_request(Code::BAD_ID, "SMS ids are integers ≥ 1"))
}

/// `POST /status/sms/{id}/redeliver`: as `POST /admin/sms/{id}/redeliver`.
async fn redeliver(
    req: HttpRequest,
    path: web::Path<String>,
    form: Result<web::Form<CsrfForm>, actix_web::Error>,
    state: web::Data<AppState>,
    sessions: web::Data<Sessions>,
) -> HttpResponse {
    if let Some(answer) = refusal(&req, &form, &sessions, &state) {
        return answer;
    }
    let done = async {
        let id = sms_id(&path)?;
        state.engine.redeliver(SmsId(id)).await?;
        Ok::<_, ApiError>(id)
    };
    match done.await {
        Ok(id) => see_other(&format!("/status?redelivered={id}#attention")),
        Err(e) => error_page(&e),
    }
}

/// `POST /status/activations/{id}/release`: as `POST /admin/activations/{id}/release`.
async fn release(
    req: HttpRequest,
    path: web::Path<String>,
    form: Result<web::Form<CsrfForm>, actix_web::Error>,
    state: web::Data<AppState>,
    sessions: web::Data<Sessions>,
) -> HttpResponse {
    if let Some(answer) = refusal(&req, &form, &sessions, &state) {
        return answer;
    }
    let done = async {
        let id = crate::admin::activation_id(&path)?;
        state.engine.release(id).await?;
        Ok::<_, ApiError>(id)
    };
    match done.await {
        Ok(id) => see_other(&format!("/status?released={id}#overdue")),
        Err(e) => error_page(&e),
    }
}

/// Failed, held and unmatched SMS, newest first, at most [`MAX_ROWS`].
fn needing_attention(state: &AppState) -> Vec<SmsRecord> {
    let mut list: Vec<SmsRecord> = [SmsState::Failed, SmsState::Held, SmsState::Unmatched]
        .into_iter()
        .flat_map(|s| state.engine.sms(Some(s), MAX_ROWS))
        .collect();
    list.sort_by_key(|sms| std::cmp::Reverse(sms.id.0));
    list.truncate(MAX_ROWS);
    list
}

/// `GET /status`: the overview, or the login page without a session.
async fn overview(
    req: HttpRequest,
    state: web::Data<AppState>,
    sessions: web::Data<Sessions>,
) -> HttpResponse {
    let Some(session) = session(&req, &sessions, &state) else {
        return see_other("/status/login");
    };
    match read_overview(&req, &state, session).await {
        Ok(overview) => html(StatusCode::OK, page::overview(&overview)),
        Err(e) => error_page(&e),
    }
}

async fn read_overview(
    req: &HttpRequest,
    state: &AppState,
    session: Session,
) -> Result<page::Overview, ApiError> {
    state.require_leader()?;
    let filter = web::Query::<SimFilter>::from_query(req.query_string())
        .map_err(|e| ApiError::bad_request(Code::BAD_QUERY, e.to_string()))?
        .into_inner()
        .checked()?;
    let all = state.engine.sims().await?;
    let matching: Vec<_> = all.into_iter().filter(|s| filter.keeps(s)).collect();
    let notice = match (filter.redelivered, filter.released) {
        (Some(id), _) => Some(format!("SMS {id} is back in the outbox.")),
        (_, Some(id)) => Some(format!("Activation {id} was released; its number is free.")),
        _ => None,
    };
    Ok(page::Overview {
        stock: state
            .settings
            .platforms
            .iter()
            .map(|p| (p.name.clone(), state.engine.stock_of(&p.banks)))
            .collect(),
        banks: state.engine.banks(),
        sims_matching: matching.len(),
        sims: matching.into_iter().take(MAX_SIM_ROWS).collect(),
        filter,
        active: state.engine.activations(
            Some(simrelay_actors::domain::ActivationState::Active),
            MAX_ROWS,
        ),
        overdue: state.engine.overdue_activations(MAX_ROWS),
        attention: needing_attention(state),
        latest: state.engine.sms(None, LATEST_SMS),
        csrf: session.csrf,
        notice,
        now: state.engine.now(),
    })
}
