//! The state every actor of one engine shares, and the routing of a message to a number's actor.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use actix::prelude::*;
use parking_lot::Mutex;

use crate::banks::Banks;
use crate::clock::Clock;
use crate::contract::EngineSettings;
use crate::deadlines::Deadlines;
use crate::directory::{Directory, Missing};
use crate::domain::{Msisdn, SmsId};
use crate::error::EngineError;
use crate::expiry::Expiries;
use crate::ids::IdAllocator;
use crate::index::AvailabilityIndex;
use crate::ledger::Ledger;
use crate::number::{NumberActor, NumberError};
use crate::outbox::Outbox;
use crate::sms::SmsLedger;
use crate::store::Store;

/// State every actor of the engine shares.
pub(crate) struct Shared {
    pub(crate) directory: Directory,
    pub(crate) index: Mutex<AvailabilityIndex>,
    pub(crate) ledger: Ledger,
    pub(crate) expiry: Expiries,
    pub(crate) banks: Banks,
    /// When the parts of each long SMS stop waiting for the rest.
    pub(crate) seals: Deadlines<SmsId>,
    pub(crate) sms: SmsLedger,
    pub(crate) outbox: Outbox,
    /// Small named values kept in the store (e.g. the v2 number ids).
    pub(crate) meta: Mutex<std::collections::HashMap<String, String>>,
    /// Pending SMS found mid-attempt at recovery: the platform may see them once more.
    pub(crate) possible_repeats: std::sync::atomic::AtomicU64,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) ids: IdAllocator,
    pub(crate) settings: EngineSettings,
    /// Recovery is done.
    pub(crate) ready: AtomicBool,
    /// Serialises recovery attempts.
    pub(crate) recovering: tokio::sync::Mutex<()>,
}

/// Sends `msg` to the number's actor, activating one if needed and retrying when the message
/// met an actor that had just retired.
pub(crate) async fn call<M, T>(
    shared: &Arc<Shared>,
    number: Msisdn,
    msg: M,
) -> Result<T, EngineError>
where
    M: Message<Result = Result<T, NumberError>> + Clone + Send + 'static,
    T: Send + 'static,
    NumberActor: Handler<M>,
{
    loop {
        let addr = shared
            .directory
            .actor(number, shared)
            .map_err(|missing| match missing {
                Missing::Unknown => EngineError::UnknownNumber(number),
                Missing::Lost => EngineError::Unavailable(format!(
                    "number {number} is being restored from the store; try again"
                )),
            })?;
        match addr.send(msg.clone()).await {
            Ok(Err(NumberError::Retired)) | Err(MailboxError::Closed) => continue,
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(NumberError::Store(e))) => return Err(EngineError::Store(e)),
            Ok(Err(NumberError::Conflict(why))) => return Err(EngineError::Conflict(why)),
            Ok(Err(e)) => return Err(EngineError::Refused(e.to_string())),
            Err(MailboxError::Timeout) => {
                return Err(EngineError::Unavailable("number actor timed out".into()))
            }
        }
    }
}
