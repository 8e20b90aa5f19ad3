//! `[admin]`: the admin API's token.

use serde::{Deserialize, Serialize};

use super::Secret;

/// `[admin]`: who may use the admin API and the status page.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSettings {
    /// Bearer token of the admin API; empty disables it.
    pub token: Secret,
}
