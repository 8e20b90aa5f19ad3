//! The engine's shared state: the [`NumberContext`] its actors work with, plus the engine's own
//! bookkeeping (readiness, recovery, store meta); and the routing of a message to a number's
//! actor, activating one when the number is idle and restoring a number whose actor died.

use std::ops::Deref;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use actix::prelude::*;
use parking_lot::Mutex;

use crate::directory::Missing;
use crate::domain::Msisdn;
use crate::error::EngineError;
use crate::number::{NumberActor, NumberContext, NumberError, NumberState};

/// State every part of one engine shares. Derefs to the [`NumberContext`], so `shared.index`
/// and the like read as before.
pub(crate) struct Shared {
    /// What the NumberActors work with.
    pub(crate) numbers: Arc<NumberContext>,
    /// Small named values kept in the store (e.g. the v2 number ids).
    pub(crate) meta: Mutex<std::collections::HashMap<String, String>>,
    /// Pending SMS found mid-attempt at recovery: the platform may see them once more.
    pub(crate) possible_repeats: std::sync::atomic::AtomicU64,
    /// Recovery is done.
    pub(crate) ready: AtomicBool,
    /// Serialises recovery attempts.
    pub(crate) recovering: tokio::sync::Mutex<()>,
}

impl Deref for Shared {
    type Target = NumberContext;

    fn deref(&self) -> &NumberContext {
        &self.numbers
    }
}

/// The live actor of a number: activates one when it is idle; a number whose actor died is
/// taken off sale and its last durable state read back (see `restore`).
pub(crate) fn actor_of(
    numbers: &Arc<NumberContext>,
    number: Msisdn,
) -> Result<Addr<NumberActor>, EngineError> {
    let spawn = |state: NumberState| {
        let context = Arc::clone(numbers);
        NumberActor::start_in_arbiter(numbers.directory.arbiter(), move |_| {
            NumberActor::new(state, context)
        })
    };
    numbers
        .directory
        .actor(number, spawn)
        .map_err(|missing| match missing {
            Missing::Unknown => EngineError::UnknownNumber(number),
            Missing::Lost { restore: start } => {
                if let Some(pinned) = start {
                    numbers.index.lock().take_off_sale(number);
                    actix::spawn(restore(Arc::clone(numbers), number, pinned));
                }
                EngineError::Unavailable(format!(
                    "number {number} is being restored from the store; try again"
                ))
            }
        })
}

/// Sends `msg` to the number's actor, activating one if needed and retrying when the message
/// met an actor that had just retired.
pub(crate) async fn call<M, T>(
    numbers: &Arc<NumberContext>,
    number: Msisdn,
    msg: M,
) -> Result<T, EngineError>
where
    M: Message<Result = Result<T, NumberError>> + Clone + Send + 'static,
    T: Send + 'static,
    NumberActor: Handler<M>,
{
    loop {
        let addr = actor_of(numbers, number)?;
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

/// Reads a lost number's last durable state back from the store and lists it again; retried
/// with back-off while the store is unreachable. A number the store does not know stays off
/// sale until an operator acts (any request for it tries again).
async fn restore(shared: Arc<NumberContext>, number: Msisdn, pinned: bool) {
    let mut wait = std::time::Duration::from_secs(1);
    for _ in 0..8 {
        match shared.store.sim(number).await {
            Ok(Some(record)) => {
                let state = NumberState { record, pinned };
                let facts = state.facts(shared.settings.max_cancels);
                if shared.directory.restore_state(state) {
                    shared.index.lock().update(number, facts);
                    tracing::warn!(%number, "number restored from its last durable state");
                }
                return;
            }
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(%number, error = %e, "cannot read the number's state back yet");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(std::time::Duration::from_secs(30));
            }
        }
    }
    tracing::error!(%number, "the number's state could not be restored; it stays off sale until an operator acts");
    shared.directory.restore_failed(number);
}
