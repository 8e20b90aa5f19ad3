//! Bank presence: which SIM banks are alive, and taking a silent bank's SIMs off sale.
//!
//! A SIM bank renews its presence with every request that names it (its SIM list, a heartbeat,
//! an SMS from one of its SIMs). A bank silent for `bank_ttl` is most likely dead — its agent
//! crashed, its network is gone — and the SIMs it last reported may no longer sit in any port:
//! reporting them as stock is over-reporting, which the platform punishes. So its SIMs leave
//! the availability index at once (GET_SERVICES, GET_NUMBER and the v2 list follow) until the
//! bank reports again. Activations already running on them go on; their SMS are still taken.
//!
//! The last time each bank was seen is persisted (a `bank:<name>` meta value), so a bank
//! silent before a restart is still silent after it: presence is a fact of the clock, derived
//! again at recovery, never a flag that a restart resets. Configured SIMs are always online and
//! never leave sale with their bank.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::clock::later;
use crate::deadlines::Deadlines;
use crate::domain::BankName;
use crate::index::AvailabilityIndex;
use crate::store::Change;

/// Most banks one deployment knows (their names label metrics, so they must stay few).
pub const MAX_BANKS: usize = 1024;

/// Prefix of the meta key that holds a bank's presence.
pub(crate) const META_PREFIX: &str = "bank:";

/// What is persisted of a bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Presence {
    /// When it last named itself.
    pub(crate) last_seen: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    last_seen: Option<DateTime<Utc>>,
    silent: bool,
}

/// Every bank's presence, and the deadlines at which live banks fall silent.
pub(crate) struct Banks {
    entries: Mutex<HashMap<BankName, Entry>>,
    ttl: Option<Duration>,
    pub(crate) deadlines: Deadlines<BankName>,
    /// One SIM list of a bank applied at a time.
    lists: Mutex<HashMap<BankName, Arc<tokio::sync::Mutex<()>>>>,
}

/// A bank as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BankView {
    /// Its name.
    pub name: BankName,
    /// SIMs that belong to it.
    pub sims: usize,
    /// Of those, SIMs in a port now.
    pub online: usize,
    /// When it last reported (`None`: never, e.g. only configured SIMs).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub last_seen: Option<DateTime<Utc>>,
    /// Its SIMs are on sale (it reported within `bank_ttl`).
    pub live: bool,
}

impl Banks {
    pub(crate) fn new(ttl: Option<Duration>) -> Banks {
        Banks {
            entries: Mutex::new(HashMap::new()),
            ttl,
            deadlines: Deadlines::default(),
            lists: Mutex::new(HashMap::new()),
        }
    }

    /// The lock that serialises a bank's SIM lists (banks are bounded, so are these).
    pub(crate) fn list_lock(&self, bank: &BankName) -> Arc<tokio::sync::Mutex<()>> {
        Arc::clone(self.lists.lock().entry(bank.clone()).or_default())
    }

    /// Whether a bank's SIMs may be sold (unknown banks are live).
    pub(crate) fn is_live(&self, bank: &BankName) -> bool {
        self.entries.lock().get(bank).is_none_or(|e| !e.silent)
    }

    /// Makes sure the bank is known, if there is room for it; answers whether it is. Checked
    /// and added under one lock, so concurrent new banks never exceed [`MAX_BANKS`].
    pub(crate) fn claim(&self, bank: &BankName) -> bool {
        let mut entries = self.entries.lock();
        if entries.contains_key(bank) {
            return true;
        }
        if entries.len() >= MAX_BANKS {
            return false;
        }
        entries.insert(
            bank.clone(),
            Entry {
                last_seen: None,
                silent: false,
            },
        );
        true
    }

    /// The bank reported at `now`: live again (its SIMs back on sale) until `now + ttl`.
    /// The index is changed under the banks' lock, so a renewal and a silence never interleave.
    pub(crate) fn renew(
        &self,
        bank: &BankName,
        now: DateTime<Utc>,
        index: &Mutex<AvailabilityIndex>,
    ) {
        let mut entries = self.entries.lock();
        let entry = entries.entry(bank.clone()).or_insert(Entry {
            last_seen: None,
            silent: false,
        });
        entry.last_seen = Some(entry.last_seen.map_or(now, |seen| seen.max(now)));
        if entry.silent {
            entry.silent = false;
            index.lock().set_bank_silent(bank, false);
            tracing::info!(%bank, "SIM bank reports again; its SIMs are back on sale");
        }
        if let (Some(ttl), Some(seen)) = (self.ttl, entry.last_seen) {
            self.deadlines.arm(later(seen, ttl), bank.clone());
        }
    }

    /// Silences the bank if it has been silent for the TTL at `now`; answers whether it did.
    pub(crate) fn silence_if_due(
        &self,
        bank: &BankName,
        now: DateTime<Utc>,
        index: &Mutex<AvailabilityIndex>,
    ) -> bool {
        let Some(ttl) = self.ttl else {
            return false;
        };
        let mut entries = self.entries.lock();
        let Some(entry) = entries.get_mut(bank) else {
            return false;
        };
        let due = entry.last_seen.is_some_and(|seen| later(seen, ttl) <= now);
        if !due || entry.silent {
            return false;
        }
        entry.silent = true;
        index.lock().set_bank_silent(bank, true);
        tracing::warn!(%bank, last_seen = ?entry.last_seen, "SIM bank silent; its SIMs are taken off sale");
        true
    }

    /// Installs the presence found at recovery, before the index is filled: banks silent for
    /// the TTL at `now` are silent, the others live until their deadline. Answers the silent
    /// banks, for the index.
    pub(crate) fn recover(
        &self,
        found: Vec<(BankName, Presence)>,
        now: DateTime<Utc>,
    ) -> Vec<BankName> {
        let mut entries = self.entries.lock();
        let mut silent = Vec::new();
        for (bank, presence) in found {
            let deadline = self.ttl.map(|ttl| later(presence.last_seen, ttl));
            let is_silent = deadline.is_some_and(|d| d <= now);
            if is_silent {
                silent.push(bank.clone());
            } else if let Some(d) = deadline {
                self.deadlines.arm(d, bank.clone());
            }
            entries.insert(
                bank,
                Entry {
                    last_seen: Some(presence.last_seen),
                    silent: is_silent,
                },
            );
        }
        silent
    }

    /// Every bank with presence, for the admin API: (name, last seen, live).
    pub(crate) fn list(&self) -> Vec<(BankName, Option<DateTime<Utc>>, bool)> {
        self.entries
            .lock()
            .iter()
            .map(|(name, e)| (name.clone(), e.last_seen, !e.silent))
            .collect()
    }
}

/// The meta key of a bank's presence.
pub(crate) fn meta_key(bank: &BankName) -> String {
    format!("{META_PREFIX}{bank}")
}

/// The persisted presence of a bank seen at `now`.
pub(crate) fn bank_presence(bank: &BankName, now: DateTime<Utc>) -> Change {
    let presence = Presence { last_seen: now };
    Change::Meta {
        key: meta_key(bank),
        value: serde_json::to_string(&presence).unwrap_or_default(),
    }
}
