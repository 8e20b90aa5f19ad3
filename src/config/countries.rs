//! Deriving a SIM's country from its number: the numbering plan gives the region (`phonenumber`
//! knows that +7 7xx is Kazakhstan and +7 9xx Russia), `config/countries.toml` maps the region
//! to the platform's country name.

use std::collections::HashMap;
use std::str::FromStr;

use anyhow::{anyhow, Context};
use serde::Deserialize;
use simrelay_actors::domain::{CountryName, Msisdn};

const BUILTIN: &str = include_str!("../../config/countries.toml");

/// Region code → platform country name.
#[derive(Debug, Clone)]
pub struct CountryTable {
    by_region: HashMap<String, CountryName>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    countries: HashMap<String, CountryName>,
}

impl CountryTable {
    /// The table shipped in `config/countries.toml`.
    pub fn builtin() -> anyhow::Result<CountryTable> {
        CountryTable::parse(BUILTIN).context("config/countries.toml")
    }

    /// Parses a table in the format of `config/countries.toml`.
    pub fn parse(text: &str) -> anyhow::Result<CountryTable> {
        let file: File = toml::from_str(text)?;
        Ok(CountryTable {
            by_region: file
                .countries
                .into_iter()
                .map(|(k, v)| (k.to_ascii_uppercase(), v))
                .collect(),
        })
    }

    /// Whether the numbering plan knows the number's calling code (a plausible international
    /// number, whatever country it is sold under).
    pub fn plausible(&self, number: Msisdn) -> bool {
        phonenumber::parse(None, format!("+{number}")).is_ok()
    }

    /// The country calling code of `number` (v2 `country_id`).
    pub fn calling_code(&self, number: Msisdn) -> Option<u16> {
        phonenumber::parse(None, format!("+{number}"))
            .ok()
            .map(|p| p.code().value())
    }

    /// The platform's name for the country of `number`.
    pub fn country_of(&self, number: Msisdn) -> anyhow::Result<CountryName> {
        let parsed = phonenumber::parse(None, format!("+{number}")).map_err(|e| {
            anyhow!("cannot derive the country of {number}: {e}; set it explicitly")
        })?;
        let region = parsed.country().id().ok_or_else(|| {
            anyhow!("the numbering plan knows no region for {number}; set the country explicitly")
        })?;
        let region = region.as_ref();
        self.by_region.get(region).cloned().ok_or_else(|| {
            anyhow!("region {region} of {number} is not in config/countries.toml; set the country explicitly")
        })
    }
}

impl FromStr for CountryTable {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CountryTable::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kazakhstan_and_russia_share_plus_seven() {
        let t = CountryTable::builtin().unwrap();
        let n = |s: &str| Msisdn::parse(s).unwrap();
        assert_eq!(
            t.country_of(n("77011234567")).unwrap().as_str(),
            "kazakhstan"
        );
        assert_eq!(t.country_of(n("79281234567")).unwrap().as_str(), "russia");
        assert_eq!(t.country_of(n("380501234567")).unwrap().as_str(), "ukraine");
        assert_eq!(
            t.country_of(n("4915112345678")).unwrap().as_str(),
            "germany"
        );
    }
}
