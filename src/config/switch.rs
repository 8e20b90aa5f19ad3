//! A duration that can be switched off: `"3m"` or `"off"` in the config file.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

/// The word that switches the setting off.
const OFF: &str = "off";

/// `None` serialises as `"off"`.
pub fn serialize<S: Serializer>(value: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
        None => s.serialize_str(OFF),
    }
}

/// `"off"` is `None`; anything else is a humantime duration.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let raw = String::deserialize(d)?;
    if raw.trim().eq_ignore_ascii_case(OFF) {
        return Ok(None);
    }
    humantime::parse_duration(raw.trim())
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("{raw:?} is not a duration or \"off\": {e}")))
}
