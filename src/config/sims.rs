//! `[[sims]]`: the SIMs that are always online (fixed modems), checked at load.

use std::collections::HashSet;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use simrelay_actors::domain::{BankName, CountryName, Msisdn, OperatorName};
use simrelay_actors::SimSpec;

use super::CountryTable;

/// One `[[sims]]` entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimEntry {
    /// International number; a leading `+` is dropped.
    pub number: Msisdn,
    /// Port in the SIM bank.
    #[serde(default)]
    pub port: Option<String>,
    /// Operator name; unknown operators count only under `any`.
    #[serde(default)]
    pub operator: Option<OperatorName>,
    /// Country name; derived from the number when absent.
    #[serde(default)]
    pub country: Option<CountryName>,
    /// MCC-MNC (v2 lists it as the operator).
    #[serde(default)]
    pub mcc_mnc: Option<String>,
    /// Offered for rent on v2.
    #[serde(default)]
    pub rent: bool,
    /// The SIM bank it sits in (shown by the admin API); `default` when absent. Configured
    /// SIMs stay on sale whatever their bank's presence.
    #[serde(default)]
    pub bank: Option<BankName>,
}

/// An MCC-MNC is 5 or 6 digits.
pub fn plausible_mcc_mnc(code: &str) -> bool {
    (5..=6).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit())
}

/// The engine's view of the configured SIMs, countries derived where absent; errors name the
/// entry (`sims[i].…`).
pub fn sim_specs(sims: &[SimEntry], countries: &CountryTable) -> anyhow::Result<Vec<SimSpec>> {
    let mut seen = HashSet::new();
    sims.iter()
        .enumerate()
        .map(|(i, sim)| {
            if !seen.insert(sim.number) {
                bail!("sims[{i}].number: {} is listed twice", sim.number);
            }
            let country = match &sim.country {
                Some(c) => c.clone(),
                None => countries
                    .country_of(sim.number)
                    .with_context(|| format!("sims[{i}].country"))?,
            };
            if let Some(code) = &sim.mcc_mnc {
                if !plausible_mcc_mnc(code) {
                    bail!("sims[{i}].mcc_mnc: {code:?} must be 5 or 6 digits");
                }
            }
            Ok(SimSpec {
                number: sim.number,
                country,
                operator: sim.operator.clone(),
                port: sim.port.clone(),
                pinned: true,
                mcc_mnc: sim.mcc_mnc.clone(),
                rent: Some(sim.rent),
                bank: sim.bank.clone(),
            })
        })
        .collect()
}
