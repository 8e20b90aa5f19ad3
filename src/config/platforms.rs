//! `[[platforms]]`: every platform simrelay sells on, each with its own key, path, webhook,
//! protocol, service names and banks. The `[onlinesim]` section is the shorthand for the platform
//! `onlinesim`: always there when no `[[platforms]]` entry is written (existing configs keep
//! working), and beside the entries when `onlinesim.api_key` is set.

use std::collections::BTreeMap;

use anyhow::bail;
use serde::{Deserialize, Serialize};
use simrelay_actors::domain::{BankName, PlatformName, ServiceName};
use simrelay_actors::BankScope;
use url::Url;

use super::onlinesim::{http_url, Mode, OnlineSimSettings, RawOnlineSim, V2Endpoint, V2Settings};
use super::Secret;

/// A platform's wire protocol (`[[platforms]] protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OnlineSIM's v1 Reseller API: the platform pulls numbers, we PUSH_SMS.
    OnlineSimV1,
    /// OnlineSIM's v2 Reseller API: we push our list and every SMS.
    OnlineSimV2,
    /// SMSHub's agent protocol: the shape of v1, with its own rules.
    SmsHub,
}

impl Protocol {
    /// Every protocol.
    const ALL: [Protocol; 3] = [
        Protocol::OnlineSimV1,
        Protocol::OnlineSimV2,
        Protocol::SmsHub,
    ];

    /// The config name.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::OnlineSimV1 => "onlinesim-v1",
            Protocol::OnlineSimV2 => "onlinesim-v2",
            Protocol::SmsHub => "smshub",
        }
    }
}

/// Our service names and the platform's, both ways (`[[platforms]] services`: ours → its).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceNames {
    out: BTreeMap<ServiceName, ServiceName>,
    inbound: BTreeMap<ServiceName, ServiceName>,
}

impl ServiceNames {
    /// The platform's name for our service (the same name when the map does not name it).
    pub fn outgoing(&self, ours: &ServiceName) -> ServiceName {
        self.out.get(ours).unwrap_or(ours).clone()
    }

    /// Our service for the platform's name; `None` when the name is one of ours that the map
    /// renames (the platform calls that service something else, so this name is not its).
    pub fn incoming(&self, theirs: &ServiceName) -> Option<ServiceName> {
        match self.inbound.get(theirs) {
            Some(ours) => Some(ours.clone()),
            None if self.out.contains_key(theirs) => None,
            None => Some(theirs.clone()),
        }
    }

    /// Whether the map renames nothing.
    pub fn is_identity(&self) -> bool {
        self.out.is_empty()
    }
}

/// One `[[platforms]]` entry as written.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlatform {
    /// Unique, `[a-z0-9_-]+`; recorded on every activation and SMS.
    pub name: String,
    /// `onlinesim-v1`, `onlinesim-v2` or `smshub`.
    pub protocol: String,
    /// The key the platform sends (v1, smshub) or our Bearer key (v2).
    #[serde(default)]
    pub key: Secret,
    /// v1, smshub: where the platform POSTs its actions (unique).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// v1, smshub: the SMS webhook; v2: the API's base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_url: Option<String>,
    /// Our service name → the platform's; absent: the same names.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, String>,
    /// Sell only SIMs of these banks; absent: every SIM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banks: Option<Vec<String>>,
}

/// Where a platform meets us.
#[derive(Debug, Clone)]
pub enum Side {
    /// It calls us (OnlineSIM v1, SMSHub) and we push its SMS to a webhook.
    Pull {
        /// Where it POSTs its actions; starts with `/`.
        path: String,
        /// Its SMS webhook; `None`: SMS are stored, not delivered (a warning at start says so).
        push_url: Option<Url>,
    },
    /// We push it our list and every SMS (OnlineSIM v2).
    Push(V2Settings),
}

/// One platform simrelay sells on, parsed (`check-config` prints the entries as written).
#[derive(Debug, Clone)]
pub struct Platform {
    /// Its name, on every record it owns.
    pub name: PlatformName,
    /// Its wire protocol and rules.
    pub protocol: Protocol,
    /// The key it sends (pull) or our Bearer key (push).
    pub key: Secret,
    /// The SIMs it may sell (pull) or list (push).
    pub banks: BankScope,
    /// Service names, ours ↔ its.
    pub services: ServiceNames,
    /// Where it meets us.
    pub side: Side,
}

impl Platform {
    /// The pull side's path, for platforms that call us.
    pub fn path(&self) -> Option<&str> {
        match &self.side {
            Side::Pull { path, .. } => Some(path),
            Side::Push(_) => None,
        }
    }

    /// The `[onlinesim]` shorthand as the platform `onlinesim`.
    fn shorthand(onlinesim: &OnlineSimSettings) -> Platform {
        let (protocol, side) = match &onlinesim.mode {
            Mode::V1(v1) => (
                Protocol::OnlineSimV1,
                Side::Pull {
                    path: v1.path.clone(),
                    push_url: v1.push_sms_url.clone(),
                },
            ),
            Mode::V2(v2) => (Protocol::OnlineSimV2, Side::Push(v2.clone())),
        };
        Platform {
            name: PlatformName::onlinesim(),
            protocol,
            key: onlinesim.api_key.clone(),
            banks: BankScope::Every,
            services: ServiceNames::default(),
            side,
        }
    }
}

/// How errors name the `[onlinesim]` shorthand among the platforms.
const SHORTHAND: &str = "[onlinesim]";

/// Paths of the other surfaces: a platform path under one of them would be shadowed or shadow.
const RESERVED: [&str; 6] = [
    "/gateway", "/admin", "/healthz", "/readyz", "/metrics", "/status",
];

/// Parses the entries, adds the `[onlinesim]` shorthand where it applies, and makes the checks
/// that span platforms. `offered`: the services sold (rent included when offered). `raw_onlinesim`
/// gives the v2 knobs (`v2_heartbeat`, …) an `onlinesim-v2` entry runs with.
pub(super) fn parse(
    entries: Vec<RawPlatform>,
    onlinesim: &OnlineSimSettings,
    raw_onlinesim: &RawOnlineSim,
    offered: &[ServiceName],
) -> anyhow::Result<Vec<Platform>> {
    let mut platforms: Vec<(String, Platform)> = Vec::new();
    if entries.is_empty() || !onlinesim.api_key.is_empty() {
        platforms.push((SHORTHAND.to_owned(), Platform::shorthand(onlinesim)));
    }
    for (i, raw) in entries.into_iter().enumerate() {
        let at = format!("platforms[{i}]");
        let platform = raw.parse(&at, raw_onlinesim, offered)?;
        platforms.push((at, platform));
    }
    for (i, (at, p)) in platforms.iter().enumerate() {
        for (other_at, q) in &platforms[..i] {
            if p.name == q.name {
                bail!(
                    "{at}.name: {:?} is already the name of {other_at}; names must be unique",
                    p.name.as_str()
                );
            }
            if let (Some(a), Some(b)) = (p.path(), q.path()) {
                if a == b {
                    bail!(
                        "{at}.path: {a:?} is already the path of {other_at}; paths must be unique"
                    );
                }
            }
            let push = |x: &Platform| x.protocol == Protocol::OnlineSimV2;
            if (push(p) || push(q)) && p.banks.overlaps(&q.banks) {
                let (v2, other) = if push(p) { (p, q) } else { (q, p) };
                // The shorthand has no `banks`: it sells (or lists) every bank.
                let fix = if *other_at == SHORTHAND {
                    "the [onlinesim] section sells every bank: write OnlineSIM as a \
                     [[platforms]] entry with its own `banks` and leave onlinesim.api_key empty"
                } else {
                    "give both a `banks` list, without common banks; absent means every bank"
                };
                bail!(
                    "{at}.banks: platform {:?} (onlinesim-v2) lists SIMs that platform {:?} may \
                     sell too; a v2 platform allocates its SIMs itself, so its banks must be its \
                     alone ({fix})",
                    v2.name.as_str(),
                    other.name.as_str()
                );
            }
        }
    }
    Ok(platforms.into_iter().map(|(_, p)| p).collect())
}

impl RawPlatform {
    fn parse(
        self,
        at: &str,
        raw_onlinesim: &RawOnlineSim,
        offered: &[ServiceName],
    ) -> anyhow::Result<Platform> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-'));
        if !name_ok {
            bail!(
                "{at}.name: {:?} is not a platform name: use 1 to 64 characters of a-z, 0-9, '_' or '-'",
                self.name
            );
        }
        let name = PlatformName::parse(&self.name)?;
        let Some(protocol) = Protocol::ALL
            .into_iter()
            .find(|p| p.as_str() == self.protocol)
        else {
            bail!(
                "{at}.protocol: {:?} is not a protocol simrelay speaks: use onlinesim-v1, onlinesim-v2 or smshub",
                self.protocol
            );
        };
        if self.key.is_empty() {
            bail!("{at}.key must be set: the platform's key");
        }
        let banks = match self.banks {
            None => BankScope::Every,
            Some(list) if list.is_empty() => bail!(
                "{at}.banks is empty: the platform could sell nothing (omit it to sell every SIM)"
            ),
            Some(list) => {
                let mut banks = Vec::with_capacity(list.len());
                for (j, raw) in list.iter().enumerate() {
                    banks.push(
                        BankName::parse(raw)
                            .map_err(|e| anyhow::anyhow!("{at}.banks[{j}]: {e}"))?,
                    );
                }
                BankScope::only(banks)
            }
        };
        let mut services = ServiceNames::default();
        for (ours, theirs) in &self.services {
            let key = format!("{at}.services.{ours}");
            let ours = ServiceName::parse(ours).map_err(|e| anyhow::anyhow!("{key}: {e}"))?;
            if !offered.contains(&ours) {
                bail!(
                    "{key}: service {:?} is not offered (services.offered)",
                    ours.as_str()
                );
            }
            if services.out.contains_key(&ours) {
                bail!(
                    "{key}: {:?} is mapped twice (names are not case-sensitive)",
                    ours.as_str()
                );
            }
            let theirs = ServiceName::parse(theirs).map_err(|e| anyhow::anyhow!("{key}: {e}"))?;
            if let Some(first) = services.inbound.get(&theirs) {
                bail!(
                    "{key}: {:?} is already the platform's name of {:?}; each name maps one service",
                    theirs.as_str(),
                    first.as_str()
                );
            }
            services.inbound.insert(theirs.clone(), ours.clone());
            services.out.insert(ours, theirs);
        }
        // A platform name that is also one of our services keeping its own name there would
        // stand for two of our services at once.
        for (ours, theirs) in &services.out {
            if theirs != ours && offered.contains(theirs) && !services.out.contains_key(theirs) {
                bail!(
                    "{at}.services.{ours}: {:?} is also an offered service that keeps its name \
                     on this platform, so the name would stand for two services (map that \
                     service to another name too, or choose another name)",
                    theirs.as_str()
                );
            }
        }
        let push_url = self
            .push_url
            .as_deref()
            .map(|u| http_url(&format!("{at}.push_url"), u))
            .transpose()?;
        let side = match protocol {
            Protocol::OnlineSimV1 | Protocol::SmsHub => {
                let Some(path) = self.path else {
                    bail!("{at}.path must be set: where the platform POSTs its actions");
                };
                check_path(&format!("{at}.path"), &path)?;
                Side::Pull { path, push_url }
            }
            Protocol::OnlineSimV2 => {
                if self.path.is_some() {
                    bail!("{at}.path: an onlinesim-v2 platform never calls us; remove it");
                }
                let Some(base_url) = push_url else {
                    bail!("{at}.push_url must be set: the v2 API's base URL");
                };
                let o = raw_onlinesim;
                Side::Push(V2Settings {
                    endpoint: V2Endpoint {
                        base_url,
                        timeout: o.v2_timeout,
                        test: o.v2_test,
                    },
                    heartbeat: o.v2_heartbeat,
                    list_mode: o.v2_list_mode,
                    debounce: o.v2_debounce,
                    reconcile: o.v2_reconcile,
                    batch_every: o.v2_batch.then_some(o.v2_batch_every),
                })
            }
        };
        Ok(Platform {
            name,
            protocol,
            key: self.key,
            banks,
            services,
            side,
        })
    }
}

/// A path platforms POST to: starts with `/`, under no other surface.
pub(super) fn check_path(key: &str, path: &str) -> anyhow::Result<()> {
    if !path.starts_with('/') {
        bail!("{key} must start with '/', got {path:?}");
    }
    if let Some(taken) = RESERVED
        .iter()
        .find(|r| path == **r || path.starts_with(&format!("{r}/")))
    {
        bail!("{key}: {path:?} is under {taken}, which simrelay serves itself");
    }
    Ok(())
}
