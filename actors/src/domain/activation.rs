//! Activations: one sale of one number for one service.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{CountryName, Msisdn, OperatorName, ParseError, PlatformName, ServiceName};

/// The id simrelay gives an activation; ≥ 1, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = u64))]
pub struct ActivationId(std::num::NonZeroU64);

impl ActivationId {
    /// Accepts any integer ≥ 1.
    pub fn new(raw: u64) -> Result<ActivationId, ParseError> {
        std::num::NonZeroU64::new(raw)
            .map(ActivationId)
            .ok_or_else(|| ParseError("activation ids start at 1".into()))
    }

    /// The id as the platform sees it.
    pub fn get(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for ActivationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The `status` of FINISH_ACTIVATION.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FinishStatus {
    /// 1: stop offering this number for this service.
    StopService,
    /// 3: sold; the number is used for this service forever.
    Sold,
    /// 4: cancelled; the number may be offered for this service again, up to a limit.
    Cancelled,
    /// 5: refunded; the number is simply freed.
    Refunded,
}

impl FinishStatus {
    /// Maps the wire code; 2 is deprecated and refused like any other unknown code.
    pub fn from_code(code: i64) -> Result<FinishStatus, ParseError> {
        match code {
            1 => Ok(FinishStatus::StopService),
            3 => Ok(FinishStatus::Sold),
            4 => Ok(FinishStatus::Cancelled),
            5 => Ok(FinishStatus::Refunded),
            other => Err(ParseError(format!(
                "status {other} is not one of 1, 3, 4, 5"
            ))),
        }
    }

    /// The wire code.
    pub fn code(self) -> u8 {
        match self {
            FinishStatus::StopService => 1,
            FinishStatus::Sold => 3,
            FinishStatus::Cancelled => 4,
            FinishStatus::Refunded => 5,
        }
    }
}

/// How a platform's protocol reads FINISH_ACTIVATION's statuses (interface.md "Platforms"):
/// what each one does to the number for the activation's service. "Used for a service" is one
/// fact about the number, whichever platform set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishRules {
    /// OnlineSIM (v1 and v2): only 3 uses the number for the service; 1, 4 and 5 return it to
    /// the pool unchanged.
    OnlineSim,
    /// SMSHub: 1 and 3 use the number for the service; 4 returns it and counts towards the
    /// cancel limit (`engine.max_cancels`); 5 returns it.
    SmsHub,
}

/// What a FINISH status does to the number for the activation's service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishEffect {
    /// Never offered for this service again.
    Use,
    /// Back in the pool, one more cancel counted.
    Cancel,
    /// Back in the pool, nothing else.
    Free,
}

impl FinishRules {
    /// What `status` does under these rules.
    pub fn effect(self, status: FinishStatus) -> FinishEffect {
        match (self, status) {
            (_, FinishStatus::Sold) => FinishEffect::Use,
            (FinishRules::SmsHub, FinishStatus::StopService) => FinishEffect::Use,
            (FinishRules::SmsHub, FinishStatus::Cancelled) => FinishEffect::Cancel,
            _ => FinishEffect::Free,
        }
    }
}

/// Where an activation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActivationState {
    /// Reserved and answered SUCCESS; the number is busy with it.
    Active,
    /// Closed by FINISH_ACTIVATION.
    Finished,
    /// Freed by the safety net (no FINISH within TTL + grace) or abandoned because its
    /// GET_NUMBER answer missed the deadline; a late FINISH still applies its effect.
    Expired,
}

/// Everything simrelay keeps about one activation; the unit the store persists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivationRecord {
    /// The id the platform uses in FINISH_ACTIVATION.
    pub id: ActivationId,
    /// The platform that bought it: only that platform may finish it, and its SMS go there.
    /// Records written before platforms had names belong to `onlinesim`.
    #[serde(default = "PlatformName::onlinesim")]
    pub platform: PlatformName,
    /// The number reserved.
    pub number: Msisdn,
    /// The service sold.
    pub service: ServiceName,
    /// The country of the number.
    pub country: CountryName,
    /// The operator of the number, when known.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub operator: Option<OperatorName>,
    /// The price GET_NUMBER offered (RUB).
    pub sum: f64,
    /// When GET_NUMBER reserved it.
    pub created_at: DateTime<Utc>,
    /// When the platform considers it over (created + TTL); `None` for rent.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub expires_at: Option<DateTime<Utc>>,
    /// Current state.
    pub state: ActivationState,
    /// The FINISH_ACTIVATION status, once received.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub finish_status: Option<FinishStatus>,
    /// The `sum` FINISH_ACTIVATION carried, if any.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub finish_sum: Option<f64>,
    /// When FINISH_ACTIVATION arrived.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub finished_at: Option<DateTime<Utc>>,
    /// When the safety net freed the number.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub expired_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod finish_rules_tests {
    use super::*;

    #[test]
    fn what_each_status_does_under_each_protocol() {
        use FinishEffect::{Cancel, Free, Use};
        use FinishStatus::{Cancelled, Refunded, Sold, StopService};
        let table = [
            (FinishRules::OnlineSim, StopService, Free),
            (FinishRules::OnlineSim, Sold, Use),
            (FinishRules::OnlineSim, Cancelled, Free),
            (FinishRules::OnlineSim, Refunded, Free),
            (FinishRules::SmsHub, StopService, Use),
            (FinishRules::SmsHub, Sold, Use),
            (FinishRules::SmsHub, Cancelled, Cancel),
            (FinishRules::SmsHub, Refunded, Free),
        ];
        for (rules, status, effect) in table {
            assert_eq!(rules.effect(status), effect, "{rules:?} {status:?}");
        }
    }
}
