//! Model-based test of the engine: random sequences of reserve / finish / clock jumps (expiry) /
//! SIM offline-online run against the real engine and against a deliberately simple model, and
//! after every step the engine must agree with the model on the invariants of design.md:
//! 1 (one active activation per number), 3 (FINISH idempotent), 4 (a number sold for a service is
//! never issued for it again), 5 (GET_SERVICES counts) and 6 (exclusion prefixes honoured).
//!
//! Two platforms share the pool, as a reseller selling on OnlineSIM and SMSHub at once does:
//! `onlinesim` sells every SIM under OnlineSIM's FINISH rules, `smshub` only the bank `south`
//! under SMSHub's; each platform's stock and issues count only its SIMs, a number one platform
//! holds is unavailable to the other, and neither can finish the other's activations.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use simrelay_actors::domain::{
    ActivationId, ActivationState, BankName, CountryName, ExclusionPrefix, ExclusionSet,
    FinishRules, FinishStatus, Msisdn, OperatorName, PlatformName, ServiceName,
};
use simrelay_actors::store::MemoryStore;
use simrelay_actors::{
    BankScope, Engine, EngineError, EngineSettings, ManualClock, NumberRequest, OperatorChoice,
    SimSpec,
};

const SERVICES: [&str; 2] = ["vk", "tg"];
const TTL_MIN: i64 = 15;
const GRACE_MIN: i64 = 5;
const MAX_CANCELS: u8 = 4;

/// (number, country, operator)
const SIMS: [(&str, &str, Option<&str>); 8] = [
    ("79281000001", "russia", Some("beeline")),
    ("79281000002", "russia", Some("beeline")),
    ("79283100003", "russia", Some("megafon")),
    ("79161000004", "russia", Some("megafon")),
    ("79031000005", "russia", None),
    ("77011000006", "kazakhstan", Some("beeline")),
    ("77011000007", "kazakhstan", None),
    ("380501000008", "ukraine", Some("kyivstar")),
];
const COUNTRIES: [&str; 4] = ["russia", "kazakhstan", "ukraine", "germany"];
const OPERATORS: [&str; 4] = ["beeline", "megafon", "kyivstar", "tele2"];
const PREFIXES: [&str; 6] = ["7928", "792831", "7", "38050", "7701100000", "79161000004"];

/// The bank of the SIM at index `i` of [`SIMS`]: SMSHub sells only `south`.
fn bank_of(i: usize) -> &'static str {
    if i % 2 == 0 {
        "north"
    } else {
        "south"
    }
}

/// A platform of the model: (name, banks, FINISH rules).
fn platform(smshub: bool) -> (PlatformName, BankScope, FinishRules) {
    if smshub {
        (
            PlatformName::parse("smshub").unwrap(),
            BankScope::only([BankName::parse("south").unwrap()]),
            FinishRules::SmsHub,
        )
    } else {
        (
            PlatformName::onlinesim(),
            BankScope::Every,
            FinishRules::OnlineSim,
        )
    }
}

#[derive(Debug, Clone)]
enum Op {
    Reserve {
        /// Through SMSHub (else OnlineSIM).
        smshub: bool,
        country: usize,
        operator: Option<usize>,
        service: usize,
        exclusions: Vec<usize>,
    },
    Finish {
        pick: usize,
        status: u8,
        /// Sent by SMSHub, read under its rules (else OnlineSIM).
        smshub: bool,
    },
    FinishUnknown,
    Advance {
        minutes: i64,
    },
    SetOnline {
        sim: usize,
        online: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<bool>(), 0..COUNTRIES.len(), prop::option::of(0..OPERATORS.len()), 0..3usize, prop::collection::vec(0..PREFIXES.len(), 0..3))
            .prop_map(|(smshub, country, operator, service, exclusions)| Op::Reserve { smshub, country, operator, service, exclusions }),
        3 => (any::<usize>(), prop::sample::select(vec![1u8, 3, 4, 5]), any::<bool>()).prop_map(|(pick, status, smshub)| Op::Finish { pick, status, smshub }),
        1 => Just(Op::FinishUnknown),
        1 => (1i64..25).prop_map(|minutes| Op::Advance { minutes }),
        1 => (0..SIMS.len(), any::<bool>()).prop_map(|(sim, online)| Op::SetOnline { sim, online }),
    ]
}

#[derive(Debug, Clone)]
struct SimModel {
    bank: &'static str,
    country: &'static str,
    operator: Option<&'static str>,
    online: bool,
    active: Option<u64>,
    used: BTreeSet<String>,
    cancels: HashMap<String, u8>,
}

impl SimModel {
    fn exhausted(&self, service: &str) -> bool {
        self.used.contains(service)
            || self.cancels.get(service).copied().unwrap_or(0) >= MAX_CANCELS
    }
    fn available(&self) -> bool {
        self.online && self.active.is_none()
    }
}

#[derive(Debug, Clone)]
struct ActivationModel {
    smshub: bool,
    number: u64,
    service: String,
    created_minute: i64,
    state: ActivationState,
    finish: Option<u8>,
}

#[derive(Default)]
struct Model {
    sims: BTreeMap<u64, SimModel>,
    activations: BTreeMap<u64, ActivationModel>,
    minute: i64,
}

impl Model {
    fn eligible(
        &self,
        smshub: bool,
        country: &str,
        operator: Option<&str>,
        service: &str,
        prefixes: &[&str],
    ) -> Vec<u64> {
        self.sims
            .iter()
            .filter(|(n, s)| {
                s.country == country
                    && (!smshub || s.bank == "south")
                    && operator.is_none_or(|o| s.operator == Some(o))
                    && s.available()
                    && !s.exhausted(service)
                    && !prefixes.iter().any(|p| n.to_string().starts_with(p))
            })
            .map(|(n, _)| *n)
            .collect()
    }

    /// Whether the platform's FINISH applies (an activation of the other platform is unknown to it).
    fn finish(&mut self, id: u64, status: u8, smshub: bool) -> bool {
        let a = self.activations.get_mut(&id).unwrap();
        if a.smshub != smshub {
            return false;
        }
        if a.finish.is_some() {
            return true;
        }
        a.finish = Some(status);
        a.state = ActivationState::Finished;
        let sim = self.sims.get_mut(&a.number).unwrap();
        if sim.active == Some(id) {
            sim.active = None;
        }
        // OnlineSIM: only 3 uses the number; SMSHub: 1 and 3 use it, 4 counts a cancel.
        match (status, smshub) {
            (3, _) | (1, true) => {
                sim.used.insert(a.service.clone());
            }
            (4, true) => *sim.cancels.entry(a.service.clone()).or_default() += 1,
            _ => {}
        }
        true
    }

    fn advance(&mut self, minutes: i64) {
        self.minute += minutes;
        for (id, a) in self.activations.iter_mut() {
            if a.state == ActivationState::Active
                && a.created_minute + TTL_MIN + GRACE_MIN <= self.minute
            {
                a.state = ActivationState::Expired;
                let sim = self.sims.get_mut(&a.number).unwrap();
                assert_eq!(sim.active, Some(*id));
                sim.active = None;
            }
        }
    }

    /// country -> operator ("any" included) -> service -> count, as the platform sees it.
    fn stock(&self, smshub: bool) -> BTreeMap<String, BTreeMap<String, BTreeMap<String, u32>>> {
        let mut out: BTreeMap<String, BTreeMap<String, BTreeMap<String, u32>>> = BTreeMap::new();
        for sim in self.sims.values().filter(|s| !smshub || s.bank == "south") {
            let country = out.entry(sim.country.to_string()).or_default();
            let mut keys = vec!["any".to_string()];
            keys.extend(sim.operator.map(str::to_string));
            for key in keys {
                let services = country.entry(key).or_default();
                for s in SERVICES {
                    let c = services.entry(s.to_string()).or_default();
                    if sim.available() && !sim.exhausted(s) {
                        *c += 1;
                    }
                }
            }
        }
        out
    }
}

fn engine_stock(
    engine: &Engine,
    smshub: bool,
) -> BTreeMap<String, BTreeMap<String, BTreeMap<String, u32>>> {
    engine
        .stock_of(&platform(smshub).1)
        .countries
        .into_iter()
        .map(|c| {
            let mut ops: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
            ops.insert(
                "any".into(),
                c.any.iter().map(|(s, n)| (s.to_string(), *n)).collect(),
            );
            for (op, counts) in c.operators {
                ops.insert(
                    op.to_string(),
                    counts.iter().map(|(s, n)| (s.to_string(), *n)).collect(),
                );
            }
            (c.country.to_string(), ops)
        })
        .collect()
}

async fn check(engine: &Engine, model: &Model) -> Result<(), TestCaseError> {
    // Invariant 5: each platform's counters equal the model's.
    for smshub in [false, true] {
        prop_assert_eq!(engine_stock(engine, smshub), model.stock(smshub));
    }
    // Invariant 1: active activations are exactly the model's, one per number.
    let active: BTreeMap<u64, u64> = engine
        .activations(Some(ActivationState::Active), 10_000)
        .into_iter()
        .map(|a| (a.id.get(), a.number.get()))
        .collect();
    let expected: BTreeMap<u64, u64> = model
        .activations
        .iter()
        .filter(|(_, a)| a.state == ActivationState::Active)
        .map(|(id, a)| (*id, a.number))
        .collect();
    prop_assert_eq!(&active, &expected);
    let numbers: BTreeSet<u64> = active.values().copied().collect();
    prop_assert_eq!(
        numbers.len(),
        active.len(),
        "a number is in two active activations"
    );
    for sim in engine
        .sims()
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?
    {
        let m = &model.sims[&sim.number.get()];
        prop_assert_eq!(sim.activation_id.map(|a| a.get()), m.active);
        prop_assert_eq!(sim.online, m.online);
        let used: BTreeSet<String> = sim.services_used.iter().map(|s| s.to_string()).collect();
        prop_assert_eq!(&used, &m.used);
    }
    for (id, a) in &model.activations {
        let record = engine
            .activation(ActivationId::new(*id).unwrap())
            .ok_or_else(|| TestCaseError::fail(format!("activation {id} lost")))?;
        prop_assert_eq!(record.state, a.state);
        prop_assert_eq!(record.finish_status.map(|s| s.code()), a.finish);
    }
    Ok(())
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let settings = EngineSettings {
        activation_ttl: std::time::Duration::from_secs(TTL_MIN as u64 * 60),
        expiry_grace: Some(std::time::Duration::from_secs(GRACE_MIN as u64 * 60)),
        offered: SERVICES
            .iter()
            .map(|s| ServiceName::parse(s).unwrap())
            .collect(),
        bank_ttl: None,
        ..EngineSettings::default()
    };
    let engine = Engine::start(
        Arc::new(MemoryStore::new()),
        clock.clone(),
        settings,
        Vec::new(),
    )
    .await
    .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut model = Model::default();
    for (i, (number, country, operator)) in SIMS.into_iter().enumerate() {
        let n = Msisdn::parse(number).unwrap();
        let spec = SimSpec {
            number: n,
            country: CountryName::parse(country).unwrap(),
            operator: operator.map(|o| OperatorName::parse(o).unwrap()),
            port: None,
            pinned: false,
            mcc_mnc: None,
            rent: None,
            bank: Some(BankName::parse(bank_of(i)).unwrap()),
        };
        engine.upsert_sim(spec, true).await.unwrap();
        model.sims.insert(
            n.get(),
            SimModel {
                bank: bank_of(i),
                country,
                operator,
                online: true,
                active: None,
                used: BTreeSet::new(),
                cancels: HashMap::new(),
            },
        );
    }
    check(&engine, &model).await?;
    let mut issued: Vec<u64> = Vec::new();
    for op in ops {
        match op {
            Op::Reserve {
                smshub,
                country,
                operator,
                service,
                exclusions,
            } => {
                let (name, banks, _) = platform(smshub);
                let service_name = ["vk", "tg", "wa"][service];
                let prefixes: Vec<&str> = exclusions.iter().map(|i| PREFIXES[*i]).collect();
                let request = NumberRequest {
                    platform: name,
                    banks,
                    deadline: None,
                    country: CountryName::parse(COUNTRIES[country]).unwrap(),
                    operator: match operator {
                        Some(o) => {
                            OperatorChoice::Named(OperatorName::parse(OPERATORS[o]).unwrap())
                        }
                        None => OperatorChoice::Any,
                    },
                    service: ServiceName::parse(service_name).unwrap(),
                    sum: 10.0,
                    exclusions: ExclusionSet::new(
                        prefixes
                            .iter()
                            .map(|p| ExclusionPrefix::parse(p).unwrap())
                            .collect(),
                    ),
                };
                let eligible = if service_name == "wa" {
                    Vec::new()
                } else {
                    model.eligible(
                        smshub,
                        COUNTRIES[country],
                        operator.map(|o| OPERATORS[o]),
                        service_name,
                        &prefixes,
                    )
                };
                let got = engine
                    .get_number(request)
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                match got {
                    None => {
                        prop_assert!(eligible.is_empty(), "NO_NUMBERS although {eligible:?} fit")
                    }
                    Some(r) => {
                        let n = r.number.get();
                        // Invariants 4 and 6, and the request's own criteria.
                        prop_assert!(
                            eligible.contains(&n),
                            "issued {n}, eligible were {eligible:?}"
                        );
                        prop_assert!(
                            !model.activations.contains_key(&r.id.get()),
                            "activation id reused"
                        );
                        model.sims.get_mut(&n).unwrap().active = Some(r.id.get());
                        model.activations.insert(
                            r.id.get(),
                            ActivationModel {
                                smshub,
                                number: n,
                                service: service_name.into(),
                                created_minute: model.minute,
                                state: ActivationState::Active,
                                finish: None,
                            },
                        );
                        issued.push(r.id.get());
                    }
                }
            }
            Op::Finish {
                pick,
                status,
                smshub,
            } => {
                if issued.is_empty() {
                    continue;
                }
                let id = issued[pick % issued.len()];
                let status_enum = FinishStatus::from_code(i64::from(status)).unwrap();
                let aid = ActivationId::new(id).unwrap();
                let (name, _, rules) = platform(smshub);
                let applies = model.finish(id, status, smshub);
                // Invariant 3: a repeat (here: twice in a row) succeeds and applies once.
                for _ in 0..2 {
                    let answer = engine.finish_as(&name, aid, status_enum, None, rules).await;
                    if applies {
                        answer.map_err(|e| TestCaseError::fail(e.to_string()))?;
                    } else {
                        prop_assert!(
                            matches!(answer, Err(EngineError::UnknownActivation(_))),
                            "{name} finished another platform's activation: {answer:?}"
                        );
                    }
                }
            }
            Op::FinishUnknown => {
                let id = ActivationId::new(1_000_000).unwrap();
                let answer = engine.finish(id, FinishStatus::Sold, None).await;
                prop_assert!(matches!(answer, Err(EngineError::UnknownActivation(_))));
            }
            Op::Advance { minutes } => {
                clock.advance(TimeDelta::minutes(minutes));
                engine.expire_due().await;
                model.advance(minutes);
            }
            Op::SetOnline { sim, online } => {
                let n = Msisdn::parse(SIMS[sim].0).unwrap();
                engine
                    .set_online(n, online)
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                model.sims.get_mut(&n.get()).unwrap().online = online;
            }
        }
        check(&engine, &model).await?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn engine_agrees_with_the_model(ops in prop::collection::vec(op(), 1..60)) {
        actix_rt::System::new().block_on(run(ops))?;
    }
}
