//! Domain types, each parsed once at the edge so that every value inside the engine is valid.

mod activation;
mod exclusion;
mod msisdn;
mod names;
mod sms;

pub use activation::{
    ActivationId, ActivationRecord, ActivationState, FinishEffect, FinishRules, FinishStatus,
};
pub use exclusion::{ExclusionPrefix, ExclusionSet};
pub use msisdn::{LexiKey, Msisdn};
pub use names::{BankName, CountryName, NameError, OperatorName, PlatformName, ServiceName};
pub use sms::{Multipart, SmsId, SmsPart, SmsRecord, SmsState};

/// Why a raw value was refused at the edge; the message is shown to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);
