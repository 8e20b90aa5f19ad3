//! GET_NUMBER: reserve a number for one service, honouring the exclusion prefixes, among the
//! SIMs the platform may sell, within its protocol's deadline. The service arrives in the
//! platform's name and is stored in ours.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use simrelay_actors::domain::{
    ActivationId, CountryName, ExclusionPrefix, ExclusionSet, Msisdn, NameError, OperatorName,
    ServiceName,
};
use simrelay_actors::{NumberRequest, OperatorChoice};

use super::PullPlatform;
use crate::error::ApiError;
use crate::fields::{self, IntOrText};
use crate::state::AppState;

/// Extra time the edge waits beyond the engine's own deadline before giving up.
pub(super) const EDGE_MARGIN: Duration = Duration::from_millis(500);

/// The operator word that asks for any operator.
const ANY: &str = "any";

/// GET_NUMBER as it arrives. Names stay strings here: a name simrelay holds no stock of, even
/// one that is not a valid name, is answered NO_NUMBERS, never refused.
#[derive(Deserialize)]
struct Wire {
    country: String,
    operator: String,
    service: String,
    sum: f64,
    #[serde(rename = "exceptionPhoneSet", default)]
    exception_phone_set: Option<Vec<IntOrText>>,
}

/// What a GET_NUMBER asks for, parsed.
#[derive(Debug)]
pub(super) struct GetNumberRequest {
    /// The country the number must be from.
    country: CountryName,
    /// `any`, or one operator.
    operator: OperatorChoice,
    /// The service the number is bought for.
    service: ServiceName,
    /// The price offered.
    sum: f64,
    /// Prefixes (`exceptionPhoneSet`) the client does not want.
    exclusions: ExclusionSet,
}

/// A parsed GET_NUMBER, or the reason it can match nothing.
enum Parsed {
    /// A request the engine can look up.
    Request(GetNumberRequest),
    /// A country, operator or service that is not a valid name: no SIM has it.
    Unmatchable(NameError),
}

impl GetNumberRequest {
    /// Parses the body: missing fields, wrong types, a bad `sum` and bad exclusion prefixes are
    /// refused (in that order), names are matched afterwards.
    fn parse(object: Map<String, Value>) -> Result<Parsed, ApiError> {
        let wire: Wire = fields::parse(object, &["country", "operator", "service", "sum"])?;
        let sum = fields::amount("sum", wire.sum)?;
        let mut prefixes = Vec::new();
        for (i, item) in wire
            .exception_phone_set
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let raw = item.into_text();
            let prefix = ExclusionPrefix::parse(&raw)
                .map_err(|e| ApiError::bad_field(&format!("exceptionPhoneSet[{i}]"), e))?;
            prefixes.push(prefix);
        }
        Ok(match names(&wire.country, &wire.operator, &wire.service) {
            Ok((country, operator, service)) => Parsed::Request(GetNumberRequest {
                country,
                operator,
                service,
                sum,
                exclusions: ExclusionSet::new(prefixes),
            }),
            Err(e) => Parsed::Unmatchable(e),
        })
    }
}

/// The country, operator and service asked for.
fn names(
    country: &str,
    operator: &str,
    service: &str,
) -> Result<(CountryName, OperatorChoice, ServiceName), NameError> {
    Ok((
        CountryName::parse(country)?,
        operator_choice(operator)?,
        ServiceName::parse(service)?,
    ))
}

/// `any` (in any case, trimmed) or an operator name.
fn operator_choice(raw: &str) -> Result<OperatorChoice, NameError> {
    if raw.trim().eq_ignore_ascii_case(ANY) {
        Ok(OperatorChoice::Any)
    } else {
        OperatorName::parse(raw).map(OperatorChoice::Named)
    }
}

impl GetNumberRequest {
    /// The engine's request for `platform`, `None` when the service is not one it buys here
    /// (a name its map gives another meaning, or rent where rent is not sold).
    fn for_platform(self, platform: &PullPlatform, deadline: Duration) -> Option<NumberRequest> {
        let service = platform.platform.services.incoming(&self.service)?;
        if service.is_rent() && !platform.rules.rent {
            return None;
        }
        Some(NumberRequest {
            platform: platform.platform.name.clone(),
            banks: platform.platform.banks.clone(),
            deadline: Some(deadline),
            country: self.country,
            operator: self.operator,
            service,
            sum: self.sum,
            exclusions: self.exclusions,
        })
    }
}

/// GET_NUMBER's answer: `{"activationId":…,"number":…}`.
#[derive(Debug, Serialize)]
pub(super) struct GetNumberReply {
    /// The new activation.
    #[serde(rename = "activationId")]
    pub(super) activation_id: ActivationId,
    /// The number reserved, a JSON integer.
    pub(super) number: Msisdn,
}

/// The reservation, or `None` for NO_NUMBERS.
pub(super) async fn handle(
    object: Map<String, Value>,
    state: &AppState,
    platform: &PullPlatform,
) -> Result<Option<GetNumberReply>, ApiError> {
    let request = match GetNumberRequest::parse(object)? {
        Parsed::Request(request) => request,
        Parsed::Unmatchable(e) => {
            tracing::debug!(error = %e, "GET_NUMBER names nothing simrelay holds");
            return Ok(None);
        }
    };
    let within = platform.deadline(state);
    let Some(request) = request.for_platform(platform, within) else {
        tracing::debug!("GET_NUMBER names a service this platform does not buy here");
        return Ok(None);
    };
    let reserved =
        match tokio::time::timeout(within + EDGE_MARGIN, state.engine.get_number(request)).await {
            Ok(result) => result?,
            Err(_) => {
                tracing::warn!("GET_NUMBER missed its deadline; answering NO_NUMBERS");
                None
            }
        };
    let Some(reservation) = reserved else {
        return Ok(None);
    };
    tracing::Span::current().record("activation_id", reservation.id.get());
    Ok(Some(GetNumberReply {
        activation_id: reservation.id,
        number: reservation.number,
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(body: Value) -> Result<Parsed, ApiError> {
        let Value::Object(object) = body else {
            panic!("not an object: {body}");
        };
        GetNumberRequest::parse(object)
    }

    fn body(country: &str, operator: &str, service: &str) -> Value {
        json!({"country": country, "operator": operator, "service": service, "sum": 4})
    }

    #[test]
    fn names_are_trimmed_and_lower_cased_and_any_is_any_operator() {
        let Ok(Parsed::Request(r)) = parse(body(" Russia ", " ANY ", "VK")) else {
            panic!("not a request");
        };
        assert_eq!(r.country.as_str(), "russia");
        assert_eq!(r.operator, OperatorChoice::Any);
        assert_eq!(r.service.as_str(), "vk");
        let Ok(Parsed::Request(r)) = parse(body("russia", "MegaFon", "vk")) else {
            panic!("not a request");
        };
        assert_eq!(
            r.operator.named().map(OperatorName::as_str),
            Some("megafon")
        );
    }

    #[test]
    fn a_name_that_is_not_a_name_matches_nothing_and_is_not_refused() {
        for (country, operator, service) in [
            ("rus sia", "any", "vk"),
            ("", "any", "vk"),
            ("russia", "tele 2", "vk"),
            ("russia", "", "vk"),
            ("russia", "any", "вк"),
            ("russia", "any", &"x".repeat(65)),
        ] {
            assert!(
                matches!(
                    parse(body(country, operator, service)),
                    Ok(Parsed::Unmatchable(_))
                ),
                "{country:?} {operator:?} {service:?}"
            );
        }
    }

    #[test]
    fn a_bad_prefix_or_sum_is_refused_before_names_are_matched() {
        let mut bad_prefix = body("rus sia", "any", "vk");
        bad_prefix["exceptionPhoneSet"] = json!(["79a"]);
        let mut bad_sum = body("rus sia", "any", "vk");
        bad_sum["sum"] = json!(-1);
        for bad in [bad_prefix, bad_sum] {
            assert!(matches!(parse(bad), Err(e) if e.code == crate::error::Code::BAD_FIELD));
        }
    }
}
