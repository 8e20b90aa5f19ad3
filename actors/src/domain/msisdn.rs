//! `Msisdn`: an international phone number, digits only, as the platform writes it.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ParseError;

/// The longest number E.164 allows.
const MAX_DIGITS: u32 = 15;
/// The shortest international number we accept (country code plus a short subscriber number).
const MIN_DIGITS: u32 = 7;

/// An international number without `+`, e.g. `79281234567`. Stored as an integer: E.164 numbers
/// never start with 0, so the digits and the integer are the same thing, and the platform wants
/// JSON integers anyway.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Msisdn(u64);

/// A `u64` whose order is the lexicographic order of the numbers' digit strings, so that all
/// numbers starting with one prefix form one contiguous range of keys (see
/// [`ExclusionPrefix::key_range`](super::ExclusionPrefix::key_range)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LexiKey(pub(crate) u64);

impl Msisdn {
    /// Parses `79281234567` or `+79281234567`; anything else is refused with a reason.
    pub fn parse(raw: &str) -> Result<Msisdn, ParseError> {
        let digits = raw.strip_prefix('+').unwrap_or(raw);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError(format!(
                "{raw:?} is not an international number (digits only, optional leading +)"
            )));
        }
        if digits.starts_with('0') {
            return Err(ParseError(format!(
                "{raw:?} starts with 0: international numbers start with the country code"
            )));
        }
        let len = digits.len() as u32;
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&len) {
            return Err(ParseError(format!(
                "{raw:?} has {len} digits; an international number has {MIN_DIGITS} to {MAX_DIGITS}"
            )));
        }
        // At most 15 digits: always fits.
        digits
            .parse::<u64>()
            .map(Msisdn)
            .map_err(|e| ParseError(format!("{raw:?}: {e}")))
    }

    /// The number as an integer, e.g. for the `number` field of a GET_NUMBER answer.
    pub fn get(self) -> u64 {
        self.0
    }

    /// How many digits the number has.
    pub fn len(self) -> u32 {
        self.0.checked_ilog10().unwrap_or(0) + 1
    }

    /// Always false: a number has at least one digit. Present for clippy's sake.
    pub fn is_empty(self) -> bool {
        false
    }

    /// The key that orders numbers as strings.
    pub fn lexi_key(self) -> LexiKey {
        let len = self.len();
        LexiKey((self.0 * 10u64.pow(MAX_DIGITS - len)) << 4 | u64::from(len))
    }

    /// The number a key was made from.
    pub fn from_lexi_key(key: LexiKey) -> Msisdn {
        let len = (key.0 & 0xf) as u32;
        Msisdn((key.0 >> 4) / 10u64.pow(MAX_DIGITS - len.min(MAX_DIGITS)))
    }

    /// Builds a key range bound from a digit prefix (used by exclusion prefixes).
    pub(crate) fn prefix_bounds(value: u64, len: u32) -> (LexiKey, LexiKey) {
        let scale = 10u64.pow(MAX_DIGITS - len);
        (
            LexiKey((value * scale) << 4),
            LexiKey(((value + 1) * scale) << 4),
        )
    }
}

impl fmt::Display for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Msisdn {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Msisdn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Text(String),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Int(n) => n.to_string(),
            Raw::Text(s) => s,
        };
        Msisdn::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_and_without_plus() {
        assert_eq!(Msisdn::parse("+79281234567").unwrap().get(), 79281234567);
        assert_eq!(Msisdn::parse("79281234567").unwrap().get(), 79281234567);
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            "",
            "+",
            "7928-123",
            "0792812345",
            "123",
            "1234567890123456",
            "７９２８１２３４５６７",
        ] {
            assert!(Msisdn::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lexi_key_orders_like_strings_and_round_trips() {
        let mut numbers: Vec<Msisdn> = [
            "79281234567",
            "7928123456",
            "4915112345678",
            "380501234567",
            "8613800138000",
        ]
        .iter()
        .map(|s| Msisdn::parse(s).unwrap())
        .collect();
        for n in &numbers {
            assert_eq!(Msisdn::from_lexi_key(n.lexi_key()), *n);
        }
        numbers.sort_by_key(|n| n.lexi_key());
        let as_strings: Vec<String> = numbers.iter().map(|n| n.to_string()).collect();
        let mut sorted = as_strings.clone();
        sorted.sort();
        assert_eq!(as_strings, sorted);
    }
}
