//! GET_NUMBER: reserve a number for one service, honouring the exclusion prefixes.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};
use simrelay_actors::domain::{
    CountryName, ExclusionPrefix, ExclusionSet, NameError, OperatorName, ServiceName,
};
use simrelay_actors::{NumberRequest, OperatorChoice};

use super::Reply;
use crate::error::ApiError;
use crate::fields;
use crate::state::AppState;

/// Extra time the edge waits beyond the engine's own deadline before giving up.
const EDGE_MARGIN: Duration = Duration::from_millis(500);

#[derive(Deserialize)]
struct Body {
    country: String,
    operator: String,
    service: String,
    sum: f64,
    #[serde(rename = "exceptionPhoneSet", default)]
    exception_phone_set: Option<Vec<fields::IntOrText>>,
}

pub(super) async fn handle(
    object: Map<String, Value>,
    state: &AppState,
) -> Result<Reply, ApiError> {
    let body: Body = fields::parse(object, &["country", "operator", "service", "sum"])?;
    let sum = fields::amount("sum", body.sum)?;
    let mut prefixes = Vec::new();
    for (i, item) in body
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
    // A name that is not even valid names nothing simrelay holds: NO_NUMBERS, as for any
    // country, operator or service without stock, never an error.
    let names = (|| {
        let operator = match body.operator.trim().to_ascii_lowercase().as_str() {
            "any" => OperatorChoice::Any,
            named => OperatorChoice::Named(OperatorName::parse(named)?),
        };
        Ok::<_, NameError>((
            CountryName::parse(&body.country)?,
            operator,
            ServiceName::parse(&body.service)?,
        ))
    })();
    let (country, operator, service) = match names {
        Ok(names) => names,
        Err(e) => {
            tracing::debug!(error = %e, "GET_NUMBER names nothing we hold; answering NO_NUMBERS");
            return Ok(Reply::NoNumbers);
        }
    };
    let request = NumberRequest {
        country,
        operator,
        service,
        sum,
        exclusions: ExclusionSet::new(prefixes),
    };
    let deadline = state.settings.onlinesim.get_number_deadline + EDGE_MARGIN;
    let reserved = match tokio::time::timeout(deadline, state.engine.get_number(request)).await {
        Ok(result) => result?,
        Err(_) => {
            tracing::warn!("GET_NUMBER missed its deadline; answering NO_NUMBERS");
            None
        }
    };
    let Some(reservation) = reserved else {
        return Ok(Reply::NoNumbers);
    };
    tracing::Span::current().record("activation_id", reservation.id.get());
    let mut out = Map::new();
    out.insert("number".into(), Value::from(reservation.number.get()));
    out.insert("activationId".into(), Value::from(reservation.id.get()));
    Ok(Reply::Success(out))
}
