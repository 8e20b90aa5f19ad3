//! Recovery bench: how long simrelay takes from start to ready when Redis holds 1 M SIMs and
//! 100 k active activations. Starts a private redis-server on a free port (temp dir), fills it
//! with records in simrelay's own format, then times `Engine::start` on the Redis store.
//!
//! `cargo bench --bench recovery` (env `SIMS` and `ACTIVE` change the sizes).

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use simrelay::store::RedisStore;
use simrelay_actors::domain::{
    ActivationId, ActivationRecord, ActivationState, CountryName, Msisdn, OperatorName, ServiceName,
};
use simrelay_actors::store::SimRecord;
use simrelay_actors::{Engine, EngineSettings, SystemClock};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn main() {
    let sims = env_or("SIMS", 1_000_000);
    let active = env_or("ACTIVE", 100_000).min(sims);
    let dir = tempfile::tempdir().expect("temp dir");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut redis = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--appendonly", "no"])
        .arg("--dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server");
    let url = format!("redis://127.0.0.1:{port}/0");
    let client = redis::Client::open(url.as_str()).expect("url");
    let mut conn = loop {
        match client.get_connection() {
            Ok(c) => break c,
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    };

    // Fill: SIM records and activation records exactly as simrelay writes them.
    let fill = Instant::now();
    let country = CountryName::parse("russia").expect("name");
    let operators: Vec<OperatorName> = ["beeline", "megafon", "mts", "tele2"]
        .iter()
        .map(|o| OperatorName::parse(o).expect("name"))
        .collect();
    let vk = ServiceName::parse("vk").expect("name");
    let now = Utc::now();
    for chunk_start in (0..sims).step_by(10_000) {
        let mut pipe = redis::pipe();
        for i in chunk_start..(chunk_start + 10_000).min(sims) {
            let number = Msisdn::parse(&format!("79{:09}", i)).expect("number");
            let id = (i < active).then(|| ActivationId::new(i as u64 + 1).expect("id"));
            let sim = SimRecord {
                number,
                country: country.clone(),
                operator: Some(operators[i % operators.len()].clone()),
                port: Some(format!("bank{}.{}", i / 512, i % 512)),
                online: true,
                blocked: false,
                active: id,
                used: Vec::new(),
                cancels: Vec::new(),
                last_activation: id,
                mcc_mnc: Some(format!("250{:02}", [1, 2, 20, 99][i % 4])),
                rent: false,
                bank: Default::default(),
                online_since: Some(now),
            };
            pipe.hset(
                "simrelay:sims",
                number.get(),
                serde_json::to_string(&sim).expect("json"),
            )
            .ignore();
            if let Some(id) = id {
                let a = ActivationRecord {
                    id,
                    number,
                    service: vk.clone(),
                    country: country.clone(),
                    operator: sim.operator.clone(),
                    sum: 10.0,
                    created_at: now,
                    expires_at: Some(now + TimeDelta::minutes(15)),
                    state: ActivationState::Active,
                    finish_status: None,
                    finish_sum: None,
                    finished_at: None,
                    expired_at: None,
                };
                pipe.hset(
                    "simrelay:activations",
                    id.get(),
                    serde_json::to_string(&a).expect("json"),
                )
                .ignore();
            }
        }
        pipe.query::<()>(&mut conn).expect("fill");
    }
    redis::cmd("SET")
        .arg("simrelay:activation_seq")
        .arg(active)
        .query::<()>(&mut conn)
        .expect("seq");
    println!(
        "filled Redis with {sims} SIMs and {active} active activations in {:.1?}",
        fill.elapsed()
    );

    tracing_subscriber::fmt().with_env_filter("info").init();
    let rss_before = rss_mib();
    let system = actix_rt::System::new();
    let (elapsed, engine) = system.block_on(async {
        let store =
            Arc::new(RedisStore::new(&url, "simrelay", Duration::from_secs(30)).expect("store"));
        let settings = EngineSettings {
            offered: ["vk", "ok", "wa", "tg"]
                .iter()
                .map(|s| ServiceName::parse(s).expect("name"))
                .collect(),
            ..EngineSettings::default()
        };
        let started = Instant::now();
        let engine = Engine::start(store, Arc::new(SystemClock), settings, Vec::new())
            .await
            .expect("recovery");
        (started.elapsed(), engine)
    });
    println!(
        "recovery: {} SIMs, {} active activations ready in {:.2?} (target ≤ 10 s); armed expiries {}; RSS {:.0} MiB -> {:.0} MiB",
        engine.sim_count(),
        engine.active_activations(),
        elapsed,
        engine.armed_expiries(),
        rss_before,
        rss_mib()
    );
    let _ = redis.kill();
    let _ = redis.wait();
}
