//! OnlineSIM v2 (`onlinesim.mode = "v2"`, protocol `onlinesim-v2`): simrelay pushes its list of
//! SIMs in ports (those of the platform's banks) and every SMS they receive; OnlineSIM sells the
//! numbers itself.
//!
//! `client` speaks the wire format, `sync` keeps the platform's list equal to the SIMs online
//! now, `sink` forwards SMS through the durable outbox, `cli` runs the optional requests.

pub mod cli;
pub mod client;
pub mod sink;
pub mod sync;

use std::sync::Arc;

use parking_lot::Mutex;
use simrelay_actors::{Clock, Engine};
use tokio::sync::Notify;

use simrelay_actors::domain::PlatformName;

use crate::config::{CountryTable, Platform, Settings, V2Settings};
use crate::metrics::Metrics;

/// One running v2 platform.
pub struct V2 {
    /// Its name.
    pub platform: PlatformName,
    /// Account health, for readiness.
    pub health: Health,
    /// The list task.
    pub sync: Arc<sync::ListSync>,
    /// Its SMS sink, for the router.
    pub sink: Arc<sink::V2Sink>,
}

/// Starts the list task of the v2 `platform` (whose settings `v2` are) and builds its SMS sink.
/// Runs inside the actix System.
pub fn start(
    settings: &Settings,
    platform: &Platform,
    v2: &V2Settings,
    engine: &Engine,
    clock: Arc<dyn Clock>,
    countries: &Arc<CountryTable>,
    metrics: &Metrics,
) -> anyhow::Result<V2> {
    let o = &settings.onlinesim;
    let client = client::V2Client::new(&v2.endpoint, platform.key.clone())?
        .for_platform(platform.name.clone());
    if let Some(test) = v2.endpoint.test {
        tracing::warn!(
            mode = test.as_str(),
            "v2 dry run: OnlineSIM saves nothing we send"
        );
    }
    let health = Health::default();
    let resync = Arc::new(Notify::new());
    let sink = sink::V2Sink::new(
        client.clone(),
        o.push_retry_interval,
        Arc::clone(&resync),
        health.clone(),
        metrics.clone(),
        v2.batch_every,
    );
    let sync = Arc::new(sync::ListSync::new(
        engine.clone(),
        client,
        clock,
        Arc::clone(countries),
        sync::SyncSettings {
            mode: v2.list_mode,
            heartbeat: v2.heartbeat,
            debounce: v2.debounce,
            reconcile: v2.reconcile,
            rent_all: o.rent,
            banks: platform.banks.clone(),
        },
        health.clone(),
        metrics.clone(),
        resync,
    ));
    actix::spawn(Arc::clone(&sync).run());
    Ok(V2 {
        platform: platform.name.clone(),
        health,
        sync,
        sink: Arc::new(sink),
    })
}

/// Account problems reported by the platform (401/403/405), shared by the list task and the
/// SMS sink; readiness and metrics read it.
#[derive(Clone, Default)]
pub struct Health(Arc<Mutex<Option<String>>>);

impl Health {
    /// Records an account problem; logged loudly once per new code.
    pub fn account_problem(&self, code: &str) {
        let mut slot = self.0.lock();
        if slot.as_deref() != Some(code) {
            tracing::error!(%code, "OnlineSIM v2 refuses our account: check onlinesim.api_key and the account; retrying with back-off");
        }
        *slot = Some(code.to_owned());
    }

    /// A request succeeded: the account works.
    pub fn clear(&self) {
        let mut slot = self.0.lock();
        if slot.take().is_some() {
            tracing::info!("OnlineSIM v2 accepts our account again");
        }
    }

    /// The current problem, if any.
    pub fn problem(&self) -> Option<String> {
        self.0.lock().clone()
    }
}
