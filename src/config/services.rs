//! `[services]`: what is sold.

use serde::{Deserialize, Serialize};
use simrelay_actors::domain::ServiceName;

/// `[services]`: the services GET_SERVICES reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServicesSettings {
    /// Services reported by GET_SERVICES; GET_NUMBER for others answers NO_NUMBERS.
    pub offered: Vec<ServiceName>,
}

impl Default for ServicesSettings {
    fn default() -> Self {
        let offered = ["vk", "ok", "wa", "tg"]
            .iter()
            .filter_map(|s| ServiceName::parse(s).ok())
            .collect();
        ServicesSettings { offered }
    }
}
