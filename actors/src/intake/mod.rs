//! SMS intake: what the number's actor does with an SMS its SIM received.
//!
//! Intake runs on the receiving number's actor, so everything about one number's SMS — the
//! de-duplication, which activation an SMS belongs to, the parts of a long SMS — is decided
//! serially, without races, and made durable before the gateway hears back.
//!
//! **Which activation.** An SMS belongs to the activation of its number that was open at
//! `received_at` (a `received_at` in the future counts as now: a SIM-bank clock ahead of ours
//! cannot make an SMS arrive before it was received). If none was open then, a SIM-bank clock
//! behind ours is the likely reason: the number's newest activation takes it when `received_at`
//! lies at most `clock_skew` before that activation's start and after the close of the one
//! before it. Modem and SMSC timestamps have whole seconds and SIM-bank clocks drift, so without
//! that tolerance the code a client paid for would be stored `unmatched` and never forwarded.
//!
//! **Long SMS.** Parts with the same number, sender and reference are one SMS: the first part
//! creates the record (`assembling`), each further part is added in its place, and the joined
//! text is forwarded once — when every part has arrived, or when `multipart_wait` is over with
//! the parts that did. A part seen before is a duplicate. The record and its wait deadline are
//! persisted, so parts that straddle a restart still make one SMS with one delivery.

use actix::prelude::*;
use chrono::{DateTime, Utc};

use crate::banks::bank_presence;
use crate::clock::{later, span};
use crate::contract::{PartOf, SmsReceipt};
use crate::domain::{
    ActivationRecord, Multipart, PlatformName, SmsId, SmsPart, SmsRecord, SmsState,
};
use crate::number::{ready, NumberActor, NumberError, Reply};
use crate::store::{Change, StoreError};

use self::decision::PartDecision;

mod decision;

/// Accept an SMS the SIM received: de-duplicate, match it to its activation, store it, queue
/// it for delivery (or, for a part of a long SMS, wait for the rest).
#[derive(Message, Clone)]
#[rtype(result = "Result<SmsReceipt, NumberError>")]
pub(crate) struct ReceiveSms {
    pub(crate) from: String,
    pub(crate) text: String,
    pub(crate) received_at: Option<DateTime<Utc>>,
    pub(crate) gateway_id: Option<String>,
    pub(crate) part: Option<PartOf>,
}

/// Forward what arrived of a long SMS whose wait is over; answers whether it did.
#[derive(Message, Clone)]
#[rtype(result = "Result<bool, NumberError>")]
pub(crate) struct Seal {
    pub(crate) id: SmsId,
}

/// What the gateway hears about an SMS it had posted before.
fn duplicate(twin: &SmsRecord, part: bool) -> SmsReceipt {
    SmsReceipt {
        sms_id: twin.id,
        activation_id: twin.activation_id,
        duplicate: true,
        complete: part.then_some(twin.state != SmsState::Assembling),
    }
}

impl NumberActor {
    /// The activation an SMS received at `at` belongs to (see the module documentation).
    fn activation_at(&self, at: DateTime<Utc>) -> Option<ActivationRecord> {
        let r = &self.state.record;
        let ledger = &self.shared.ledger;
        let mut ids = ledger.recent_of(r.number);
        ids.extend(r.active.into_iter().chain(r.last_activation));
        ids.sort_unstable_by_key(|id| std::cmp::Reverse(*id));
        ids.dedup();
        let newest_first: Vec<ActivationRecord> =
            ids.into_iter().filter_map(|id| ledger.get(id)).collect();
        decision::activation_at(&newest_first, at, self.shared.settings.clock_skew).cloned()
    }

    /// Where a complete SMS goes: delivered to its activation's platform (or, without one, to
    /// the v2 platform that lists its SIM), held by our-side filtering, or kept unmatched.
    fn intake_state(
        &self,
        activation: Option<&ActivationRecord>,
        from: &str,
        text: &str,
    ) -> (SmsState, Option<PlatformName>) {
        let settings = &self.shared.settings;
        let sim = &self.state.record;
        let lister = settings
            .listing_platforms
            .iter()
            .find(|(_, banks)| banks.allows(&sim.bank))
            .map(|(name, _)| name);
        let rules = decision::Rules {
            forward_unmatched: lister.is_some(),
            filter: settings.filter.as_ref(),
            offered: &settings.offered,
        };
        let state =
            decision::destination(activation, sim.online && !sim.blocked, from, text, rules);
        let platform = match activation {
            Some(a) => Some(a.platform.clone()),
            None => lister.filter(|_| state != SmsState::Unmatched).cloned(),
        };
        (state, platform)
    }

    /// Ends a long SMS's wait: it is delivered (or held, or kept) like a whole SMS.
    fn seal(&self, record: &mut SmsRecord, now: DateTime<Utc>) {
        let activation = record.activation_id.and_then(|a| self.shared.ledger.get(a));
        (record.state, record.platform) =
            self.intake_state(activation.as_ref(), &record.from, &record.text);
        record.next_attempt_at = (record.state == SmsState::Pending).then_some(now);
    }

    /// Writes an SMS record (with a fresh id when `id` is `None`; with `also`, another SMS
    /// record, in the same batch; with the presence of the SIM's bank when `renew`), then
    /// installs them: ledger, outbox, long-SMS deadline, bank presence. Answers `then(record)`.
    fn write_sms<T: 'static>(
        &mut self,
        id: Option<SmsId>,
        build: impl FnOnce(SmsId) -> SmsRecord + 'static,
        also: Option<SmsRecord>,
        renew: bool,
        then: impl FnOnce(&SmsRecord) -> T + 'static,
    ) -> Reply<T> {
        let shared = std::sync::Arc::clone(&self.shared);
        let now = shared.clock.now();
        // An SMS from one of a bank's SIMs says the bank is alive (configured SIMs have none).
        let bank = (renew && !self.state.pinned).then(|| self.state.record.bank.clone());
        let presence = bank.as_ref().map(|b| bank_presence(b, now));
        let write = async move {
            let id = match id {
                Some(id) => id,
                None => SmsId(shared.ids.next().await?.get()),
            };
            let record = build(id);
            let mut changes = vec![Change::Sms(record.clone())];
            changes.extend(also.iter().map(|r| Change::Sms(r.clone())));
            changes.extend(presence);
            shared.store.apply(changes).await?;
            Ok::<_, StoreError>((record, also))
        };
        AtomicResponse::new(Box::pin(write.into_actor(self).map(
            move |written, act, _ctx| {
                let out = match written {
                    Ok((record, also)) => {
                        if let Some(bank) = &bank {
                            act.shared.banks.renew(bank, now, &act.shared.index);
                        }
                        let out = then(&record);
                        for record in also.into_iter().chain([record]) {
                            act.install_sms(record);
                        }
                        Ok(out)
                    }
                    Err(e) => Err(NumberError::Store(e)),
                };
                act.settle();
                out
            },
        )))
    }

    /// Puts a durable SMS record in the ledger, and in the outbox or the long-SMS deadlines.
    fn install_sms(&self, record: SmsRecord) {
        match &record.multipart {
            Some(m) if record.state == SmsState::Assembling => {
                self.shared.seals.arm(m.wait_until, record.id)
            }
            Some(_) => self.shared.seals.disarm(&record.id),
            None => {}
        }
        tracing::debug!(sms_id = %record.id, number = %record.number, state = ?record.state, "SMS stored");
        let due = record
            .next_attempt_at
            .filter(|_| record.state == SmsState::Pending)
            .map(|at| (at, record.id));
        self.shared.sms.put(record);
        if let Some((at, id)) = due {
            self.shared.outbox.schedule(at, id);
        }
    }

    fn receive_whole(
        &mut self,
        msg: ReceiveSms,
        received_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Reply<SmsReceipt> {
        let number = self.state.number();
        let sms = &self.shared.sms;
        if msg.gateway_id.is_none() {
            let window = span(self.shared.settings.dedup_window);
            let twin = sms.recent_twin(number, &msg.from, &msg.text, received_at, window);
            if let Some(twin) = twin.and_then(|id| sms.get(id)) {
                tracing::debug!(sms_id = %twin.id, %number, "duplicate SMS from the gateway");
                return self.answer(Ok(duplicate(&twin, false)));
            }
        }
        let activation = self.activation_at(received_at);
        let (state, platform) = self.intake_state(activation.as_ref(), &msg.from, &msg.text);
        let build = move |id| SmsRecord {
            id,
            number,
            from: msg.from,
            text: msg.text,
            received_at,
            accepted_at: now,
            gateway_id: msg.gateway_id,
            activation_id: activation.as_ref().map(|a| a.id),
            service: activation.map(|a| a.service),
            platform,
            state,
            attempts: 0,
            last_error: None,
            next_attempt_at: (state == SmsState::Pending).then_some(now),
            delivered_at: None,
            in_flight: false,
            multipart: None,
        };
        self.write_sms(None, build, None, true, |record| receipt(record, None))
    }

    fn receive_part(
        &mut self,
        msg: ReceiveSms,
        part: PartOf,
        received_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Reply<SmsReceipt> {
        let number = self.state.number();
        let window = span(self.shared.settings.dedup_window);
        // References are one byte on the air and come round again: a long SMS claims its
        // reference while it waits for parts, and for the de-duplication window after.
        let recent: Vec<SmsRecord> = self
            .shared
            .sms
            .by_parts(number, &msg.from, &part.reference)
            .into_iter()
            .filter(|r| {
                r.state == SmsState::Assembling
                    || now.signed_duration_since(r.accepted_at) <= window
            })
            .collect();
        let decided = decision::part_decision(&recent, &part, &msg.text);
        let piece = SmsPart {
            part: part.part,
            text: msg.text,
            gateway_id: msg.gateway_id,
        };
        // What the part starts, if it completes no waiting SMS: (its activation, whether it is
        // late, an earlier SMS to forward in the same write).
        let (activation, late, sealed) = match decided {
            PartDecision::Duplicate(twin) => {
                tracing::debug!(sms_id = %twin.id, %number, part = part.part, "duplicate part of a long SMS");
                return self.answer(Ok(duplicate(twin, true)));
            }
            PartDecision::Malformed(record) => return self.answer(Ok(duplicate(record, true))),
            PartDecision::Conflict(why) => return self.answer(Err(NumberError::Conflict(why))),
            PartDecision::AddTo(record) => {
                let mut record = record.clone();
                let Some(mut multipart) = record.multipart.take() else {
                    return self.answer(Ok(duplicate(&record, true)));
                };
                record.text = multipart.add(piece);
                let complete = multipart.is_complete();
                record.multipart = Some(multipart);
                if complete {
                    self.seal(&mut record, now);
                }
                let id = record.id;
                return self.write_sms(
                    Some(id),
                    move |_| record,
                    None,
                    true,
                    move |r| receipt(r, Some(complete)),
                );
            }
            PartDecision::Supersede(record) => {
                let mut record = record.clone();
                self.seal(&mut record, now);
                (self.activation_at(received_at), false, Some(record))
            }
            PartDecision::Late(sealed) => (
                sealed.activation_id.and_then(|a| self.shared.ledger.get(a)),
                true,
                None,
            ),
            PartDecision::New => (self.activation_at(received_at), false, None),
        };
        let first = FirstPart {
            from: msg.from,
            part,
            piece,
            received_at,
        };
        self.new_long_sms(first, activation, late, now, sealed)
    }

    /// Stores the first part of a long SMS (waiting for the rest), or a part that arrived after
    /// its SMS was forwarded (`late`: forwarded at once on its own). `sealed` is an earlier
    /// long SMS written in the same batch.
    fn new_long_sms(
        &mut self,
        first: FirstPart,
        activation: Option<ActivationRecord>,
        late: bool,
        now: DateTime<Utc>,
        sealed: Option<SmsRecord>,
    ) -> Reply<SmsReceipt> {
        let FirstPart {
            from,
            part,
            piece,
            received_at,
        } = first;
        let number = self.state.number();
        let mut record = SmsRecord {
            id: SmsId(0),
            number,
            from,
            text: piece.text.clone(),
            received_at,
            accepted_at: now,
            gateway_id: None,
            activation_id: activation.as_ref().map(|a| a.id),
            service: activation.map(|a| a.service),
            platform: None,
            state: SmsState::Assembling,
            attempts: 0,
            last_error: None,
            next_attempt_at: None,
            delivered_at: None,
            in_flight: false,
            multipart: Some(Multipart {
                reference: part.reference,
                parts: part.parts,
                received: vec![piece],
                wait_until: if late {
                    now
                } else {
                    later(now, self.shared.settings.multipart_wait)
                },
            }),
        };
        if late {
            tracing::info!(%number, part = part.part, "a part of a long SMS came after the SMS was forwarded; forwarding it on its own");
            self.seal(&mut record, now);
        }
        let build = move |id| SmsRecord { id, ..record };
        self.write_sms(None, build, sealed, true, move |r| receipt(r, Some(late)))
    }
}

/// The part that begins a new long SMS record.
struct FirstPart {
    from: String,
    part: PartOf,
    piece: SmsPart,
    received_at: DateTime<Utc>,
}

fn receipt(record: &SmsRecord, complete: Option<bool>) -> SmsReceipt {
    SmsReceipt {
        sms_id: record.id,
        activation_id: record.activation_id,
        duplicate: false,
        complete,
    }
}

impl Handler<ReceiveSms> for NumberActor {
    type Result = Reply<SmsReceipt>;

    fn handle(&mut self, msg: ReceiveSms, _: &mut Context<Self>) -> Self::Result {
        if self.retired {
            return ready(Err(NumberError::Retired));
        }
        let number = self.state.number();
        let now = self.shared.clock.now();
        let received_at = msg.received_at.map_or(now, |at| at.min(now));
        let sms = &self.shared.sms;
        let twin = msg
            .gateway_id
            .as_deref()
            .and_then(|gid| sms.by_gateway_id(number, gid))
            .and_then(|id| sms.get(id));
        if let Some(twin) = twin {
            tracing::debug!(sms_id = %twin.id, %number, "duplicate SMS from the gateway");
            return self.answer(Ok(duplicate(&twin, msg.part.is_some())));
        }
        match msg.part.clone() {
            Some(part) if part.parts > 1 => self.receive_part(msg, part, received_at, now),
            _ => self.receive_whole(msg, received_at, now),
        }
    }
}

impl Handler<Seal> for NumberActor {
    type Result = Reply<bool>;

    fn handle(&mut self, msg: Seal, _: &mut Context<Self>) -> Self::Result {
        if self.retired {
            return ready(Err(NumberError::Retired));
        }
        let record = self
            .shared
            .sms
            .get(msg.id)
            .filter(|r| r.state == SmsState::Assembling && r.number == self.state.number());
        let Some(mut record) = record else {
            return self.answer(Ok(false));
        };
        let now = self.shared.clock.now();
        self.seal(&mut record, now);
        let parts = record
            .multipart
            .as_ref()
            .map(|m| (m.received.len(), m.parts));
        tracing::info!(sms_id = %record.id, ?parts, "long SMS incomplete after the wait; forwarding the parts that arrived");
        self.write_sms(Some(msg.id), move |_| record, None, false, |_| true)
    }
}
