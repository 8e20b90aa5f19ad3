//! The platforms simrelay sells on, one folder per platform protocol, both directions.
//!
//! A platform folder holds everything that speaks that protocol's wire format and nothing
//! else: the inbound endpoint when the platform calls us (`mod.rs` dispatches, one file per
//! action, each owning its typed request and reply), the outbound half (the SMS webhook or API
//! client, which the outbox delivers through), and any task the protocol needs (v2's list sync).
//! SMSHub's agent protocol is the shape OnlineSIM v1 derives from: `onlinesim_v1` serves both
//! (endpoint and PUSH_SMS client), and each protocol's folder owns its [`PullRules`], what differs
//! (interface.md "Platforms"). Folders call the engine and never each other; what every edge
//! shares (reading bodies, typed fields, keys, the error shape) lives beside them in `body.rs`,
//! `fields.rs`, `auth.rs` and `error.rs`, and `router.rs` sends each SMS to its own platform.

pub mod onlinesim_v1;
pub mod onlinesim_v2;
pub mod router;
pub mod smshub;

use std::time::Duration;

use simrelay_actors::domain::FinishRules;

use crate::config::{NoNumbersReply, PhoneType, Protocol, Settings, SmsIdKind};

/// How GET_SERVICES reports the operator `any`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnyOperator {
    /// Always, the per-service sum over all operators, unknown ones included (OnlineSIM).
    Always,
    /// Only for a country whose SIMs have no known operator; never beside named operators
    /// (SMSHub).
    Unsplit,
}

/// What differs between the protocols whose platform calls us (interface.md "Platforms").
#[derive(Debug, Clone, Copy)]
pub struct PullRules {
    /// What FINISH_ACTIVATION's statuses do.
    pub finish: FinishRules,
    /// How GET_SERVICES reports `any`.
    pub any: AnyOperator,
    /// The GET_NUMBER deadline inside the engine, when shorter than `engine.get_number_deadline`.
    pub deadline: Option<Duration>,
    /// How NO_NUMBERS is written; `None`: as `onlinesim.no_numbers_reply` says.
    pub no_numbers: Option<NoNumbersReply>,
    /// What PUSH_SMS `smsId` carries; `None`: as `push_sms.sms_id` says.
    pub sms_id: Option<SmsIdKind>,
    /// The JSON type of PUSH_SMS `phone`; `None`: as `push_sms.phone_type` says.
    pub phone: Option<PhoneType>,
    /// PUSH_SMS answers that mean "never send this again".
    pub terminal: &'static [&'static str],
    /// PUSH_SMS counts as delivered on any 2xx with `status: SUCCESS` (else only on 200).
    pub any_2xx: bool,
    /// Whether `rent` is sold here when `onlinesim.rent` offers it.
    pub rent: bool,
}

impl PullRules {
    /// The rules of a protocol that calls us; `None` for v2, which never does.
    pub fn of(protocol: Protocol) -> Option<&'static PullRules> {
        match protocol {
            Protocol::OnlineSimV1 => Some(&onlinesim_v1::RULES),
            Protocol::SmsHub => Some(&smshub::RULES),
            Protocol::OnlineSimV2 => None,
        }
    }

    /// The GET_NUMBER deadline inside the engine, given the engine's own.
    pub fn deadline_within(&self, engine: Duration) -> Duration {
        self.deadline.map_or(engine, |own| own.min(engine))
    }

    /// How NO_NUMBERS is written under these rules and `settings`.
    pub fn no_numbers_reply(&self, settings: &Settings) -> NoNumbersReply {
        self.no_numbers
            .unwrap_or(settings.onlinesim.no_numbers_reply)
    }
}
