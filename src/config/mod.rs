//! Configuration: the TOML file, `SIMRELAY_<SECTION>__<KEY>` overrides, and parsing into types
//! that cannot be half-configured.
//!
//! Loading never half-succeeds: an unknown key, a wrong type, an unreadable file, a bad duration,
//! a bad URL or an invalid SIM stops start-up with a message naming the key (and the file).
//! [`RawSettings`] is the file as serde reads it (one struct per section, the deprecated aliases
//! included); [`RawSettings::parse`] turns it, in one place, into [`Settings`], whose values are
//! all valid: nothing downstream checks them again.

mod admin;
mod countries;
mod engine;
mod filtering;
mod gateway;
mod log;
mod onlinesim;
mod operators;
mod patterns;
mod platforms;
mod push_sms;
mod secret;
mod server;
mod services;
mod sims;
mod store;
mod switch;
mod switch_alias;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use simrelay_actors::domain::ServiceName;
use simrelay_actors::{EngineSettings, SimSpec};

pub use admin::AdminSettings;
pub use countries::CountryTable;
pub use engine::{EngineRules, RawEngine};
pub use filtering::{FilteringMode, FilteringSettings};
pub use gateway::GatewaySettings;
pub use log::{LogFormat, LogSettings};
pub use onlinesim::{
    Mode, ModeName, NoNumbersReply, OnlineSimSettings, RawOnlineSim, V1Settings, V2Endpoint,
    V2ListMode, V2Settings, V2Test,
};
pub use operators::OperatorTable;
pub use patterns::ServicePatterns;
pub use platforms::{Platform, Protocol, RawPlatform, ServiceNames, Side};
pub use push_sms::{PhoneType, PushSmsSettings, SmsIdKind};
pub use secret::Secret;
pub use server::ServerSettings;
pub use services::ServicesSettings;
pub use sims::{plausible_mcc_mnc, sim_specs, SimEntry};
pub use store::{RawStore, RedisUrl, StoreSettings};

/// The file `serve` and `check-config` read when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "config/simrelay.toml";

/// The config file as written (defaults filled in), before [`RawSettings::parse`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSettings {
    /// Listeners and HTTP limits.
    pub server: ServerSettings,
    /// Where state is kept.
    pub store: RawStore,
    /// How the engine treats activations.
    pub engine: RawEngine,
    /// The platform side.
    pub onlinesim: RawOnlineSim,
    /// What is sold.
    pub services: ServicesSettings,
    /// The SIM-bank side.
    pub gateway: GatewaySettings,
    /// The admin API.
    pub admin: AdminSettings,
    /// PUSH_SMS delivery details the protocol leaves open.
    pub push_sms: PushSmsSettings,
    /// Our-side SMS filtering.
    pub filtering: FilteringSettings,
    /// Logging.
    pub log: LogSettings,
    /// SIMs that are always online.
    pub sims: Vec<SimEntry>,
    /// The platforms sold on besides (or instead of) the `[onlinesim]` shorthand.
    pub platforms: Vec<RawPlatform>,
}

/// Every setting of simrelay, parsed: what `serve` runs with and `check-config` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Listeners and HTTP limits.
    pub server: ServerSettings,
    /// Where state is kept.
    pub store: StoreSettings,
    /// How the engine treats activations.
    pub engine: EngineRules,
    /// The platform side.
    pub onlinesim: OnlineSimSettings,
    /// What is sold.
    pub services: ServicesSettings,
    /// The SIM-bank side.
    pub gateway: GatewaySettings,
    /// The admin API.
    pub admin: AdminSettings,
    /// PUSH_SMS delivery details the protocol leaves open.
    pub push_sms: PushSmsSettings,
    /// Our-side SMS filtering.
    pub filtering: FilteringSettings,
    /// Logging.
    pub log: LogSettings,
    /// SIMs that are always online, as written.
    pub sims: Vec<SimEntry>,
    /// The `[[platforms]]` entries as written (keys masked): what `check-config` prints, so that
    /// its output reads back as the same config.
    #[serde(rename = "platforms", skip_serializing_if = "Vec::is_empty")]
    platform_entries: Vec<RawPlatform>,
    /// Every platform sold on, the `[onlinesim]` shorthand included when it applies.
    #[serde(skip)]
    pub platforms: Vec<Platform>,
    /// The same SIMs as the engine takes them (countries derived).
    #[serde(skip)]
    sim_specs: Vec<SimSpec>,
    /// The MCC-MNC → operator table in use (`gateway.operators_file` or the built-in one).
    #[serde(skip)]
    operators: OperatorTable,
    /// The service patterns in use (`filtering.services_file` or the built-in ones).
    #[serde(skip)]
    service_patterns: ServicePatterns,
    /// Deprecated keys in use, one line each for the operator; logged at start.
    #[serde(skip)]
    pub deprecations: Vec<String>,
}

impl Settings {
    /// Reads `path` (or the default file when present, else built-in defaults), applies the
    /// environment overrides and parses.
    ///
    /// Only `SIMRELAY_<SECTION>__<KEY>` variables (a `__` after the prefix) are overrides: other
    /// `SIMRELAY_*` variables belong to the commands (the gammu hook's `SIMRELAY_GATEWAY_URL`) and
    /// are ignored here, so they can never stop `serve` or `check-config` with "unknown field".
    pub fn load(path: Option<&Path>) -> anyhow::Result<(Settings, Option<PathBuf>)> {
        let file = match path {
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from(DEFAULT_CONFIG)).filter(|p| p.exists()),
        };
        let mut figment = Figment::from(Serialized::defaults(RawSettings::default()));
        if let Some(file) = &file {
            std::fs::metadata(file)
                .and_then(|_| std::fs::read(file).map(drop))
                .with_context(|| format!("cannot read config file {}", file.display()))?;
            figment = figment.merge(Toml::file_exact(file));
        }
        // Not a `__` form: a command's variable, not config. A `__` form with an unknown key is
        // still an error naming the key.
        figment = figment.merge(
            Env::prefixed("SIMRELAY_")
                .filter(|key| key.as_str().contains("__"))
                .split("__"),
        );
        let raw: RawSettings = figment.extract().map_err(|e| {
            let mut msg = String::from("invalid configuration:");
            for err in e {
                msg.push_str("\n  ");
                msg.push_str(&err.to_string());
            }
            anyhow::anyhow!(msg)
        })?;
        Ok((raw.parse()?, file))
    }

    /// The configured SIMs as the engine takes them.
    pub fn sim_specs(&self) -> &[SimSpec] {
        &self.sim_specs
    }

    /// The MCC-MNC → operator table in use.
    pub fn operator_table(&self) -> &OperatorTable {
        &self.operators
    }

    /// The service patterns in use.
    pub fn service_patterns(&self) -> &ServicePatterns {
        &self.service_patterns
    }

    /// The outbox's settings.
    pub fn delivery(&self) -> simrelay_actors::DeliverySettings {
        simrelay_actors::DeliverySettings {
            retry_interval: self.onlinesim.push_retry_interval,
            max_attempts: (self.push_sms.max_attempts > 0).then_some(self.push_sms.max_attempts),
            concurrency: self.push_sms.concurrency,
        }
    }

    /// The engine's settings (the SMS filter is added by start-up, from [`Settings::service_patterns`]).
    pub fn engine(&self) -> EngineSettings {
        EngineSettings {
            activation_ttl: self.engine.activation_ttl,
            expiry_grace: self.engine.expiry_grace,
            offered: offered(&self.services, self.onlinesim.rent),
            get_number_deadline: self.engine.get_number_deadline,
            max_cancels: self.engine.max_cancels,
            archive_after: self.store.archive_after,
            dedup_window: self.gateway.dedup_window,
            filter: None,
            listing_platforms: self
                .platforms
                .iter()
                .filter(|p| matches!(p.side, Side::Push(_)))
                .map(|p| (p.name.clone(), p.banks.clone()))
                .collect(),
            bank_ttl: self.gateway.bank_ttl,
            clock_skew: self.gateway.clock_skew,
            multipart_wait: self.gateway.multipart_wait,
        }
    }
}

/// The services sold: `services.offered`, and `rent` when `onlinesim.rent` offers it.
fn offered(services: &ServicesSettings, rent: bool) -> Vec<ServiceName> {
    let mut offered = services.offered.clone();
    offered.dedup();
    if rent && !offered.iter().any(|s| s.is_rent()) {
        offered.push(ServiceName::rent());
    }
    offered
}

impl RawSettings {
    /// Parses every section, resolves the deprecated aliases and makes the checks that span
    /// sections. Errors name the key.
    pub fn parse(self) -> anyhow::Result<Settings> {
        let mut deprecations = Vec::new();
        let RawSettings {
            server,
            store,
            engine,
            mut onlinesim,
            services,
            gateway,
            admin,
            push_sms,
            filtering,
            log,
            sims,
            platforms,
        } = self;
        server.check()?;
        gateway.check()?;
        push_sms.check()?;
        // `onlinesim.keep_closed` predates `store.archive_after`, which has a default: when the
        // old key is set it wins (as it always has), with a warning.
        let archive_after = match onlinesim.keep_closed.take() {
            Some(keep_closed) => {
                deprecations.push(
                    "onlinesim.keep_closed is deprecated: it sets store.archive_after; rename it"
                        .to_owned(),
                );
                keep_closed
            }
            None => store.archive_after,
        };
        let store = store.parse(archive_after)?;
        let aliases = engine::EngineAliases {
            activation_ttl: onlinesim.activation_ttl.take(),
            expiry_grace: onlinesim.expiry_grace.take(),
            get_number_deadline: onlinesim.get_number_deadline.take(),
        };
        let engine = engine.parse(aliases, &mut deprecations)?;
        let raw_onlinesim = onlinesim.clone();
        let onlinesim = onlinesim.parse()?;
        if services.offered.is_empty() && !onlinesim.rent {
            bail!("services.offered is empty: nothing would be sold");
        }
        let platform_entries = platforms.clone();
        let platforms = platforms::parse(
            platforms,
            &onlinesim,
            &raw_onlinesim,
            &offered(&services, onlinesim.rent),
        )?;
        let sim_specs = sim_specs(&sims, &CountryTable::builtin()?)?;
        let operators = match &gateway.operators_file {
            Some(path) => OperatorTable::from_file(path)
                .with_context(|| format!("gateway.operators_file = {}", path.display()))?,
            None => OperatorTable::builtin()?,
        };
        let service_patterns = match &filtering.services_file {
            Some(path) => ServicePatterns::from_file(path)
                .with_context(|| format!("filtering.services_file = {}", path.display()))?,
            None => ServicePatterns::builtin()?,
        };
        Ok(Settings {
            server,
            store,
            engine,
            onlinesim,
            services,
            gateway,
            admin,
            push_sms,
            filtering,
            log,
            sims,
            platform_entries,
            platforms,
            sim_specs,
            operators,
            service_patterns,
            deprecations,
        })
    }
}

#[cfg(test)]
mod tests;
