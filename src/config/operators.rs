//! Naming a SIM's operator from its MCC-MNC (`config/operators.toml`).

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;
use simrelay_actors::domain::OperatorName;

const BUILTIN: &str = include_str!("../../config/operators.toml");

/// MCC-MNC → platform operator name.
#[derive(Debug, Clone)]
pub struct OperatorTable {
    by_code: HashMap<String, OperatorName>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    operators: HashMap<String, OperatorName>,
}

impl OperatorTable {
    /// The table shipped in `config/operators.toml`.
    pub fn builtin() -> anyhow::Result<OperatorTable> {
        OperatorTable::parse(BUILTIN).context("config/operators.toml")
    }

    /// A table from a file in the same format.
    pub fn from_file(path: &Path) -> anyhow::Result<OperatorTable> {
        OperatorTable::parse(&std::fs::read_to_string(path)?)
    }

    fn parse(text: &str) -> anyhow::Result<OperatorTable> {
        let file: File = toml::from_str(text)?;
        for code in file.operators.keys() {
            anyhow::ensure!(
                (5..=6).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit()),
                "MCC-MNC {code:?} must be 5 or 6 digits"
            );
        }
        Ok(OperatorTable {
            by_code: file.operators,
        })
    }

    /// The operator of an MCC-MNC, if the table knows it.
    pub fn name(&self, mcc_mnc: &str) -> Option<OperatorName> {
        self.by_code.get(mcc_mnc.trim()).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_big_russian_operators() {
        let t = OperatorTable::builtin().unwrap();
        assert_eq!(t.name("25099").unwrap().as_str(), "beeline");
        assert_eq!(t.name("25001").unwrap().as_str(), "mts");
        assert!(t.name("99999").is_none());
    }
}
