//! `GET /openapi.json`: the OpenAPI 3.1 document of `/gateway`, `/admin` and the operations
//! paths. Every path comes from its handler's `#[utoipa::path]`, every schema from the type the
//! handler parses or answers, so the document changes with the code.

use std::sync::LazyLock;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ObjectBuilder, RefOr, Schema, Type};
use utoipa::{IntoResponses, Modify, OpenApi};

use crate::error::{ApiError, Code, ErrorReply, JSON};

/// What `Msisdn::parse` accepts: 7 to 15 digits, not starting with 0, an optional leading `+`.
const NUMBER: &str = r"^\+?[1-9][0-9]{6,14}$";

/// A phone number as requests write it (answers write it as an integer, `Msisdn`).
pub(crate) struct NumberText;

impl utoipa::PartialSchema for NumberText {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(NUMBER))
            .description(Some(
                "An international number, digits only, optional leading `+`: `79281234567`",
            ))
            .into()
    }
}

impl utoipa::ToSchema for NumberText {}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "simrelay",
        description = "The SIM-bank gateway, the admin API and the operations paths of simrelay. \
            Every error answers `{\"status\":\"ERROR\",\"error\":\"<CODE>: <what>\"}` with a \
            stable code; nothing of a refused request is acted on."
    ),
    paths(
        crate::gateway::sims::replace_default,
        crate::gateway::sims::replace,
        crate::gateway::sims::heartbeat,
        crate::gateway::sims::upsert,
        crate::gateway::sims::remove,
        crate::gateway::sms::receive,
        crate::admin::sims,
        crate::admin::banks,
        crate::admin::activations,
        crate::admin::activation,
        crate::admin::release,
        crate::admin::sms,
        crate::admin::redeliver,
        crate::admin::block,
        crate::admin::unblock,
        crate::ops::healthz,
        crate::ops::readyz,
        crate::ops::metrics,
        document,
    ),
    // Named only in a query parameter's `value_type`, which utoipa does not collect.
    components(schemas(crate::admin::Listing)),
    modifiers(&Tokens),
    tags(
        (name = "gateway", description = "The SIM banks' side: SIMs in ports, bank heartbeats, \
            received SMS. `Authorization: Bearer {gateway.token}`."),
        (name = "admin", description = "SIMs, banks, activations and SMS, and the operator's \
            actions on them. `Authorization: Bearer {admin.token}`."),
        (name = "operations", description = "Health, readiness, metrics and this document."),
    )
)]
pub struct ApiDoc;

/// The two bearer tokens.
struct Tokens;

impl Modify for Tokens {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        for (name, key) in [
            ("gateway_token", "gateway.token"),
            ("admin_token", "admin.token"),
        ] {
            let mut scheme = Http::new(HttpAuthScheme::Bearer);
            scheme.description = Some(format!("`{key}` from the config"));
            components.add_security_scheme(name, SecurityScheme::Http(scheme));
        }
    }
}

/// The errors any admin request may answer.
#[derive(IntoResponses)]
#[allow(dead_code)] // only described, never built
pub(crate) enum AdminErrors<'a> {
    /// `BAD_ID`, `BAD_NUMBER`, `BAD_QUERY`: nothing valid named; nothing changed.
    #[response(status = 400)]
    BadRequest(ErrorReply<'a>),
    /// `BAD_TOKEN`: `Authorization: Bearer {admin.token}` missing or wrong.
    #[response(status = 401)]
    Unauthorized(ErrorReply<'a>),
    /// `NOT_LEADER` (a standby), `NOT_READY` (recovering), `STORE_UNAVAILABLE`,
    /// `ENGINE_UNAVAILABLE`: try again, or ask the process holding the lease.
    #[response(status = 503)]
    Unavailable(ErrorReply<'a>),
}

/// The errors any gateway request may answer.
#[derive(IntoResponses)]
#[allow(dead_code)] // only described, never built
pub(crate) enum GatewayErrors<'a> {
    /// `BAD_BANK`, `BAD_BODY`, `BAD_ENCODING`, `BAD_FIELD`, `BAD_GZIP`, `BAD_JSON`, `BAD_NUMBER`,
    /// `MISSING_FIELD`, `TOO_MANY_BANKS`: the message names the field; nothing changed.
    #[response(status = 400)]
    BadRequest(ErrorReply<'a>),
    /// `BAD_TOKEN`: `Authorization: Bearer {gateway.token}` missing or wrong.
    #[response(status = 401)]
    Unauthorized(ErrorReply<'a>),
    /// `CONFLICT`: the request contradicts what simrelay knows (e.g. a SIM of another bank).
    #[response(status = 409)]
    Conflict(ErrorReply<'a>),
    /// `TOO_LARGE`: the body is over `gateway.max_body_bytes` (also after gunzip).
    #[response(status = 413)]
    TooLarge(ErrorReply<'a>),
    /// `NOT_LEADER`, `NOT_READY`, `STORE_UNAVAILABLE` (nothing was acknowledged),
    /// `ENGINE_UNAVAILABLE`, `OVERLOADED`: send again.
    #[response(status = 503)]
    Unavailable(ErrorReply<'a>),
}

/// The document as JSON, written once.
static DOCUMENT: LazyLock<Result<String, String>> =
    LazyLock::new(|| ApiDoc::openapi().to_json().map_err(|e| e.to_string()));

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json",
        body = Object),
        (status = 500, description = "`INTERNAL`: the document could not be encoded", body = ErrorReply)))]
pub(crate) async fn document() -> HttpResponse {
    match &*DOCUMENT {
        Ok(text) => HttpResponse::Ok().content_type(JSON).body(text.clone()),
        Err(e) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, Code::INTERNAL, e.clone())
            .error_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use simrelay_actors::domain::Msisdn;

    #[test]
    fn the_number_pattern_accepts_what_the_parser_accepts() {
        let pattern = regex::Regex::new(NUMBER).expect("pattern");
        for raw in [
            "79281234567",
            "+79281234567",
            "1234567",
            "123456789012345",
            "1234567890123456",
            "123456",
            "07928123456",
            "+",
            "",
            "7928-123456",
            "++79281234567",
            "７９２８１２３４５６７",
            "79281234567 ",
        ] {
            assert_eq!(pattern.is_match(raw), Msisdn::parse(raw).is_ok(), "{raw:?}");
        }
    }

    #[test]
    fn the_document_is_openapi_3_1_with_both_tokens() {
        let doc = ApiDoc::openapi();
        let json = serde_json::to_value(&doc).expect("JSON");
        assert_eq!(json["openapi"], "3.1.0");
        let schemes = &json["components"]["securitySchemes"];
        assert_eq!(schemes["admin_token"]["scheme"], "bearer");
        assert_eq!(schemes["gateway_token"]["scheme"], "bearer");
        assert_eq!(
            json["components"]["schemas"]["NumberText"]["pattern"],
            NUMBER
        );
    }
}
