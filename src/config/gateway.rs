//! `[gateway]`: the SIM-bank side (token, bank presence, SMS time, long SMS, body limit).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use serde::{Deserialize, Serialize};

use super::{switch, Secret};

/// `[gateway]`: how the SIM banks are heard.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewaySettings {
    /// Bearer token of the SIM-bank side.
    pub token: Secret,
    /// Two SMS without a gateway id, with the same number, sender and text, received this
    /// close together are one (SIM banks deliver some SMS twice).
    #[serde(with = "humantime_serde")]
    pub dedup_window: Duration,
    /// MCC-MNC → operator table; absent: the built-in `config/operators.toml`.
    pub operators_file: Option<PathBuf>,
    /// A bank silent this long has its SIMs taken off sale; `"off"` never does.
    #[serde(with = "switch")]
    pub bank_ttl: Option<Duration>,
    /// How far before an activation's start a SIM bank's `received_at` may lie and still
    /// belong to it (SIM-bank clocks run behind).
    #[serde(with = "humantime_serde")]
    pub clock_skew: Duration,
    /// How long the parts of a long SMS wait for the rest before what arrived is forwarded.
    #[serde(with = "humantime_serde")]
    pub multipart_wait: Duration,
    /// Largest gateway request body, in bytes, as sent and after gzip decoding (a PUT of
    /// 100 000 SIMs is about 7 MiB).
    pub max_body_bytes: usize,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        GatewaySettings {
            token: Secret::default(),
            dedup_window: Duration::from_secs(120),
            operators_file: None,
            bank_ttl: Some(Duration::from_secs(180)),
            clock_skew: Duration::from_secs(120),
            multipart_wait: Duration::from_secs(30),
            max_body_bytes: 16 * 1024 * 1024,
        }
    }
}

impl GatewaySettings {
    /// Refuses limits and waits that cannot work.
    pub(super) fn check(&self) -> anyhow::Result<()> {
        if self.max_body_bytes == 0 {
            bail!("gateway.max_body_bytes must be above zero");
        }
        if self.multipart_wait.is_zero() {
            bail!("gateway.multipart_wait must be longer than zero");
        }
        if self.bank_ttl.is_some_and(|d| d.is_zero()) {
            bail!("gateway.bank_ttl must be longer than zero (or \"off\")");
        }
        Ok(())
    }
}
