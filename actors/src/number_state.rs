//! A number's state: what its actor (or, while it is idle, the directory) holds, and the pure
//! rules on it that the directory, recovery and the index need without an actor.

use chrono::{DateTime, Utc};

use crate::contract::{SimSpec, SimView};
use crate::domain::{Msisdn, ServiceName};
use crate::index::Facts;
use crate::store::SimRecord;

/// A number's state as its actor (or, when idle, the directory) holds it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NumberState {
    pub(crate) record: SimRecord,
    /// Listed in the config: always online, whatever the gateway says.
    pub(crate) pinned: bool,
}

impl NumberState {
    pub(crate) fn number(&self) -> Msisdn {
        self.record.number
    }

    fn cancels(&self, service: &ServiceName) -> u8 {
        self.record
            .cancels
            .iter()
            .find(|(s, _)| s == service)
            .map_or(0, |(_, c)| *c)
    }

    /// Whether the number may no longer be offered for `service`.
    pub(crate) fn is_exhausted(&self, service: &ServiceName, max_cancels: u8) -> bool {
        self.record.used.contains(service) || self.cancels(service) >= max_cancels
    }

    /// What the availability index needs to know.
    pub(crate) fn facts(&self, max_cancels: u8) -> Facts {
        let r = &self.record;
        let mut exhausted = r.used.clone();
        exhausted.extend(
            r.cancels
                .iter()
                .filter(|(s, c)| *c >= max_cancels && !r.used.contains(s))
                .map(|(s, _)| s.clone()),
        );
        Facts {
            country: r.country.clone(),
            operator: r.operator.clone(),
            available: r.online && !r.blocked && r.active.is_none(),
            online: r.online,
            port: r.port.clone(),
            listed: r.online && !r.blocked,
            mcc_mnc: r.mcc_mnc.clone(),
            rent: r.rent,
            online_since: r.online_since,
            exhausted,
            bank: r.bank.clone(),
            pinned: self.pinned,
        }
    }

    /// Whether [`NumberState::described`] would leave the state as it is, without building the
    /// new state (a bank's list of 100 000 SIMs asks this of every SIM).
    pub(crate) fn unchanged_by(&self, spec: &SimSpec, online: bool, now: DateTime<Utc>) -> bool {
        let r = &self.record;
        let same = |new: Option<&String>, old: Option<&String>| new.is_none_or(|n| Some(n) == old);
        let describes = spec.pinned || !self.pinned;
        let same_description = !describes
            || (spec.country == r.country
                && spec
                    .operator
                    .as_ref()
                    .is_none_or(|o| Some(o) == r.operator.as_ref())
                && same(spec.port.as_ref(), r.port.as_ref())
                && same(spec.mcc_mnc.as_ref(), r.mcc_mnc.as_ref())
                && spec.rent.is_none_or(|rent| rent == r.rent)
                && spec.bank.as_ref().is_none_or(|b| *b == r.bank));
        let pinned = self.pinned || spec.pinned;
        let unchanged = same_description && pinned == self.pinned && r.online == (online || pinned);
        debug_assert_eq!(unchanged, self.described(spec, online, now) == *self);
        unchanged
    }

    /// The state after the gateway (or the config, `spec.pinned`) described the SIM and set it
    /// online or offline at `now`. A configured SIM keeps its configured description;
    /// otherwise what the gateway says wins, and what it leaves out stays as it was. Pure, so
    /// that a bank's SIM list can skip the SIMs it would not change.
    pub(crate) fn described(
        &self,
        spec: &SimSpec,
        online: bool,
        now: DateTime<Utc>,
    ) -> NumberState {
        let mut sim = self.record.clone();
        if spec.pinned || !self.pinned {
            sim.country = spec.country.clone();
            if let Some(operator) = &spec.operator {
                sim.operator = Some(operator.clone());
            }
            if let Some(port) = &spec.port {
                sim.port = Some(port.clone());
            }
            if let Some(code) = &spec.mcc_mnc {
                sim.mcc_mnc = Some(code.clone());
            }
            if let Some(rent) = spec.rent {
                sim.rent = rent;
            }
            if let Some(bank) = &spec.bank {
                sim.bank = bank.clone();
            }
        }
        let pinned = self.pinned || spec.pinned;
        sim.online = online || pinned;
        if sim.online && !self.record.online {
            sim.online_since = Some(now);
        }
        NumberState {
            record: sim,
            pinned,
        }
    }

    pub(crate) fn view(&self) -> SimView {
        SimView::from_record(&self.record)
    }
}
