//! `received_at` as SIM-bank boxes send it: RFC 3339 with whole seconds or fractions and any
//! offset, or a UNIX time in seconds (a JSON number or a string of digits).

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// UNIX times at or above this are milliseconds (10^12 s is in the year 33658; boxes that
/// send milliseconds send 13 digits).
const MILLIS_FROM: f64 = 1e12;

/// When the SIM received the SMS: RFC 3339 with any offset (`2025-01-01T12:00:00+03:00`), or a
/// UNIX time in seconds (13 digits: milliseconds), as a number or a string of digits.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged, expecting = "an RFC 3339 time or a UNIX time in seconds")]
pub(super) enum ReceivedAt {
    Text(String),
    Number(f64),
}

impl ReceivedAt {
    /// The instant, or why it is not one.
    pub(super) fn parse(&self) -> Result<DateTime<Utc>, String> {
        match self {
            ReceivedAt::Number(n) => unix(*n),
            ReceivedAt::Text(raw) => {
                let text = raw.trim();
                if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                    let n: f64 = text
                        .parse()
                        .map_err(|_| format!("{raw:?} is not a UNIX time"))?;
                    return unix(n);
                }
                DateTime::parse_from_rfc3339(text)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| {
                        format!("{raw:?} is not an RFC 3339 time with an offset (e.g. 2025-01-01T12:00:00+03:00): {e}")
                    })
            }
        }
    }
}

/// A UNIX time in seconds (or milliseconds, see [`MILLIS_FROM`]); out of range is an error,
/// never an overflow.
fn unix(n: f64) -> Result<DateTime<Utc>, String> {
    if !n.is_finite() {
        return Err(format!("{n} is not a UNIX time"));
    }
    let seconds = if n.abs() >= MILLIS_FROM {
        n / 1000.0
    } else {
        n
    };
    let whole = seconds.floor();
    // f64 → i64 saturates; from_timestamp refuses what chrono cannot represent.
    let nanos = ((seconds - whole) * 1e9).round().clamp(0.0, 999_999_999.0) as u32;
    DateTime::from_timestamp(whole as i64, nanos).ok_or_else(|| format!("{n} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Result<DateTime<Utc>, String> {
        ReceivedAt::Text(s.into()).parse()
    }

    #[test]
    fn whole_seconds_fractions_and_offsets_are_one_instant() {
        let expected = DateTime::from_timestamp(1_735_700_000, 0).unwrap();
        assert_eq!(text("2025-01-01T02:53:20Z").unwrap(), expected);
        assert_eq!(text("2025-01-01T05:53:20+03:00").unwrap(), expected);
        assert_eq!(text("2025-01-01 02:53:20+00:00").unwrap(), expected);
        assert_eq!(
            text("2025-01-01T02:53:20.250Z").unwrap(),
            DateTime::from_timestamp(1_735_700_000, 250_000_000).unwrap()
        );
        assert_eq!(text("1735700000").unwrap(), expected);
        assert_eq!(
            ReceivedAt::Number(1_735_700_000.0).parse().unwrap(),
            expected
        );
        assert_eq!(
            ReceivedAt::Number(1_735_700_000_000.0).parse().unwrap(),
            expected
        );
    }

    #[test]
    fn nonsense_is_refused_not_panicked_on() {
        for bad in [
            "",
            "yesterday",
            "2025-01-01T00:00:00",
            "-262143-01-01T00:00:00Z",
            "1.2.3",
        ] {
            assert!(text(bad).is_err(), "{bad:?}");
        }
        // Before 1970 is odd but an instant; what chrono cannot represent is refused.
        assert!(ReceivedAt::Number(-1.5).parse().is_ok());
        for bad in [f64::NAN, f64::INFINITY, 1e300, -1e300] {
            assert!(ReceivedAt::Number(bad).parse().is_err(), "{bad}");
        }
    }
}
