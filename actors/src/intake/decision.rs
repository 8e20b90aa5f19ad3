//! The intake decision, pure: given what the number knows (its recent activations, the SMS
//! already stored), which activation an SMS belongs to, where it goes (pending delivery, held by
//! our-side filtering, unmatched), and what a part of a long SMS does. No actor, no store, no
//! clock: the NumberActor gathers the facts, asks here, and carries the answer out.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::earlier;
use crate::contract::{PartOf, SmsFilter};
use crate::domain::{ActivationRecord, ServiceName, SmsRecord, SmsState};

/// The settings intake decides by.
#[derive(Clone, Copy)]
pub(crate) struct Rules<'a> {
    /// Forward SMS that belong to no activation when the SIM is listed (v2).
    pub(crate) forward_unmatched: bool,
    /// Our-side filtering, when on.
    pub(crate) filter: Option<&'a SmsFilter>,
    /// The services offered (what an SMS without an activation must belong to when filtering).
    pub(crate) offered: &'a [ServiceName],
}

/// The activation an SMS received at `at` belongs to, among the number's activations
/// (`newest_first`): the one open at `at`; else, SIM-bank clocks running behind, the newest one
/// when `at` lies at most `clock_skew` before its start and after the previous one closed.
pub(crate) fn activation_at(
    newest_first: &[ActivationRecord],
    at: DateTime<Utc>,
    clock_skew: Duration,
) -> Option<&ActivationRecord> {
    let closed = |a: &ActivationRecord| a.expired_at.or(a.finished_at);
    let open = newest_first
        .iter()
        .find(|a| a.created_at <= at && closed(a).is_none_or(|c| c >= at));
    if open.is_some() {
        return open;
    }
    let newest = newest_first.first()?;
    let earliest = earlier(newest.created_at, clock_skew);
    let after_previous = newest_first.get(1).and_then(closed).is_none_or(|c| at > c);
    (earliest <= at && at < newest.created_at && after_previous).then_some(newest)
}

/// Where a complete SMS goes. `listed`: the SIM is online and not blocked.
pub(crate) fn destination(
    activation: Option<&ActivationRecord>,
    listed: bool,
    from: &str,
    text: &str,
    rules: Rules<'_>,
) -> SmsState {
    match activation {
        // v2: no ordered service; with filtering on, an SMS must belong to one of the services
        // offered, or it is held (e.g. a bank's message).
        None if rules.forward_unmatched && listed => match rules.filter {
            Some(filter) if !rules.offered.iter().any(|s| filter.belongs(s, from, text)) => {
                SmsState::Held
            }
            _ => SmsState::Pending,
        },
        None => SmsState::Unmatched,
        Some(a) if a.service.is_rent() => SmsState::Pending,
        Some(a) => match rules.filter {
            Some(filter) if !filter.belongs(&a.service, from, text) => SmsState::Held,
            _ => SmsState::Pending,
        },
    }
}

/// What a part of a long SMS does, given the SMS stored with its number, sender and reference
/// (`recent`, oldest first, already narrowed to those that still claim the reference).
#[derive(Debug, PartialEq)]
pub(crate) enum PartDecision<'r> {
    /// The same part with the same text was stored before.
    Duplicate(&'r SmsRecord),
    /// A record that claims the reference but has no parts (cannot come from simrelay): the
    /// part is answered as a duplicate of it.
    Malformed(&'r SmsRecord),
    /// The part count differs from the one the waiting SMS announced; nothing changes.
    Conflict(String),
    /// The part belongs to this waiting SMS.
    AddTo(&'r SmsRecord),
    /// The same position with another text: the reference came round while this SMS still
    /// waited. It is forwarded with what it has, and the part starts a new SMS.
    Supersede(&'r SmsRecord),
    /// A missing part of this SMS, which was already forwarded: forwarded at once, on its own.
    Late(&'r SmsRecord),
    /// The first part of a new long SMS.
    New,
}

/// See [`PartDecision`]. A part seen before (same position and text) is a duplicate whatever
/// the state of its SMS.
pub(crate) fn part_decision<'r>(
    recent: &'r [SmsRecord],
    part: &PartOf,
    text: &str,
) -> PartDecision<'r> {
    let twin = recent.iter().find(|r| {
        r.multipart.as_ref().is_some_and(|m| {
            m.received
                .iter()
                .any(|p| p.part == part.part && p.text == text)
        })
    });
    if let Some(twin) = twin {
        return PartDecision::Duplicate(twin);
    }
    let open = recent
        .iter()
        .rev()
        .find(|r| r.state == SmsState::Assembling);
    match open {
        Some(record) => match &record.multipart {
            None => PartDecision::Malformed(record),
            Some(m) if m.parts != part.parts => PartDecision::Conflict(format!(
                "parts: {} differs from the {} parts announced by the earlier parts of ref {:?}",
                part.parts, m.parts, part.reference
            )),
            Some(m) if !m.has(part.part) => PartDecision::AddTo(record),
            Some(_) => PartDecision::Supersede(record),
        },
        None => match recent.last() {
            Some(sealed)
                if sealed
                    .multipart
                    .as_ref()
                    .is_some_and(|m| m.parts == part.parts && !m.has(part.part)) =>
            {
                PartDecision::Late(sealed)
            }
            _ => PartDecision::New,
        },
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::{
        ActivationId, ActivationState, CountryName, Msisdn, Multipart, PlatformName, SmsId, SmsPart,
    };

    const SKEW: Duration = Duration::from_secs(120);

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
    }

    /// An activation from `start` (seconds), closed at `end` if given, for `service`.
    fn activation(id: u64, start: i64, end: Option<i64>, service: &str) -> ActivationRecord {
        ActivationRecord {
            id: ActivationId::new(id).unwrap(),
            platform: PlatformName::onlinesim(),
            number: Msisdn::parse("79001234567").unwrap(),
            service: ServiceName::parse(service).unwrap(),
            country: CountryName::parse("russia").unwrap(),
            operator: None,
            sum: 10.0,
            created_at: t(start),
            expires_at: Some(t(start + 900)),
            state: if end.is_some() {
                ActivationState::Finished
            } else {
                ActivationState::Active
            },
            finish_status: None,
            finish_sum: None,
            finished_at: end.map(t),
            expired_at: None,
        }
    }

    #[test]
    fn which_activation_an_sms_belongs_to() {
        // Newest first: #3 from 2000 (open), #2 1000–1500, #1 0–400.
        let history = [
            activation(3, 2000, None, "vk"),
            activation(2, 1000, Some(1500), "vk"),
            activation(1, 0, Some(400), "vk"),
        ];
        let cases: &[(&str, i64, Option<u64>)] = &[
            ("inside the open one", 2500, Some(3)),
            ("at the open one's start", 2000, Some(3)),
            ("inside a closed one", 1200, Some(2)),
            ("at a closed one's end", 1500, Some(2)),
            ("inside the oldest", 100, Some(1)),
            (
                "a SIM clock behind: just before the newest started",
                1950,
                Some(3),
            ),
            ("exactly clock_skew before the newest", 1880, Some(3)),
            ("more than clock_skew before the newest", 1879, None),
            ("between two closed ones", 700, None),
        ];
        for (what, at, want) in cases {
            let got = activation_at(&history, t(*at), SKEW).map(|a| a.id.get());
            assert_eq!(got, *want, "{what}");
        }
    }

    #[test]
    fn the_skew_never_reaches_back_over_the_previous_activation() {
        // #2 starts 60 s after #1 closed, less than clock_skew: an SMS between the two belongs
        // to #2, one at #1's close still to #1.
        let history = [
            activation(2, 1000, None, "vk"),
            activation(1, 0, Some(940), "vk"),
        ];
        assert_eq!(
            activation_at(&history, t(950), SKEW).map(|a| a.id.get()),
            Some(2)
        );
        assert_eq!(
            activation_at(&history, t(940), SKEW).map(|a| a.id.get()),
            Some(1),
            "at the close, the closed one still holds it"
        );
        assert_eq!(activation_at(&[], t(0), SKEW), None, "no activations");
    }

    fn rules<'a>(
        forward_unmatched: bool,
        filter: Option<&'a SmsFilter>,
        offered: &'a [ServiceName],
    ) -> Rules<'a> {
        Rules {
            forward_unmatched,
            filter,
            offered,
        }
    }

    #[test]
    fn where_a_complete_sms_goes() {
        // Filtering: an SMS belongs to a service when its text names it.
        let filter = SmsFilter::new(|s, _, text| text.to_lowercase().contains(s.as_str()));
        let offered = [
            ServiceName::parse("vk").unwrap(),
            ServiceName::parse("tg").unwrap(),
        ];
        let vk = activation(1, 0, None, "vk");
        let rent = activation(2, 0, None, "rent");
        // (what, activation, listed, forward_unmatched, filtering, text, state)
        type Case<'a> = (
            &'a str,
            Option<&'a ActivationRecord>,
            bool,
            bool,
            bool,
            &'a str,
            SmsState,
        );
        let cases: &[Case] = &[
            (
                "v1, matched, no filter",
                Some(&vk),
                true,
                false,
                false,
                "code 1",
                SmsState::Pending,
            ),
            (
                "v1, matched, belongs",
                Some(&vk),
                true,
                false,
                true,
                "VK code 1",
                SmsState::Pending,
            ),
            (
                "v1, matched, not its service",
                Some(&vk),
                true,
                false,
                true,
                "bank",
                SmsState::Held,
            ),
            (
                "v1, rent takes every SMS",
                Some(&rent),
                true,
                false,
                true,
                "bank",
                SmsState::Pending,
            ),
            (
                "v1, no activation",
                None,
                true,
                false,
                false,
                "code",
                SmsState::Unmatched,
            ),
            (
                "v2, listed, no filter",
                None,
                true,
                true,
                false,
                "code",
                SmsState::Pending,
            ),
            (
                "v2, listed, an offered service",
                None,
                true,
                true,
                true,
                "tg 5",
                SmsState::Pending,
            ),
            (
                "v2, listed, no offered service",
                None,
                true,
                true,
                true,
                "bank",
                SmsState::Held,
            ),
            (
                "v2, SIM not listed",
                None,
                false,
                true,
                false,
                "code",
                SmsState::Unmatched,
            ),
            (
                "v2 with an activation",
                Some(&vk),
                true,
                true,
                true,
                "bank",
                SmsState::Held,
            ),
        ];
        for (what, activation, listed, forward, filtering, text, want) in cases {
            let rules = rules(*forward, filtering.then_some(&filter), &offered);
            let got = destination(*activation, *listed, "Sender", text, rules);
            assert_eq!(got, *want, "{what}");
        }
    }

    /// A long SMS stored for reference "7": `parts` in all, these received, in `state`.
    fn long_sms(id: u64, parts: u8, received: &[(u8, &str)], state: SmsState) -> SmsRecord {
        let multipart = Multipart {
            reference: "7".into(),
            parts,
            received: received
                .iter()
                .map(|(part, text)| SmsPart {
                    part: *part,
                    text: (*text).into(),
                    gateway_id: None,
                })
                .collect(),
            wait_until: t(30),
        };
        SmsRecord {
            id: SmsId(id),
            number: Msisdn::parse("79001234567").unwrap(),
            from: "Sender".into(),
            text: multipart.joined(),
            received_at: t(0),
            accepted_at: t(0),
            gateway_id: None,
            activation_id: None,
            service: None,
            platform: None,
            state,
            attempts: 0,
            last_error: None,
            next_attempt_at: None,
            delivered_at: None,
            in_flight: false,
            multipart: Some(multipart),
        }
    }

    fn part(part: u8, parts: u8) -> PartOf {
        PartOf {
            reference: "7".into(),
            part,
            parts,
        }
    }

    #[test]
    fn what_a_part_of_a_long_sms_does() {
        use PartDecision as D;
        let waiting = long_sms(1, 3, &[(1, "Your co")], SmsState::Assembling);
        let forwarded = long_sms(2, 3, &[(1, "Your co"), (2, "de is ")], SmsState::Pending);
        let mut malformed = long_sms(3, 3, &[], SmsState::Assembling);
        malformed.multipart = None;
        type Case<'a> = (
            &'a str,
            Vec<SmsRecord>,
            PartOf,
            &'a str,
            fn(&PartDecision) -> bool,
        );
        let cases: Vec<Case> = vec![
            (
                "nothing stored: a new SMS",
                vec![],
                part(1, 3),
                "Your co",
                |d| *d == D::New,
            ),
            (
                "the next part",
                vec![waiting.clone()],
                part(2, 3),
                "de is ",
                |d| matches!(d, D::AddTo(r) if r.id == SmsId(1)),
            ),
            (
                "the same part again",
                vec![waiting.clone()],
                part(1, 3),
                "Your co",
                |d| matches!(d, D::Duplicate(r) if r.id == SmsId(1)),
            ),
            (
                "a part already forwarded, again",
                vec![forwarded.clone()],
                part(2, 3),
                "de is ",
                |d| matches!(d, D::Duplicate(r) if r.id == SmsId(2)),
            ),
            (
                "another part count",
                vec![waiting.clone()],
                part(2, 4),
                "de is ",
                |d| matches!(d, D::Conflict(why) if why.contains("4") && why.contains("3")),
            ),
            (
                "same position, other text",
                vec![waiting.clone()],
                part(1, 3),
                "Hello",
                |d| matches!(d, D::Supersede(r) if r.id == SmsId(1)),
            ),
            (
                "the missing part, after forwarding",
                vec![forwarded.clone()],
                part(3, 3),
                "1234",
                |d| matches!(d, D::Late(r) if r.id == SmsId(2)),
            ),
            (
                "after forwarding, another part count",
                vec![forwarded.clone()],
                part(3, 4),
                "1234",
                |d| *d == D::New,
            ),
            (
                "after forwarding, a new first part",
                vec![forwarded.clone()],
                part(1, 3),
                "Hi",
                |d| *d == D::New,
            ),
            (
                "the newest waiting SMS takes it",
                vec![forwarded.clone(), waiting.clone()],
                part(2, 3),
                "x",
                |d| matches!(d, D::AddTo(r) if r.id == SmsId(1)),
            ),
            (
                "a record without parts",
                vec![malformed],
                part(2, 3),
                "x",
                |d| matches!(d, D::Malformed(r) if r.id == SmsId(3)),
            ),
        ];
        for (what, recent, part, text, ok) in cases {
            let got = part_decision(&recent, &part, text);
            assert!(ok(&got), "{what}: {got:?}");
        }
    }
}
