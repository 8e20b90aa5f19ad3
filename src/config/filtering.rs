//! `[filtering]`: our-side SMS filtering against the ordered service.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Who filters SMS against the ordered service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilteringMode {
    /// The platform filters (its default); simrelay forwards every SMS of an activation.
    Off,
    /// simrelay holds SMS that match none of the ordered service's patterns.
    Partner,
}

/// `[filtering]`: whether simrelay filters, and with which patterns.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilteringSettings {
    /// `off` or `partner`.
    pub mode: FilteringMode,
    /// Service patterns; absent: the built-in `config/services.toml`.
    pub services_file: Option<PathBuf>,
}

impl Default for FilteringSettings {
    fn default() -> Self {
        FilteringSettings {
            mode: FilteringMode::Off,
            services_file: None,
        }
    }
}
