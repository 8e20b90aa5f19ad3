//! Typed fields from a JSON object body (platform actions, gateway requests): missing required
//! fields are named, wrong types are named with their path (`exceptionPhoneSet[2]`), unknown
//! fields are ignored.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Deserialises `object` into `T` after checking that every `required` field is present and
/// not null.
pub(crate) fn parse<T: DeserializeOwned>(
    object: Map<String, Value>,
    required: &[&str],
) -> Result<T, ApiError> {
    if let Some(missing) = required
        .iter()
        .find(|f| matches!(object.get(**f), None | Some(Value::Null)))
    {
        return Err(ApiError::missing(missing));
    }
    serde_path_to_error::deserialize(Value::Object(object)).map_err(|e| {
        let path = e.path().to_string();
        ApiError::bad_field(&path, e.inner())
    })
}

/// A JSON number that must be finite and not negative (prices).
pub(crate) fn amount(field: &str, value: f64) -> Result<f64, ApiError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(ApiError::bad_field(field, "must be a number ≥ 0"))
    }
}

/// An unsigned integer the platform sends as a JSON integer (or, SMSHub-style, as a string):
/// exclusion prefixes, activation ids.
#[derive(Deserialize)]
#[serde(untagged, expecting = "an integer or a string of digits")]
pub(crate) enum IntOrText {
    Int(u64),
    Text(String),
}

impl IntOrText {
    /// The value as written, digits only for integers.
    pub(crate) fn into_text(self) -> String {
        match self {
            IntOrText::Int(n) => n.to_string(),
            IntOrText::Text(s) => s,
        }
    }
}
