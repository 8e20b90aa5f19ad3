//! `[engine]`: how the reservation engine treats activations, whatever the platform: their
//! lifetime, the optional safety net that frees overdue numbers, GET_NUMBER's deadline and the
//! cancel limit.
//!
//! These keys lived in `[onlinesim]` before; the old keys still work as deprecated aliases
//! (resolved in [`RawEngine::parse`], the new key wins when both are set).

use std::time::Duration;

use anyhow::bail;
use serde::{Deserialize, Serialize};

use super::{switch, switch_alias};

/// `[engine]` as written in the file: absent keys stay `None`, so an alias can fill them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawEngine {
    /// How long the platform keeps an activation open.
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub activation_ttl: Option<Duration>,
    /// `"off"` or a duration: see [`EngineRules::expiry_grace`].
    #[serde(with = "switch_alias", skip_serializing_if = "Option::is_none")]
    pub expiry_grace: Option<Option<Duration>>,
    /// Internal GET_NUMBER deadline.
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub get_number_deadline: Option<Duration>,
    /// Cancelled activations (FINISH 4) of one service after which a number is not offered for
    /// it again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_cancels: Option<u8>,
}

/// `[engine]`, parsed: every value present and in range.
#[derive(Debug, Clone, Serialize)]
pub struct EngineRules {
    /// How long the platform keeps an activation open (above zero).
    #[serde(with = "humantime_serde")]
    pub activation_ttl: Duration,
    /// `None` (`"off"`, the default): simrelay never frees a number on its own; an activation
    /// past `activation_ttl` without FINISH_ACTIVATION stays active (overdue) until the platform
    /// finishes it or the operator releases it. A duration opts into the safety net: the number
    /// is freed this long after the TTL.
    #[serde(with = "switch")]
    pub expiry_grace: Option<Duration>,
    /// Internal GET_NUMBER deadline: above zero, under the platform's 10 s.
    #[serde(with = "humantime_serde")]
    pub get_number_deadline: Duration,
    /// Cancelled activations of one service after which a number is not offered for it again
    /// (at least 1).
    pub max_cancels: u8,
}

impl Default for EngineRules {
    fn default() -> Self {
        EngineRules {
            activation_ttl: Duration::from_secs(900),
            expiry_grace: None,
            get_number_deadline: Duration::from_secs(3),
            max_cancels: 4,
        }
    }
}

/// The `[onlinesim]` keys that are deprecated aliases of `[engine]` keys.
#[derive(Debug, Clone, Default)]
pub(super) struct EngineAliases {
    pub activation_ttl: Option<Duration>,
    pub expiry_grace: Option<Option<Duration>>,
    pub get_number_deadline: Option<Duration>,
}

impl RawEngine {
    /// Parses the section with its `[onlinesim]` aliases; every alias in use adds a warning to
    /// `warnings` naming the new key. Errors name the key the value came from.
    pub(super) fn parse(
        self,
        aliases: EngineAliases,
        warnings: &mut Vec<String>,
    ) -> anyhow::Result<EngineRules> {
        let defaults = EngineRules::default();
        let (activation_ttl, ttl_key) = pick(
            "activation_ttl",
            self.activation_ttl,
            aliases.activation_ttl,
            defaults.activation_ttl,
            warnings,
        );
        let (expiry_grace, _) = pick(
            "expiry_grace",
            self.expiry_grace,
            aliases.expiry_grace,
            defaults.expiry_grace,
            warnings,
        );
        let (get_number_deadline, deadline_key) = pick(
            "get_number_deadline",
            self.get_number_deadline,
            aliases.get_number_deadline,
            defaults.get_number_deadline,
            warnings,
        );
        let max_cancels = self.max_cancels.unwrap_or(defaults.max_cancels);
        for (key, d) in [
            (&ttl_key, activation_ttl),
            (&deadline_key, get_number_deadline),
        ] {
            if d.is_zero() {
                bail!("{key} must be longer than zero");
            }
        }
        if get_number_deadline >= Duration::from_secs(10) {
            bail!("{deadline_key} must be under the platform's 10 s, got {get_number_deadline:?}");
        }
        if max_cancels == 0 {
            bail!("engine.max_cancels must be at least 1");
        }
        Ok(EngineRules {
            activation_ttl,
            expiry_grace,
            get_number_deadline,
            max_cancels,
        })
    }
}

/// The value of `engine.{name}`, else of its alias `onlinesim.{name}`, else the default, and
/// the key it came from. Using the alias, or setting both, adds a warning.
fn pick<T>(
    name: &str,
    new: Option<T>,
    old: Option<T>,
    default: T,
    warnings: &mut Vec<String>,
) -> (T, String) {
    match (new, old) {
        (Some(v), Some(_)) => {
            warnings.push(format!(
                "onlinesim.{name} is deprecated and ignored: engine.{name} is also set and wins; remove onlinesim.{name}"
            ));
            (v, format!("engine.{name}"))
        }
        (Some(v), None) => (v, format!("engine.{name}")),
        (None, Some(v)) => {
            warnings.push(format!(
                "onlinesim.{name} is deprecated: it sets engine.{name}; move it to [engine]"
            ));
            (v, format!("onlinesim.{name}"))
        }
        (None, None) => (default, format!("engine.{name}")),
    }
}
