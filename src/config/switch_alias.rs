//! An "off"-or-duration key that may be absent: `None` when the file does not set it, so that a
//! deprecated alias or a default can fill it (see [`super::switch`] for the values).

use std::time::Duration;

use serde::{Deserializer, Serializer};

/// `Some(value)` serialises as [`super::switch`] does; `None` is skipped by the field.
pub fn serialize<S: Serializer>(value: &Option<Option<Duration>>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => super::switch::serialize(v, s),
        None => s.serialize_none(),
    }
}

/// A present key is `Some`, `"off"` included.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Duration>>, D::Error> {
    super::switch::deserialize(d).map(Some)
}
