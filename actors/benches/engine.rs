//! Engine benchmarks (criterion), no HTTP:
//!
//! * `reserve_finish/memory/<sims>`: one GET_NUMBER (country russia, operator any, service
//!   `vk`) followed by FINISH_ACTIVATION status 5 (refunded, so the pool stays reusable), one
//!   cycle at a time, on MemoryStore pools of 1k, 100k and 1M SIMs. The 1k pool is the baseline
//!   the larger ones are compared with.
//! * `reserve_finish/discard/<sims>`: the same on a store that keeps nothing, at 1k and 1M, to
//!   tell the engine's own scaling from the MemoryStore's.
//! * `get_services/<sims>x50`: `Engine::stock()` with 50 offered services, 4 operators and some
//!   numbers exhausted, at 1k SIMs (baseline) and 1M SIMs.
//! * `platforms/<banks>/<scope>`: the reserve + refund cycle of `reserve_finish` on 100k SIMs
//!   spread over 1 bank (the baseline) or 1024 banks (`MAX_BANKS`), for a platform that sells
//!   every bank (`every`) or 64 of them (`64`), and `platforms/stock/<banks>/<scope>`: that
//!   platform's GET_SERVICES (`Engine::stock_of`) on the same pools: what selling per bank costs.
//! * `reference/hash_lookup/<entries>`: one random lookup in a std `HashMap` of 72-byte values
//!   with 1k or 1M entries: what a cache- and TLB-cold access costs on this machine.
//!
//! Each pool is built once per size on its own actix System and dropped before the next size.
//!
//! The machine is shared and noisy, and criterion measures one size after the other, so a
//! burst of load on one size skews the 1M / 1k ratio. After the criterion groups, an
//! `interleaved` check therefore holds a 1k and a 1M engine on one System and alternates blocks
//! of cycles between them, printing the median per-cycle cost of each and their ratio (for the
//! MemoryStore and for the discarding store). It runs unless a criterion filter that does not
//! match `interleaved` is given.
//!
//! Run with `cargo bench -p simrelay-actors --bench engine`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_rt::{System, SystemRunner};
use criterion::{criterion_group, BenchmarkId, Criterion};
use simrelay_actors::domain::{
    CountryName, ExclusionSet, FinishStatus, Msisdn, OperatorName, ServiceName,
};
use simrelay_actors::store::{MemoryStore, Store};
use simrelay_actors::{
    Engine, EngineSettings, NumberRequest, OperatorChoice, SimSpec, SystemClock,
};

#[path = "../tests/support/fixed_store.rs"]
mod fixed_store;
use fixed_store::FixedStore;

/// First number of every pool; SIM `i` is `FIRST + i`.
const FIRST: u64 = 79_000_000_000;
const OPERATORS: [&str; 4] = ["mts", "beeline", "megafon", "tele2"];

fn services(count: usize) -> Vec<ServiceName> {
    let named = ["vk", "ok", "wa", "tg"];
    (0..count)
        .map(|i| match named.get(i) {
            Some(s) => ServiceName::parse(s),
            None => ServiceName::parse(&format!("svc{i}")),
        })
        .collect::<Result<_, _>>()
        .expect("valid service names")
}

fn settings(offered: usize) -> EngineSettings {
    EngineSettings {
        offered: services(offered),
        ..EngineSettings::default()
    }
}

fn operators() -> Vec<OperatorName> {
    OPERATORS
        .iter()
        .map(|o| OperatorName::parse(o).expect("valid operator"))
        .collect()
}

fn number(i: usize) -> Msisdn {
    Msisdn::parse(&(FIRST + i as u64).to_string()).expect("valid number")
}

/// A configured SIM as the config path builds it from a `[[sims]]` entry with a number, a
/// country and an operator; the benches derive every SIM from it with struct-update syntax.
fn template() -> SimSpec {
    SimSpec {
        number: number(0),
        country: CountryName::parse("russia").expect("valid country"),
        operator: Some(operators()[0].clone()),
        port: None,
        pinned: true,
        mcc_mnc: None,
        rent: None,
        bank: None,
    }
}

/// `count` configured SIMs, round-robin over the operators (names shared, as interned).
fn config_sims(count: usize) -> Vec<SimSpec> {
    let (template, ops) = (template(), operators());
    (0..count)
        .map(|i| SimSpec {
            number: number(i),
            operator: Some(ops[i % ops.len()].clone()),
            ..template.clone()
        })
        .collect()
}

/// An engine on a fresh System holding `count` configured SIMs.
fn engine_with(store: Arc<dyn Store>, count: usize, offered: usize) -> (SystemRunner, Engine) {
    let system = System::new();
    let started = Instant::now();
    let engine = system
        .block_on(Engine::start(
            store,
            Arc::new(SystemClock),
            settings(offered),
            config_sims(count),
        ))
        .expect("engine starts");
    eprintln!("pool of {count} SIMs built in {:.2?}", started.elapsed());
    (system, engine)
}

fn request() -> NumberRequest {
    NumberRequest {
        platform: simrelay_actors::domain::PlatformName::onlinesim(),
        banks: simrelay_actors::BankScope::Every,
        deadline: None,
        country: CountryName::parse("russia").expect("valid country"),
        operator: OperatorChoice::Any,
        service: ServiceName::parse("vk").expect("valid service"),
        sum: 10.0,
        exclusions: ExclusionSet::default(),
    }
}

/// `iters` sequential reserve + refund cycles; the elapsed time of all of them.
async fn cycles(engine: &Engine, iters: u64) -> Duration {
    cycles_as(engine, iters, &simrelay_actors::BankScope::Every).await
}

/// [`cycles`] for a platform that sells the SIMs of `banks`.
async fn cycles_as(engine: &Engine, iters: u64, banks: &simrelay_actors::BankScope) -> Duration {
    let started = Instant::now();
    for _ in 0..iters {
        let reservation = engine
            .get_number(NumberRequest {
                banks: banks.clone(),
                ..request()
            })
            .await
            .expect("engine answers")
            .expect("a number is free");
        engine
            .finish(reservation.id, FinishStatus::Refunded, None)
            .await
            .expect("finish applies");
    }
    started.elapsed()
}

fn reserve_finish(c: &mut Criterion) {
    let mut group = c.benchmark_group("reserve_finish");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    let runs: [(&str, usize); 5] = [
        ("memory", 1_000),
        ("memory", 100_000),
        ("memory", 1_000_000),
        ("discard", 1_000),
        ("discard", 1_000_000),
    ];
    for (store_name, sims) in runs {
        let store: Arc<dyn Store> = match store_name {
            "memory" => Arc::new(MemoryStore::new()),
            _ => Arc::new(FixedStore::default()),
        };
        let (system, engine) = engine_with(store, sims, 4);
        group.bench_function(BenchmarkId::new(store_name, sims), |b| {
            b.iter_custom(|iters| system.block_on(cycles(&engine, iters)))
        });
        drop(engine);
        drop(system);
    }
    group.finish();
}

/// An engine whose SIMs arrived through the gateway path (`upsert_sim`), with a realistic
/// spread: 4 operators, every 100th SIM offline, every 1000th blocked, and a tenth of the pool
/// sold once (FINISH 3), spread over the 50 services, so that each service has numbers
/// exhausted for it. Built with the public API only, so that it survives changes to the
/// stored records.
fn stock_engine(count: usize, offered: usize) -> (SystemRunner, Engine) {
    let system = System::new();
    let (template, ops, names) = (template(), operators(), services(offered));
    let engine = system
        .block_on(async {
            let engine = Engine::start(
                Arc::new(MemoryStore::new()),
                Arc::new(SystemClock),
                settings(offered),
                Vec::new(),
            )
            .await?;
            for i in 0..count {
                let spec = SimSpec {
                    number: number(i),
                    operator: Some(ops[i % ops.len()].clone()),
                    port: Some(format!("{}-{}", i / 64, i % 64)),
                    pinned: false,
                    ..template.clone()
                };
                engine.upsert_sim(spec, i % 100 != 1).await?;
            }
            for i in (2..count).step_by(1000) {
                engine.set_blocked(number(i), true).await?;
            }
            for k in 0..count / 10 {
                let request = NumberRequest {
                    service: names[k % names.len()].clone(),
                    ..request()
                };
                if let Some(sold) = engine.get_number(request).await? {
                    engine
                        .finish(sold.id, FinishStatus::Sold, Some(10.0))
                        .await?;
                }
            }
            Ok::<_, simrelay_actors::EngineError>(engine)
        })
        .expect("engine starts");
    (system, engine)
}

fn get_services(c: &mut Criterion) {
    let mut group = c.benchmark_group("get_services");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for sims in [1_000usize, 1_000_000] {
        let (system, engine) = stock_engine(sims, 50);
        let stock = engine.stock();
        let any = &stock.countries[0].any;
        eprintln!(
            "{sims} SIMs x {} services: stock of {} = {}, of {} = {}",
            any.len(),
            any[0].0,
            any[0].1,
            any[49].0,
            any[49].1
        );
        group.bench_function(BenchmarkId::from_parameter(format!("{sims}x50")), |b| {
            b.iter(|| std::hint::black_box(engine.stock()))
        });
        drop(engine);
        drop(system);
    }
    group.finish();
}

fn platforms(c: &mut Criterion) {
    use simrelay_actors::domain::BankName;
    use simrelay_actors::BankScope;
    let mut group = c.benchmark_group("platforms");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let bank = |i: usize| BankName::parse(&format!("bank{i}")).expect("valid bank");
    for banks in [1usize, simrelay_actors::MAX_BANKS] {
        let sims: Vec<SimSpec> = config_sims(100_000)
            .into_iter()
            .enumerate()
            .map(|(i, spec)| SimSpec {
                bank: Some(bank(i % banks)),
                ..spec
            })
            .collect();
        let system = System::new();
        let engine = system
            .block_on(Engine::start(
                Arc::new(MemoryStore::new()),
                Arc::new(SystemClock),
                settings(4),
                sims,
            ))
            .expect("engine starts");
        let scopes = [
            ("every", BankScope::Every),
            ("64", BankScope::only((0..64.min(banks)).map(bank))),
        ];
        for (name, scope) in &scopes {
            group.bench_function(BenchmarkId::new(format!("{banks}"), name), |b| {
                b.iter_custom(|iters| system.block_on(cycles_as(&engine, iters, scope)))
            });
            group.bench_function(BenchmarkId::new(format!("stock/{banks}"), name), |b| {
                b.iter(|| std::hint::black_box(engine.stock_of(scope)))
            });
        }
        drop(engine);
        drop(system);
    }
    group.finish();
}

/// A 72-byte value, about the size of an availability-index listing.
type Payload = [u64; 9];

fn reference(c: &mut Criterion) {
    let mut group = c.benchmark_group("reference");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    for entries in [1_000u64, 1_000_000] {
        let map: HashMap<u64, Payload> = (FIRST..FIRST + entries).map(|k| (k, [k; 9])).collect();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        group.bench_function(BenchmarkId::new("hash_lookup", entries), |b| {
            b.iter(|| {
                // xorshift: a key the caches have not just seen.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let key = FIRST + state % entries;
                std::hint::black_box(map.get(&key).map_or(0, |v| v[8]))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, reserve_finish, get_services, platforms, reference);

/// Cycles per timed block of the interleaved check.
const BLOCK: u64 = 2_000;
/// Blocks per engine.
const ROUNDS: usize = 30;

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Alternates blocks of cycles between a 1k and a 1M engine on one System; prints the medians.
fn interleaved(store_name: &str, make: fn() -> Arc<dyn Store>) {
    let system = System::new();
    let engines: Vec<(usize, Engine)> = [1_000usize, 1_000_000]
        .into_iter()
        .map(|sims| {
            let engine = system
                .block_on(Engine::start(
                    make(),
                    Arc::new(SystemClock),
                    settings(4),
                    config_sims(sims),
                ))
                .expect("engine starts");
            (sims, engine)
        })
        .collect();
    let mut per_cycle: Vec<Vec<f64>> = vec![Vec::new(); engines.len()];
    system.block_on(async {
        for (_, engine) in &engines {
            cycles(engine, 10 * BLOCK).await;
        }
        for round in 0..ROUNDS {
            for k in 0..engines.len() {
                // Alternate which size goes first so neither always follows the other.
                let i = if round % 2 == 0 {
                    k
                } else {
                    engines.len() - 1 - k
                };
                let took = cycles(&engines[i].1, BLOCK).await;
                per_cycle[i].push(took.as_secs_f64() * 1e6 / BLOCK as f64);
            }
        }
    });
    let medians: Vec<f64> = per_cycle.iter_mut().map(|v| median(v)).collect();
    for ((sims, _), m) in engines.iter().zip(&medians) {
        println!(
            "interleaved/{store_name}/{sims}: median {m:.2} µs per reserve+finish \
             ({ROUNDS} blocks of {BLOCK})"
        );
    }
    println!(
        "interleaved/{store_name}: 1M / 1k = {:.2} (target <= 1.5)",
        medians[1] / medians[0]
    );
}

fn main() {
    benches();
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if filters.is_empty() || filters.iter().any(|f| "interleaved".contains(f.as_str())) {
        interleaved("memory", || Arc::new(MemoryStore::new()));
        interleaved("discard", || Arc::new(FixedStore::default()));
    }
    Criterion::default().configure_from_args().final_summary();
}
