//! SMS received by a SIM, and their delivery state.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ActivationId, Msisdn, PlatformName, ServiceName};

/// simrelay's id of a received SMS (taken from the same never-reused sequence as activation
/// ids, so it is unique across both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct SmsId(pub u64);

impl fmt::Display for SmsId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where an SMS is on its way to the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SmsState {
    /// Matched to an activation; being delivered until the platform confirms.
    Pending,
    /// The platform confirmed it; never sent again.
    Delivered,
    /// The platform refused it for good (NO_OPERATION, BAD_SERVICE, …) or the attempt cap was hit.
    Failed,
    /// Our-side filtering found it does not belong to the ordered service; kept, not sent.
    Held,
    /// No activation was active on the number when it arrived; kept, not sent.
    Unmatched,
    /// Parts of a long SMS waiting for the rest; forwarded once joined.
    Assembling,
}

/// Everything simrelay keeps about one SMS; the unit the store persists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SmsRecord {
    /// simrelay's id.
    pub id: SmsId,
    /// The receiving SIM.
    pub number: Msisdn,
    /// Sender name or number.
    pub from: String,
    /// Message text.
    pub text: String,
    /// When the SIM received it (the gateway's time, or ours when it gave none).
    pub received_at: DateTime<Utc>,
    /// When simrelay accepted it.
    pub accepted_at: DateTime<Utc>,
    /// The gateway's message id, for de-duplication.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub gateway_id: Option<String>,
    /// The activation it belongs to.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub activation_id: Option<ActivationId>,
    /// The service of that activation (`rent` changes the PUSH_SMS body).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub service: Option<ServiceName>,
    /// The platform it is delivered to: its activation's, or (no activation) the v2 platform
    /// that lists its SIM; `None`: nobody's (kept, never sent). Records written before platforms
    /// had names go to their activation's platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformName>,
    /// Delivery state.
    pub state: SmsState,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// The last attempt's failure, or the platform's refusal.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub last_error: Option<String>,
    /// When the next attempt is due (pending only).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the platform confirmed it.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub delivered_at: Option<DateTime<Utc>>,
    /// Set while an attempt is in flight; found set after a crash it means the platform may
    /// have confirmed an attempt we never recorded, so one repeat is possible.
    #[serde(default)]
    pub in_flight: bool,
    /// For a long SMS that arrived in parts: the parts (`text` is their joined text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multipart: Option<Multipart>,
}

/// The parts of a long SMS, as they arrive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Multipart {
    /// The concatenation reference the parts share.
    pub reference: String,
    /// How many parts the SMS has.
    pub parts: u8,
    /// The parts that arrived, in part order.
    pub received: Vec<SmsPart>,
    /// When the parts stop waiting for the rest and what arrived is forwarded.
    pub wait_until: DateTime<Utc>,
}

/// One part of a long SMS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SmsPart {
    /// Its position, 1-based.
    pub part: u8,
    /// Its text.
    pub text: String,
    /// The gateway's message id of this part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_id: Option<String>,
}

impl Multipart {
    /// Whether every part has arrived.
    pub fn is_complete(&self) -> bool {
        self.received.len() >= usize::from(self.parts)
    }

    /// Whether this part has arrived.
    pub fn has(&self, part: u8) -> bool {
        self.received.iter().any(|p| p.part == part)
    }

    /// Adds a part in its place; answers the joined text of the parts so far.
    pub fn add(&mut self, part: SmsPart) -> String {
        let at = self.received.partition_point(|p| p.part < part.part);
        self.received.insert(at, part);
        self.joined()
    }

    /// The text of the parts that arrived, in part order.
    pub fn joined(&self) -> String {
        self.received.iter().map(|p| p.text.as_str()).collect()
    }
}
