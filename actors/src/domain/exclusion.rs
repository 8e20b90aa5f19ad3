//! Exclusion prefixes from GET_NUMBER's `exceptionPhoneSet`.

use super::msisdn::{LexiKey, Msisdn};
use super::ParseError;

/// A prefix of the full international number (country code and following digits) that the
/// client does not want, e.g. `46950` or `792831`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExclusionPrefix(String);

impl ExclusionPrefix {
    /// Parses one entry; the platform sends integers, SMSHub sends strings (`"+7918"` accepted).
    pub fn parse(raw: &str) -> Result<ExclusionPrefix, ParseError> {
        let digits = raw.trim().strip_prefix('+').unwrap_or(raw.trim());
        if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError(format!(
                "exclusion prefix {raw:?} must be 1 to 15 digits"
            )));
        }
        Ok(ExclusionPrefix(digits.to_owned()))
    }

    /// The digits of the prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The half-open range of [`LexiKey`]s of the numbers that start with this prefix.
    pub fn key_range(&self) -> (LexiKey, LexiKey) {
        // Parsing guarantees 1..=15 digits, which always fit a u64.
        let value = self.0.parse::<u64>().unwrap_or(0);
        Msisdn::prefix_bounds(value, self.0.len() as u32)
    }
}

/// A request's exclusion prefixes, reduced so that none is a prefix of another and sorted, which
/// makes "is this number excluded" one binary search however many prefixes the request carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExclusionSet(Vec<ExclusionPrefix>);

impl ExclusionSet {
    /// Builds the reduced set.
    pub fn new(mut prefixes: Vec<ExclusionPrefix>) -> ExclusionSet {
        prefixes.sort();
        prefixes.dedup();
        let mut reduced: Vec<ExclusionPrefix> = Vec::with_capacity(prefixes.len());
        for p in prefixes {
            // Sorted order puts a prefix right before the strings it covers.
            if reduced.last().is_some_and(|q| p.0.starts_with(&q.0)) {
                continue;
            }
            reduced.push(p);
        }
        ExclusionSet(reduced)
    }

    /// True when no prefix is given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The prefix that excludes `number`, if any.
    pub fn matching(&self, number: Msisdn) -> Option<&ExclusionPrefix> {
        let digits = number.to_string();
        let after = self.0.partition_point(|p| p.0.as_str() <= digits.as_str());
        let candidate = self.0.get(after.checked_sub(1)?)?;
        digits.starts_with(&candidate.0).then_some(candidate)
    }

    /// The prefixes, reduced and sorted.
    pub fn prefixes(&self) -> &[ExclusionPrefix] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(raw: &[&str]) -> ExclusionSet {
        ExclusionSet::new(
            raw.iter()
                .map(|r| ExclusionPrefix::parse(r).unwrap())
                .collect(),
        )
    }

    #[test]
    fn matches_any_prefix_of_the_full_number() {
        let s = set(&["46950", "792831", "7918"]);
        let n = |x: &str| Msisdn::parse(x).unwrap();
        assert!(s.matching(n("79283112345")).is_some());
        assert!(s.matching(n("79181234567")).is_some());
        assert!(s.matching(n("46950123456")).is_some());
        assert!(s.matching(n("79281234567")).is_none());
        assert!(s.matching(n("4695123456")).is_none());
    }

    #[test]
    fn covered_prefixes_are_dropped() {
        let s = set(&["7928", "79", "792831", "380"]);
        let kept: Vec<&str> = s.prefixes().iter().map(|p| p.as_str()).collect();
        assert_eq!(kept, vec!["380", "79"]);
    }

    #[test]
    fn key_range_covers_exactly_the_prefixed_numbers() {
        let p = ExclusionPrefix::parse("7928").unwrap();
        let (lo, hi) = p.key_range();
        for (num, inside) in [
            ("79280000000", true),
            ("79289999999", true),
            ("79290000000", false),
            ("7927999999", false),
        ] {
            let k = Msisdn::parse(num).unwrap().lexi_key();
            assert_eq!(lo <= k && k < hi, inside, "{num}");
        }
    }
}
