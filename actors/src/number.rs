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
use chrono::{DateTime, TimeDelta, Utc};

use crate::clock::later;
use crate::domain::{
    ActivationId, ActivationRecord, ActivationState, FinishStatus, Msisdn, ServiceName, SmsId,
    SmsRecord, SmsState,
};
use crate::engine::{FinishOutcome, Shared, SimSpec, SimView, SmsReceipt};
use crate::index::Facts;
use crate::store::{Change, SimRecord, StoreError};

/// A number's state as its actor (or, when idle, the directory) holds it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NumberState {
    pub(crate) record: SimRecord,
    /// Listed in the config: always online, whatever the gateway says.
    pub(crate) pinned: bool,
}

impl NumberState {
    pub(crate) fn number(&self) -> Msisdn {
        self.record.number
    }

    fn cancels(&self, service: &ServiceName) -> u8 {
        self.record
            .cancels
            .iter()
            .find(|(s, _)| s == service)
            .map_or(0, |(_, c)| *c)
    }

    /// Whether the number may no longer be offered for `service`.
    pub(crate) fn is_exhausted(&self, service: &ServiceName, max_cancels: u8) -> bool {
        self.record.used.contains(service) || self.cancels(service) >= max_cancels
    }

    /// What the availability index needs to know.
    pub(crate) fn facts(&self, max_cancels: u8) -> Facts {
        let r = &self.record;
        let mut exhausted = r.used.clone();
        exhausted.extend(
            r.cancels
                .iter()
                .filter(|(s, c)| *c >= max_cancels && !r.used.contains(s))
                .map(|(s, _)| s.clone()),
        );
        Facts {
            country: r.country.clone(),
            operator: r.operator.clone(),
            available: r.online && !r.blocked && r.active.is_none(),
            online: r.online,
            port: r.port.clone(),
            listed: r.online && !r.blocked,
            mcc_mnc: r.mcc_mnc.clone(),
            rent: r.rent,
            online_since: r.online_since,
            exhausted,
        }
    }

    pub(crate) fn view(&self) -> SimView {
        SimView::from_record(&self.record)
    }
}

/// Why a number actor did not do what it was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum NumberError {
    #[error("number actor retired")]
    Retired,
    #[error("number refused: {0}")]
    Refused(&'static str),
    #[error("activation is not on this number")]
    UnknownActivation,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reserve the number for a service; answers the new activation once it is durable.
#[derive(Message, Clone)]
#[rtype(result = "Result<ActivationRecord, NumberError>")]
pub(crate) struct Reserve {
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
}

/// Why simrelay frees a number without a FINISH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReleaseReason {
    /// TTL + grace passed with no FINISH (the safety net).
    Expired,
    /// The GET_NUMBER that reserved it could not be answered in time: the platform never
    /// learnt of this activation.
    Abandoned,
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
    Blocked(bool),
    Describe { spec: SimSpec, online: bool },
}

/// Apply a [`SimChange`].
#[derive(Message, Clone)]
#[rtype(result = "Result<(), NumberError>")]
pub(crate) struct Update(pub(crate) SimChange);

/// Accept an SMS the SIM received: de-duplicate, match it to the activation that was active
/// when it was received, store it, queue it for delivery.
#[derive(Message, Clone)]
#[rtype(result = "Result<SmsReceipt, NumberError>")]
pub(crate) struct ReceiveSms {
    pub(crate) from: String,
    pub(crate) text: String,
    pub(crate) received_at: Option<DateTime<Utc>>,
    pub(crate) gateway_id: Option<String>,
}

/// Read the number's state.
#[derive(Message, Clone)]
#[rtype(result = "Result<SimView, NumberError>")]
pub(crate) struct Inspect;

/// See the module documentation.
pub(crate) struct NumberActor {
    state: NumberState,
    shared: Arc<Shared>,
    retired: bool,
}

type Reply<T> = AtomicResponse<NumberActor, Result<T, NumberError>>;

fn ready<T: 'static>(value: Result<T, NumberError>) -> Reply<T> {
    AtomicResponse::new(Box::pin(actix::fut::ready(value)))
}

impl Actor for NumberActor {
    type Context = Context<Self>;
}

impl NumberActor {
    pub(crate) fn new(state: NumberState, shared: Arc<Shared>) -> NumberActor {
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
    fn publish(&self) {
        let facts = self.state.facts(self.max_cancels());
        self.shared.index.lock().update(self.state.number(), facts);
    }

    /// Hands the state back to the directory when the number has nothing going on. The actor
    /// then stops by itself once the last address of it is dropped.
    fn settle(&mut self) {
        if !self.retired && self.state.record.active.is_none() {
            self.retired = true;
            self.shared.directory.retire(self.state.clone());
        }
    }

    /// Answers at once, retiring first if idle.
    fn answer<T: 'static>(&mut self, value: Result<T, NumberError>) -> Reply<T> {
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
        } else if r.active.is_some() {
            Some("busy")
        } else if self.state.is_exhausted(service, self.max_cancels()) {
            Some("used for this service")
        } else {
            None
        }
    }
}

fn delta(d: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
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
                    if let Some(at) = record.expires_at {
                        let due = later(at, act.shared.settings.expiry_grace);
                        act.shared.expiry.arm(due, record.id, record.number);
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
        if activation.number != self.state.number() {
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
        match msg.status {
            s if s.uses_service() && !sim.used.contains(&service) => sim.used.push(service),
            FinishStatus::Cancelled => match sim.cancels.iter_mut().find(|(s, _)| *s == service) {
                Some((_, count)) => *count = count.saturating_add(1),
                None => sim.cancels.push((service, 1)),
            },
            _ => {}
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
            act.shared.expiry.disarm(activation.id);
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
            let grace = self.shared.settings.expiry_grace;
            let due = activation.expires_at.map(|at| later(at, grace));
            if due.is_none_or(|due| due > now) {
                return self.answer(Ok(false));
            }
        }
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
            act.shared.expiry.disarm(activation.id);
            tracing::warn!(activation_id = %activation.id, reason = ?msg.reason, "number freed without FINISH_ACTIVATION");
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
        let mut sim = self.state.record.clone();
        let mut pin = false;
        match msg.0 {
            SimChange::Online(online) => sim.online = online || self.state.pinned,
            SimChange::Blocked(blocked) => sim.blocked = blocked,
            SimChange::Describe { spec, online } => {
                // A configured SIM keeps its configured description; otherwise what the
                // gateway says wins, and what it leaves out stays as it was.
                if spec.pinned || !self.state.pinned {
                    sim.country = spec.country;
                    sim.operator = spec.operator.or(sim.operator);
                    sim.port = spec.port.or(sim.port);
                    sim.mcc_mnc = spec.mcc_mnc.or(sim.mcc_mnc);
                    if let Some(rent) = spec.rent {
                        sim.rent = rent;
                    }
                }
                sim.online = online || self.state.pinned || spec.pinned;
                pin = spec.pinned;
            }
        }
        self.state.pinned |= pin;
        if sim.online && !self.state.record.online {
            sim.online_since = Some(self.shared.clock.now());
        }
        if sim == self.state.record {
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

impl NumberActor {
    /// The activation an SMS received at `at` belongs to: the one of this number (among its
    /// recent ones) that was open at that moment.
    fn activation_at(&self, at: DateTime<Utc>) -> Option<ActivationRecord> {
        let r = &self.state.record;
        let mut candidates = self.shared.ledger.recent_of(r.number);
        candidates.extend(r.active.into_iter().chain(r.last_activation));
        candidates.sort_unstable_by_key(|id| std::cmp::Reverse(*id));
        candidates.dedup();
        candidates
            .into_iter()
            .filter_map(|id| self.shared.ledger.get(id))
            .find(|a| {
                let closed = a.expired_at.or(a.finished_at);
                a.created_at <= at && closed.is_none_or(|c| c >= at)
            })
    }
}

impl Handler<ReceiveSms> for NumberActor {
    type Result = Reply<SmsReceipt>;

    fn handle(&mut self, msg: ReceiveSms, _: &mut Context<Self>) -> Self::Result {
        if self.retired {
            return ready(Err(NumberError::Retired));
        }
        let number = self.state.number();
        let sms = &self.shared.sms;
        let now = self.shared.clock.now();
        let received_at = msg.received_at.unwrap_or(now);
        let window = delta(self.shared.settings.dedup_window);
        let twin = match &msg.gateway_id {
            Some(gid) => sms.by_gateway_id(number, gid),
            None => sms.recent_twin(number, &msg.from, &msg.text, received_at, window),
        };
        if let Some(twin) = twin.and_then(|id| sms.get(id)) {
            tracing::debug!(sms_id = %twin.id, %number, "duplicate SMS from the gateway");
            return self.answer(Ok(SmsReceipt {
                sms_id: twin.id,
                activation_id: twin.activation_id,
                duplicate: true,
            }));
        }
        let activation = self.activation_at(received_at);
        let forward_unmatched = self.shared.settings.forward_unmatched
            && self.state.record.online
            && !self.state.record.blocked;
        let state = match &activation {
            // v2: no ordered service; with filtering on, an SMS must belong to one of the
            // services offered, or it is held (e.g. a bank's message).
            None if forward_unmatched => match &self.shared.settings.filter {
                Some(filter)
                    if !self
                        .shared
                        .settings
                        .offered
                        .iter()
                        .any(|s| filter.belongs(s, &msg.from, &msg.text)) =>
                {
                    SmsState::Held
                }
                _ => SmsState::Pending,
            },
            None => SmsState::Unmatched,
            Some(a) if a.service.is_rent() => SmsState::Pending,
            Some(a) => match &self.shared.settings.filter {
                Some(filter) if !filter.belongs(&a.service, &msg.from, &msg.text) => SmsState::Held,
                _ => SmsState::Pending,
            },
        };
        let shared = Arc::clone(&self.shared);
        let write = async move {
            let id = SmsId(shared.ids.next().await?.get());
            let record = SmsRecord {
                id,
                number,
                from: msg.from,
                text: msg.text,
                received_at,
                accepted_at: now,
                gateway_id: msg.gateway_id,
                activation_id: activation.as_ref().map(|a| a.id),
                service: activation.map(|a| a.service),
                state,
                attempts: 0,
                last_error: None,
                next_attempt_at: (state == SmsState::Pending).then_some(now),
                delivered_at: None,
                in_flight: false,
            };
            shared
                .store
                .apply(vec![Change::Sms(record.clone())])
                .await?;
            Ok::<_, StoreError>(record)
        };
        AtomicResponse::new(Box::pin(write.into_actor(self).map(
            |written, act, _ctx| {
                let out = match written {
                    Ok(record) => {
                        let receipt = SmsReceipt {
                            sms_id: record.id,
                            activation_id: record.activation_id,
                            duplicate: false,
                        };
                        tracing::debug!(sms_id = %record.id, number = %record.number, state = ?record.state, "SMS accepted");
                        let due = record.next_attempt_at.map(|at| (at, record.id));
                        act.shared.sms.put(record);
                        if let Some((at, id)) = due {
                            act.shared.outbox.schedule(at, id);
                        }
                        Ok(receipt)
                    }
                    Err(e) => Err(NumberError::Store(e)),
                };
                act.settle();
                out
            },
        )))
    }
}
