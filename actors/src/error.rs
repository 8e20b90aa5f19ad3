//! Why an engine operation failed, for every operation of the façade.

use crate::domain::{ActivationId, Msisdn, SmsId};
use crate::store::StoreError;

/// Why an engine operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// The store could not make the change durable; nothing was acknowledged.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store's layout is not one this engine can read; retrying will not help.
    #[error("{0}")]
    Schema(String),
    /// No activation has this id.
    #[error("unknown activation {0}")]
    UnknownActivation(ActivationId),
    /// No SMS has this id.
    #[error("unknown SMS {0}")]
    UnknownSms(SmsId),
    /// The SMS is not in a state that can be sent again.
    #[error("{0}")]
    NotRedeliverable(String),
    /// The activation is not active (finished or expired): there is nothing to release.
    #[error("{0}")]
    NotActive(String),
    /// Recovery has not finished yet.
    #[error("not ready: state is being recovered")]
    NotReady,
    /// No SIM has this number.
    #[error("unknown number {0}")]
    UnknownNumber(Msisdn),
    /// An actor did not answer (the system is shutting down or overloaded).
    #[error("engine unavailable: {0}")]
    Unavailable(String),
    /// The number's actor refused (offline, busy, blocked, …).
    #[error("{0}")]
    Refused(String),
    /// The request contradicts what simrelay knows (e.g. a part count that differs from the
    /// earlier parts'); nothing was changed.
    #[error("{0}")]
    Conflict(String),
    /// One more bank would exceed [`MAX_BANKS`](crate::MAX_BANKS).
    #[error("too many SIM banks: at most {} are kept", crate::banks::MAX_BANKS)]
    TooManyBanks,
}
