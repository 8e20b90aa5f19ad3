//! SMSHub's agent protocol (protocol §6): the hub POSTs GET_SERVICES, GET_NUMBER and
//! FINISH_ACTIVATION to one URL, and we PUSH_SMS each SMS to its webhook.
//!
//! The wire shape is the one OnlineSIM v1 derives from, so the endpoint and the PUSH_SMS client
//! in `onlinesim_v1` serve SMSHub too; this folder owns what differs, its [`RULES`] (§6.2):
//! - FINISH 1 stops the number for the service for good; 4 returns it and counts towards the
//!   limit of four cancels (`engine.max_cancels`); 3 uses it; 5 returns it.
//! - GET_SERVICES never mixes `any` with named operators in one country: a country with known
//!   operators is reported by operator only (SIMs of unknown operator there are not reported,
//!   and so never over-reported); a country without reports `any`.
//! - GET_NUMBER answers within 3 s end to end: the engine gives up after 2 s, the edge 0.5 s
//!   later; no number is `{"status":"NO_NUMBERS"}`, whatever `onlinesim.no_numbers_reply` says.
//! - PUSH_SMS: `smsId` is simrelay's id of the SMS (unique per SMS), `phone` an integer with
//!   the country code; only `status: SUCCESS` confirms, anything else is retried every
//!   retry interval, with no code that stops it.
//! - No rent.

use std::time::Duration;

use simrelay_actors::domain::FinishRules;

use super::{AnyOperator, PullRules};
use crate::config::{NoNumbersReply, PhoneType, SmsIdKind};

/// SMSHub's rules.
pub const RULES: PullRules = PullRules {
    finish: FinishRules::SmsHub,
    any: AnyOperator::Unsplit,
    deadline: Some(Duration::from_secs(2)),
    no_numbers: Some(NoNumbersReply::NoNumbers),
    sms_id: Some(SmsIdKind::Unique),
    phone: Some(PhoneType::Integer),
    terminal: &[],
    any_2xx: true,
    rent: false,
};
