//! GET_SERVICES: the stock per country, operator and service, read from the engine's counters.
//! The request carries nothing besides `action` and `key`.

use std::collections::BTreeMap;

use serde::Serialize;
use simrelay_actors::domain::{CountryName, ServiceName};
use simrelay_actors::Stock;

use crate::error::{ApiError, Code};
use crate::state::AppState;

/// The operator key that sums a country's operators, the unknown ones included.
const ANY: &str = "any";

/// GET_SERVICES' answer: `{"countryList":[…]}`.
#[derive(Debug, Serialize)]
pub(super) struct GetServicesReply {
    /// One entry per country with at least one SIM.
    #[serde(rename = "countryList")]
    country_list: Vec<CountryStock>,
}

/// One country's stock: `{"country":…,"operatorMap":{"any":{…},"<operator>":{…}}}`.
#[derive(Debug, Serialize)]
struct CountryStock {
    country: CountryName,
    /// `any` and each known operator → service → count.
    #[serde(rename = "operatorMap")]
    operator_map: BTreeMap<String, BTreeMap<ServiceName, u32>>,
}

fn counts(services: &[(ServiceName, u32)]) -> BTreeMap<ServiceName, u32> {
    services.iter().cloned().collect()
}

pub(super) fn handle(state: &AppState) -> Result<GetServicesReply, ApiError> {
    if !state.engine.is_ready() {
        return Err(ApiError::unavailable(
            Code::NOT_READY,
            "state is being recovered",
        ));
    }
    Ok(state.engine.stock().into())
}

impl From<Stock> for GetServicesReply {
    fn from(stock: Stock) -> GetServicesReply {
        let country_list = stock
            .countries
            .into_iter()
            .map(|c| {
                let mut operator_map = BTreeMap::new();
                operator_map.insert(ANY.to_owned(), counts(&c.any));
                for (operator, services) in &c.operators {
                    operator_map.insert(operator.to_string(), counts(services));
                }
                CountryStock {
                    country: c.country,
                    operator_map,
                }
            })
            .collect();
        GetServicesReply { country_list }
    }
}
