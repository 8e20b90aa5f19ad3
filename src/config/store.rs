//! `[store]`: where state is kept (Redis or memory), the lease and the archive.

use std::fmt;
use std::time::Duration;

use anyhow::bail;
use serde::{Deserialize, Serialize, Serializer};
use url::Url;

use super::Secret;

/// `[store]` as written in the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawStore {
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

impl Default for RawStore {
    fn default() -> Self {
        RawStore {
            redis_url: None,
            key_prefix: "simrelay".into(),
            command_timeout: Duration::from_secs(2),
            lease: Duration::from_secs(10),
            archive_after: Duration::from_secs(7 * 24 * 3600),
            archive_ttl: Duration::from_secs(90 * 24 * 3600),
        }
    }
}

/// `[store]`, parsed: a Redis URL that is a URL, a usable prefix, a lease a renewal fits in.
#[derive(Debug, Clone, Serialize)]
pub struct StoreSettings {
    /// The Redis store's URL; `None` is the in-memory store (state lost on restart).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_url: Option<RedisUrl>,
    /// Prefix of every Redis key: non-empty, without spaces.
    pub key_prefix: String,
    /// How long one Redis command may take before the store counts as down (above zero).
    #[serde(with = "humantime_serde")]
    pub command_timeout: Duration,
    /// The single-writer lease, at least twice `command_timeout`.
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    /// When closed records are archived (`store.archive_after`, or the deprecated
    /// `onlinesim.keep_closed` when that is set).
    #[serde(with = "humantime_serde")]
    pub archive_after: Duration,
    /// Archived records are deleted this long after they were archived.
    #[serde(with = "humantime_serde")]
    pub archive_ttl: Duration,
}

impl RawStore {
    /// Parses the section; `archive_after` is the value already resolved with its alias.
    pub(super) fn parse(self, archive_after: Duration) -> anyhow::Result<StoreSettings> {
        let redis_url = self.redis_url.as_ref().map(RedisUrl::parse).transpose()?;
        if self.command_timeout.is_zero() {
            bail!("store.command_timeout must be longer than zero");
        }
        if self.key_prefix.is_empty() || self.key_prefix.contains(char::is_whitespace) {
            bail!("store.key_prefix must be non-empty and without spaces");
        }
        if self.lease < self.command_timeout * 2 {
            bail!(
                "store.lease ({:?}) must be at least twice store.command_timeout ({:?}): a renewal must fit in it",
                self.lease,
                self.command_timeout
            );
        }
        Ok(StoreSettings {
            redis_url,
            key_prefix: self.key_prefix,
            command_timeout: self.command_timeout,
            lease: self.lease,
            archive_after,
            archive_ttl: self.archive_ttl,
        })
    }
}

/// A Redis URL (`redis://`, `rediss://` or `unix://`); it may carry a password, so Debug and
/// Serialize print it masked, like a [`Secret`].
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl(Url);

impl RedisUrl {
    /// Parses `store.redis_url`; the error names the key and never shows the value.
    pub fn parse(raw: &Secret) -> anyhow::Result<RedisUrl> {
        let refused =
            || anyhow::anyhow!("store.redis_url must start with redis://, rediss:// or unix://");
        let url = Url::parse(raw.expose()).map_err(|e| {
            if ["redis://", "rediss://", "unix://"]
                .iter()
                .any(|s| raw.expose().starts_with(s))
            {
                anyhow::anyhow!("store.redis_url is not a valid URL: {e}")
            } else {
                refused()
            }
        })?;
        if !["redis", "rediss", "unix"].contains(&url.scheme()) {
            return Err(refused());
        }
        Ok(RedisUrl(url))
    }

    /// The URL itself; call only where it is needed (opening the connection).
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl Serialize for RedisUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}
