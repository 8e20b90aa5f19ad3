//! GET_SERVICES: the stock per country, operator and service, read from the engine's counters.

use serde_json::{Map, Value};

use super::Reply;
use crate::error::{ApiError, Code};
use crate::state::AppState;

fn counts(services: &[(simrelay_actors::domain::ServiceName, u32)]) -> Value {
    Value::Object(
        services
            .iter()
            .map(|(s, c)| (s.to_string(), Value::from(*c)))
            .collect(),
    )
}

/// `{"countryList":[{"country":…,"operatorMap":{"any":{…},"<operator>":{…}}}]}`
pub(super) fn handle(state: &AppState) -> Result<Reply, ApiError> {
    if !state.engine.is_ready() {
        return Err(ApiError::unavailable(
            Code::NOT_READY,
            "state is being recovered",
        ));
    }
    let stock = state.engine.stock();
    let list: Vec<Value> = stock
        .countries
        .iter()
        .map(|c| {
            let mut operators = Map::new();
            operators.insert("any".into(), counts(&c.any));
            for (operator, services) in &c.operators {
                operators.insert(operator.to_string(), counts(services));
            }
            serde_json::json!({"country": c.country.as_str(), "operatorMap": operators})
        })
        .collect();
    let mut fields = Map::new();
    fields.insert("countryList".into(), Value::Array(list));
    Ok(Reply::Success(fields))
}
