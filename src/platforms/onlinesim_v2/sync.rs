//! Keeping OnlineSIM's list equal to the SIMs in ports now (listing a SIM that is not earns a
//! 30-minute block).
//!
//! `full` mode: sendNumbersOnline every `v2_heartbeat` and a few seconds (debounced) after any
//! change. `incremental` mode: checkWork every heartbeat, addNumber / removeNumber for each
//! change, and a full sendNumbersOnline every `v2_reconcile`. Times follow the engine's clock,
//! so tests drive the cadence with a manual clock and [`ListSync::tick`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use parking_lot::Mutex;
use simrelay_actors::clock::later;
use simrelay_actors::{Clock, Engine, ListedSim};
use tokio::sync::Notify;

use super::client::{V2Client, V2Error, V2Number};
use super::Health;
use crate::config::{CountryTable, V2ListMode};
use crate::metrics::Metrics;

/// Where OnlineSIM's number ids are kept (`ids` of sendNumbersOnline / addNumber).
pub const IDS_KEY: &str = "v2_ids";

/// Where a v2 platform's ids are kept: [`IDS_KEY`] for `onlinesim` (as always), `v2_ids:<name>`
/// for any other, so that two v2 platforms never write over each other's ids.
pub fn ids_key(platform: &str) -> String {
    if platform == simrelay_actors::domain::PlatformName::onlinesim().as_str() {
        IDS_KEY.to_owned()
    } else {
        format!("{IDS_KEY}:{platform}")
    }
}

/// Longest back-off after failures.
const MAX_BACKOFF: TimeDelta = TimeDelta::minutes(10);

/// The list task's knobs.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// `full` or `incremental`.
    pub mode: V2ListMode,
    /// Heartbeat period (5 minutes).
    pub heartbeat: Duration,
    /// Quiet time after a change before the list is sent (full mode).
    pub debounce: Duration,
    /// Full reconcile period (incremental mode).
    pub reconcile: Duration,
    /// Every SIM in rent mode.
    pub rent_all: bool,
    /// The SIMs this platform lists: those of its banks.
    pub banks: simrelay_actors::BankScope,
}

#[derive(Default)]
struct State {
    /// What the platform holds now, as far as we know: number → what we listed.
    listed: BTreeMap<String, V2Number>,
    /// The engine's listing version we last acted on.
    seen_version: u64,
    next_heartbeat: Option<DateTime<Utc>>,
    next_reconcile: Option<DateTime<Utc>>,
    /// A change waits for the debounce to pass.
    change_since: Option<DateTime<Utc>>,
    /// After failures: nothing before this.
    backoff_until: Option<DateTime<Utc>>,
    failures: u32,
    forced: bool,
}

/// See the module documentation.
pub struct ListSync {
    engine: Engine,
    client: V2Client,
    clock: Arc<dyn Clock>,
    countries: Arc<CountryTable>,
    settings: SyncSettings,
    health: Health,
    metrics: Metrics,
    resync: Arc<Notify>,
    state: Mutex<State>,
    busy: tokio::sync::Mutex<()>,
}

impl ListSync {
    /// A list task; `resync` lets the SMS sink ask for a full list (after NO_NUMBER).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        engine: Engine,
        client: V2Client,
        clock: Arc<dyn Clock>,
        countries: Arc<CountryTable>,
        settings: SyncSettings,
        health: Health,
        metrics: Metrics,
        resync: Arc<Notify>,
    ) -> ListSync {
        ListSync {
            engine,
            client,
            clock,
            countries,
            settings,
            health,
            metrics,
            resync,
            state: Mutex::new(State::default()),
            busy: tokio::sync::Mutex::new(()),
        }
    }

    /// The list as the platform should have it: every SIM of its banks online and not blocked
    /// now.
    pub fn wanted(&self) -> BTreeMap<String, V2Number> {
        self.engine
            .listed_sims(&self.settings.banks)
            .into_iter()
            .filter_map(|sim| self.v2_number(&sim))
            .map(|n| (n.number.clone(), n))
            .collect()
    }

    fn v2_number(&self, sim: &ListedSim) -> Option<V2Number> {
        let Some(country_id) = self.countries.calling_code(sim.number) else {
            tracing::warn!(number = %sim.number, "no calling code known; not listed");
            return None;
        };
        Some(V2Number {
            number: format!("+{}", sim.number),
            country_id,
            operator: sim.mcc_mnc.as_deref().and_then(|m| m.parse().ok()),
            date_start: sim.online_since.map(|t| t.timestamp()),
            port_id: sim.port.clone(),
            rent: u8::from(sim.rent || self.settings.rent_all),
        })
    }

    /// How many SIMs the platform holds, as far as we know.
    pub fn listed(&self) -> usize {
        self.state.lock().listed.len()
    }

    /// Asks for a full list at the next tick.
    pub fn force_full(&self) {
        self.state.lock().forced = true;
    }

    /// Does whatever is due now: a heartbeat, a (debounced) change, a reconcile, a forced
    /// resync. The background loop calls it when woken; tests call it after moving the clock.
    pub async fn tick(&self) {
        let _one_at_a_time = self.busy.lock().await;
        // Before recovery, or with the store down, we do not know which SIMs are online: say
        // nothing rather than send an empty (or stale) list.
        if !self.engine.is_ready() || !self.engine.store_up() {
            return;
        }
        let now = self.clock.now();
        let version = self.engine.listing_version();
        let (heartbeat_due, reconcile_due, change_due, forced) = {
            let mut s = self.state.lock();
            if s.backoff_until.is_some_and(|until| now < until) {
                return;
            }
            if version != s.seen_version && s.change_since.is_none() {
                s.change_since = Some(now);
            }
            let heartbeat_due = s.next_heartbeat.is_none_or(|at| now >= at);
            let reconcile_due = s.next_reconcile.is_none_or(|at| now >= at);
            let change_due = s
                .change_since
                .is_some_and(|since| now >= later(since, self.settings.debounce));
            (
                heartbeat_due,
                reconcile_due,
                change_due,
                std::mem::take(&mut s.forced),
            )
        };
        let result = match self.settings.mode {
            V2ListMode::Full if heartbeat_due || change_due || forced => self.send_full(now).await,
            V2ListMode::Full => return,
            V2ListMode::Incremental => {
                let mut result = Ok(());
                if reconcile_due || forced {
                    result = self.send_full(now).await;
                } else if change_due || version != self.state.lock().seen_version {
                    result = self.send_changes().await;
                }
                if result.is_ok() && heartbeat_due {
                    result = self.timed("checkWork", self.client.check_work()).await;
                }
                if result.is_ok() {
                    let mut s = self.state.lock();
                    if reconcile_due || forced {
                        s.next_reconcile = Some(later(now, self.settings.reconcile));
                    }
                }
                result
            }
        };
        let mut s = self.state.lock();
        match result {
            Ok(()) => {
                self.health.clear();
                s.failures = 0;
                s.backoff_until = None;
                s.seen_version = version;
                s.change_since = None;
                if heartbeat_due || self.settings.mode == V2ListMode::Full {
                    s.next_heartbeat = Some(later(now, self.settings.heartbeat));
                    self.metrics
                        .v2_heartbeat(self.client.platform(), now.timestamp());
                }
                self.metrics
                    .v2_listed(self.client.platform(), s.listed.len());
            }
            Err(e) => {
                if let V2Error::Account { code, .. } = &e {
                    self.health.account_problem(code);
                }
                s.failures += 1;
                let wait = (TimeDelta::seconds(5) * 2i32.saturating_pow(s.failures.min(12) - 1))
                    .min(MAX_BACKOFF);
                s.backoff_until = Some(now + wait);
                s.forced |= matches!(e, V2Error::Refused(_));
                tracing::warn!(error = %e, retry_in = %wait, "v2 list update failed");
            }
        }
    }

    async fn timed<T>(
        &self,
        endpoint: &str,
        request: impl std::future::Future<Output = Result<T, V2Error>>,
    ) -> Result<T, V2Error> {
        let started = Instant::now();
        let answer = request.await;
        let label = match &answer {
            Ok(_) => "ok".to_owned(),
            Err(e) => e.label(),
        };
        self.metrics.v2_request(
            self.client.platform(),
            endpoint,
            &label,
            started.elapsed().as_secs_f64(),
        );
        answer
    }

    async fn send_full(&self, now: DateTime<Utc>) -> Result<(), V2Error> {
        let wanted = self.wanted();
        let numbers: Vec<V2Number> = wanted.values().cloned().collect();
        let ids = self
            .timed(
                "sendNumbersOnline",
                self.client.send_numbers_online(&numbers),
            )
            .await?;
        self.keep_ids(ids).await;
        let mut s = self.state.lock();
        s.listed = wanted;
        if self.settings.mode == V2ListMode::Full {
            s.next_heartbeat = Some(later(now, self.settings.heartbeat));
        }
        Ok(())
    }

    async fn send_changes(&self) -> Result<(), V2Error> {
        let wanted = self.wanted();
        let listed = self.state.lock().listed.clone();
        // Removals first: a SIM must never stay listed longer than needed.
        for number in listed.keys().filter(|n| !wanted.contains_key(*n)) {
            self.timed("removeNumber", self.client.remove_number(number))
                .await?;
            self.state.lock().listed.remove(number);
            self.keep_ids([(number.clone(), None)].into_iter().collect())
                .await;
        }
        for (number, entry) in wanted.iter().filter(|(n, e)| listed.get(*n) != Some(*e)) {
            let ids = self
                .timed("addNumber", self.client.add_number(entry))
                .await?;
            self.keep_ids(ids).await;
            self.state
                .lock()
                .listed
                .insert(number.clone(), entry.clone());
        }
        Ok(())
    }

    async fn keep_ids(&self, ids: super::client::Ids) {
        if ids.is_empty() {
            return;
        }
        let key = ids_key(self.client.platform());
        let mut kept: super::client::Ids = self
            .engine
            .meta(&key)
            .and_then(|v| serde_json::from_str(&v).ok())
            .unwrap_or_default();
        for (number, id) in ids {
            match id {
                Some(id) => kept.insert(number, Some(id)),
                None => kept.remove(&number),
            };
        }
        let encoded = serde_json::to_string(&kept).unwrap_or_default();
        if let Err(e) = self.engine.put_meta(&key, encoded).await {
            tracing::warn!(error = %e, "cannot store OnlineSIM's number ids");
        }
    }

    /// The background loop: tick when woken by a change, a resync request, a clock jump or the
    /// next due time (checked at least every second).
    pub async fn run(self: Arc<Self>) {
        let mut changes = self.engine.listing_changes();
        let mut jumps = self.clock.jumps();
        loop {
            self.tick().await;
            let resync = self.resync.notified();
            let jump = async {
                match jumps.as_mut() {
                    Some(rx) => {
                        let _ = rx.changed().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() {
                        return; // the engine is gone
                    }
                }
                _ = resync => self.force_full(),
                _ = jump => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}
