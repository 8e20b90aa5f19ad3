//! Configuration: the TOML file, `SIMRELAY_<SECTION>__<KEY>` overrides, and validation.
//!
//! Loading never half-succeeds: an unknown key, a wrong type, an unreadable file, a bad duration
//! or an invalid SIM stops start-up with a message naming the key (and the file).

mod countries;
mod operators;
mod patterns;
mod secret;
mod switch;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use simrelay_actors::domain::{BankName, CountryName, Msisdn, OperatorName, ServiceName};
use simrelay_actors::{EngineSettings, SimSpec};

pub use countries::CountryTable;
pub use operators::OperatorTable;
pub use patterns::ServicePatterns;
pub use secret::Secret;

/// The file `serve` and `check-config` read when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "config/simrelay.toml";

/// Every setting of simrelay.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Listeners and HTTP limits.
    pub server: ServerSettings,
    /// Where state is kept.
    pub store: StoreSettings,
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
    /// SIMs that are always online.
    pub sims: Vec<SimEntry>,
}

/// `[server]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Platform-facing listener (the v1 endpoint, and everything else unless
    /// `internal_listen` is set).
    pub listen: SocketAddr,
    /// When set, gateway, admin, metrics and health live only here.
    pub internal_listen: Option<SocketAddr>,
    /// HTTP worker threads per listener; 0 means one per core.
    pub workers: usize,
    /// Largest request body accepted, in bytes, as sent (compressed or not).
    pub max_body_bytes: usize,
    /// Largest body accepted after gzip decoding, in bytes (caps gzip bombs while decoding).
    pub max_decoded_bytes: usize,
    /// `TCP_NODELAY` on accepted connections: an answer written in more than one piece (a
    /// gzip-compressed body is) leaves at once instead of waiting for the client's delayed ACK.
    pub tcp_nodelay: bool,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            internal_listen: None,
            workers: 0,
            max_body_bytes: 256 * 1024,
            max_decoded_bytes: 1024 * 1024,
            tcp_nodelay: true,
        }
    }
}

/// `[store]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSettings {
    /// Redis URL; absent means the in-memory store (state lost on restart).
    pub redis_url: Option<Secret>,
    /// Prefix of every Redis key.
    pub key_prefix: String,
    /// How long one Redis command may take before the store counts as down.
    #[serde(with = "humantime_serde")]
    pub command_timeout: Duration,
    /// The single-writer lease: only its holder serves and writes; a holder that stops
    /// renewing is replaced by a standby within this long.
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    /// Closed activations and settled SMS older than this leave memory and what recovery reads
    /// for the archive.
    #[serde(with = "humantime_serde")]
    pub archive_after: Duration,
    /// Archived records are deleted this long after they were archived.
    #[serde(with = "humantime_serde")]
    pub archive_ttl: Duration,
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            redis_url: None,
            key_prefix: "simrelay".into(),
            command_timeout: Duration::from_secs(2),
            lease: Duration::from_secs(10),
            archive_after: Duration::from_secs(7 * 24 * 3600),
            archive_ttl: Duration::from_secs(90 * 24 * 3600),
        }
    }
}

/// Which Reseller API integration runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// OnlineSIM pulls numbers from us.
    V1,
    /// We push our list to OnlineSIM.
    V2,
}

/// How the v2 list is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum V2ListMode {
    /// sendNumbersOnline every heartbeat and after each change.
    Full,
    /// checkWork every heartbeat, addNumber / removeNumber per change, periodic full reconcile.
    Incremental,
}

/// v2 dry-run modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum V2Test {
    /// Accepted, nothing saved.
    Test1,
    /// The request is echoed back (simrelay logs the echo).
    Test2,
}

impl V2Test {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            V2Test::Test1 => "test1",
            V2Test::Test2 => "test2",
        }
    }
}

/// How GET_NUMBER says "nothing fits".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoNumbersReply {
    /// `{"status":"NO_NUMBERS"}` (SMSHub's answer, the default).
    NoNumbers,
    /// `{"status":"ERROR","error":"NO_NUMBERS"}`.
    Error,
}

/// `[onlinesim]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OnlineSimSettings {
    /// v1 or v2.
    pub mode: Mode,
    /// The partner key: the `key` OnlineSIM sends (v1) and the Bearer key (v2).
    pub api_key: Secret,
    /// Where OnlineSIM POSTs its v1 actions.
    pub v1_path: String,
    /// PUSH_SMS webhook URL (SMS delivery).
    pub push_sms_url: Option<String>,
    /// Spacing of PUSH_SMS retries.
    #[serde(with = "humantime_serde")]
    pub push_retry_interval: Duration,
    /// v2 base URL.
    pub v2_base_url: Option<String>,
    /// v2 heartbeat period.
    #[serde(with = "humantime_serde")]
    pub v2_heartbeat: Duration,
    /// v2: `full` (sendNumbersOnline) or `incremental` (checkWork + addNumber/removeNumber).
    pub v2_list_mode: V2ListMode,
    /// v2 full mode: quiet time after a change before the list is sent.
    #[serde(with = "humantime_serde")]
    pub v2_debounce: Duration,
    /// v2 incremental mode: period of the full reconcile.
    #[serde(with = "humantime_serde")]
    pub v2_reconcile: Duration,
    /// v2: forward SMS in batches by addMessages.
    pub v2_batch: bool,
    /// v2: how often a batch is sent.
    #[serde(with = "humantime_serde")]
    pub v2_batch_every: Duration,
    /// v2 dry run: `test1` (accepted, nothing saved) or `test2` (echoed, logged).
    pub v2_test: Option<V2Test>,
    /// v2: how long one request may take.
    #[serde(with = "humantime_serde")]
    pub v2_timeout: Duration,
    /// How long the platform keeps an activation open.
    #[serde(with = "humantime_serde")]
    pub activation_ttl: Duration,
    /// `"off"` (the default): simrelay never frees a number on its own; an activation past
    /// `activation_ttl` without FINISH_ACTIVATION stays active (overdue) until the platform
    /// finishes it or the operator releases it. A duration opts into the safety net: the number
    /// is freed this long after the TTL.
    #[serde(with = "switch")]
    pub expiry_grace: Option<Duration>,
    /// Internal GET_NUMBER deadline (the platform gives up at 10 s).
    #[serde(with = "humantime_serde")]
    pub get_number_deadline: Duration,
    /// Deprecated alias of `store.archive_after` (when set, it wins, with a warning).
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub keep_closed: Option<Duration>,
    /// Offer the `rent` service.
    pub rent: bool,
    /// How GET_NUMBER answers when nothing fits.
    pub no_numbers_reply: NoNumbersReply,
}

impl Default for OnlineSimSettings {
    fn default() -> Self {
        OnlineSimSettings {
            mode: Mode::V1,
            api_key: Secret::default(),
            v1_path: "/onlinesim/v1".into(),
            push_sms_url: None,
            push_retry_interval: Duration::from_secs(10),
            v2_base_url: None,
            v2_heartbeat: Duration::from_secs(300),
            v2_list_mode: V2ListMode::Full,
            v2_debounce: Duration::from_secs(3),
            v2_reconcile: Duration::from_secs(3600),
            v2_batch: false,
            v2_batch_every: Duration::from_secs(5),
            v2_test: None,
            v2_timeout: Duration::from_secs(10),
            activation_ttl: Duration::from_secs(900),
            expiry_grace: None,
            get_number_deadline: Duration::from_secs(3),
            keep_closed: None,
            rent: false,
            no_numbers_reply: NoNumbersReply::NoNumbers,
        }
    }
}

/// `[services]`
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

/// `[gateway]`
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

/// JSON type of PUSH_SMS `phone`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhoneType {
    /// `79281234567` (SMSHub and OnlineSIM's legacy/test rules).
    Integer,
    /// `"79281234567"` (OnlineSIM's current schema).
    String,
}

/// What PUSH_SMS `smsId` carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsIdKind {
    /// The activation id (OnlineSIM's documentation).
    Activation,
    /// simrelay's own id of the SMS, unique per SMS (SMSHub).
    Unique,
}

/// `[push_sms]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PushSmsSettings {
    /// JSON type of `phone`.
    pub phone_type: PhoneType,
    /// What `smsId` carries.
    pub sms_id: SmsIdKind,
    /// Give up after this many attempts; 0 retries forever.
    pub max_attempts: u32,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// How long one PUSH_SMS may take.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for PushSmsSettings {
    fn default() -> Self {
        PushSmsSettings {
            phone_type: PhoneType::Integer,
            sms_id: SmsIdKind::Activation,
            max_attempts: 0,
            concurrency: 16,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Who filters SMS against the ordered service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilteringMode {
    /// The platform filters (its default); simrelay forwards every SMS of an activation.
    Off,
    /// simrelay holds SMS that match none of the ordered service's patterns.
    Partner,
}

/// `[filtering]`
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

/// `[admin]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSettings {
    /// Bearer token of the admin API; empty disables it.
    pub token: Secret,
}

/// `[log]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// A tracing filter, e.g. `info` or `simrelay=debug,info`; `RUST_LOG` wins when set.
    pub filter: String,
    /// `text` or `json`.
    pub format: LogFormat,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            filter: "info".into(),
            format: LogFormat::Text,
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable.
    Text,
    /// One JSON object per line.
    Json,
}

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

impl Settings {
    /// Reads `path` (or the default file when present, else built-in defaults), applies the
    /// environment overrides and validates.
    ///
    /// Only `SIMRELAY_<SECTION>__<KEY>` variables (a `__` after the prefix) are overrides: other
    /// `SIMRELAY_*` variables belong to the commands (the gammu hook's `SIMRELAY_GATEWAY_URL`) and
    /// are ignored here, so they can never stop `serve` or `check-config` with "unknown field".
    pub fn load(path: Option<&Path>) -> anyhow::Result<(Settings, Option<PathBuf>)> {
        let file = match path {
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from(DEFAULT_CONFIG)).filter(|p| p.exists()),
        };
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
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
        let settings: Settings = figment.extract().map_err(|e| {
            let mut msg = String::from("invalid configuration:");
            for err in e {
                msg.push_str("\n  ");
                msg.push_str(&err.to_string());
            }
            anyhow::anyhow!(msg)
        })?;
        settings.validate()?;
        Ok((settings, file))
    }

    fn validate(&self) -> anyhow::Result<()> {
        let o = &self.onlinesim;
        if !o.v1_path.starts_with('/') {
            bail!("onlinesim.v1_path must start with '/', got {:?}", o.v1_path);
        }
        for (key, url) in [
            ("onlinesim.push_sms_url", &o.push_sms_url),
            ("onlinesim.v2_base_url", &o.v2_base_url),
        ] {
            if let Some(url) = url {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    bail!("{key} must be an http:// or https:// URL, got {url:?}");
                }
            }
        }
        if let Some(url) = &self.store.redis_url {
            let u = url.expose();
            if !(u.starts_with("redis://")
                || u.starts_with("rediss://")
                || u.starts_with("unix://"))
            {
                bail!("store.redis_url must start with redis://, rediss:// or unix://");
            }
        }
        for (key, d) in [
            ("onlinesim.activation_ttl", o.activation_ttl),
            ("onlinesim.get_number_deadline", o.get_number_deadline),
            ("onlinesim.push_retry_interval", o.push_retry_interval),
            ("onlinesim.v2_heartbeat", o.v2_heartbeat),
            ("store.command_timeout", self.store.command_timeout),
            ("onlinesim.v2_batch_every", o.v2_batch_every),
            ("onlinesim.v2_timeout", o.v2_timeout),
            ("onlinesim.v2_reconcile", o.v2_reconcile),
            ("push_sms.timeout", self.push_sms.timeout),
        ] {
            if d.is_zero() {
                bail!("{key} must be longer than zero");
            }
        }
        if o.get_number_deadline >= Duration::from_secs(10) {
            bail!(
                "onlinesim.get_number_deadline must be under the platform's 10 s, got {:?}",
                o.get_number_deadline
            );
        }
        if self.store.key_prefix.is_empty() || self.store.key_prefix.contains(char::is_whitespace) {
            bail!("store.key_prefix must be non-empty and without spaces");
        }
        if self.server.max_body_bytes == 0 || self.server.max_decoded_bytes == 0 {
            bail!("server.max_body_bytes and server.max_decoded_bytes must be above zero");
        }
        if self.store.lease < self.store.command_timeout * 2 {
            bail!(
                "store.lease ({:?}) must be at least twice store.command_timeout ({:?}): a renewal must fit in it",
                self.store.lease,
                self.store.command_timeout
            );
        }
        if self.gateway.max_body_bytes == 0 {
            bail!("gateway.max_body_bytes must be above zero");
        }
        if self.gateway.multipart_wait.is_zero() {
            bail!("gateway.multipart_wait must be longer than zero");
        }
        if self.gateway.bank_ttl.is_some_and(|d| d.is_zero()) {
            bail!("gateway.bank_ttl must be longer than zero (or \"off\")");
        }
        if self.services.offered.is_empty() && !o.rent {
            bail!("services.offered is empty: nothing would be sold");
        }
        let mut seen = std::collections::HashSet::new();
        for (i, sim) in self.sims.iter().enumerate() {
            if !seen.insert(sim.number) {
                bail!("sims[{i}].number: {} is listed twice", sim.number);
            }
        }
        if o.mode == Mode::V2 && o.v2_base_url.is_none() {
            bail!("onlinesim.mode = \"v2\" needs onlinesim.v2_base_url");
        }
        if o.mode == Mode::V2 && o.api_key.is_empty() {
            bail!("onlinesim.mode = \"v2\" needs onlinesim.api_key (the Bearer key)");
        }
        if self.push_sms.concurrency == 0 {
            bail!("push_sms.concurrency must be at least 1");
        }
        self.sim_specs(&CountryTable::builtin()?)?;
        self.operator_table()?;
        self.service_patterns()?;
        Ok(())
    }

    /// When closed records are archived: `store.archive_after`, or the deprecated
    /// `onlinesim.keep_closed` when that is set.
    pub fn archive_after(&self) -> Duration {
        self.onlinesim
            .keep_closed
            .unwrap_or(self.store.archive_after)
    }

    /// The MCC-MNC → operator table in use.
    pub fn operator_table(&self) -> anyhow::Result<OperatorTable> {
        match &self.gateway.operators_file {
            Some(path) => OperatorTable::from_file(path)
                .with_context(|| format!("gateway.operators_file = {}", path.display())),
            None => OperatorTable::builtin(),
        }
    }

    /// The service patterns in use.
    pub fn service_patterns(&self) -> anyhow::Result<ServicePatterns> {
        match &self.filtering.services_file {
            Some(path) => ServicePatterns::from_file(path)
                .with_context(|| format!("filtering.services_file = {}", path.display())),
            None => ServicePatterns::builtin(),
        }
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
        let mut offered = self.services.offered.clone();
        offered.dedup();
        if self.onlinesim.rent && !offered.iter().any(|s| s.is_rent()) {
            offered.push(ServiceName::rent());
        }
        EngineSettings {
            activation_ttl: self.onlinesim.activation_ttl,
            expiry_grace: self.onlinesim.expiry_grace,
            offered,
            get_number_deadline: self.onlinesim.get_number_deadline,
            max_cancels: 4,
            archive_after: self.archive_after(),
            dedup_window: self.gateway.dedup_window,
            filter: None,
            forward_unmatched: self.onlinesim.mode == Mode::V2,
            bank_ttl: self.gateway.bank_ttl,
            clock_skew: self.gateway.clock_skew,
            multipart_wait: self.gateway.multipart_wait,
        }
    }

    /// The configured SIMs, countries derived where absent.
    pub fn sim_specs(&self, countries: &CountryTable) -> anyhow::Result<Vec<SimSpec>> {
        self.sims
            .iter()
            .enumerate()
            .map(|(i, sim)| {
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
}

/// An MCC-MNC is 5 or 6 digits.
pub fn plausible_mcc_mnc(code: &str) -> bool {
    (5..=6).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_toml(text: &str) -> Settings {
        Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::string(text))
            .extract()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn keep_closed_is_a_deprecated_alias_of_archive_after() {
        let defaults = Settings::default();
        assert_eq!(defaults.archive_after(), Duration::from_secs(7 * 24 * 3600));
        assert_eq!(
            defaults.store.archive_ttl,
            Duration::from_secs(90 * 24 * 3600)
        );
        let new = from_toml("[store]\narchive_after = \"2d\"\n");
        assert_eq!(new.archive_after(), Duration::from_secs(2 * 24 * 3600));
        let old = from_toml("[onlinesim]\nkeep_closed = \"3d\"\n");
        assert_eq!(old.archive_after(), Duration::from_secs(3 * 24 * 3600));
        assert!(old.validate().is_ok());
    }
}
