//! `NumberActor`: the one writer of one number's state.
//!
//! Every transition of a number — reserve, finish, expire, online/offline, block — is a message
//! to its actor. The actor checks the transition against the number's state, makes it durable
//! through the Store port, and only then updates its state, the ledger and the availability
//! index and answers. Handlers that write are [`AtomicResponse`]s: the actor takes no other
//! message while a write is in flight, so its state is never observed half-changed and two
//! reservations can never both succeed. When a number has no activation the actor retires: its
//! state goes back to the directory and any message that still reaches it answers
//! [`NumberError::Retired`], which makes the caller look the number up again.

use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;

use crate::banks::Banks;
use crate::clock::later;
use crate::clock::Clock;
use crate::contract::{BankScope, EngineSettings};
use crate::contract::{FinishOutcome, SimSpec, SimView};
use crate::deadlines::Deadlines;
use crate::directory::{Directory, Handle};
use crate::domain::SmsId;
use crate::domain::{
    ActivationId, ActivationRecord, ActivationState, BankName, FinishEffect, FinishRules,
    FinishStatus, PlatformName, ServiceName,
};
use crate::expiry::Expiries;
use crate::ids::IdAllocator;
use crate::index::AvailabilityIndex;
use crate::ledger::Ledger;
use crate::outbox::Outbox;
use crate::sms::SmsLedger;
use crate::store::Store;
use crate::store::{Change, StoreError};

pub(crate) use crate::number_state::NumberState;

/// Why a number actor did not do what it was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum NumberError {
    #[error("number actor retired")]
    Retired,
    #[error("number refused: {0}")]
    Refused(&'static str),
    #[error("activation is not on this number")]
    UnknownActivation,
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reserve the number for a service; answers the new activation once it is durable.
#[derive(Message, Clone)]
#[rtype(result = "Result<ActivationRecord, NumberError>")]
pub(crate) struct Reserve {
    /// Who buys it.
    pub(crate) platform: PlatformName,
    /// The SIMs that platform may sell.
    pub(crate) banks: BankScope,
    pub(crate) service: ServiceName,
    pub(crate) sum: f64,
    pub(crate) deadline: Instant,
}

/// Apply FINISH_ACTIVATION.
#[derive(Message, Clone)]
#[rtype(result = "Result<FinishOutcome, NumberError>")]
pub(crate) struct Finish {
    pub(crate) id: ActivationId,
    pub(crate) status: FinishStatus,
    pub(crate) sum: Option<f64>,
    /// How the platform that sent it reads the status.
    pub(crate) rules: FinishRules,
    /// The platform that sent it: only the activation's own may finish it.
    pub(crate) platform: PlatformName,
}

/// Why simrelay frees a number without a FINISH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReleaseReason {
    /// TTL + grace passed with no FINISH (the safety net).
    Expired,
    /// The GET_NUMBER that reserved it could not be answered in time: the platform never
    /// learnt of this activation.
    Abandoned,
    /// The operator asked for it (`POST /admin/activations/{id}/release`): no due time is
    /// checked.
    Operator,
}

/// Free the number from an activation without a FINISH; answers whether it did.
#[derive(Message, Clone)]
#[rtype(result = "Result<bool, NumberError>")]
pub(crate) struct Release {
    pub(crate) id: ActivationId,
    pub(crate) reason: ReleaseReason,
}

/// A change to the SIM itself.
#[derive(Debug, Clone)]
pub(crate) enum SimChange {
    Online(bool),
    /// Offline, if it still belongs to this bank (it may have moved to another meanwhile).
    OfflineIn(BankName),
    Blocked(bool),
    /// `rewrite`: write the record even if nothing changes (a stale write may have reached the
    /// store).
    Describe {
        spec: SimSpec,
        online: bool,
        rewrite: bool,
    },
}

/// Apply a [`SimChange`].
#[derive(Message, Clone)]
#[rtype(result = "Result<(), NumberError>")]
pub(crate) struct Update(pub(crate) SimChange);

/// Stop at once without handing the state back, as a panicking handler would: what
/// [`Engine::crash_actor_for_tests`](crate::Engine::crash_actor_for_tests) sends.
#[derive(Message, Clone)]
#[rtype(result = "Result<(), NumberError>")]
pub(crate) struct Crash;

impl Handler<Crash> for NumberActor {
    type Result = Result<(), NumberError>;

    fn handle(&mut self, _: Crash, ctx: &mut Context<Self>) -> Self::Result {
        self.retired = true;
        ctx.stop();
        Ok(())
    }
}

/// Read the number's state.
#[derive(Message, Clone)]
#[rtype(result = "Result<SimView, NumberError>")]
pub(crate) struct Inspect;

/// What a NumberActor works with: the structures its transitions update (directory, index,
/// ledgers, deadline queues, outbox, bank presence) and the ports it writes through; none of
/// the engine's own bookkeeping (readiness, recovery, store meta), which the engine keeps
/// around it (`Shared`).
pub(crate) struct NumberContext {
    pub(crate) directory: Directory<Addr<NumberActor>>,
    pub(crate) index: parking_lot::Mutex<AvailabilityIndex>,
    pub(crate) ledger: Ledger,
    pub(crate) expiry: Expiries,
    pub(crate) banks: Banks,
    /// When the parts of each long SMS stop waiting for the rest.
    pub(crate) seals: Deadlines<SmsId>,
    pub(crate) sms: SmsLedger,
    pub(crate) outbox: Outbox,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) ids: IdAllocator,
    pub(crate) settings: EngineSettings,
}

impl Handle for Addr<NumberActor> {
    fn alive(&self) -> bool {
        self.connected()
    }
}

/// See the module documentation.
pub(crate) struct NumberActor {
    pub(crate) state: NumberState,
    pub(crate) shared: Arc<NumberContext>,
    pub(crate) retired: bool,
}

/// What a handler that may write answers.
pub(crate) type Reply<T> = AtomicResponse<NumberActor, Result<T, NumberError>>;

/// An answer that needs no write.
pub(crate) fn ready<T: 'static>(value: Result<T, NumberError>) -> Reply<T> {
    AtomicResponse::new(Box::pin(actix::fut::ready(value)))
}

impl Actor for NumberActor {
    type Context = Context<Self>;
}

impl NumberActor {
    pub(crate) fn new(state: NumberState, shared: Arc<NumberContext>) -> NumberActor {
        NumberActor {
            state,
            shared,
            retired: false,
        }
    }

    fn max_cancels(&self) -> u8 {
        self.shared.settings.max_cancels
    }

    /// Pushes the number's facts to the availability index.
    pub(crate) fn publish(&self) {
        let facts = self.state.facts(self.max_cancels());
        self.shared.index.lock().update(self.state.number(), facts);
    }

    /// Hands the state back to the directory when the number has nothing going on. The actor
    /// then stops by itself once the last address of it is dropped.
    pub(crate) fn settle(&mut self) {
        if !self.retired && self.state.record.active.is_none() {
            self.retired = true;
            self.shared.directory.retire(self.state.clone());
        }
    }

    /// Answers at once, retiring first if idle.
    pub(crate) fn answer<T: 'static>(&mut self, value: Result<T, NumberError>) -> Reply<T> {
        self.settle();
        ready(value)
    }

    /// Writes `changes`; on success runs `then` on the actor and answers its result.
    fn commit<T: 'static>(
        &mut self,
        changes: Vec<Change>,
        then: impl FnOnce(&mut NumberActor) -> T + 'static,
    ) -> Reply<T> {
        let store = Arc::clone(&self.shared.store);
        let write = async move { store.apply(changes).await };
        AtomicResponse::new(Box::pin(write.into_actor(self).map(
            move |written, act, _ctx| {
                let out = match written {
                    Ok(()) => Ok(then(act)),
                    Err(e) => Err(NumberError::Store(e)),
                };
                act.settle();
                out
            },
        )))
    }

    fn refusal(&self, service: &ServiceName) -> Option<&'static str> {
        let r = &self.state.record;
        if !r.online {
            Some("offline")
        } else if r.blocked {
            Some("blocked")
        } else if !self.state.pinned && !self.shared.banks.is_live(&r.bank) {
            Some("bank silent")
        } else if r.active.is_some() {
            Some("busy")
        } else if self.state.is_exhausted(service, self.max_cancels()) {
            Some("used for this service")
        } else {
            None
        }
    }
}

impl Handler<Reserve> for NumberActor {
    type Result = Reply<ActivationRecord>;

    fn handle(&mut self, msg: Reserve, _: &mut Context<Self>) -> Self::Result {
        if self.retired {
            return ready(Err(NumberError::Retired));
        }
        if let Some(why) = self.refusal(&msg.service) {
            return self.answer(Err(NumberError::Refused(why)));
        }
        if !msg.banks.allows(&self.state.record.bank) {
            return self.answer(Err(NumberError::Refused("not this platform's bank")));
        }
        if Instant::now() >= msg.deadline {
            return self.answer(Err(NumberError::Refused("deadline passed")));
        }
        let shared = Arc::clone(&self.shared);
        let sim_before = self.state.record.clone();
        let ttl = shared.settings.activation_ttl;
        let write = async move {
            let id = shared.ids.next().await?;
            let now = shared.clock.now();
            let record = ActivationRecord {
                id,
                platform: msg.platform,
                number: sim_before.number,
                expires_at: (!msg.service.is_rent()).then(|| later(now, ttl)),
                service: msg.service,
                country: sim_before.country.clone(),
                operator: sim_before.operator.clone(),
                sum: msg.sum,
                created_at: now,
                state: ActivationState::Active,
                finish_status: None,
                finish_sum: None,
                finished_at: None,
                expired_at: None,
            };
            let mut sim = sim_before;
            sim.active = Some(id);
            sim.last_activation = Some(id);
            shared
                .store
                .apply(vec![Change::Activation(record.clone()), Change::Sim(sim)])
                .await?;
            Ok::<_, StoreError>(record)
        };
        AtomicResponse::new(Box::pin(write.into_actor(self).map(
            |written, act, _ctx| match written {
                Ok(record) => {
                    act.state.record.active = Some(record.id);
                    act.state.record.last_activation = Some(record.id);
                    act.shared.ledger.put(record.clone());
                    if let (Some(at), Some(grace)) =
                        (record.expires_at, act.shared.settings.expiry_grace)
                    {
                        let due = later(at, grace);
                        act.shared.expiry.arm(&*act.shared.clock, due, record.id);
                    }
                    act.publish();
                    tracing::debug!(activation_id = %record.id, number = %record.number, service = %record.service, "reserved");
                    Ok(record)
                }
                Err(e) => {
                    act.settle();
                    Err(NumberError::Store(e))
                }
            },
        )))
    }
}

impl Handler<Finish> for NumberActor {
    type Result = Reply<FinishOutcome>;

    fn handle(&mut self, msg: Finish, _: &mut Context<Self>) -> Self::Result {
        if self.retired {
            return ready(Err(NumberError::Retired));
        }
        let Some(mut activation) = self.shared.ledger.get(msg.id) else {
            return self.answer(Err(NumberError::UnknownActivation));
        };
        if activation.number != self.state.number() || activation.platform != msg.platform {
            return self.answer(Err(NumberError::UnknownActivation));
        }
        if let Some(first) = activation.finish_status {
            if first != msg.status {
                tracing::warn!(activation_id = %msg.id, first = first.code(), repeat = msg.status.code(),
                    "repeated FINISH_ACTIVATION with another status; the first one stands");
            }
            return self.answer(Ok(FinishOutcome::Repeat));
        }
        let mut sim = self.state.record.clone();
        if sim.active == Some(msg.id) {
            sim.active = None;
        }
        let service = activation.service.clone();
        match msg.rules.effect(msg.status) {
            FinishEffect::Use if !sim.used.contains(&service) => sim.used.push(service),
            FinishEffect::Cancel => match sim.cancels.iter_mut().find(|(s, _)| *s == service) {
                Some((_, count)) => *count = count.saturating_add(1),
                None => sim.cancels.push((service, 1)),
            },
            FinishEffect::Use | FinishEffect::Free => {}
        }
        let late = activation.state == ActivationState::Expired;
        activation.state = ActivationState::Finished;
        activation.finish_status = Some(msg.status);
        activation.finish_sum = msg.sum;
        activation.finished_at = Some(self.shared.clock.now());
        let changes = vec![
            Change::Activation(activation.clone()),
            Change::Sim(sim.clone()),
        ];
        self.commit(changes, move |act| {
            act.state.record = sim;
            act.shared.expiry.disarm(&activation.id);
            tracing::debug!(activation_id = %activation.id, status = msg.status.code(), late, "finished");
            act.shared.ledger.put(activation);
            act.publish();
            FinishOutcome::Applied
        })
    }
}

impl Handler<Release> for NumberActor {
    type Result = Reply<bool>;

    fn handle(&mut self, msg: Release, _: &mut Context<Self>) -> Self::Result {
        if self.retired {
            return ready(Err(NumberError::Retired));
        }
        let now = self.shared.clock.now();
        let activation = self
            .shared
            .ledger
            .get(msg.id)
            .filter(|a| a.state == ActivationState::Active)
            .filter(|_| self.state.record.active == Some(msg.id));
        let Some(mut activation) = activation else {
            return self.answer(Ok(false));
        };
        if msg.reason == ReleaseReason::Expired {
            // Without a grace simrelay never frees a number on its own.
            let due = self
                .shared
                .settings
                .expiry_grace
                .zip(activation.expires_at)
                .map(|(grace, at)| later(at, grace));
            if due.is_none_or(|due| due > now) {
                return self.answer(Ok(false));
            }
        }
        let overdue = activation.expires_at.is_some_and(|at| at <= now);
        let mut sim = self.state.record.clone();
        sim.active = None;
        activation.state = ActivationState::Expired;
        activation.expired_at = Some(now);
        let changes = vec![
            Change::Activation(activation.clone()),
            Change::Sim(sim.clone()),
        ];
        self.commit(changes, move |act| {
            act.state.record = sim;
            act.shared.expiry.disarm(&activation.id);
            tracing::warn!(activation_id = %activation.id, number = %activation.number, reason = ?msg.reason, overdue,
                "number freed without FINISH_ACTIVATION");
            act.shared.ledger.put(activation);
            act.publish();
            true
        })
    }
}

impl Handler<Update> for NumberActor {
    type Result = Reply<()>;

    fn handle(&mut self, msg: Update, _: &mut Context<Self>) -> Self::Result {
        if self.retired {
            return ready(Err(NumberError::Retired));
        }
        let now = self.shared.clock.now();
        let mut sim = self.state.record.clone();
        let mut rewrite = false;
        match msg.0 {
            SimChange::Online(online) => sim.online = online || self.state.pinned,
            SimChange::OfflineIn(bank) => {
                if sim.bank == bank {
                    sim.online = self.state.pinned;
                }
            }
            SimChange::Blocked(blocked) => sim.blocked = blocked,
            SimChange::Describe {
                spec,
                online,
                rewrite: again,
            } => {
                rewrite = again;
                let described = self.state.described(&spec, online, now);
                if described.pinned != self.state.pinned {
                    self.state.pinned = described.pinned;
                    self.publish();
                }
                sim = described.record;
            }
        }
        if sim.online && !self.state.record.online {
            sim.online_since = Some(now);
        }
        if sim == self.state.record && !rewrite {
            return self.answer(Ok(()));
        }
        self.commit(vec![Change::Sim(sim.clone())], move |act| {
            act.state.record = sim;
            act.publish();
        })
    }
}

impl Handler<Inspect> for NumberActor {
    type Result = Reply<SimView>;

    fn handle(&mut self, _: Inspect, _: &mut Context<Self>) -> Self::Result {
        if self.retired {
            return ready(Err(NumberError::Retired));
        }
        let view = self.state.view();
        self.answer(Ok(view))
    }
}
