//! The engine's front door: [`Engine`] starts the actors from the store's snapshot and offers
//! the operations the edges need (GET_NUMBER, GET_SERVICES, FINISH_ACTIVATION, SIM presence,
//! admin reads). Cheap to clone; every clone talks to the same actors.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use crate::banks::{bank_presence, BankView, Banks};
use crate::clock::Clock;
use crate::contract::{
    BankReplaced, BankScope, EngineSettings, FinishOutcome, IncomingSms, NumberRequest,
    Reservation, SimSpec, SimView, SmsReceipt,
};
use crate::deadlines::Deadlines;
use crate::delivery;
use crate::directory::{Directory, Peek};
use crate::dispatcher::{Dispatcher, GetNumber};
use crate::domain::{
    ActivationId, ActivationRecord, ActivationState, BankName, CountryName, FinishRules,
    FinishStatus, Msisdn, PlatformName, SmsId, SmsRecord, SmsState,
};
use crate::error::EngineError;
use crate::expiry::Expiries;
use crate::ids::IdAllocator;
use crate::index::{AvailabilityIndex, ListedSim, Stock};
use crate::intake::ReceiveSms;
use crate::ledger::Ledger;
use crate::number::{
    Finish, Inspect, NumberContext, NumberState, Release, ReleaseReason, SimChange, Update,
};
use crate::outbox::{DeliverySettings, Outbox, SmsSink};
use crate::recovery::{self, RecoveryReport};
use crate::shared::{call, Shared};
use crate::sms::{SmsCounts, SmsEvents, SmsLedger};
use crate::store::{Change, SimRecord, Store};
use crate::tasks;

/// New SIMs written per store batch when a bank lists many at once.
const FRESH_BATCH: usize = 2048;

/// A handle on a running engine.
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
    dispatcher: Addr<Dispatcher>,
}

impl Engine {
    /// Creates an engine with no SIMs, not ready until [`Engine::recover`] succeeds. Must run
    /// inside an actix System: the engine's actors live on the calling arbiter.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, settings: EngineSettings) -> Engine {
        let numbers = Arc::new(NumberContext {
            directory: Directory::new(Arbiter::current()),
            index: Mutex::new(AvailabilityIndex::new(settings.offered.clone())),
            ledger: Ledger::new(),
            expiry: Expiries::default(),
            banks: Banks::new(settings.bank_ttl),
            seals: Deadlines::default(),
            sms: SmsLedger::default(),
            outbox: Outbox::default(),
            ids: IdAllocator::new(Arc::clone(&store)),
            store,
            clock,
            settings,
        });
        let shared = Arc::new(Shared {
            numbers,
            possible_repeats: Default::default(),
            meta: Mutex::new(Default::default()),
            ready: AtomicBool::new(false),
            recovering: tokio::sync::Mutex::new(()),
        });
        actix::spawn(tasks::run(
            Arc::downgrade(&shared),
            |s| &s.expiry.queue,
            tasks::release_due,
        ));
        actix::spawn(crate::archive::run(Arc::downgrade(&shared)));
        actix::spawn(delivery::run(Arc::downgrade(&shared)));
        actix::spawn(tasks::run(
            Arc::downgrade(&shared),
            |s| &s.banks.deadlines,
            tasks::silence_due,
        ));
        actix::spawn(tasks::run(
            Arc::downgrade(&shared),
            |s| &s.seals,
            tasks::seal_due,
        ));
        let dispatcher = Dispatcher::new(Arc::clone(&shared.numbers)).start();
        Engine { shared, dispatcher }
    }

    /// Loads the store's snapshot, merges the configured SIMs, rebuilds the actors' states and
    /// the availability index and re-arms every pending expiry (those already past fire at
    /// once). Until it succeeds the engine answers NO_NUMBERS / not ready; on failure nothing
    /// is installed and it may be called again. A second call after success does nothing.
    pub async fn recover(&self, sims: Vec<SimSpec>) -> Result<Option<RecoveryReport>, EngineError> {
        let _one_at_a_time = self.shared.recovering.lock().await;
        if self.is_ready() {
            return Ok(None);
        }
        let report = recovery::recover(&self.shared, sims).await?;
        self.shared.ready.store(true, Ordering::Release);
        // Old history the store still held hot (e.g. written before the archive existed) leaves
        // at once, behind readiness rather than before it.
        let shared = Arc::downgrade(&self.shared);
        actix::spawn(async move {
            if let Some(shared) = shared.upgrade() {
                if let Err(e) = crate::archive::archive_due(&shared).await {
                    tracing::warn!(error = %e, "archiving after recovery failed; the next pass tries again");
                }
            }
        });
        self.shared.expiry.wake();
        self.shared.banks.deadlines.wake();
        self.shared.seals.wake();
        Ok(Some(report))
    }

    /// [`Engine::new`] then [`Engine::recover`].
    pub async fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: EngineSettings,
        sims: Vec<SimSpec>,
    ) -> Result<Engine, EngineError> {
        let engine = Engine::new(store, clock, settings);
        engine.recover(sims).await?;
        Ok(engine)
    }

    /// Whether recovery is done.
    pub fn is_ready(&self) -> bool {
        self.shared.ready.load(Ordering::Acquire)
    }

    fn ensure_ready(&self) -> Result<(), EngineError> {
        if self.is_ready() {
            Ok(())
        } else {
            Err(EngineError::NotReady)
        }
    }

    /// Whether the store accepts writes right now.
    pub fn store_up(&self) -> bool {
        self.shared.store.down_reason().is_none()
    }

    /// Why the store cannot take writes right now, if it cannot.
    pub fn store_down_reason(&self) -> Option<String> {
        self.shared.store.down_reason()
    }

    /// GET_NUMBER: reserves a number, durable before this returns; `None` is NO_NUMBERS.
    pub async fn get_number(
        &self,
        request: NumberRequest,
    ) -> Result<Option<Reservation>, EngineError> {
        // Nothing can be reserved durably: say so at once rather than wait for the store.
        if !self.is_ready() || !self.store_up() {
            return Ok(None);
        }
        let Some(service) = self.shared.index.lock().offers(&request.service).cloned() else {
            return Ok(None);
        };
        let within = match request.deadline {
            Some(own) => own.min(self.shared.settings.get_number_deadline),
            None => self.shared.settings.get_number_deadline,
        };
        let order = GetNumber {
            request: Arc::new(request),
            service,
            deadline: Instant::now() + within,
        };
        let record = self
            .dispatcher
            .send(order)
            .await
            .map_err(|e| EngineError::Unavailable(e.to_string()))??;
        Ok(record.map(|r| Reservation {
            id: r.id,
            number: r.number,
        }))
    }

    /// GET_SERVICES of a platform that sells every SIM; see [`Engine::stock_of`].
    pub fn stock(&self) -> Stock {
        self.stock_of(&BankScope::Every)
    }

    /// GET_SERVICES of a platform that may sell the SIMs of `banks`: the stock counters; all
    /// zero while nothing can be sold honestly (not recovered yet, or the store is down).
    pub fn stock_of(&self, banks: &BankScope) -> Stock {
        let mut stock = self.shared.index.lock().stock(banks);
        if !self.is_ready() || !self.store_up() {
            stock.zero();
        }
        stock
    }

    /// FINISH_ACTIVATION from the platform `onlinesim`, as OnlineSIM reads it
    /// ([`FinishRules::OnlineSim`]); see [`Engine::finish_as`].
    pub async fn finish(
        &self,
        id: ActivationId,
        status: FinishStatus,
        sum: Option<f64>,
    ) -> Result<FinishOutcome, EngineError> {
        self.finish_as(
            &PlatformName::onlinesim(),
            id,
            status,
            sum,
            FinishRules::OnlineSim,
        )
        .await
    }

    /// FINISH_ACTIVATION from `platform`, under its protocol's `rules`: applies the status once;
    /// repeats answer [`FinishOutcome::Repeat`]. An activation another platform bought is
    /// unknown to this one.
    pub async fn finish_as(
        &self,
        platform: &PlatformName,
        id: ActivationId,
        status: FinishStatus,
        sum: Option<f64>,
        rules: FinishRules,
    ) -> Result<FinishOutcome, EngineError> {
        self.ensure_ready()?;
        let record = match self.shared.ledger.get(id) {
            Some(record) => record,
            // Closed long ago and no longer kept in memory: the store still knows it.
            None => {
                let stored = self
                    .shared
                    .store
                    .activation(id)
                    .await?
                    .ok_or(EngineError::UnknownActivation(id))?;
                self.shared.ledger.put(stored.clone());
                stored
            }
        };
        if record.platform != *platform {
            return Err(EngineError::UnknownActivation(id));
        }
        call(
            &self.shared.numbers,
            record.number,
            Finish {
                id,
                status,
                sum,
                rules,
                platform: platform.clone(),
            },
        )
        .await
    }

    /// Adds a SIM or updates its description, and sets it online or offline (a configured SIM
    /// stays online). A SIM named with a bank moves to that bank.
    pub async fn upsert_sim(&self, spec: SimSpec, online: bool) -> Result<(), EngineError> {
        self.ensure_ready()?;
        if !self.shared.directory.contains(spec.number) {
            let fresh = self.fresh_state(&spec, online);
            // Durable before it is listed.
            self.shared
                .store
                .apply(vec![Change::Sim(fresh.record.clone())])
                .await?;
            if self.list_fresh(vec![fresh]).is_empty() {
                return Ok(());
            }
            // Known meanwhile: the write above may have overwritten its record.
            return self.describe(spec, online, true).await;
        }
        self.describe(spec, online, false).await
    }

    /// Has the number's actor apply a description; `rewrite` makes it write its record even
    /// when nothing changes (a stale write of the number's record may have reached the store).
    async fn describe(
        &self,
        spec: SimSpec,
        online: bool,
        rewrite: bool,
    ) -> Result<(), EngineError> {
        let number = spec.number;
        call(
            &self.shared.numbers,
            number,
            Update(SimChange::Describe {
                spec,
                online,
                rewrite,
            }),
        )
        .await
    }

    /// The state of a SIM simrelay has never seen.
    fn fresh_state(&self, spec: &SimSpec, online: bool) -> NumberState {
        let online = online || spec.pinned;
        NumberState {
            record: SimRecord {
                number: spec.number,
                country: spec.country.clone(),
                operator: spec.operator.clone(),
                port: spec.port.clone(),
                online,
                blocked: false,
                active: None,
                used: Vec::new(),
                cancels: Vec::new(),
                last_activation: None,
                online_since: online.then(|| self.shared.clock.now()),
                mcc_mnc: spec.mcc_mnc.clone(),
                rent: spec.rent.unwrap_or(false),
                bank: spec.bank.clone().unwrap_or_default(),
            },
            pinned: spec.pinned,
        }
    }

    /// Lists new SIMs whose records are durable; answers those that became known meanwhile
    /// (they are left to their actors).
    fn list_fresh(&self, states: Vec<NumberState>) -> Vec<Msisdn> {
        let max_cancels = self.shared.settings.max_cancels;
        let mut raced = Vec::new();
        let mut listed = Vec::with_capacity(states.len());
        for state in states {
            let number = state.number();
            let facts = state.facts(max_cancels);
            if self.shared.directory.insert(state) {
                listed.push((number, facts));
            } else {
                raced.push(number);
            }
        }
        let mut index = self.shared.index.lock();
        for (number, facts) in listed {
            index.update(number, facts);
        }
        raced
    }

    /// A SIM bank named itself: it is live (its SIMs on sale) for `bank_ttl` from now. Durable
    /// before this returns.
    pub async fn renew_bank(&self, bank: &BankName) -> Result<(), EngineError> {
        self.ensure_ready()?;
        if !self.shared.banks.claim(bank) {
            return Err(EngineError::TooManyBanks);
        }
        let now = self.shared.clock.now();
        self.shared
            .store
            .apply(vec![bank_presence(bank, now)])
            .await?;
        self.shared.banks.renew(bank, now, &self.shared.index);
        Ok(())
    }

    /// A bank's complete list of SIMs in ports: each is created or updated, belongs to this bank
    /// and goes online; every other SIM of this bank goes offline (configured SIMs stay
    /// online); other banks' SIMs are untouched. SIMs the list would not change cost a lookup,
    /// not an actor; new SIMs are written in large batches.
    pub async fn replace_bank(
        &self,
        bank: &BankName,
        mut specs: Vec<SimSpec>,
    ) -> Result<BankReplaced, EngineError> {
        use futures::StreamExt;
        self.renew_bank(bank).await?;
        // One list of a bank at a time: two at once (a client retrying a slow PUT) would each
        // take the other's SIMs for still online.
        let list_lock = self.shared.banks.list_lock(bank);
        let _one_list_at_a_time = list_lock.lock().await;
        for spec in &mut specs {
            spec.bank = Some(bank.clone());
        }
        let listed: std::collections::HashSet<Msisdn> = specs.iter().map(|s| s.number).collect();
        let was_online: std::collections::HashSet<Msisdn> = self
            .shared
            .index
            .lock()
            .online_numbers_of(bank)
            .into_iter()
            .collect();
        let added = specs
            .iter()
            .filter(|s| !was_online.contains(&s.number))
            .count();
        let now = self.shared.clock.now();
        let mut fresh = Vec::new();
        let mut changed = Vec::new();
        for spec in specs {
            match self
                .shared
                .directory
                .peek(spec.number, |state| state.unchanged_by(&spec, true, now))
            {
                None => fresh.push(spec),
                Some(Some(true)) => {}
                Some(_) => changed.push(spec),
            }
        }
        let inserts: Vec<Result<Vec<SimSpec>, EngineError>> = futures::stream::iter(
            fresh
                .chunks(FRESH_BATCH)
                .map(|chunk| self.insert_batch(chunk)),
        )
        .buffer_unordered(4)
        .collect()
        .await;
        // Numbers that became known while their batch was written are described by their
        // actor, which writes its record again over the batch's.
        let mut raced = Vec::new();
        for outcome in inserts {
            raced.extend(outcome?);
        }
        let changed = changed
            .into_iter()
            .map(|spec| (spec, false))
            .chain(raced.into_iter().map(|spec| (spec, true)));
        let ups: Vec<Result<(), EngineError>> = futures::stream::iter(changed)
            .map(|(spec, rewrite)| self.describe(spec, true, rewrite))
            .buffer_unordered(64)
            .collect()
            .await;
        ups.into_iter().collect::<Result<(), _>>()?;
        let gone: Vec<Msisdn> = was_online
            .into_iter()
            .filter(|n| !listed.contains(n))
            .collect();
        let downs: Vec<Result<(), EngineError>> = futures::stream::iter(gone.iter().copied())
            .map(|n| {
                call(
                    &self.shared.numbers,
                    n,
                    Update(SimChange::OfflineIn(bank.clone())),
                )
            })
            .buffer_unordered(64)
            .collect()
            .await;
        downs.into_iter().collect::<Result<(), _>>()?;
        let index = self.shared.index.lock();
        let removed = gone.iter().filter(|n| !index.is_online(**n)).count();
        Ok(BankReplaced {
            online: index.bank_counts().get(bank).map_or(0, |c| c.online),
            added,
            removed,
        })
    }

    /// The country of each number simrelay knows (`None` for unknown or unparsed numbers), in
    /// one look at the index: an edge validating a large list skips what it already checked.
    pub fn known_countries(&self, numbers: &[Option<Msisdn>]) -> Vec<Option<CountryName>> {
        let index = self.shared.index.lock();
        numbers
            .iter()
            .map(|n| n.and_then(|n| index.country_of(n)))
            .collect()
    }

    /// Writes new SIMs (online) in one batch, then lists them; answers the specs of those that
    /// became known meanwhile.
    async fn insert_batch(&self, specs: &[SimSpec]) -> Result<Vec<SimSpec>, EngineError> {
        let states: Vec<NumberState> = specs.iter().map(|s| self.fresh_state(s, true)).collect();
        let changes = states
            .iter()
            .map(|s| Change::Sim(s.record.clone()))
            .collect();
        self.shared.store.apply(changes).await?;
        let raced: std::collections::HashSet<Msisdn> =
            self.list_fresh(states).into_iter().collect();
        Ok(specs
            .iter()
            .filter(|s| raced.contains(&s.number))
            .cloned()
            .collect())
    }

    /// Every bank: its SIMs, how many are online, when it last reported, whether it is live.
    pub fn banks(&self) -> Vec<BankView> {
        let counts = self.shared.index.lock().bank_counts().clone();
        let mut views: std::collections::BTreeMap<BankName, BankView> = counts
            .into_iter()
            .filter(|(_, c)| c.sims > 0)
            .map(|(name, c)| {
                let view = BankView {
                    name: name.clone(),
                    sims: c.sims,
                    online: c.online,
                    last_seen: None,
                    live: true,
                };
                (name, view)
            })
            .collect();
        for (name, last_seen, live) in self.shared.banks.list() {
            let view = views.entry(name.clone()).or_insert(BankView {
                name,
                sims: 0,
                online: 0,
                last_seen: None,
                live,
            });
            view.last_seen = last_seen;
            view.live = live;
        }
        views.into_values().collect()
    }

    /// One bank, if it has SIMs or ever reported.
    pub fn bank(&self, bank: &BankName) -> Option<BankView> {
        self.banks().into_iter().find(|b| b.name == *bank)
    }

    /// Silences every bank that has been silent for `bank_ttl` (the background task does this
    /// by itself; tests call it after moving a manual clock). Answers how many fell silent.
    pub async fn silence_due_banks(&self) -> usize {
        tasks::silence_due(&self.shared).await
    }

    /// Forwards the parts of every long SMS whose wait is over (the background task does this by
    /// itself; tests call it after moving a manual clock). Answers how many it sealed.
    pub async fn seal_due_sms(&self) -> usize {
        tasks::seal_due(&self.shared).await
    }

    /// Every SIM of `banks` a v2 platform lists now (online and not blocked), in number order.
    pub fn listed_sims(&self, banks: &BankScope) -> Vec<ListedSim> {
        if !self.is_ready() {
            return Vec::new();
        }
        self.shared.index.lock().listed(banks)
    }

    /// A counter that moves whenever what v2 lists changes.
    pub fn listing_version(&self) -> u64 {
        self.shared.index.lock().listing_changes().0
    }

    /// Wakes whenever what v2 lists changes.
    pub fn listing_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.shared.index.lock().listing_changes().1
    }

    /// A named value kept in the store.
    pub fn meta(&self, key: &str) -> Option<String> {
        self.shared.meta.lock().get(key).cloned()
    }

    /// Stores a named value; durable before this returns.
    pub async fn put_meta(&self, key: &str, value: String) -> Result<(), EngineError> {
        self.shared
            .store
            .apply(vec![Change::Meta {
                key: key.to_owned(),
                value: value.clone(),
            }])
            .await?;
        self.shared.meta.lock().insert(key.to_owned(), value);
        Ok(())
    }

    /// The number of the SIM in a port.
    pub fn number_at(&self, port: &str) -> Option<Msisdn> {
        self.shared.index.lock().number_at(port)
    }

    /// Sets a known SIM online or offline.
    pub async fn set_online(&self, number: Msisdn, online: bool) -> Result<(), EngineError> {
        self.ensure_ready()?;
        call(
            &self.shared.numbers,
            number,
            Update(SimChange::Online(online)),
        )
        .await
    }

    /// Blocks or unblocks a SIM: a blocked SIM is never issued.
    pub async fn set_blocked(&self, number: Msisdn, blocked: bool) -> Result<(), EngineError> {
        self.ensure_ready()?;
        call(
            &self.shared.numbers,
            number,
            Update(SimChange::Blocked(blocked)),
        )
        .await
    }

    /// Every SIM, in number order.
    pub async fn sims(&self) -> Result<Vec<SimView>, EngineError> {
        let mut out = Vec::new();
        for (number, peek) in self.shared.directory.peek_all() {
            match peek {
                Peek::Idle(state) => out.push(state.view()),
                Peek::Live => out.push(call(&self.shared.numbers, number, Inspect).await?),
            }
        }
        Ok(out)
    }

    /// Stops the number's actor without handing its state back, as a panicking handler would.
    /// For tests of the recovery of such a number; never called by simrelay itself.
    #[doc(hidden)]
    pub async fn crash_actor_for_tests(&self, number: Msisdn) -> Result<(), EngineError> {
        let addr = crate::shared::actor_of(&self.shared.numbers, number)?;
        addr.send(crate::number::Crash)
            .await
            .map_err(|e| EngineError::Unavailable(e.to_string()))?
            .map_err(|e| EngineError::Refused(e.to_string()))
    }

    /// One SIM.
    pub async fn sim(&self, number: Msisdn) -> Result<SimView, EngineError> {
        call(&self.shared.numbers, number, Inspect).await
    }

    /// The newest activations, optionally in one state.
    pub fn activations(
        &self,
        state: Option<ActivationState>,
        limit: usize,
    ) -> Vec<ActivationRecord> {
        self.shared.ledger.newest(state, limit)
    }

    /// One activation.
    pub fn activation(&self, id: ActivationId) -> Option<ActivationRecord> {
        self.shared.ledger.get(id)
    }

    /// The newest overdue activations: active, with an `expires_at` that the engine's clock
    /// has passed (the platform has not finished them; rent activations are never overdue).
    pub fn overdue_activations(&self, limit: usize) -> Vec<ActivationRecord> {
        self.shared.ledger.overdue(self.shared.clock.now(), limit)
    }

    /// How many activations are overdue (see [`Engine::overdue_activations`]); cheap: it never
    /// looks at activations that are not.
    pub fn overdue_count(&self) -> usize {
        self.shared.ledger.overdue_count(self.shared.clock.now())
    }

    /// The operator frees the number of an active activation (overdue or not): the activation
    /// becomes expired, the number is free again; durable before this returns. A later FINISH
    /// still answers SUCCESS and applies its effect. An activation that is not active answers
    /// [`EngineError::NotActive`] and nothing changes.
    pub async fn release(&self, id: ActivationId) -> Result<ActivationRecord, EngineError> {
        self.ensure_ready()?;
        let record = match self.shared.ledger.get(id) {
            Some(record) => record,
            // Active activations are always in memory; the store may still know a closed one.
            None => self
                .shared
                .store
                .activation(id)
                .await?
                .ok_or(EngineError::UnknownActivation(id))?,
        };
        if record.state != ActivationState::Active {
            return Err(not_active(&record));
        }
        let release = Release {
            id,
            reason: ReleaseReason::Operator,
        };
        let freed = call(&self.shared.numbers, record.number, release).await?;
        let after = self
            .shared
            .ledger
            .get(id)
            .ok_or(EngineError::UnknownActivation(id))?;
        match (freed, after.state) {
            (true, _) => Ok(after),
            (false, ActivationState::Active) => Err(EngineError::Conflict(format!(
                "activation {id} is active but its number {} is not busy with it; nothing changed",
                after.number
            ))),
            // Finished or released meanwhile.
            (false, _) => Err(not_active(&after)),
        }
    }

    /// Moves closed activations and settled SMS older than `archive_after` out of memory and
    /// the hot state into the store's archive. Runs by itself every ten minutes; answers how
    /// many records moved.
    pub async fn archive_due(&self) -> Result<usize, EngineError> {
        Ok(crate::archive::archive_due(&self.shared).await?)
    }

    /// One activation, wherever it is: in memory, or in the store (hot or archived).
    pub async fn find_activation(
        &self,
        id: ActivationId,
    ) -> Result<Option<ActivationRecord>, EngineError> {
        match self.shared.ledger.get(id) {
            Some(record) => Ok(Some(record)),
            None => Ok(self.shared.store.activation(id).await?),
        }
    }

    /// How many activations are active.
    pub fn active_activations(&self) -> usize {
        self.shared.ledger.active()
    }

    /// How many SIMs are known.
    pub fn sim_count(&self) -> usize {
        self.shared.directory.len()
    }

    /// How many expiry deadlines are armed.
    pub fn armed_expiries(&self) -> usize {
        self.shared.expiry.len()
    }

    /// Runs the expiry safety net now (the background task does this by itself; tests call it
    /// after moving a manual clock to wait for the outcome). Answers how many numbers it freed.
    pub async fn expire_due(&self) -> usize {
        tasks::release_due(&self.shared).await
    }

    /// The engine's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.clock.now()
    }

    /// Accepts an SMS from the gateway: stored before this returns, matched to the activation
    /// active when it was received, queued for delivery.
    pub async fn receive_sms(&self, sms: IncomingSms) -> Result<SmsReceipt, EngineError> {
        self.ensure_ready()?;
        let msg = ReceiveSms {
            from: sms.from,
            text: sms.text,
            received_at: sms.received_at,
            gateway_id: sms.gateway_id,
            part: sms.part,
        };
        call(&self.shared.numbers, sms.number, msg).await
    }

    /// Connects SMS delivery to the platform; pending SMS start moving.
    pub fn attach_delivery(&self, sink: Arc<dyn SmsSink>, settings: DeliverySettings) {
        self.shared.outbox.attach(sink, settings);
    }

    /// Delivers what is due now and waits for those attempts (the background task does this by
    /// itself; tests call it after moving a manual clock). Answers how many it attempted.
    pub async fn deliver_due(&self) -> usize {
        delivery::deliver_due(&self.shared).await
    }

    /// Graceful stop of SMS delivery: no attempt starts any more; waits up to `limit` for those
    /// in flight to end and their outcomes to be stored. Answers whether they all did in time.
    pub async fn drain_deliveries(&self, limit: Duration) -> bool {
        delivery::drain(&self.shared, limit).await
    }

    /// The newest SMS, optionally in one state.
    pub fn sms(&self, state: Option<SmsState>, limit: usize) -> Vec<SmsRecord> {
        self.shared.sms.newest(state, limit)
    }

    /// The SMS of one activation.
    pub fn sms_of(&self, activation: ActivationId) -> Vec<SmsRecord> {
        self.shared.sms.of_activation(activation)
    }

    /// SMS counts per delivery state.
    pub fn sms_counts(&self) -> SmsCounts {
        self.shared.sms.counts()
    }

    /// What happened to SMS since this process started (counts that only grow).
    pub fn sms_events(&self) -> SmsEvents {
        self.shared.sms.events()
    }

    /// Pending SMS found mid-attempt at recovery (each may reach the platform twice).
    pub fn possible_repeats(&self) -> u64 {
        self.shared
            .possible_repeats
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sends a failed (or held) SMS again: it becomes pending, due now. Answers the record.
    pub async fn redeliver(&self, id: SmsId) -> Result<SmsRecord, EngineError> {
        self.ensure_ready()?;
        let mut record = self.shared.sms.get(id).ok_or(EngineError::UnknownSms(id))?;
        if !matches!(record.state, SmsState::Failed | SmsState::Held)
            || record.activation_id.is_none()
        {
            return Err(EngineError::NotRedeliverable(format!(
                "SMS {id} is {:?}; only failed or held SMS of an activation are redelivered",
                record.state
            )));
        }
        let now = self.shared.clock.now();
        record.state = SmsState::Pending;
        record.next_attempt_at = Some(now);
        self.shared
            .store
            .apply(vec![Change::Sms(record.clone())])
            .await?;
        self.shared.sms.put(record.clone());
        self.shared.outbox.schedule(now, id);
        Ok(record)
    }
}

/// The error for releasing an activation that is closed already.
fn not_active(record: &ActivationRecord) -> EngineError {
    let state = match record.state {
        ActivationState::Active => "active",
        ActivationState::Finished => "finished",
        ActivationState::Expired => "expired",
    };
    EngineError::NotActive(format!(
        "activation {} is {state}, not active; nothing changed",
        record.id
    ))
}
