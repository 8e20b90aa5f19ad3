//! Names of services, countries and operators as the platform spells them.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} name {raw:?} is invalid: use 1 to 64 characters of a-z, 0-9, '_', '-' or '.'")]
pub struct NameError {
    kind: &'static str,
    raw: String,
}

fn normalise(kind: &'static str, raw: &str) -> Result<Arc<str>, NameError> {
    let lower = raw.trim().to_ascii_lowercase();
    let ok = !lower.is_empty()
        && lower.len() <= 64
        && lower.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.')
        });
    if ok {
        Ok(Arc::from(lower))
    } else {
        Err(NameError {
            kind,
            raw: raw.to_owned(),
        })
    }
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String))]
        pub struct $name(Arc<str>);

        impl $name {
            /// Parses and lower-cases a name; the only way to build one.
            pub fn parse(raw: &str) -> Result<Self, NameError> {
                normalise($kind, raw).map($name)
            }

            /// The name as the platform writes it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                $name::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

name_type!(
    /// A service whose SMS code a client buys, e.g. `vk`, `tg`, or `rent`.
    ServiceName,
    "service"
);
name_type!(
    /// A country as OnlineSIM names it, e.g. `russia`, `kazakhstan`.
    CountryName,
    "country"
);
name_type!(
    /// A mobile operator as OnlineSIM names it, e.g. `beeline`. `any` is not an operator.
    OperatorName,
    "operator"
);

name_type!(
    /// A SIM bank as it names itself in the gateway API, e.g. `bank1`.
    BankName,
    "bank"
);

name_type!(
    /// A platform simrelay sells on, as the config names it (`[[platforms]] name`), e.g.
    /// `onlinesim`, `smshub`; recorded on every activation and SMS.
    PlatformName,
    "platform"
);

/// One allocation of `onlinesim`: the `[onlinesim]` shorthand's platform, and the platform of
/// records written before platforms had names.
static ONLINESIM: std::sync::LazyLock<PlatformName> =
    std::sync::LazyLock::new(|| PlatformName(Arc::from("onlinesim")));

impl PlatformName {
    /// `onlinesim`: the platform of the `[onlinesim]` section.
    pub fn onlinesim() -> PlatformName {
        ONLINESIM.clone()
    }
}

/// One allocation of `default` shared by every SIM in that bank (a million SIMs, one string).
static DEFAULT_BANK: std::sync::LazyLock<BankName> =
    std::sync::LazyLock::new(|| BankName(Arc::from("default")));

impl BankName {
    /// The bank of SIMs reported without one (the unscoped gateway requests, configured SIMs).
    pub fn default_bank() -> BankName {
        DEFAULT_BANK.clone()
    }
}

impl Default for BankName {
    fn default() -> Self {
        BankName::default_bank()
    }
}

impl ServiceName {
    /// The service name the platform uses for long-term rent.
    pub fn rent() -> ServiceName {
        ServiceName(Arc::from("rent"))
    }

    /// Whether this is the rent pseudo-service (no local expiry).
    pub fn is_rent(&self) -> bool {
        &*self.0 == "rent"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lower_cased_and_checked() {
        assert_eq!(ServiceName::parse("VK").unwrap().as_str(), "vk");
        assert!(ServiceName::parse("").is_err());
        assert!(CountryName::parse("rus sia").is_err());
        assert!(OperatorName::parse(&"x".repeat(65)).is_err());
    }
}
