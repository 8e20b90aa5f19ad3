//! The availability index: which numbers can be issued, grouped by country, bank and operator.
//!
//! NumberActors push their facts here on every transition; the Dispatcher picks candidates from
//! it and GET_SERVICES reads its counters. Per pool (country, bank, operator; bank before operator
//! so that a platform selling some banks visits only theirs) it keeps the set of free
//! numbers ordered as digit strings, so an exclusion prefix is a range to jump over, plus, per
//! service, how many of those free numbers are exhausted for it: the stock of a service is
//! `free - exhausted`, a subtraction, never a scan.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use crate::contract::BankScope;
use crate::domain::{
    BankName, CountryName, ExclusionSet, LexiKey, Msisdn, OperatorName, ServiceName,
};
use crate::fast::{FastMap, FastSet};

/// What a NumberActor tells the index about its number.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Facts {
    pub(crate) country: CountryName,
    pub(crate) operator: Option<OperatorName>,
    /// Online, not blocked, not in an activation.
    pub(crate) available: bool,
    /// In a port now.
    pub(crate) online: bool,
    /// Its port in the SIM bank.
    pub(crate) port: Option<String>,
    /// Offered on v2: online and not blocked.
    pub(crate) listed: bool,
    /// MCC-MNC.
    pub(crate) mcc_mnc: Option<String>,
    /// Rent mode.
    pub(crate) rent: bool,
    /// When it came online.
    pub(crate) online_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Services it may no longer be offered for.
    pub(crate) exhausted: Vec<ServiceName>,
    /// The SIM bank it belongs to.
    pub(crate) bank: BankName,
    /// Configured: always online, on sale whatever its bank's presence.
    pub(crate) pinned: bool,
}

impl Facts {
    /// Whether its bank's presence lets it be sold.
    fn bank_allows(&self, silent: &FastSet<BankName>) -> bool {
        self.pinned || !silent.contains(&self.bank)
    }
}

#[derive(Debug)]
struct Listing {
    facts: Facts,
    /// Being reserved by the Dispatcher right now.
    pending: bool,
}

impl Listing {
    fn in_stock(&self, silent: &FastSet<BankName>) -> bool {
        self.facts.available && !self.pending && self.facts.bank_allows(silent)
    }
}

/// SIMs of one bank.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BankCount {
    /// SIMs that belong to it.
    pub(crate) sims: usize,
    /// Of those, in a port now.
    pub(crate) online: usize,
}

/// One (country, operator) group of numbers.
#[derive(Debug, Default)]
struct Pool {
    free: BTreeSet<LexiKey>,
    exhausted_free: FastMap<ServiceName, u32>,
    /// Where the next search for a service starts: just past the last number issued for it, so
    /// numbers already exhausted for the service are skipped once per round, not on every call.
    cursors: FastMap<ServiceName, LexiKey>,
}

impl Pool {
    fn stock(&self, service: &ServiceName) -> u32 {
        let free = u32::try_from(self.free.len()).unwrap_or(u32::MAX);
        free.saturating_sub(self.exhausted_free.get(service).copied().unwrap_or(0))
    }
}

/// One bank's pools in a country, one per operator.
type Operators = BTreeMap<Option<OperatorName>, Pool>;
/// A country's pools, bank first: a platform that sells only some banks visits only theirs.
type Banks = BTreeMap<BankName, Operators>;

/// Stock per service, in the order of the offered list.
pub type ServiceCounts = Vec<(ServiceName, u32)>;

/// Stock of one country, as GET_SERVICES reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct StockCountry {
    /// The country.
    pub country: CountryName,
    /// Each known operator's stock per offered service.
    pub operators: Vec<(OperatorName, ServiceCounts)>,
    /// The per-service sum over all operators, those unknown included.
    pub any: ServiceCounts,
}

/// Stock of every country.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stock {
    /// One entry per country with at least one SIM.
    pub countries: Vec<StockCountry>,
}

impl Stock {
    /// Sets every count to zero, keeping the shape (what GET_SERVICES reports when nothing can
    /// be sold honestly).
    pub fn zero(&mut self) {
        for country in &mut self.countries {
            for (_, counts) in &mut country.operators {
                counts.iter_mut().for_each(|c| c.1 = 0);
            }
            country.any.iter_mut().for_each(|c| c.1 = 0);
        }
    }
}

/// See the module documentation.
pub(crate) struct AvailabilityIndex {
    offered: Vec<ServiceName>,
    countries: BTreeMap<CountryName, Banks>,
    /// Boxed: a million entries, half the buckets empty after a resize, hold a pointer each.
    listings: FastMap<Msisdn, Box<Listing>>,
    /// Rotates the starting pool of `any` requests so load spreads over operators.
    rotation: usize,
    /// Port → number, for SMS the gateway posts by port.
    ports: FastMap<String, Msisdn>,
    /// Bumped whenever what v2 lists changes (a SIM listed or unlisted, or its details).
    listing_version: tokio::sync::watch::Sender<u64>,
    /// Banks whose SIMs are off sale because the bank fell silent.
    silent: FastSet<BankName>,
    /// SIMs per bank, kept on every update so that admin and metrics never scan.
    banks: FastMap<BankName, BankCount>,
}

/// A SIM as v2 lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedSim {
    /// Its number.
    pub number: Msisdn,
    /// Its port.
    pub port: Option<String>,
    /// MCC-MNC.
    pub mcc_mnc: Option<String>,
    /// Rent mode.
    pub rent: bool,
    /// When it came online.
    pub online_since: Option<chrono::DateTime<chrono::Utc>>,
}

impl Facts {
    /// Whether v2 lists it: online, not blocked, its bank live.
    fn is_listed(&self, silent: &FastSet<BankName>) -> bool {
        self.listed && self.bank_allows(silent)
    }

    /// Whether v2 would list the two alike (compared without building listings: this runs on
    /// every transition).
    fn same_listing(&self, other: &Facts, silent: &FastSet<BankName>) -> bool {
        let listed = self.is_listed(silent);
        listed == other.is_listed(silent)
            && (!listed
                || (self.port == other.port
                    && self.mcc_mnc == other.mcc_mnc
                    && self.rent == other.rent
                    && self.online_since == other.online_since))
    }

    fn listing(&self, number: Msisdn, silent: &FastSet<BankName>) -> Option<ListedSim> {
        self.is_listed(silent).then(|| ListedSim {
            number,
            port: self.port.clone(),
            mcc_mnc: self.mcc_mnc.clone(),
            rent: self.rent,
            online_since: self.online_since,
        })
    }
}

impl AvailabilityIndex {
    pub(crate) fn new(offered: Vec<ServiceName>) -> AvailabilityIndex {
        AvailabilityIndex {
            offered,
            countries: BTreeMap::new(),
            listings: FastMap::default(),
            rotation: 0,
            ports: FastMap::default(),
            listing_version: tokio::sync::watch::channel(0).0,
            silent: FastSet::default(),
            banks: FastMap::default(),
        }
    }

    /// Whether `service` is offered at all; the offered name (one allocation shared by every
    /// request) when it is.
    pub(crate) fn offers(&self, service: &ServiceName) -> Option<&ServiceName> {
        self.offered.iter().find(|s| *s == service)
    }

    fn pool_mut(&mut self, facts: &Facts) -> &mut Pool {
        pool_in(&mut self.countries, facts)
    }

    /// Counts the number in its pool if it is in stock.
    fn add(&mut self, number: Msisdn) {
        let silent = &self.silent;
        let Some(listing) = self.listings.get(&number).filter(|l| l.in_stock(silent)) else {
            return;
        };
        let pool = pool_in(&mut self.countries, &listing.facts);
        pool.free.insert(number.lexi_key());
        for s in &listing.facts.exhausted {
            match pool.exhausted_free.get_mut(s) {
                Some(c) => *c += 1,
                None => {
                    pool.exhausted_free.insert(s.clone(), 1);
                }
            }
        }
    }

    /// Uncounts the number from its pool if it was in stock.
    fn remove(&mut self, number: Msisdn) {
        let silent = &self.silent;
        let Some(listing) = self.listings.get(&number).filter(|l| l.in_stock(silent)) else {
            return;
        };
        let pool = pool_in(&mut self.countries, &listing.facts);
        pool.free.remove(&number.lexi_key());
        for s in &listing.facts.exhausted {
            if let Some(c) = pool.exhausted_free.get_mut(s) {
                *c = c.saturating_sub(1);
            }
        }
    }

    /// Records a number's current facts (new number, or a transition of a known one).
    pub(crate) fn update(&mut self, number: Msisdn, facts: Facts) {
        let relisted = self
            .listings
            .get(&number)
            .is_none_or(|l| !l.facts.same_listing(&facts, &self.silent));
        if relisted {
            self.listing_version.send_modify(|v| *v += 1);
        }
        self.remove(number);
        if let Some(old) = self.listings.get(&number) {
            let count = self.banks.entry(old.facts.bank.clone()).or_default();
            count.sims = count.sims.saturating_sub(1);
            count.online = count.online.saturating_sub(usize::from(old.facts.online));
        }
        let count = self.banks.entry(facts.bank.clone()).or_default();
        count.sims += 1;
        count.online += usize::from(facts.online);
        // Ports map to the SIM in them now: an offline SIM gives its port up.
        if let Some(old) = self
            .listings
            .get(&number)
            .and_then(|l| l.facts.port.clone())
        {
            if self.ports.get(&old) == Some(&number) {
                self.ports.remove(&old);
            }
        }
        if let Some(port) = facts.port.as_ref().filter(|_| facts.online) {
            self.ports.insert(port.clone(), number);
        }
        match self.listings.get_mut(&number) {
            Some(listing) => listing.facts = facts,
            None => {
                self.pool_mut(&facts);
                self.listings.insert(
                    number,
                    Box::new(Listing {
                        facts,
                        pending: false,
                    }),
                );
            }
        }
        self.add(number);
    }

    /// Makes room for `additional` more numbers at once (recovery).
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.listings.reserve(additional);
        self.ports.reserve(additional);
    }

    /// Ends a reservation attempt: the number counts again if its facts say it is available.
    pub(crate) fn release(&mut self, number: Msisdn) {
        if let Some(listing) = self.listings.get_mut(&number) {
            if listing.pending {
                listing.pending = false;
                self.add(number);
            }
        }
    }

    /// Picks a number for a request and marks it pending, so no concurrent request picks it.
    /// `operator` `None` means any operator. Cost depends on the exclusions and on the numbers
    /// exhausted for the service since the cursor last passed, not on the pool size.
    pub(crate) fn select(
        &mut self,
        country: &CountryName,
        operator: Option<&OperatorName>,
        service: &ServiceName,
        exclusions: &ExclusionSet,
        banks: &BankScope,
        tried: &[Msisdn],
    ) -> Option<Msisdn> {
        let banks_here = self.countries.get_mut(country)?;
        let rotation = self.rotation;
        self.rotation = self.rotation.wrapping_add(1);
        let listings = &self.listings;
        let count: usize = scoped(banks_here.iter(), banks)
            .map(|operators| match operator {
                None => operators.len(),
                Some(name) => operators
                    .keys()
                    .filter(|op| op.as_ref() == Some(name))
                    .count(),
            })
            .sum();
        if count == 0 {
            return None;
        }
        // Start at a rotating pool so that `any` requests spread over operators and banks.
        let start = rotation % count;
        let mut try_pool = |pool: &mut Pool| {
            if pool.stock(service) == 0 {
                return None;
            }
            pick(pool, listings, service, exclusions, tried)
        };
        let first = pools_of(banks_here, banks, operator)
            .skip(start)
            .find_map(&mut try_pool);
        let picked = match first {
            Some(picked) => picked,
            None => pools_of(banks_here, banks, operator)
                .take(start)
                .find_map(&mut try_pool)?,
        };
        self.remove(picked);
        if let Some(listing) = self.listings.get_mut(&picked) {
            listing.pending = true;
        }
        Some(picked)
    }

    /// The number in a port.
    pub(crate) fn number_at(&self, port: &str) -> Option<Msisdn> {
        self.ports.get(port).copied()
    }

    /// The country of a known number.
    pub(crate) fn country_of(&self, number: Msisdn) -> Option<CountryName> {
        self.listings.get(&number).map(|l| l.facts.country.clone())
    }

    /// Whether a number is in a port now.
    pub(crate) fn is_online(&self, number: Msisdn) -> bool {
        self.listings.get(&number).is_some_and(|l| l.facts.online)
    }

    /// Takes a number off sale whatever its facts say (its state is being restored).
    pub(crate) fn take_off_sale(&mut self, number: Msisdn) {
        self.remove(number);
        if let Some(listing) = self.listings.get_mut(&number) {
            listing.facts.available = false;
            listing.facts.listed = false;
            self.listing_version.send_modify(|v| *v += 1);
        }
    }

    /// Takes a bank's SIMs off sale (silent) or puts them back (configured SIMs stay).
    pub(crate) fn set_bank_silent(&mut self, bank: &BankName, silent: bool) {
        if self.silent.contains(bank) == silent {
            return;
        }
        let members: Vec<Msisdn> = self
            .listings
            .iter()
            .filter(|(_, l)| l.facts.bank == *bank && !l.facts.pinned)
            .map(|(n, _)| *n)
            .collect();
        for number in &members {
            self.remove(*number);
        }
        if silent {
            self.silent.insert(bank.clone());
        } else {
            self.silent.remove(bank);
        }
        for number in &members {
            self.add(*number);
        }
        if !members.is_empty() {
            self.listing_version.send_modify(|v| *v += 1);
        }
    }

    /// SIMs per bank.
    pub(crate) fn bank_counts(&self) -> &FastMap<BankName, BankCount> {
        &self.banks
    }

    /// Every SIM of a bank in a port now.
    pub(crate) fn online_numbers_of(&self, bank: &BankName) -> Vec<Msisdn> {
        if self.banks.get(bank).is_none_or(|c| c.online == 0) {
            return Vec::new();
        }
        self.listings
            .iter()
            .filter(|(_, l)| l.facts.online && l.facts.bank == *bank)
            .map(|(n, _)| *n)
            .collect()
    }

    /// Every SIM of `banks` v2 lists now.
    pub(crate) fn listed(&self, banks: &BankScope) -> Vec<ListedSim> {
        let silent = &self.silent;
        let mut out: Vec<ListedSim> = self
            .listings
            .iter()
            .filter(|(_, l)| banks.allows(&l.facts.bank))
            .filter_map(|(n, l)| l.facts.listing(*n, silent))
            .collect();
        out.sort_unstable_by_key(|s| s.number);
        out
    }

    /// The listing version and a receiver that wakes when it changes.
    pub(crate) fn listing_changes(&self) -> (u64, tokio::sync::watch::Receiver<u64>) {
        (
            *self.listing_version.borrow(),
            self.listing_version.subscribe(),
        )
    }

    /// The counters GET_SERVICES reports to a platform that may sell the SIMs of `banks`.
    pub(crate) fn stock(&self, banks: &BankScope) -> Stock {
        let countries = self
            .countries
            .iter()
            .filter_map(|(country, banks_here)| {
                let mut any: ServiceCounts = self.offered.iter().map(|s| (s.clone(), 0)).collect();
                // Few operators per country: a short list beats a map here.
                let mut named: Vec<(&OperatorName, Vec<u32>)> = Vec::new();
                let mut seen = false;
                for operators in in_scope(banks_here, banks) {
                    seen = true;
                    for (operator, pool) in operators {
                        let at = operator.as_ref().map(|op| {
                            match named.iter().position(|(known, _)| *known == op) {
                                Some(at) => at,
                                None => {
                                    named.push((op, vec![0; self.offered.len()]));
                                    named.len() - 1
                                }
                            }
                        });
                        // One stock read per service, added to `any` and to the operator.
                        for (i, service) in self.offered.iter().enumerate() {
                            let c = pool.stock(service);
                            if let Some(total) = any.get_mut(i) {
                                total.1 = total.1.saturating_add(c);
                            }
                            if let Some(total) = at.and_then(|at| named[at].1.get_mut(i)) {
                                *total = total.saturating_add(c);
                            }
                        }
                    }
                }
                named.sort_unstable_by(|a, b| a.0.cmp(b.0));
                seen.then(|| StockCountry {
                    country: country.clone(),
                    operators: named
                        .into_iter()
                        .map(|(op, sums)| {
                            (op.clone(), self.offered.iter().cloned().zip(sums).collect())
                        })
                        .collect(),
                    any,
                })
            })
            .collect();
        Stock { countries }
    }
}

/// The values of `banks` (a country's banks, in name order) whose bank `scope` sells. For a scope
/// of some banks both sides are sorted by name: one merge, no lookup per bank.
fn scoped<'a, T: 'a>(
    banks: impl Iterator<Item = (&'a BankName, T)> + 'a,
    scope: &'a BankScope,
) -> impl Iterator<Item = T> + 'a {
    let mut wanted = match scope {
        BankScope::Every => None,
        BankScope::Only(set) => Some(set.iter().peekable()),
    };
    banks.filter_map(move |(bank, value)| {
        let Some(wanted) = wanted.as_mut() else {
            return Some(value);
        };
        while wanted.next_if(|w| *w < bank).is_some() {}
        wanted.next_if(|w| *w == bank).map(|_| value)
    })
}

/// The operators of each of a country's banks that `scope` sells.
fn in_scope<'a>(
    banks_here: &'a Banks,
    scope: &'a BankScope,
) -> impl Iterator<Item = &'a Operators> {
    scoped(banks_here.iter(), scope)
}

/// The pools a request may pick from: those of the banks `scope` sells, of `operator` (any when
/// `None`), in bank then operator order.
fn pools_of<'a>(
    banks_here: &'a mut Banks,
    scope: &'a BankScope,
    operator: Option<&'a OperatorName>,
) -> impl Iterator<Item = &'a mut Pool> {
    scoped(banks_here.iter_mut(), scope).flat_map(move |operators| {
        operators
            .iter_mut()
            .filter(move |(op, _)| operator.is_none_or(|name| op.as_ref() == Some(name)))
            .map(|(_, pool)| pool)
    })
}

/// The pool of a (country, operator, bank), created on first use. A free function so that callers
/// can hold a listing (a disjoint field) while they change its pool.
fn pool_in<'a>(countries: &'a mut BTreeMap<CountryName, Banks>, facts: &Facts) -> &'a mut Pool {
    countries
        .entry(facts.country.clone())
        .or_default()
        .entry(facts.bank.clone())
        .or_default()
        .entry(facts.operator.clone())
        .or_default()
}

/// Walks one pool from the service's cursor, wrapping once, jumping over excluded ranges.
fn pick(
    pool: &mut Pool,
    listings: &FastMap<Msisdn, Box<Listing>>,
    service: &ServiceName,
    exclusions: &ExclusionSet,
    tried: &[Msisdn],
) -> Option<Msisdn> {
    let start = pool.cursors.get(service).copied().unwrap_or(LexiKey(0));
    let halves = [(start, LexiKey(u64::MAX)), (LexiKey(0), start)];
    for (lo, hi) in halves {
        let mut from = lo;
        while from < hi {
            let Some(&key) = pool
                .free
                .range((Bound::Included(from), Bound::Excluded(hi)))
                .next()
            else {
                break;
            };
            let number = Msisdn::from_lexi_key(key);
            if let Some(prefix) = exclusions.matching(number) {
                from = prefix.key_range().1;
                continue;
            }
            from = LexiKey(key.0 + 1);
            let exhausted = listings
                .get(&number)
                .is_none_or(|l| l.facts.exhausted.contains(service));
            if exhausted || tried.contains(&number) {
                continue;
            }
            pool.cursors.insert(service.clone(), from);
            return Some(number);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ExclusionPrefix;

    fn num(raw: u64) -> Msisdn {
        Msisdn::parse(&raw.to_string()).unwrap()
    }

    fn service(raw: &str) -> ServiceName {
        ServiceName::parse(raw).unwrap()
    }

    fn russia() -> CountryName {
        CountryName::parse("russia").unwrap()
    }

    fn facts(operator: Option<&str>, bank: &str) -> Facts {
        Facts {
            country: CountryName::parse("russia").unwrap(),
            operator: operator.map(|o| OperatorName::parse(o).unwrap()),
            available: true,
            online: true,
            port: None,
            listed: true,
            mcc_mnc: None,
            rent: false,
            online_since: None,
            exhausted: Vec::new(),
            bank: BankName::parse(bank).unwrap(),
            pinned: false,
        }
    }

    fn index(numbers: &[u64]) -> AvailabilityIndex {
        let mut index = AvailabilityIndex::new(vec![service("vk"), service("tg")]);
        for n in numbers {
            index.update(num(*n), facts(Some("mts"), "default"));
        }
        index
    }

    /// A vk number from russia's pools of `operator` (any when `None`) in `banks`.
    fn vk_from(
        index: &mut AvailabilityIndex,
        operator: Option<&OperatorName>,
        banks: &BankScope,
    ) -> Option<Msisdn> {
        index.select(
            &russia(),
            operator,
            &service("vk"),
            &exclusions(&[]),
            banks,
            &[],
        )
    }

    fn exclusions(prefixes: &[&str]) -> ExclusionSet {
        ExclusionSet::new(
            prefixes
                .iter()
                .map(|p| ExclusionPrefix::parse(p).unwrap())
                .collect(),
        )
    }

    fn pick(index: &mut AvailabilityIndex, excluded: &[&str]) -> Option<u64> {
        index
            .select(
                &russia(),
                None,
                &service("vk"),
                &exclusions(excluded),
                &BankScope::Every,
                &[],
            )
            .map(Msisdn::get)
    }

    fn stock(index: &AvailabilityIndex, service: &str) -> u32 {
        index.stock(&BankScope::Every).countries[0]
            .any
            .iter()
            .find(|(s, _)| s.as_str() == service)
            .map_or(0, |(_, c)| *c)
    }

    #[test]
    fn an_excluded_prefix_is_never_picked() {
        let mut index = index(&[79001000001, 79001000002, 79002000001]);
        assert_eq!(pick(&mut index, &["79001"]), Some(79002000001));
        // The only number left outside the exclusion is pending now.
        assert_eq!(pick(&mut index, &["79001"]), None);
    }

    #[test]
    fn every_number_excluded_means_none_and_nothing_pending() {
        let mut index = index(&[79001000001, 79001000002]);
        assert_eq!(pick(&mut index, &["7900"]), None);
        assert_eq!(stock(&index, "vk"), 2);
    }

    #[test]
    fn an_exclusion_is_jumped_over_as_a_range_whatever_the_cursor() {
        // A big excluded block between the cursor and the one number allowed, on both sides
        // of the wrap.
        let mut numbers: Vec<u64> = (0..5_000).map(|i| 79005000000 + i).collect();
        numbers.push(79001000000);
        numbers.push(79009000000);
        let mut index = index(&numbers);
        assert_eq!(pick(&mut index, &["79005", "79001"]), Some(79009000000));
        assert_eq!(pick(&mut index, &["79005", "79009"]), Some(79001000000));
        assert_eq!(pick(&mut index, &["79005"]), None);
    }

    #[test]
    fn a_longer_number_under_a_prefix_is_excluded_too() {
        // Digit-string order: 7900 is a prefix of 790012345678 as of 79001234567.
        let mut index = index(&[79001234567, 790012345678, 79101234567]);
        assert_eq!(pick(&mut index, &["7900"]), Some(79101234567));
        assert_eq!(pick(&mut index, &["7900"]), None);
    }

    #[test]
    fn a_picked_number_is_pending_until_released() {
        let mut index = index(&[79001000001]);
        assert_eq!(stock(&index, "vk"), 1);
        let picked = pick(&mut index, &[]).unwrap();
        assert_eq!(stock(&index, "vk"), 0);
        assert_eq!(pick(&mut index, &[]), None);
        index.release(num(picked));
        assert_eq!(stock(&index, "vk"), 1);
        assert_eq!(pick(&mut index, &[]), Some(picked));
    }

    #[test]
    fn the_cursor_moves_on_so_picks_go_round_the_pool() {
        let numbers = [79001000001, 79001000002, 79001000003];
        let mut index = index(&numbers);
        let mut seen = Vec::new();
        for _ in 0..3 {
            let n = pick(&mut index, &[]).unwrap();
            index.release(num(n));
            seen.push(n);
        }
        seen.sort_unstable();
        assert_eq!(seen, numbers);
    }

    #[test]
    fn numbers_exhausted_for_a_service_are_skipped_and_not_counted() {
        let mut index = index(&[79001000001, 79001000002]);
        let mut used = facts(Some("mts"), "default");
        used.exhausted = vec![service("vk")];
        index.update(num(79001000001), used);
        assert_eq!(stock(&index, "vk"), 1);
        assert_eq!(stock(&index, "tg"), 2);
        assert_eq!(pick(&mut index, &[]), Some(79001000002));
        assert_eq!(pick(&mut index, &[]), None);
    }

    #[test]
    fn numbers_already_tried_are_skipped() {
        let mut index = index(&[79001000001, 79001000002]);
        let tried = [num(79001000001)];
        let got = index.select(
            &russia(),
            None,
            &service("vk"),
            &exclusions(&[]),
            &BankScope::Every,
            &tried,
        );
        assert_eq!(got.map(Msisdn::get), Some(79001000002));
    }

    #[test]
    fn a_named_operator_picks_only_from_its_pool() {
        let mut index = index(&[79001000001]);
        index.update(num(79002000001), facts(Some("beeline"), "default"));
        let beeline = OperatorName::parse("beeline").unwrap();
        let got = vk_from(&mut index, Some(&beeline), &BankScope::Every);
        assert_eq!(got.map(Msisdn::get), Some(79002000001));
        let none = vk_from(&mut index, Some(&beeline), &BankScope::Every);
        assert_eq!(none, None);
        assert_eq!(
            index.select(
                &CountryName::parse("germany").unwrap(),
                None,
                &service("vk"),
                &exclusions(&[]),
                &BankScope::Every,
                &[]
            ),
            None
        );
    }

    #[test]
    fn a_platform_counts_and_picks_only_the_sims_of_its_banks() {
        let mut index = index(&[]);
        index.update(num(79001000001), facts(Some("mts"), "north"));
        index.update(num(79001000002), facts(Some("mts"), "south"));
        index.update(num(79001000003), facts(Some("beeline"), "south"));
        index.update(num(79001000004), facts(None, "north"));
        let north = BankScope::only([BankName::parse("north").unwrap()]);
        let south = BankScope::only([BankName::parse("south").unwrap()]);
        let vk = |stock: Stock| {
            let country = &stock.countries[0];
            let ops: Vec<(String, u32)> = country
                .operators
                .iter()
                .map(|(op, counts)| (op.to_string(), counts[0].1))
                .collect();
            (ops, country.any[0].1)
        };
        assert_eq!(
            vk(index.stock(&BankScope::Every)),
            (vec![("beeline".into(), 1), ("mts".into(), 2)], 4)
        );
        assert_eq!(vk(index.stock(&north)), (vec![("mts".into(), 1)], 2));
        assert_eq!(
            vk(index.stock(&south)),
            (vec![("beeline".into(), 1), ("mts".into(), 1)], 2)
        );
        let nowhere = BankScope::only([BankName::parse("west").unwrap()]);
        assert!(index.stock(&nowhere).countries.is_empty());
        let mts = OperatorName::parse("mts").unwrap();
        let picked = vk_from(&mut index, Some(&mts), &north);
        assert_eq!(picked.map(Msisdn::get), Some(79001000001));
        let again = vk_from(&mut index, Some(&mts), &north);
        assert_eq!(again, None, "the south SIM of mts is not north's to sell");
        // What one platform reserved left every other platform's stock at once.
        assert_eq!(vk(index.stock(&BankScope::Every)).0[1], ("mts".into(), 1));
    }

    #[test]
    fn a_silent_banks_sims_leave_stock_but_configured_ones_stay() {
        let mut index = index(&[79001000001]);
        let mut pinned = facts(Some("mts"), "far");
        pinned.pinned = true;
        index.update(num(79001000002), facts(Some("mts"), "far"));
        index.update(num(79001000003), pinned);
        assert_eq!(stock(&index, "vk"), 3);
        let far = BankName::parse("far").unwrap();
        index.set_bank_silent(&far, true);
        assert_eq!(stock(&index, "vk"), 2);
        assert!(!index
            .listed(&BankScope::Every)
            .iter()
            .any(|s| s.number.get() == 79001000002));
        index.set_bank_silent(&far, false);
        assert_eq!(stock(&index, "vk"), 3);
    }

    #[test]
    fn a_sim_that_goes_offline_gives_its_port_up_and_leaves_stock() {
        let mut index = index(&[]);
        let number = num(79001000001);
        let mut in_port = facts(None, "default");
        in_port.port = Some("b1.1".into());
        index.update(number, in_port.clone());
        assert_eq!(index.number_at("b1.1"), Some(number));
        let mut offline = in_port;
        offline.online = false;
        offline.available = false;
        offline.listed = false;
        index.update(number, offline);
        assert_eq!(index.number_at("b1.1"), None);
        assert_eq!(stock(&index, "vk"), 0);
        let counts = index.bank_counts()[&BankName::parse("default").unwrap()];
        assert_eq!((counts.sims, counts.online), (1, 0));
    }
}
