//! GET_SERVICES: the stock per country, operator and service, read from the engine's counters,
//! of the SIMs the platform may sell (its `banks`), in its service names, with `any` as its
//! protocol reports it. The request carries nothing besides `action` and `key`.

use std::collections::BTreeMap;

use serde::Serialize;
use simrelay_actors::domain::{CountryName, ServiceName};
use simrelay_actors::Stock;

use super::PullPlatform;
use crate::config::ServiceNames;
use crate::error::{ApiError, Code};
use crate::platforms::AnyOperator;
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

/// How one platform's answer is written.
struct Shape<'a> {
    names: &'a ServiceNames,
    any: AnyOperator,
    rent: bool,
}

impl Shape<'_> {
    /// Service → count, in the platform's names (rent only where it is sold).
    fn counts(&self, services: &[(ServiceName, u32)]) -> BTreeMap<ServiceName, u32> {
        services
            .iter()
            .filter(|(s, _)| self.rent || !s.is_rent())
            .map(|(s, n)| (self.names.outgoing(s), *n))
            .collect()
    }

    fn reply(&self, stock: Stock) -> GetServicesReply {
        let country_list = stock
            .countries
            .into_iter()
            .map(|c| {
                let mut operator_map = BTreeMap::new();
                for (operator, services) in &c.operators {
                    operator_map.insert(operator.to_string(), self.counts(services));
                }
                if self.any == AnyOperator::Always || operator_map.is_empty() {
                    operator_map.insert(ANY.to_owned(), self.counts(&c.any));
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

/// OnlineSIM's shape with our own service names.
impl From<Stock> for GetServicesReply {
    fn from(stock: Stock) -> GetServicesReply {
        let names = ServiceNames::default();
        let shape = Shape {
            names: &names,
            any: AnyOperator::Always,
            rent: true,
        };
        shape.reply(stock)
    }
}

pub(super) fn handle(
    state: &AppState,
    platform: &PullPlatform,
) -> Result<GetServicesReply, ApiError> {
    if !state.engine.is_ready() {
        return Err(ApiError::unavailable(
            Code::NOT_READY,
            "state is being recovered",
        ));
    }
    let shape = Shape {
        names: &platform.platform.services,
        any: platform.rules.any,
        rent: platform.rules.rent,
    };
    Ok(shape.reply(state.engine.stock_of(&platform.platform.banks)))
}

#[cfg(test)]
mod tests {
    use simrelay_actors::domain::OperatorName;
    use simrelay_actors::StockCountry;

    use super::*;

    fn name(s: &str) -> ServiceName {
        ServiceName::parse(s).unwrap()
    }

    fn stock() -> Stock {
        let counts = |vk, rent| vec![(name("vk"), vk), (name("rent"), rent)];
        Stock {
            countries: vec![
                StockCountry {
                    country: CountryName::parse("russia").unwrap(),
                    operators: vec![(OperatorName::parse("mts").unwrap(), counts(2, 1))],
                    any: counts(3, 1),
                },
                StockCountry {
                    country: CountryName::parse("kazakhstan").unwrap(),
                    operators: vec![],
                    any: counts(4, 0),
                },
            ],
        }
    }

    fn json(shape: &Shape<'_>) -> serde_json::Value {
        serde_json::to_value(shape.reply(stock())).unwrap()
    }

    #[test]
    fn onlinesim_always_reports_any_and_smshub_never_beside_named_operators() {
        let names = ServiceNames::default();
        let onlinesim = json(&Shape {
            names: &names,
            any: AnyOperator::Always,
            rent: true,
        });
        assert_eq!(
            onlinesim["countryList"][0]["operatorMap"],
            serde_json::json!({"any": {"vk": 3, "rent": 1}, "mts": {"vk": 2, "rent": 1}})
        );
        assert_eq!(
            onlinesim["countryList"][1]["operatorMap"],
            serde_json::json!({"any": {"vk": 4, "rent": 0}})
        );
        let smshub = json(&Shape {
            names: &names,
            any: AnyOperator::Unsplit,
            rent: false,
        });
        assert_eq!(
            smshub["countryList"][0]["operatorMap"],
            serde_json::json!({"mts": {"vk": 2}})
        );
        assert_eq!(
            smshub["countryList"][1]["operatorMap"],
            serde_json::json!({"any": {"vk": 4}})
        );
    }
}
