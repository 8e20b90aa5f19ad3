//! What every HTTP handler shares: the engine, settings, metrics and readiness. Built once at
//! start-up, outside the `HttpServer::new` factory, and cloned into each worker.

use std::sync::Arc;

use parking_lot::RwLock;
use simrelay_actors::store::{Role, Store};
use simrelay_actors::Engine;

use crate::config::{CountryTable, OperatorTable, Settings};
use crate::error::Code;
use crate::metrics::Metrics;

/// Shared application state.
#[derive(Clone)]
pub struct AppState {
    /// The reservation engine.
    pub engine: Engine,
    /// The effective settings.
    pub settings: Arc<Settings>,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Why the service is not ready, if it is not.
    pub readiness: Readiness,
    /// Region → country name, for SIMs without a country.
    pub countries: Arc<CountryTable>,
    /// MCC-MNC → operator name, for SIMs reported by MCC-MNC.
    pub operators: Arc<OperatorTable>,
    /// Account health of each v2 platform.
    pub v2_health: Vec<(
        simrelay_actors::domain::PlatformName,
        crate::platforms::onlinesim_v2::Health,
    )>,
    /// The store, for its role: only the holder of the deployment's lease serves.
    pub store: Arc<dyn Store>,
}

impl AppState {
    /// 503 `NOT_LEADER` unless this process holds the deployment's lease: a standby (or a
    /// process that lost the lease) answers nothing from its memory and writes nothing.
    pub fn require_leader(&self) -> Result<(), crate::error::ApiError> {
        match self.store.role() {
            Role::Leader => Ok(()),
            Role::Standby(holder) => Err(crate::error::ApiError::unavailable(
                Code::NOT_LEADER,
                match holder {
                    Some(h) => format!("this simrelay is a standby; {h} holds the lease"),
                    None => "this simrelay is a standby".to_owned(),
                },
            )),
            Role::Deposed => Err(crate::error::ApiError::unavailable(
                Code::NOT_LEADER,
                "this simrelay lost the lease and serves nothing",
            )),
        }
    }
}

/// `None` when ready, else the reason it is not.
#[derive(Clone, Default)]
pub struct Readiness(Arc<RwLock<Option<String>>>);

impl Readiness {
    /// Not ready, for a reason.
    pub fn not_ready(reason: impl Into<String>) -> Readiness {
        Readiness(Arc::new(RwLock::new(Some(reason.into()))))
    }

    /// Marks the service ready.
    pub fn set_ready(&self) {
        *self.0.write() = None;
    }

    /// Marks the service not ready.
    pub fn set_not_ready(&self, reason: impl Into<String>) {
        *self.0.write() = Some(reason.into());
    }

    /// The reason it is not ready, if any.
    pub fn reason(&self) -> Option<String> {
        self.0.read().clone()
    }
}
