//! `[onlinesim]`: the OnlineSIM integration, v1 (OnlineSIM pulls numbers from us) or v2 (we
//! push our list), each mode with only its own settings.

use std::time::Duration;

use anyhow::bail;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use url::Url;

use super::{switch_alias, Secret};

/// Which Reseller API integration a file asks for (`onlinesim.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModeName {
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

/// `[onlinesim]` as written in the file: every key of both modes, and the deprecated aliases.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawOnlineSim {
    /// v1 or v2.
    pub mode: ModeName,
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
    /// Deprecated alias of `engine.activation_ttl` (`engine.activation_ttl` wins when both are set).
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub activation_ttl: Option<Duration>,
    /// Deprecated alias of `engine.expiry_grace` (`engine.expiry_grace` wins when both are set).
    #[serde(
        default,
        with = "switch_alias",
        skip_serializing_if = "Option::is_none"
    )]
    pub expiry_grace: Option<Option<Duration>>,
    /// Deprecated alias of `engine.get_number_deadline` (the new key wins when both are set).
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub get_number_deadline: Option<Duration>,
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

impl Default for RawOnlineSim {
    fn default() -> Self {
        RawOnlineSim {
            mode: ModeName::V1,
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
            activation_ttl: None,
            expiry_grace: None,
            get_number_deadline: None,
            keep_closed: None,
            rent: false,
            no_numbers_reply: NoNumbersReply::NoNumbers,
        }
    }
}

/// `[onlinesim]`, parsed: the settings both modes share, and the mode with its own.
#[derive(Debug, Clone, Serialize)]
pub struct OnlineSimSettings {
    /// v1 or v2, each with only its settings.
    #[serde(flatten)]
    pub mode: Mode,
    /// The partner key: the `key` OnlineSIM sends (v1) and the Bearer key (v2, never empty there).
    pub api_key: Secret,
    /// Spacing of SMS delivery retries (PUSH_SMS in v1, addMessage(s) in v2); above zero.
    #[serde(with = "humantime_serde")]
    pub push_retry_interval: Duration,
    /// Offer the `rent` service.
    pub rent: bool,
    /// How GET_NUMBER answers when nothing fits.
    pub no_numbers_reply: NoNumbersReply,
}

/// The OnlineSIM integration that runs, with the settings only it uses.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum Mode {
    /// OnlineSIM pulls numbers from us and we PUSH_SMS to it.
    V1(V1Settings),
    /// We push our list and every SMS to OnlineSIM.
    V2(V2Settings),
}

/// v1 mode: where OnlineSIM calls us and where SMS go.
#[derive(Debug, Clone, Serialize)]
pub struct V1Settings {
    /// Where OnlineSIM POSTs its actions; starts with `/`.
    #[serde(rename = "v1_path")]
    pub path: String,
    /// The PUSH_SMS webhook (http or https); `None`: SMS are stored but not delivered (a
    /// warning at start says so).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_sms_url: Option<Url>,
    /// `onlinesim.v2_base_url` and its client settings when set in v1 mode: only the
    /// `simrelay v2` requests run by hand use it.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub v2_requests: Option<V2Endpoint>,
}

/// How to reach the OnlineSIM v2 API.
#[derive(Debug, Clone, Serialize)]
pub struct V2Endpoint {
    /// The v2 base URL (http or https).
    #[serde(rename = "v2_base_url")]
    pub base_url: Url,
    /// How long one request may take (above zero).
    #[serde(rename = "v2_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Dry run: `test1` (accepted, nothing saved) or `test2` (echoed, logged); `None`: live.
    #[serde(rename = "v2_test", skip_serializing_if = "Option::is_none")]
    pub test: Option<V2Test>,
}

/// v2 mode: the API, and how the list and the SMS are sent.
#[derive(Debug, Clone, Serialize)]
pub struct V2Settings {
    /// The API and its client settings.
    #[serde(flatten)]
    pub endpoint: V2Endpoint,
    /// Heartbeat period (above zero).
    #[serde(rename = "v2_heartbeat", with = "humantime_serde")]
    pub heartbeat: Duration,
    /// `full` (sendNumbersOnline) or `incremental` (checkWork + addNumber/removeNumber).
    #[serde(rename = "v2_list_mode")]
    pub list_mode: V2ListMode,
    /// Full mode: quiet time after a change before the list is sent.
    #[serde(rename = "v2_debounce", with = "humantime_serde")]
    pub debounce: Duration,
    /// Incremental mode: period of the full reconcile (above zero).
    #[serde(rename = "v2_reconcile", with = "humantime_serde")]
    pub reconcile: Duration,
    /// SMS are sent in batches (addMessages) this often; `None`: one addMessage each.
    #[serde(flatten, serialize_with = "batch_keys")]
    pub batch_every: Option<Duration>,
}

/// `batch_every` as the file says it: `v2_batch`, and `v2_batch_every` when batching.
fn batch_keys<S: Serializer>(every: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(None)?;
    map.serialize_entry("v2_batch", &every.is_some())?;
    if let Some(every) = every {
        map.serialize_entry(
            "v2_batch_every",
            &humantime::format_duration(*every).to_string(),
        )?;
    }
    map.end()
}

impl OnlineSimSettings {
    /// v1 mode's settings, `None` in v2 mode.
    pub fn v1(&self) -> Option<&V1Settings> {
        match &self.mode {
            Mode::V1(v1) => Some(v1),
            Mode::V2(_) => None,
        }
    }

    /// v2 mode's settings, `None` in v1 mode.
    pub fn v2(&self) -> Option<&V2Settings> {
        match &self.mode {
            Mode::V1(_) => None,
            Mode::V2(v2) => Some(v2),
        }
    }

    /// Where the v2 API is, for requests run by hand: v2 mode's, or `v2_base_url` set in v1 mode.
    pub fn v2_endpoint(&self) -> Option<&V2Endpoint> {
        match &self.mode {
            Mode::V1(v1) => v1.v2_requests.as_ref(),
            Mode::V2(v2) => Some(&v2.endpoint),
        }
    }
}

impl RawOnlineSim {
    /// Parses the section (the engine aliases and `keep_closed` are resolved by the caller).
    pub(super) fn parse(self) -> anyhow::Result<OnlineSimSettings> {
        for (key, d) in [
            ("onlinesim.push_retry_interval", self.push_retry_interval),
            ("onlinesim.v2_heartbeat", self.v2_heartbeat),
            ("onlinesim.v2_batch_every", self.v2_batch_every),
            ("onlinesim.v2_timeout", self.v2_timeout),
            ("onlinesim.v2_reconcile", self.v2_reconcile),
        ] {
            if d.is_zero() {
                bail!("{key} must be longer than zero");
            }
        }
        if self.mode == ModeName::V1 {
            super::platforms::check_path("onlinesim.v1_path", &self.v1_path)?;
        }
        let push_sms_url = self
            .push_sms_url
            .as_deref()
            .map(|u| http_url("onlinesim.push_sms_url", u))
            .transpose()?;
        let base_url = self
            .v2_base_url
            .as_deref()
            .map(|u| http_url("onlinesim.v2_base_url", u))
            .transpose()?;
        let endpoint = base_url.map(|base_url| V2Endpoint {
            base_url,
            timeout: self.v2_timeout,
            test: self.v2_test,
        });
        let mode = match self.mode {
            ModeName::V1 => Mode::V1(V1Settings {
                path: self.v1_path,
                push_sms_url,
                v2_requests: endpoint,
            }),
            ModeName::V2 => {
                let Some(endpoint) = endpoint else {
                    bail!("onlinesim.mode = \"v2\" needs onlinesim.v2_base_url");
                };
                if self.api_key.is_empty() {
                    bail!("onlinesim.mode = \"v2\" needs onlinesim.api_key (the Bearer key)");
                }
                Mode::V2(V2Settings {
                    endpoint,
                    heartbeat: self.v2_heartbeat,
                    list_mode: self.v2_list_mode,
                    debounce: self.v2_debounce,
                    reconcile: self.v2_reconcile,
                    batch_every: self.v2_batch.then_some(self.v2_batch_every),
                })
            }
        };
        Ok(OnlineSimSettings {
            mode,
            api_key: self.api_key,
            push_retry_interval: self.push_retry_interval,
            rent: self.rent,
            no_numbers_reply: self.no_numbers_reply,
        })
    }
}

/// An http:// or https:// URL; the error names `key`.
pub(super) fn http_url(key: &str, raw: &str) -> anyhow::Result<Url> {
    let url = Url::parse(raw).map_err(|e| {
        anyhow::anyhow!("{key} must be an http:// or https:// URL, got {raw:?}: {e}")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("{key} must be an http:// or https:// URL, got {raw:?}");
    }
    Ok(url)
}
