//! Resident memory of a process holding the engine with 1M idle SIMs.
//!
//! Each variant runs in a fresh child process (this binary re-run with `--variant <name>`), so
//! that one variant's freed-but-kept heap does not count against the next. A variant reads
//! `VmRSS` from `/proc/self/status` before anything is built, starts an engine on an actix System
//! with 1M configured SIMs (country russia, 4 operators, no activations), and reads `VmRSS` and
//! `VmHWM` (peak) again. Variants:
//!
//! * `memory-4`: MemoryStore, 4 offered services (the default config) — the target figure;
//! * `memory-50`: MemoryStore, 50 offered services;
//! * `discard-4`: a store that keeps nothing, 4 services — the engine's own share, without the
//!   MemoryStore's copy of every SIM record;
//! * `ports-4`: MemoryStore, 4 services, every SIM with a SIM-bank port (`b<bank>-<slot>`), as
//!   SIMs reported by a gateway have;
//! * `config-4`: MemoryStore, 4 services, every SIM built through the config path (a
//!   deserialised `[[sims]]` entry), so each SIM carries its own copies of its country and
//!   operator names instead of shared ones.
//!
//! The other variants derive every SIM from one config-built SIM, sharing the name allocations.
//!
//! Run with `cargo bench --bench memory`; `SIMS=<n>` changes the pool size.

use std::ops::Range;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use simrelay::config::{sim_specs, CountryTable, SimEntry};
use simrelay::store::MemoryStore;
use simrelay_actors::domain::{ActivationRecord, Msisdn, OperatorName, ServiceName};
use simrelay_actors::store::{Change, SimRecord, Store};
use simrelay_actors::{Engine, EngineSettings, SimSpec, SystemClock};

#[path = "../actors/tests/support/fixed_store.rs"]
mod fixed_store;
use fixed_store::FixedStore;

const VARIANTS: [&str; 5] = ["memory-4", "memory-50", "discard-4", "ports-4", "config-4"];
const FIRST: u64 = 79_000_000_000;
const OPERATORS: [&str; 4] = ["mts", "beeline", "megafon", "tele2"];
const MIB: f64 = 1024.0 * 1024.0;

/// A `/proc/self/status` field in bytes (the kernel reports kB).
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// SIMs `range` as the config path builds them: one `[[sims]]` entry each, deserialised, then
/// `config::sim_specs` (every entry gets its own country and operator name allocations).
fn config_specs(range: Range<usize>) -> Vec<SimSpec> {
    let sims: Vec<SimEntry> = range
        .map(|i| {
            serde_json::from_value::<SimEntry>(serde_json::json!({
                "number": FIRST + i as u64,
                "country": "russia",
                "operator": OPERATORS[i % OPERATORS.len()],
            }))
            .expect("valid [[sims]] entry")
        })
        .collect();
    let countries = CountryTable::builtin().expect("built-in country table");
    sim_specs(&sims, &countries).expect("valid SIMs")
}

fn sims_wanted() -> usize {
    std::env::var("SIMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000)
}

fn run_variant(name: &str) {
    let (offered, discard, ports, config) = match name {
        "memory-4" => (4, false, false, false),
        "memory-50" => (50, false, false, false),
        "discard-4" => (4, true, false, false),
        "ports-4" => (4, false, true, false),
        "config-4" => (4, false, false, true),
        other => panic!("unknown variant {other}"),
    };
    let count = sims_wanted();
    let system = actix_rt::System::new();
    let before = status_bytes("VmRSS");

    let operators: Vec<OperatorName> = OPERATORS
        .iter()
        .map(|o| OperatorName::parse(o).expect("valid operator"))
        .collect();
    let services: Vec<ServiceName> = (0..offered)
        .map(|i| {
            let named = ["vk", "ok", "wa", "tg"];
            ServiceName::parse(named.get(i).copied().unwrap_or(&format!("svc{i}")))
                .expect("valid service")
        })
        .collect();
    let sims: Vec<SimSpec> = if config {
        config_specs(0..count)
    } else {
        // Derived from one config-built SIM, so fields added to SimSpec later keep their
        // config defaults; names are shared, as if interned.
        let template = config_specs(0..1).remove(0);
        (0..count)
            .map(|i| SimSpec {
                number: Msisdn::parse(&(FIRST + i as u64).to_string()).expect("valid number"),
                operator: Some(operators[i % operators.len()].clone()),
                port: ports.then(|| format!("b{}-{}", i / 256, i % 256)),
                ..template.clone()
            })
            .collect()
    };
    let store: Arc<dyn Store> = if discard {
        Arc::new(FixedStore::default())
    } else {
        Arc::new(MemoryStore::new())
    };
    let settings = EngineSettings {
        offered: services,
        ..EngineSettings::default()
    };
    let started = Instant::now();
    let engine = system
        .block_on(Engine::start(store, Arc::new(SystemClock), settings, sims))
        .expect("engine starts");
    let took = started.elapsed();
    let after = status_bytes("VmRSS");
    let peak = status_bytes("VmHWM");
    let stock = engine.stock();
    let in_stock = stock.countries.first().map_or(0, |c| c.any[0].1);
    let held = after.saturating_sub(before);
    println!(
        "{name:<10} sims={count} offered={offered} start={took:.2?} in_stock(vk)={in_stock} \
         rss_before={:.1} MiB rss_after={:.1} MiB peak={:.1} MiB held={:.1} MiB per_sim={} B",
        before as f64 / MIB,
        after as f64 / MIB,
        peak as f64 / MIB,
        held as f64 / MIB,
        held / count.max(1) as u64,
    );
    drop(engine);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--variant") {
        run_variant(args.get(i + 1).map_or("", String::as_str));
        return;
    }
    let exe = std::env::current_exe().expect("own path");
    println!(
        "engine RSS with {} idle SIMs, one child process per variant; size_of: SimRecord {} B, \
         ActivationRecord {} B, Change {} B",
        sims_wanted(),
        std::mem::size_of::<SimRecord>(),
        std::mem::size_of::<ActivationRecord>(),
        std::mem::size_of::<Change>(),
    );
    for variant in VARIANTS {
        let status = Command::new(&exe)
            .args(["--variant", variant])
            .status()
            .expect("child runs");
        if !status.success() {
            println!("{variant:<10} failed: {status}");
        }
    }
    println!("target: RSS of the process with 1M idle SIMs <= 1024 MiB (memory-4 rss_after)");
}
