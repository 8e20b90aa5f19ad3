//! The Dispatcher: answers GET_NUMBER.
//!
//! It picks a candidate from the availability index (marking it pending so no concurrent
//! request picks it too), asks the candidate's NumberActor to reserve, and moves on to the next
//! candidate on refusal. It never waits on I/O inside its handler: each reservation runs as a
//! future spawned on the actor, so many GET_NUMBERs are in flight at once while candidate
//! selection stays serial. A reservation that completes after the deadline is abandoned (the
//! number is freed) because its answer would no longer reach the platform.

use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;

use crate::contract::NumberRequest;
use crate::domain::{ActivationRecord, Msisdn, ServiceName};
use crate::error::EngineError;
use crate::number::NumberContext;
use crate::number::{Release, ReleaseReason, Reserve};
use crate::shared::call;

/// How many GET_NUMBERs may wait in the Dispatcher's mailbox.
const MAILBOX: usize = 4096;

/// Reserve a number for a request; `None` means NO_NUMBERS.
#[derive(Message)]
#[rtype(result = "Result<Option<ActivationRecord>, EngineError>")]
pub(crate) struct GetNumber {
    pub(crate) request: Arc<NumberRequest>,
    pub(crate) service: ServiceName,
    pub(crate) deadline: Instant,
}

/// See the module documentation.
pub(crate) struct Dispatcher {
    /// What the numbers' actors work with: the index to pick from, the actors to ask.
    shared: Arc<NumberContext>,
}

impl Dispatcher {
    pub(crate) fn new(shared: Arc<NumberContext>) -> Dispatcher {
        Dispatcher { shared }
    }

    fn attempt(
        &mut self,
        order: Arc<GetNumber>,
        mut tried: Vec<Msisdn>,
    ) -> ResponseActFuture<Self, Result<Option<ActivationRecord>, EngineError>> {
        if Instant::now() >= order.deadline {
            return Box::pin(fut::ready(Ok(None)));
        }
        let request = &order.request;
        let candidate = self.shared.index.lock().select(
            &request.country,
            request.operator.named(),
            &order.service,
            &request.exclusions,
            &request.banks,
            &tried,
        );
        let Some(number) = candidate else {
            return Box::pin(fut::ready(Ok(None)));
        };
        let shared = Arc::clone(&self.shared);
        let reserve = Reserve {
            platform: request.platform.clone(),
            banks: request.banks.clone(),
            service: order.service.clone(),
            sum: request.sum,
            deadline: order.deadline,
        };
        let reservation = async move { call(&shared, number, reserve).await };
        Box::pin(
            reservation
                .into_actor(self)
                .then(move |outcome, act, _ctx| {
                    act.shared.index.lock().release(number);
                    let next: ResponseActFuture<Self, _> = match outcome {
                        Ok(record) if Instant::now() > order.deadline => {
                            act.abandon(&record);
                            Box::pin(fut::ready(Ok(None)))
                        }
                        Ok(record) => Box::pin(fut::ready(Ok(Some(record)))),
                        Err(EngineError::Store(e)) => {
                            Box::pin(fut::ready(Err(EngineError::Store(e))))
                        }
                        Err(e) => {
                            tracing::debug!(%number, error = %e, "candidate refused; trying the next");
                            tried.push(number);
                            act.attempt(order, tried)
                        }
                    };
                    next
                }),
        )
    }

    fn abandon(&self, record: &ActivationRecord) {
        tracing::warn!(activation_id = %record.id, "reservation finished after the GET_NUMBER deadline; freeing the number");
        let shared = Arc::clone(&self.shared);
        let (id, number) = (record.id, record.number);
        actix::spawn(async move {
            let release = Release {
                id,
                reason: ReleaseReason::Abandoned,
            };
            if let Err(e) = call(&shared, number, release).await {
                tracing::error!(activation_id = %id, error = %e, "could not free an abandoned reservation; the expiry safety net will");
            }
        });
    }
}

impl Actor for Dispatcher {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(MAILBOX);
    }
}

impl Handler<GetNumber> for Dispatcher {
    type Result = ResponseActFuture<Self, Result<Option<ActivationRecord>, EngineError>>;

    fn handle(&mut self, msg: GetNumber, _: &mut Context<Self>) -> Self::Result {
        self.attempt(Arc::new(msg), Vec::new())
    }
}
