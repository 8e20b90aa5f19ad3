//! What the edges hand the engine and what they get back: its settings, the requests (a SIM's
//! description, a GET_NUMBER, an incoming SMS) and the answers (a reservation, a FINISH's
//! outcome, an SMS receipt, the admin views). Plain data: nothing here talks to an actor.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{
    ActivationId, BankName, CountryName, ExclusionSet, Msisdn, OperatorName, PlatformName,
    ServiceName, SmsId,
};
use crate::store::SimRecord;

/// The engine's knobs, taken from the server's config.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// How long the platform keeps an activation open (15 minutes).
    pub activation_ttl: Duration,
    /// How long after the TTL the safety net waits for a FINISH before freeing the number;
    /// `None` (the default): simrelay never frees a number on its own, an activation past its
    /// TTL without FINISH stays active (overdue) until the platform finishes it or the operator
    /// releases it.
    pub expiry_grace: Option<Duration>,
    /// Services reported by GET_SERVICES and sold by GET_NUMBER (`rent` included when offered).
    pub offered: Vec<ServiceName>,
    /// The internal GET_NUMBER deadline, well under the platform's 10 s.
    pub get_number_deadline: Duration,
    /// Cancelled activations (FINISH 4) after which a number is not offered for that service
    /// again.
    pub max_cancels: u8,
    /// Closed activations and settled SMS older than this leave memory and the hot state for
    /// the store's archive.
    pub archive_after: Duration,
    /// Two SMS with the same number, sender and text received this close together are one.
    pub dedup_window: Duration,
    /// Our-side filtering: SMS that do not belong to the ordered service are held.
    pub filter: Option<SmsFilter>,
    /// The platforms that list SIMs and allocate numbers themselves (OnlineSIM v2), each with
    /// the banks it lists: an SMS that belongs to no activation goes to the one whose banks hold
    /// its SIM, when the SIM is listed (simrelay knows no activations there). Their banks never
    /// overlap (the config checks).
    pub listing_platforms: Vec<(PlatformName, BankScope)>,
    /// A bank silent this long has its SIMs taken off sale; `None` never.
    pub bank_ttl: Option<Duration>,
    /// How far before an activation's start an SMS's `received_at` may lie and still belong to
    /// it, when no earlier activation covers it (SIM-bank clocks run behind).
    pub clock_skew: Duration,
    /// How long the parts of a long SMS wait for the rest.
    pub multipart_wait: Duration,
}

/// Our-side filtering (protocol §5.1): whether an SMS (sender, text) belongs to a service.
#[derive(Clone)]
pub struct SmsFilter(Arc<BelongsFn>);

/// `(service, from, text) -> belongs`.
type BelongsFn = dyn Fn(&ServiceName, &str, &str) -> bool + Send + Sync;

impl SmsFilter {
    /// Wraps a predicate `(service, from, text) -> belongs`.
    pub fn new(f: impl Fn(&ServiceName, &str, &str) -> bool + Send + Sync + 'static) -> SmsFilter {
        SmsFilter(Arc::new(f))
    }

    /// Whether the SMS belongs to the service.
    pub fn belongs(&self, service: &ServiceName, from: &str, text: &str) -> bool {
        (self.0)(service, from, text)
    }
}

impl std::fmt::Debug for SmsFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SmsFilter")
    }
}

/// What the gateway is told about an SMS it posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsReceipt {
    /// simrelay's id of the SMS.
    pub sms_id: SmsId,
    /// The activation it belongs to.
    pub activation_id: Option<ActivationId>,
    /// It had been posted before; nothing new was stored.
    pub duplicate: bool,
    /// For a part of a long SMS: whether every part has arrived.
    pub complete: Option<bool>,
}

/// One part of a long SMS, as the gateway numbers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartOf {
    /// The concatenation reference shared by the parts.
    pub reference: String,
    /// This part, 1-based.
    pub part: u8,
    /// How many parts the SMS has (2 or more).
    pub parts: u8,
}

/// An SMS as the gateway posts it.
#[derive(Debug, Clone)]
pub struct IncomingSms {
    /// The receiving SIM.
    pub number: Msisdn,
    /// Sender.
    pub from: String,
    /// Text.
    pub text: String,
    /// When the SIM received it, if the gateway knows.
    pub received_at: Option<DateTime<Utc>>,
    /// The gateway's message id.
    pub gateway_id: Option<String>,
    /// Which part of a long SMS this is, if it is one.
    pub part: Option<PartOf>,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            activation_ttl: Duration::from_secs(15 * 60),
            expiry_grace: None,
            offered: Vec::new(),
            get_number_deadline: Duration::from_secs(3),
            max_cancels: 4,
            archive_after: Duration::from_secs(7 * 24 * 3600),
            dedup_window: Duration::from_secs(120),
            filter: None,
            listing_platforms: Vec::new(),
            bank_ttl: Some(Duration::from_secs(180)),
            clock_skew: Duration::from_secs(120),
            multipart_wait: Duration::from_secs(30),
        }
    }
}

/// A SIM as configuration or the gateway describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSpec {
    /// Its number.
    pub number: Msisdn,
    /// Its country.
    pub country: CountryName,
    /// Its operator, when known.
    pub operator: Option<OperatorName>,
    /// Its port in the SIM bank.
    pub port: Option<String>,
    /// Listed in the config: always online.
    pub pinned: bool,
    /// MCC-MNC, when the SIM bank reports it.
    pub mcc_mnc: Option<String>,
    /// Offered for rent (v2); `None` keeps what is known.
    pub rent: Option<bool>,
    /// The SIM bank that reports it; `None` keeps what is known (`default` for a new SIM).
    pub bank: Option<BankName>,
}

/// Which operators' SIMs a GET_NUMBER accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorChoice {
    /// Any SIM of the country, those of unknown operators included (OnlineSIM's `any`).
    Any,
    /// Only SIMs of this operator.
    Named(OperatorName),
}

impl OperatorChoice {
    /// The operator asked for; `None` for any.
    pub fn named(&self) -> Option<&OperatorName> {
        match self {
            OperatorChoice::Any => None,
            OperatorChoice::Named(name) => Some(name),
        }
    }
}

/// Which SIMs a platform may sell: those of some banks, or every one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BankScope {
    /// Every SIM, whatever its bank.
    #[default]
    Every,
    /// Only the SIMs of these banks.
    Only(Arc<std::collections::BTreeSet<BankName>>),
}

impl BankScope {
    /// Only these banks.
    pub fn only(banks: impl IntoIterator<Item = BankName>) -> BankScope {
        BankScope::Only(Arc::new(banks.into_iter().collect()))
    }

    /// Whether a SIM of `bank` is in scope.
    pub fn allows(&self, bank: &BankName) -> bool {
        match self {
            BankScope::Every => true,
            BankScope::Only(banks) => banks.contains(bank),
        }
    }

    /// Whether some bank is in both scopes.
    pub fn overlaps(&self, other: &BankScope) -> bool {
        match (self, other) {
            (BankScope::Only(a), BankScope::Only(b)) => a.intersection(b).next().is_some(),
            (BankScope::Only(a), BankScope::Every) | (BankScope::Every, BankScope::Only(a)) => {
                !a.is_empty()
            }
            (BankScope::Every, BankScope::Every) => true,
        }
    }
}

/// A GET_NUMBER request, already parsed at the edge.
#[derive(Debug, Clone)]
pub struct NumberRequest {
    /// The platform asking: recorded on the activation, which only it may finish.
    pub platform: PlatformName,
    /// The SIMs it may sell.
    pub banks: BankScope,
    /// Its own deadline when shorter than `engine.get_number_deadline` (SMSHub's 3 s).
    pub deadline: Option<Duration>,
    /// The country the number must be from.
    pub country: CountryName,
    /// The operator, or any.
    pub operator: OperatorChoice,
    /// The service the number is bought for.
    pub service: ServiceName,
    /// Price offered.
    pub sum: f64,
    /// Prefixes the client does not want.
    pub exclusions: ExclusionSet,
}

/// A successful GET_NUMBER.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    /// The new activation.
    pub id: ActivationId,
    /// The number reserved.
    pub number: Msisdn,
}

/// What a FINISH_ACTIVATION did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishOutcome {
    /// Its effect was applied now.
    Applied,
    /// The activation had been finished before; nothing changed.
    Repeat,
}

/// Whether a SIM can be issued now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SimState {
    /// Not busy, not blocked.
    Free,
    /// In an active activation.
    Busy,
    /// Blocked by the operator: never issued.
    Blocked,
}

impl SimState {
    /// The name the admin API and the status page show.
    pub fn as_str(self) -> &'static str {
        match self {
            SimState::Free => "free",
            SimState::Busy => "busy",
            SimState::Blocked => "blocked",
        }
    }
}

impl std::fmt::Display for SimState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A SIM as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SimView {
    /// Its number.
    pub number: Msisdn,
    /// Its port.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub port: Option<String>,
    /// The SIM bank it belongs to.
    pub bank: BankName,
    /// Its country.
    pub country: CountryName,
    /// Its operator.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub operator: Option<OperatorName>,
    /// In a port now.
    pub online: bool,
    /// Whether it can be issued now.
    pub state: SimState,
    /// The activation it is busy with.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub activation_id: Option<ActivationId>,
    /// Services it is no longer offered for because they were sold (or stopped).
    pub services_used: Vec<ServiceName>,
    /// Cancelled activations per service.
    pub cancels: Vec<(ServiceName, u8)>,
}

impl SimView {
    pub(crate) fn from_record(r: &SimRecord) -> SimView {
        let state = if r.active.is_some() {
            SimState::Busy
        } else if r.blocked {
            SimState::Blocked
        } else {
            SimState::Free
        };
        SimView {
            number: r.number,
            port: r.port.clone(),
            bank: r.bank.clone(),
            country: r.country.clone(),
            operator: r.operator.clone(),
            online: r.online,
            state,
            activation_id: r.active,
            services_used: r.used.clone(),
            cancels: r.cancels.clone(),
        }
    }
}

/// What a bank's complete SIM list did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BankReplaced {
    /// The bank's SIMs online now.
    pub online: usize,
    /// Listed SIMs that were not online in this bank before.
    pub added: usize,
    /// The bank's SIMs that went offline.
    pub removed: usize,
}
