//! `[push_sms]`: PUSH_SMS delivery details the protocol leaves open.

use std::time::Duration;

use anyhow::bail;
use serde::{Deserialize, Serialize};

/// JSON type of PUSH_SMS `phone`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhoneType {
    /// `79281234567` (SMSHub and OnlineSIM's legacy/test rules).
    Integer,
    /// `"79281234567"` (OnlineSIM's current schema).
    String,
}

/// What PUSH_SMS `smsId` carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsIdKind {
    /// The activation id (OnlineSIM's documentation).
    Activation,
    /// simrelay's own id of the SMS, unique per SMS (SMSHub).
    Unique,
}

/// `[push_sms]`: the body's shape, attempts, concurrency and timeout of SMS delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PushSmsSettings {
    /// JSON type of `phone`.
    pub phone_type: PhoneType,
    /// What `smsId` carries.
    pub sms_id: SmsIdKind,
    /// Give up after this many attempts; 0 retries forever.
    pub max_attempts: u32,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// How long one PUSH_SMS may take.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for PushSmsSettings {
    fn default() -> Self {
        PushSmsSettings {
            phone_type: PhoneType::Integer,
            sms_id: SmsIdKind::Activation,
            max_attempts: 0,
            concurrency: 16,
            timeout: Duration::from_secs(10),
        }
    }
}

impl PushSmsSettings {
    /// Refuses a zero timeout or concurrency.
    pub(super) fn check(&self) -> anyhow::Result<()> {
        if self.timeout.is_zero() {
            bail!("push_sms.timeout must be longer than zero");
        }
        if self.concurrency == 0 {
            bail!("push_sms.concurrency must be at least 1");
        }
        Ok(())
    }
}
