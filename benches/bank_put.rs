//! Big-bank bench: `PUT /gateway/banks/{bank}/sims` with 100 000 SIMs, through the real HTTP
//! stack, on the in-memory and the Redis store, against a JSON-only baseline in the same run.
//!
//! Targets ("SIM banks in the field", item 5): a PUT of 100 000 new SIMs is applied in ≤ 2 s,
//! a repeated identical PUT in ≤ 0.5 s (this 2-core machine).
//!
//! Each round starts a fresh simrelay (`Application::build_with_store`, 1 HTTP worker, its own
//! thread and actix System, no configured SIMs, no log subscriber, `gateway.bank_ttl` off so no
//! background silencing runs) per store, and the bench's single client thread (reqwest on a
//! current-thread tokio runtime, one warmed keep-alive connection) sends it, timed from send to
//! the whole answer read:
//!
//! 1. `first`: the list of 100 000 new SIMs (`79280000000 + i`, port `big.{i}`), bank `big`;
//! 2. `repeat`: the identical list again (nothing changes);
//! 3. `change`: the list with its first 1 000 SIMs replaced by 1 000 new ones (1 000 added,
//!    1 000 offline).
//!
//! Stores: the MemoryStore, and the Redis store (`RedisStore::new`, default command timeout) on
//! a private redis-server started here (`appendonly yes`, `appendfsync always`, `save ""`, AOF
//! in a temp dir, `FLUSHALL` before each round; `BANK_REDIS=0` skips it). The baseline is a
//! tiny actix-web server in this process with the same middleware as simrelay (`Compress`,
//! `TracingLogger`) and 1 worker that reads the same 100 000-SIM body with simrelay's own body
//! reader and parses it into a `serde_json::Value` object (`simrelay::body::read` +
//! `json_object`, the first step of every gateway request), then answers 200: what HTTP + JSON
//! cost before simrelay does anything of its own. Bodies are plain JSON (no gzip), built before
//! the clock starts. Every answer is checked (`bank`, `online`, `added`, `removed`).
//!
//! Per request it also reads CPU time (`/proc/.../task/*/schedstat`) of simrelay's HTTP worker,
//! its engine thread (the System thread its actors run on) and the redis-server, to show where
//! the time goes, and how busy the machine was meanwhile (`/proc/stat`: other processes). A
//! stopped simrelay's threads are waited for before the next request, so its teardown is not
//! measured. Prints min / median / max per phase and a verdict against the targets.
//!
//! Run with `cargo bench --bench bank_put`. Knobs (environment): `BANK_SIMS` (100000),
//! `BANK_CHANGED` (1000), `BANK_ROUNDS` (5), `BANK_REDIS` (1).

#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::middleware::Compress;
use actix_web::web::{self, Bytes};
use actix_web::{App, HttpResponse, HttpServer};
use reqwest::Method;
use serde_json::{json, Value};
use simrelay::config::{RawSettings, Secret};
use simrelay::error::ApiError;
use simrelay::startup::Application;
use simrelay::store::{MemoryStore, RedisStore};
use simrelay_actors::SystemClock;
use support::{env_or, BoxError, RedisServer};
use tracing_actix_web::TracingLogger;

const TOKEN: &str = "bank-put-bench-token";
const BANK: &str = "big";
const FIRST: u64 = 79_280_000_000;
const BASELINE_PATH: &str = "/baseline";
/// simrelay's System thread: its engine's actors run here.
const ENGINE_THREAD: &str = "simrelay-engine";
const BASELINE_THREAD: &str = "baseline-main";
/// Targets, in ms.
const FIRST_TARGET_MS: f64 = 2000.0;
const REPEAT_TARGET_MS: f64 = 500.0;

/// The bench's knobs.
#[derive(Debug, Clone, Copy)]
struct Config {
    sims: usize,
    changed: usize,
    rounds: usize,
    redis: bool,
}

impl Config {
    fn from_env() -> Config {
        let sims = env_or("BANK_SIMS", 100_000usize).max(1);
        Config {
            sims,
            changed: env_or("BANK_CHANGED", 1_000usize).min(sims),
            rounds: env_or("BANK_ROUNDS", 5usize).max(1),
            redis: env_or("BANK_REDIS", 1u8) != 0,
        }
    }
}

/// A simrelay on its own thread and actix System; stopped (listeners closed, engine dropped)
/// when dropped, and only then: dropping waits until every thread it started has ended, so that
/// its teardown (freeing 100 000 SIMs) does not run during the next measurement.
struct Simrelay {
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Ids of the threads that appeared while it started (its System thread, HTTP worker,
    /// acceptor).
    threads: Vec<u32>,
}

impl Simrelay {
    /// Starts a fresh simrelay with no SIMs, on the Redis store when `redis_url` is given.
    fn start(redis_url: Option<String>, round: usize) -> Result<Simrelay, BoxError> {
        let threads_before = threads_cpu(std::process::id());
        let mut settings = RawSettings::default();
        settings.server.listen = "127.0.0.1:0".parse()?;
        settings.server.workers = 1;
        settings.gateway.token = Secret::new(TOKEN);
        settings.gateway.bank_ttl = None;
        settings.log.filter = "off".into();
        let prefix = format!("bankput{round}");
        let settings = settings.parse()?;
        let timeout = settings.store.command_timeout;
        let (tx, rx) = mpsc::channel::<u16>();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(ENGINE_THREAD.into())
            .spawn(move || {
                let system = actix_rt::System::new();
                let outcome = system.block_on(async move {
                    let store: Arc<dyn simrelay_actors::store::Store> = match &redis_url {
                        Some(url) => Arc::new(RedisStore::new(url, &prefix, timeout)?),
                        None => Arc::new(MemoryStore::new()),
                    };
                    let app = Application::build_with_store(settings, store, Arc::new(SystemClock))
                        .await?;
                    while !app.engine().is_ready() {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    let _ = tx.send(app.port());
                    // Dropping the running app closes its listeners and stops its worker.
                    tokio::select! {
                        served = app.run_until_stopped() => served?,
                        _ = stopped => {}
                    }
                    Ok::<_, anyhow::Error>(())
                });
                if let Err(e) = outcome {
                    eprintln!("simrelay stopped: {e:#}");
                }
            })?;
        let port = rx
            .recv()
            .map_err(|_| "simrelay failed to start (see above)")?;
        let threads = threads_cpu(std::process::id())
            .into_keys()
            .filter(|tid| !threads_before.contains_key(tid))
            .collect();
        Ok(Simrelay {
            port,
            stop: Some(stop),
            thread: Some(thread),
            threads,
        })
    }
}

impl Drop for Simrelay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            let alive = threads_cpu(std::process::id());
            if !self.threads.iter().any(|tid| alive.contains_key(tid)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        eprintln!("a stopped simrelay's threads still run after 10 s");
    }
}

/// The baseline: reads the body as simrelay's gateway does and parses it into a JSON object.
async fn baseline(payload: web::Payload, limit: usize) -> Result<HttpResponse, ApiError> {
    let bytes = simrelay::body::read(payload, limit, limit).await?;
    let object = simrelay::body::json_object(&bytes)?;
    let sims = object
        .get("sims")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    Ok(HttpResponse::Ok().json(json!({ "sims": sims })))
}

/// Starts the baseline server (1 worker) on its own thread and System; answers its port.
fn start_baseline() -> Result<u16, BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let limit = RawSettings::default().gateway.max_body_bytes;
    std::thread::Builder::new()
        .name(BASELINE_THREAD.into())
        .spawn(move || {
            let system = actix_rt::System::new();
            let outcome = system.block_on(async move {
                HttpServer::new(move || {
                    App::new()
                        .wrap(Compress::default())
                        .wrap(TracingLogger::default())
                        .route(
                            BASELINE_PATH,
                            web::post().to(move |payload| baseline(payload, limit)),
                        )
                })
                .workers(1)
                .listen(listener)?
                .run()
                .await
            });
            if let Err(e) = outcome {
                eprintln!("baseline server stopped: {e}");
            }
        })?;
    Ok(port)
}

/// The PUT body listing `numbers`, each with port `big.{number - FIRST}`.
fn bank_body(numbers: impl Iterator<Item = u64>) -> Bytes {
    let sims: Vec<Value> = numbers
        .map(|n| json!({"number": n.to_string(), "port": format!("{BANK}.{}", n - FIRST)}))
        .collect();
    Bytes::from(json!({ "sims": sims }).to_string())
}

/// Busy and total jiffies of the whole machine (first line of `/proc/stat`).
fn machine_jiffies() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle), total)
}

/// User + system jiffies a process has used, its finished threads included.
fn process_jiffies(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the `(comm)`: state is the first, utime the 12th, stime the 13th.
    let after_comm = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    after_comm
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum()
}

/// CPU time (ns) so far of every thread of a process, by thread id, with the thread's name.
fn threads_cpu(pid: u32) -> HashMap<u32, (String, u64)> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return HashMap::new();
    };
    tasks
        .flatten()
        .filter_map(|task| {
            let tid = task.file_name().to_str()?.parse::<u32>().ok()?;
            let path = task.path();
            let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
            let ns = std::fs::read_to_string(path.join("schedstat"))
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                .unwrap_or(0);
            Some((tid, (comm.trim().to_owned(), ns)))
        })
        .collect()
}

/// A snapshot of the CPU time of this process's threads and of the redis-server's.
struct CpuSnapshot {
    ours: HashMap<u32, (String, u64)>,
    redis: HashMap<u32, (String, u64)>,
}

impl CpuSnapshot {
    fn now(redis_pid: Option<u32>) -> CpuSnapshot {
        CpuSnapshot {
            ours: threads_cpu(std::process::id()),
            redis: redis_pid.map(threads_cpu).unwrap_or_default(),
        }
    }

    /// CPU used since `before`, per role, by threads alive now (threads of a simrelay stopped
    /// meanwhile do not count).
    fn since(&self, before: &CpuSnapshot) -> Cpu {
        let used = |now: &HashMap<u32, (String, u64)>,
                    was: &HashMap<u32, (String, u64)>,
                    role: &dyn Fn(&str) -> bool| {
            now.iter()
                .filter(|(_, (name, _))| role(name))
                .map(|(tid, (_, ns))| ns.saturating_sub(was.get(tid).map_or(0, |(_, n)| *n)))
                .sum()
        };
        Cpu {
            worker: used(&self.ours, &before.ours, &|name| {
                name.starts_with("actix-rt|system")
            }),
            engine: used(&self.ours, &before.ours, &|name| name == ENGINE_THREAD),
            redis: used(&self.redis, &before.redis, &|_| true),
        }
    }
}

/// CPU time (ns) used by simrelay's HTTP worker, its engine thread and the redis-server.
#[derive(Debug, Clone, Copy, Default)]
struct Cpu {
    worker: u64,
    engine: u64,
    redis: u64,
}

/// One timed request: wall time from send to the whole answer, CPU used meanwhile.
struct Sample {
    wall: Duration,
    cpu: Cpu,
}

/// Sends one request and reads the whole answer; it must be 200 with a JSON body.
async fn timed(
    client: &reqwest::Client,
    method: Method,
    url: &str,
    body: &Bytes,
    redis_pid: Option<u32>,
) -> Result<(Sample, Value), BoxError> {
    let request = client
        .request(method, url)
        .bearer_auth(TOKEN)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.clone());
    let cpu_before = CpuSnapshot::now(redis_pid);
    let started = Instant::now();
    let response = request.send().await?;
    let status = response.status();
    let text = response.text().await?;
    let wall = started.elapsed();
    let cpu = CpuSnapshot::now(redis_pid).since(&cpu_before);
    if status != reqwest::StatusCode::OK {
        return Err(format!("{url}: HTTP {status}: {text}").into());
    }
    Ok((Sample { wall, cpu }, serde_json::from_str(&text)?))
}

/// The phases of the table, in print order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Baseline,
    First,
    Repeat,
    Change,
}

impl Phase {
    fn label(self, cfg: Config) -> String {
        match self {
            Phase::Baseline => format!("POST {} SIMs, parse only", cfg.sims),
            Phase::First => format!("first PUT, {} new", cfg.sims),
            Phase::Repeat => "repeated identical PUT".into(),
            Phase::Change => format!("PUT, {} replaced", cfg.changed),
        }
    }
}

/// Every sample of one (target, phase).
struct Row {
    target: &'static str,
    phase: Phase,
    samples: Vec<Sample>,
}

impl Row {
    /// Sorted wall times in ms.
    fn walls_ms(&self) -> Vec<f64> {
        let mut ms: Vec<f64> = self
            .samples
            .iter()
            .map(|s| s.wall.as_secs_f64() * 1000.0)
            .collect();
        ms.sort_by(f64::total_cmp);
        ms
    }

    fn median_ms(&self) -> f64 {
        median(&self.walls_ms())
    }

    /// Median CPU in ms of one role.
    fn cpu_ms(&self, role: fn(&Cpu) -> u64) -> f64 {
        let mut ms: Vec<f64> = self
            .samples
            .iter()
            .map(|s| role(&s.cpu) as f64 / 1e6)
            .collect();
        ms.sort_by(f64::total_cmp);
        median(&ms)
    }
}

fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The answer simrelay must give.
fn check_answer(
    answer: &Value,
    online: usize,
    added: usize,
    removed: usize,
) -> Result<(), BoxError> {
    let wanted = json!({"bank": BANK, "online": online, "added": added, "removed": removed});
    if *answer != wanted {
        return Err(format!("answer {answer}, expected {wanted}").into());
    }
    Ok(())
}

/// One round on one store: a fresh simrelay, then first, repeated and changed PUT.
async fn simrelay_round(
    client: &reqwest::Client,
    cfg: Config,
    redis: Option<&RedisServer>,
    round: usize,
    bodies: &Bodies,
) -> Result<[Sample; 3], BoxError> {
    if let Some(server) = redis {
        server.flush_all()?;
    }
    let app = Simrelay::start(redis.map(|r| r.url.clone()), round)?;
    let redis_pid = redis.map(|r| r.pid());
    let base = format!("http://127.0.0.1:{}", app.port);
    // Open the keep-alive connection before the clock runs.
    client
        .get(format!("{base}/healthz"))
        .send()
        .await?
        .error_for_status()?;
    let url = format!("{base}/gateway/banks/{BANK}/sims");
    let n = cfg.sims;
    let (first, answer) = timed(client, Method::PUT, &url, &bodies.full, redis_pid).await?;
    check_answer(&answer, n, n, 0)?;
    let (repeat, answer) = timed(client, Method::PUT, &url, &bodies.full, redis_pid).await?;
    check_answer(&answer, n, 0, 0)?;
    let (change, answer) = timed(client, Method::PUT, &url, &bodies.changed, redis_pid).await?;
    check_answer(&answer, n, cfg.changed, cfg.changed)?;
    drop(app);
    Ok([first, repeat, change])
}

/// The request bodies, built once.
struct Bodies {
    /// `FIRST .. FIRST + sims`.
    full: Bytes,
    /// The same without the first `changed`, plus `changed` numbers after the last.
    changed: Bytes,
}

fn print_table(cfg: Config, rows: &[Row]) {
    println!();
    println!(
        "{:<9} {:<28} {:>9} {:>9} {:>9}   {:>11} {:>11} {:>11}",
        "target",
        "request",
        "min ms",
        "median ms",
        "max ms",
        "worker CPU",
        "engine CPU",
        "redis CPU"
    );
    for row in rows {
        let ms = row.walls_ms();
        let redis = if row.target == "redis" {
            format!("{:.0}", row.cpu_ms(|c| c.redis))
        } else {
            "-".into()
        };
        let worker = format!("{:.0}", row.cpu_ms(|c| c.worker));
        let engine = if row.phase == Phase::Baseline {
            "-".to_owned()
        } else {
            format!("{:.0}", row.cpu_ms(|c| c.engine))
        };
        println!(
            "{:<9} {:<28} {:>9.0} {:>9.0} {:>9.0}   {worker:>11} {engine:>11} {redis:>11}",
            row.target,
            row.phase.label(cfg),
            ms[0],
            median(&ms),
            ms[ms.len() - 1],
        );
    }
    println!(
        "(wall: send → whole answer read; CPU columns: median ms of CPU per request of the \
         server's HTTP worker (the baseline's on the baseline row), simrelay's engine thread and \
         the redis-server)"
    );
}

fn verdicts(cfg: Config, rows: &[Row]) {
    for (phase, target_ms) in [
        (Phase::First, FIRST_TARGET_MS),
        (Phase::Repeat, REPEAT_TARGET_MS),
    ] {
        let what = phase.label(cfg);
        let found: Vec<String> = rows
            .iter()
            .filter(|r| r.phase == phase)
            .map(|r| {
                let ms = r.walls_ms();
                let (med, max) = (r.median_ms(), ms[ms.len() - 1]);
                let verdict = if max <= target_ms {
                    "met"
                } else if med <= target_ms {
                    "met by the median, MISSED by the max"
                } else {
                    "MISSED"
                };
                format!(
                    "{} median {med:.0} ms, max {max:.0} ms: {verdict}",
                    r.target
                )
            })
            .collect();
        println!("verdict: {what} ≤ {target_ms:.0} ms: {}", found.join("; "));
    }
}

fn main() -> Result<(), BoxError> {
    let cfg = Config::from_env();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let bodies = Bodies {
        full: bank_body(FIRST..FIRST + cfg.sims as u64),
        changed: bank_body(
            (FIRST + cfg.changed as u64..FIRST + cfg.sims as u64)
                .chain(FIRST + cfg.sims as u64..FIRST + (cfg.sims + cfg.changed) as u64),
        ),
    };
    println!(
        "bank_put: {cores} cores; {} SIMs per PUT ({:.1} MiB plain JSON), {} replaced in the \
         change; {} rounds, each on a fresh simrelay per store (1 HTTP worker + its engine \
         thread); 1 client thread, 1 keep-alive connection; no log subscriber",
        cfg.sims,
        bodies.full.len() as f64 / (1024.0 * 1024.0),
        cfg.changed,
        cfg.rounds,
    );
    let redis = if cfg.redis {
        Some(RedisServer::start()?)
    } else {
        None
    };
    let baseline_url = format!("http://127.0.0.1:{}{BASELINE_PATH}", start_baseline()?);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(1)
        .build()?;
    let mut rows = vec![Row {
        target: "baseline",
        phase: Phase::Baseline,
        samples: Vec::new(),
    }];
    let mut targets = vec!["memory"];
    if redis.is_some() {
        targets.push("redis");
    }
    for target in &targets {
        for phase in [Phase::First, Phase::Repeat, Phase::Change] {
            rows.push(Row {
                target,
                phase,
                samples: Vec::new(),
            });
        }
    }
    let redis_pid = redis.as_ref().map(|r| r.pid());
    let machine_before = machine_jiffies();
    let ours_before = process_jiffies(std::process::id());
    let redis_before = redis_pid.map_or(0, process_jiffies);
    runtime.block_on(async {
        for round in 1..=cfg.rounds {
            let (sample, answer) =
                timed(&client, Method::POST, &baseline_url, &bodies.full, None).await?;
            if answer != json!({ "sims": cfg.sims }) {
                return Err(format!("baseline answered {answer}").into());
            }
            let mut line = format!(
                "round {round}: baseline {:.0} ms",
                sample.wall.as_secs_f64() * 1000.0
            );
            rows[0].samples.push(sample);
            for (t, target) in targets.iter().enumerate() {
                let server = if *target == "redis" {
                    redis.as_ref()
                } else {
                    None
                };
                let samples = simrelay_round(&client, cfg, server, round, &bodies).await?;
                line += &format!(
                    "; {target} first {:.0} / repeat {:.0} / change {:.0} ms",
                    samples[0].wall.as_secs_f64() * 1000.0,
                    samples[1].wall.as_secs_f64() * 1000.0,
                    samples[2].wall.as_secs_f64() * 1000.0,
                );
                for (p, sample) in samples.into_iter().enumerate() {
                    rows[1 + 3 * t + p].samples.push(sample);
                }
            }
            println!("{line}");
        }
        Ok::<_, BoxError>(())
    })?;
    let machine_after = machine_jiffies();
    let cores = cores.max(1) as f64;
    let of_machine = |jiffies: u64| {
        jiffies as f64 / machine_after.1.saturating_sub(machine_before.1).max(1) as f64
            * 100.0
            * cores
    };
    let busy = of_machine(machine_after.0.saturating_sub(machine_before.0));
    let ours = of_machine(process_jiffies(std::process::id()).saturating_sub(ours_before));
    let redis_cpu = of_machine(
        redis_pid
            .map_or(0, process_jiffies)
            .saturating_sub(redis_before),
    );
    println!(
        "during the rounds the machine was busy {busy:.0}% of {:.0}%: this process {ours:.0}%, \
         redis-server {redis_cpu:.0}%, others {:.0}%",
        cores * 100.0,
        (busy - ours - redis_cpu).max(0.0)
    );
    print_table(cfg, &rows);
    verdicts(cfg, &rows);
    // The baseline's thread is left to the process exit; the redis-server is a child process
    // and must be stopped first.
    drop(redis);
    std::process::exit(0)
}
