//! HTTP load driver: simrelay against the ceiling server, in one process, same run.
//!
//! Starts simrelay (`Application::build_with_store`, MemoryStore, N configured SIMs, no log
//! subscriber) and the ceiling server (`simrelay::startup::ceiling_server`: the same actix-web
//! stack answering a fixed GET_NUMBER reply) each on its own thread and actix System, with the
//! same number of HTTP workers. Then, one server at a time, `concurrency` tasks each holding one
//! keep-alive connection drive it for a warm-up and a measured period:
//!
//! * simrelay: gzip GET_NUMBER (russia, any, vk) → gzip FINISH_ACTIVATION status 5, repeated;
//! * simrelay on Redis (`LOAD_REDIS=0` skips it): the same, with the Redis store on a private
//!   redis-server started here (`appendonly yes`, `appendfsync always`, AOF in a temp dir);
//! * simrelay on Redis, unfenced (`LOAD_UNFENCED=0` skips it; issue 9): the same on a second
//!   private redis-server, with `RedisStore::unfenced_for_benchmarks`, whose group commit is a
//!   plain `MULTI … EXEC` of the same `HSET`s instead of the fence script. The fenced and
//!   unfenced phases alternate which goes first from round to round;
//! * ceiling: the same GET_NUMBER → FINISH cycle, each answered with the fixed reply;
//! * engine (diagnostic, `LOAD_ENGINE=0` skips it): the same cycle as direct calls on
//!   simrelay's engine from the client threads — the same cross-thread hops to the engine's
//!   actors that the HTTP workers make, without HTTP.
//!
//! Request bodies are gzip-compressed (flate2) with `Content-Encoding: gzip`; the client sends
//! `Accept-Encoding: gzip` and decodes. Every answer must be HTTP 200 with `"status":"SUCCESS"`,
//! anything else is counted as a failure by kind. GET_NUMBER latency (send → whole body read)
//! goes into an HDR histogram. Per-thread CPU time and context switches (from
//! `/proc/self/task/*`) show where the cores went: the load client, the HTTP workers, and
//! simrelay's engine thread (the System thread the engine's actors run on); `/proc/stat` shows
//! how much of the machine other processes took meanwhile.
//!
//! Run with `cargo bench --bench load`. Knobs (environment): `LOAD_CONCURRENCY` (32),
//! `LOAD_SECS` (10), `LOAD_WARMUP_SECS` (2), `LOAD_SIMS` (10000), `LOAD_WORKERS` (HTTP workers
//! per server, 1), `LOAD_CLIENT_THREADS` (1), `LOAD_ROUNDS` (1; rounds alternate which server
//! goes first and end with the median ratio), `LOAD_ENGINE` (1), `LOAD_GZIP` (1; 0 sends plain
//! JSON and no `Accept-Encoding`), `LOAD_NODELAY` (1; 0 leaves `TCP_NODELAY` off on both
//! servers, as actix-web does by default), `LOAD_SERVE` (1: start simrelay and the ceiling,
//! print their URLs and serve for `LOAD_SERVE_SECS`, 600, for an independent load generator:
//! see `benches/wrk/`).

#[path = "support/mod.rs"]
mod support;

use std::collections::{BTreeMap, HashMap};
use std::net::TcpListener;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flate2::{Compress, Compression, Crc, FlushCompress};
use hdrhistogram::Histogram;
use reqwest::Url;
use serde_json::{json, Value};
use simrelay::config::{RawSettings, Secret, SimEntry};
use simrelay::startup::{ceiling_server, Application};
use simrelay::store::MemoryStore;
use simrelay_actors::domain::{CountryName, ExclusionSet, FinishStatus, ServiceName};
use simrelay_actors::{Engine, NumberRequest, OperatorChoice, SystemClock};
use support::{env_or, BoxError, RedisServer};

const KEY: &str = "load-bench-key";
const V1_PATH: &str = "/onlinesim/v1";
const FIRST: u64 = 79_000_000_000;
const OPERATORS: [&str; 4] = ["mts", "beeline", "megafon", "tele2"];
const ENGINE_THREAD: &str = "simrelay-engine";
const CEILING_THREAD: &str = "ceiling-main";
const CLIENT_THREAD: &str = "load-client";

/// The driver's knobs.
#[derive(Debug, Clone, Copy)]
struct Config {
    concurrency: usize,
    secs: u64,
    warmup_secs: u64,
    sims: usize,
    workers: usize,
    client_threads: usize,
    rounds: usize,
    engine_phase: bool,
    /// Gzip request bodies and `Accept-Encoding: gzip` (else plain JSON both ways).
    gzip: bool,
    /// `TCP_NODELAY` on both servers' accepted connections.
    nodelay: bool,
}

impl Config {
    fn from_env() -> Config {
        Config {
            concurrency: env_or("LOAD_CONCURRENCY", 32usize).max(1),
            secs: env_or("LOAD_SECS", 10u64).max(1),
            warmup_secs: env_or("LOAD_WARMUP_SECS", 2u64),
            sims: env_or("LOAD_SIMS", 10_000usize).max(1),
            workers: env_or("LOAD_WORKERS", 1usize).max(1),
            client_threads: env_or("LOAD_CLIENT_THREADS", 1usize).max(1),
            rounds: env_or("LOAD_ROUNDS", 1usize).max(1),
            engine_phase: env_or("LOAD_ENGINE", 1u8) != 0,
            gzip: env_or("LOAD_GZIP", 1u8) != 0,
            nodelay: env_or("LOAD_NODELAY", 1u8) != 0,
        }
    }
}

/// Starts simrelay on its own thread and System (on the Redis store when `redis_url` is
/// given, with unfenced group commits when `unfenced`); answers its port and its engine.
fn start_simrelay(
    cfg: Config,
    redis_url: Option<String>,
    unfenced: bool,
) -> Result<(u16, Engine), BoxError> {
    let mut settings = RawSettings::default();
    settings.server.listen = "127.0.0.1:0".parse()?;
    settings.server.workers = cfg.workers;
    settings.server.tcp_nodelay = cfg.nodelay;
    settings.onlinesim.api_key = Secret::new(KEY);
    settings.log.filter = "off".into();
    // Built the way a config file is read, so optional fields added later take their defaults.
    settings.sims = (0..cfg.sims)
        .map(|i| {
            serde_json::from_value::<SimEntry>(json!({
                "number": FIRST + i as u64,
                "operator": OPERATORS[i % OPERATORS.len()],
                "country": "russia",
            }))
        })
        .collect::<Result<_, _>>()?;
    let settings = settings.parse()?;
    let (tx, rx) = mpsc::channel::<(u16, Engine)>();
    std::thread::Builder::new()
        .name(ENGINE_THREAD.into())
        .spawn(move || {
            let system = actix_rt::System::new();
            let outcome = system.block_on(async move {
                let store: Arc<dyn simrelay_actors::store::Store> = match &redis_url {
                    Some(url) if unfenced => {
                        Arc::new(simrelay::store::RedisStore::unfenced_for_benchmarks(
                            url,
                            "load",
                            Duration::from_secs(2),
                        )?)
                    }
                    Some(url) => Arc::new(simrelay::store::RedisStore::new(
                        url,
                        "load",
                        Duration::from_secs(2),
                    )?),
                    None => Arc::new(MemoryStore::new()),
                };
                let app =
                    Application::build_with_store(settings, store, Arc::new(SystemClock)).await?;
                while !app.engine().is_ready() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                let _ = tx.send((app.port(), app.engine().clone()));
                app.run_until_stopped().await?;
                Ok::<_, anyhow::Error>(())
            });
            if let Err(e) = outcome {
                // Either start-up failed (the receiver gets the message) or the server died.
                eprintln!("simrelay stopped: {e:#}");
            }
        })?;
    rx.recv()
        .map_err(|_| "simrelay failed to start (see above)".into())
}

/// Starts the ceiling server on its own thread and System; answers its port.
fn start_ceiling(cfg: Config) -> Result<u16, BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let (workers, nodelay) = (cfg.workers, cfg.nodelay);
    std::thread::Builder::new()
        .name(CEILING_THREAD.into())
        .spawn(move || {
            let system = actix_rt::System::new();
            let outcome = system.block_on(async move {
                ceiling_server(listener, V1_PATH, workers, nodelay)?.await
            });
            if let Err(e) = outcome {
                eprintln!("ceiling server stopped: {e}");
            }
        })?;
    Ok(port)
}

/// A gzip writer that keeps its deflate state between bodies: a fresh `GzEncoder` allocates
/// and clears a few hundred KiB per body, which would make the client, not the servers, the
/// thing measured.
struct Gzip {
    deflate: Compress,
}

impl Gzip {
    fn new() -> Gzip {
        Gzip {
            deflate: Compress::new(Compression::fast(), false),
        }
    }

    /// One gzip member (RFC 1952): header, raw deflate, CRC-32 and length.
    fn encode(&mut self, json: &Value) -> Vec<u8> {
        let data = json.to_string().into_bytes();
        let mut out = Vec::with_capacity(data.len() + 64);
        out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
        self.deflate.reset();
        let mut deflated = Vec::with_capacity(data.len() + 64);
        // Output space is ample for a body this small, so one call finishes the stream.
        let _ = self
            .deflate
            .compress_vec(&data, &mut deflated, FlushCompress::Finish);
        out.extend_from_slice(&deflated);
        let mut crc = Crc::new();
        crc.update(&data);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out
    }
}

fn get_number_body(gzip: bool) -> Vec<u8> {
    let body = json!({
        "action": "GET_NUMBER",
        "key": KEY,
        "country": "russia",
        "operator": "any",
        "service": "vk",
        "sum": 10.0,
        "exceptionPhoneSet": [],
    });
    if gzip {
        Gzip::new().encode(&body)
    } else {
        body.to_string().into_bytes()
    }
}

/// A FINISH_ACTIVATION body, gzip-compressed when `gzip` is given.
fn finish_body(gzip: Option<&mut Gzip>, id: u64) -> Vec<u8> {
    let body = json!({
        "action": "FINISH_ACTIVATION",
        "key": KEY,
        "activationId": id,
        "status": 5,
    });
    match gzip {
        Some(gzip) => gzip.encode(&body),
        None => body.to_string().into_bytes(),
    }
}

/// Which server a phase drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// simrelay over HTTP.
    Simrelay,
    /// simrelay on the Redis store over HTTP.
    SimrelayRedis,
    /// simrelay on the Redis store with unfenced group commits, over HTTP.
    SimrelayRedisUnfenced,
    /// The ceiling server over HTTP.
    Ceiling,
    /// simrelay's engine called directly from the client threads: the same cross-thread hops
    /// to the engine's actors as the HTTP workers make, without HTTP. A diagnostic, not a
    /// target.
    Engine,
}

impl Target {
    fn label(self) -> &'static str {
        match self {
            Target::Simrelay => "simrelay",
            Target::SimrelayRedis => "redis",
            Target::SimrelayRedisUnfenced => "unfenced",
            Target::Ceiling => "ceiling",
            Target::Engine => "engine",
        }
    }
}

/// What one connection (or, merged, one phase) measured.
struct Stats {
    get_number: Histogram<u64>,
    finish: Histogram<u64>,
    failures: BTreeMap<String, u64>,
}

impl Stats {
    fn new() -> Result<Stats, BoxError> {
        Ok(Stats {
            get_number: Histogram::new_with_bounds(1, 60_000_000, 3)?,
            finish: Histogram::new_with_bounds(1, 60_000_000, 3)?,
            failures: BTreeMap::new(),
        })
    }

    fn fail(&mut self, kind: String) {
        *self.failures.entry(kind).or_default() += 1;
    }

    fn merge(&mut self, other: Stats) -> Result<(), BoxError> {
        self.get_number.add(other.get_number)?;
        self.finish.add(other.finish)?;
        for (kind, n) in other.failures {
            *self.failures.entry(kind).or_default() += n;
        }
        Ok(())
    }

    fn errors(&self) -> u64 {
        self.failures.values().sum()
    }
}

/// One POST; the decoded JSON answer, or the kind of failure.
async fn post(
    client: &reqwest::Client,
    url: &Url,
    body: Vec<u8>,
    gzip: bool,
) -> Result<Value, String> {
    let mut request = client
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json");
    if gzip {
        request = request.header(reqwest::header::CONTENT_ENCODING, "gzip");
    }
    let response = request
        .body(body)
        .send()
        .await
        .map_err(|e| format!("transport: {e}"))?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| format!("body: {e}"))?;
    if !status.is_success() {
        return Err(format!("http {}", status.as_u16()));
    }
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| "not JSON".to_string())?;
    match value.get("status").and_then(Value::as_str) {
        Some("SUCCESS") => Ok(value),
        other => Err(format!("status {}", other.unwrap_or("missing"))),
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// One connection's loop until `until`.
async fn connection(
    client: reqwest::Client,
    url: Url,
    get_body: Arc<Vec<u8>>,
    until: Instant,
    gzip: bool,
) -> Result<Stats, BoxError> {
    let mut stats = Stats::new()?;
    let mut encoder = Gzip::new();
    while Instant::now() < until {
        let sent = Instant::now();
        let answer = post(&client, &url, get_body.as_ref().clone(), gzip).await;
        stats.get_number.saturating_record(micros(sent.elapsed()));
        let answer = match answer {
            Ok(a) => a,
            Err(kind) => {
                stats.fail(format!("GET_NUMBER {kind}"));
                continue;
            }
        };
        let Some(id) = answer.get("activationId").and_then(Value::as_u64) else {
            stats.fail("GET_NUMBER without activationId".into());
            continue;
        };
        let sent = Instant::now();
        let body = finish_body(gzip.then_some(&mut encoder), id);
        let finished = post(&client, &url, body, gzip).await;
        stats.finish.saturating_record(micros(sent.elapsed()));
        if let Err(kind) = finished {
            stats.fail(format!("FINISH_ACTIVATION {kind}"));
        }
    }
    Ok(stats)
}

/// One in-process "connection" to the engine until `until`.
async fn engine_connection(engine: Engine, until: Instant) -> Result<Stats, BoxError> {
    let mut stats = Stats::new()?;
    while Instant::now() < until {
        let request = NumberRequest {
            platform: simrelay_actors::domain::PlatformName::onlinesim(),
            banks: simrelay_actors::BankScope::Every,
            deadline: None,
            country: CountryName::parse("russia")?,
            operator: OperatorChoice::Any,
            service: ServiceName::parse("vk")?,
            sum: 10.0,
            exclusions: ExclusionSet::default(),
        };
        let sent = Instant::now();
        let reserved = engine.get_number(request).await;
        stats.get_number.saturating_record(micros(sent.elapsed()));
        let reservation = match reserved {
            Ok(Some(r)) => r,
            Ok(None) => {
                stats.fail("GET_NUMBER NO_NUMBERS".into());
                continue;
            }
            Err(e) => {
                stats.fail(format!("GET_NUMBER {e}"));
                continue;
            }
        };
        let sent = Instant::now();
        let finished = engine
            .finish(reservation.id, FinishStatus::Refunded, None)
            .await;
        stats.finish.saturating_record(micros(sent.elapsed()));
        if let Err(e) = finished {
            stats.fail(format!("FINISH_ACTIVATION {e}"));
        }
    }
    Ok(stats)
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

/// Per thread: its name, CPU time (ns) and context switches (voluntary + not), by thread id.
type ThreadSnapshot = HashMap<u32, (String, u64, u64)>;

/// CPU time per thread (ns), keyed by thread id, with the thread's name.
fn thread_cpu() -> ThreadSnapshot {
    let mut out = HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in tasks.flatten() {
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let path = task.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let ns = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0);
        let switches: u64 = std::fs::read_to_string(path.join("status"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("ctxt_switches:"))
            .filter_map(|l| l.split(':').nth(1)?.trim().parse::<u64>().ok())
            .sum();
        out.insert(tid, (comm.trim().to_owned(), ns, switches));
    }
    out
}

/// Per role: CPU used between two snapshots in % of one core over `wall`, and context
/// switches.
fn cpu_by_role(
    before: &ThreadSnapshot,
    after: &ThreadSnapshot,
    wall: Duration,
) -> BTreeMap<&'static str, (f64, u64)> {
    let mut out: BTreeMap<&'static str, (f64, u64)> = BTreeMap::new();
    for (tid, (name, ns, switches)) in after {
        let (was_ns, was_switches) = before.get(tid).map_or((0, 0), |(_, n, s)| (*n, *s));
        let role = if name.starts_with(CLIENT_THREAD) {
            "client"
        } else if name.starts_with("actix-rt|system") {
            "http workers"
        } else if name == ENGINE_THREAD {
            "engine thread"
        } else {
            "other"
        };
        let entry = out.entry(role).or_default();
        entry.0 += ns.saturating_sub(was_ns) as f64 / wall.as_nanos().max(1) as f64 * 100.0;
        entry.1 += switches.saturating_sub(was_switches);
    }
    out
}

/// How a phase reaches its target.
enum Driver {
    /// One keep-alive HTTP client per connection.
    Http {
        clients: Vec<reqwest::Client>,
        url: Url,
        /// Gzip both ways.
        gzip: bool,
    },
    /// Direct calls on simrelay's engine.
    Engine(Engine),
}

/// Drives one target for `secs`; merged stats and the wall time.
async fn drive(
    driver: &Driver,
    concurrency: usize,
    secs: u64,
) -> Result<(Stats, Duration), BoxError> {
    let started = Instant::now();
    let until = started + Duration::from_secs(secs);
    let tasks: Vec<_> = match driver {
        Driver::Http { clients, url, gzip } => {
            let get_body = Arc::new(get_number_body(*gzip));
            clients
                .iter()
                .map(|client| {
                    tokio::spawn(connection(
                        client.clone(),
                        url.clone(),
                        Arc::clone(&get_body),
                        until,
                        *gzip,
                    ))
                })
                .collect()
        }
        Driver::Engine(engine) => (0..concurrency)
            .map(|_| tokio::spawn(engine_connection(engine.clone(), until)))
            .collect(),
    };
    let mut total = Stats::new()?;
    for task in tasks {
        total.merge(task.await??)?;
    }
    Ok((total, started.elapsed()))
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

/// One measured phase, summarised.
struct Phase {
    get_per_sec: f64,
    http_per_sec: f64,
    p99_ms: f64,
    /// CPU time of this process (client and servers) per GET_NUMBER, in µs.
    cpu_us_per_get: f64,
}

fn http_driver(port: u16, concurrency: usize, gzip: bool) -> Result<Driver, BoxError> {
    let url = Url::parse(&format!("http://127.0.0.1:{port}{V1_PATH}"))?;
    let clients = (0..concurrency)
        .map(|_| {
            reqwest::Client::builder()
                .gzip(gzip)
                .tcp_nodelay(true)
                .pool_max_idle_per_host(1)
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Driver::Http { clients, url, gzip })
}

async fn phase(target: Target, driver: Driver, cfg: Config) -> Result<Phase, BoxError> {
    if cfg.warmup_secs > 0 {
        let (warm, _) = drive(&driver, cfg.concurrency, cfg.warmup_secs).await?;
        if warm.errors() > 0 {
            eprintln!("{} warm-up failures: {:?}", target.label(), warm.failures);
        }
    }
    let cpu_before = thread_cpu();
    let machine_before = machine_jiffies();
    let (stats, wall) = drive(&driver, cfg.concurrency, cfg.secs).await?;
    let cpu = cpu_by_role(&cpu_before, &thread_cpu(), wall);
    let machine_after = machine_jiffies();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let machine_busy = (machine_after.0.saturating_sub(machine_before.0)) as f64
        / (machine_after.1.saturating_sub(machine_before.1)).max(1) as f64
        * 100.0
        * cores;
    let ours: f64 = cpu.values().map(|(pct, _)| pct).sum();
    let secs = wall.as_secs_f64();
    let gets = stats.get_number.len();
    let finishes = stats.finish.len();
    let get_per_sec = gets as f64 / secs;
    let http_per_sec = (gets + finishes) as f64 / secs;
    let h = &stats.get_number;
    println!(
        "{:<8} GET_NUMBER {:>8.0}/s  p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  max {:.2} ms  \
         ({gets} in {secs:.1} s)",
        target.label(),
        get_per_sec,
        ms(h, 0.50),
        ms(h, 0.99),
        ms(h, 0.999),
        h.max() as f64 / 1000.0,
    );
    if finishes > 0 {
        let f = &stats.finish;
        println!(
            "{:<8} FINISH     {:>8.0}/s  p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  max {:.2} ms",
            "",
            finishes as f64 / secs,
            ms(f, 0.50),
            ms(f, 0.99),
            ms(f, 0.999),
            f.max() as f64 / 1000.0,
        );
    }
    println!(
        "{:<8} {} {:>5.0}/s  errors {}{}",
        "",
        if target == Target::Engine {
            "calls"
        } else {
            "HTTP requests"
        },
        http_per_sec,
        stats.errors(),
        if stats.failures.is_empty() {
            String::new()
        } else {
            format!(" {:?}", stats.failures)
        }
    );
    let cpu_line: Vec<String> = cpu
        .iter()
        .filter(|(_, (pct, _))| *pct >= 0.5)
        .map(|(role, (pct, switches))| {
            format!(
                "{role} {pct:.0}% ({:.1})",
                *switches as f64 / gets.max(1) as f64
            )
        })
        .collect();
    println!(
        "{:<8} CPU in % of one core (context switches per GET_NUMBER): {}",
        "",
        cpu_line.join(", ")
    );
    println!(
        "{:<8} machine busy {machine_busy:.0}% of {:.0}%, this process {ours:.0}%, others {:.0}%",
        "",
        cores * 100.0,
        (machine_busy - ours).max(0.0)
    );
    let us_per_get = |pct: f64| pct / 100.0 * secs * 1e6 / gets.max(1) as f64;
    let server: f64 = cpu
        .iter()
        .filter(|(role, _)| **role == "http workers" || **role == "engine thread")
        .map(|(_, (pct, _))| pct)
        .sum();
    let client = cpu.get("client").map_or(0.0, |(pct, _)| *pct);
    let cpu_us_per_get = us_per_get(ours);
    println!(
        "{:<8} CPU per GET_NUMBER: servers {:.0} µs, client {:.0} µs, process {cpu_us_per_get:.0} µs",
        "",
        us_per_get(server),
        us_per_get(client),
    );
    Ok(Phase {
        get_per_sec,
        http_per_sec,
        p99_ms: ms(h, 0.99),
        cpu_us_per_get,
    })
}

fn main() -> Result<(), BoxError> {
    let cfg = Config::from_env();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "load: {cores} cores; concurrency {} connections per server; {} s measured after {} s \
         warm-up; {} SIMs; {} HTTP worker(s) per server (+ simrelay's engine thread); {} client \
         thread(s); {}; TCP_NODELAY {} on both servers; no log subscriber",
        cfg.concurrency,
        cfg.secs,
        cfg.warmup_secs,
        cfg.sims,
        cfg.workers,
        cfg.client_threads,
        if cfg.gzip {
            "gzip request bodies, Accept-Encoding: gzip"
        } else {
            "plain JSON both ways"
        },
        if cfg.nodelay { "on" } else { "off" }
    );
    let (simrelay, engine) = start_simrelay(cfg, None, false)?;
    // For an independent load generator (wrk, benches/wrk/): serve both, drive nothing.
    if env_or("LOAD_SERVE", 0u8) == 1 {
        let ceiling = start_ceiling(cfg)?;
        println!("simrelay http://127.0.0.1:{simrelay}{V1_PATH}");
        println!("ceiling http://127.0.0.1:{ceiling}{V1_PATH}");
        println!("key {KEY}");
        std::thread::sleep(Duration::from_secs(env_or("LOAD_SERVE_SECS", 600u64)));
        return Ok(());
    }
    let redis = if env_or("LOAD_REDIS", 1u8) == 1 {
        let server = RedisServer::start()?;
        let (port, _) = start_simrelay(cfg, Some(server.url.clone()), false)?;
        Some((server, port))
    } else {
        None
    };
    let unfenced = if redis.is_some() && env_or("LOAD_UNFENCED", 1u8) == 1 {
        let server = RedisServer::start()?;
        let (port, _) = start_simrelay(cfg, Some(server.url.clone()), true)?;
        Some((server, port))
    } else {
        None
    };
    let ceiling = start_ceiling(cfg)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cfg.client_threads)
        .thread_name(CLIENT_THREAD)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut ratios = Vec::new();
        let mut p99s = Vec::new();
        let mut normalised_ratios = Vec::new();
        let mut fence_ratios = Vec::new();
        for round in 1..=cfg.rounds {
            if cfg.rounds > 1 {
                println!("-- round {round}");
            }
            // Alternate which server goes first, so that neither always follows the other.
            let (c, s) = if round % 2 == 1 {
                let c = phase(
                    Target::Ceiling,
                    http_driver(ceiling, cfg.concurrency, cfg.gzip)?,
                    cfg,
                )
                .await?;
                let s = phase(
                    Target::Simrelay,
                    http_driver(simrelay, cfg.concurrency, cfg.gzip)?,
                    cfg,
                )
                .await?;
                (c, s)
            } else {
                let s = phase(
                    Target::Simrelay,
                    http_driver(simrelay, cfg.concurrency, cfg.gzip)?,
                    cfg,
                )
                .await?;
                let c = phase(
                    Target::Ceiling,
                    http_driver(ceiling, cfg.concurrency, cfg.gzip)?,
                    cfg,
                )
                .await?;
                (c, s)
            };
            let ratio = s.get_per_sec / c.get_per_sec.max(f64::MIN_POSITIVE);
            let normalised = c.cpu_us_per_get / s.cpu_us_per_get.max(f64::MIN_POSITIVE);
            ratios.push(ratio);
            normalised_ratios.push(normalised);
            p99s.push(s.p99_ms);
            let http_ratio = s.http_per_sec / c.http_per_sec.max(f64::MIN_POSITIVE);
            println!(
                "ratio simrelay/ceiling: GET_NUMBER/s {ratio:.2} (target >= 0.50: {}); \
                 HTTP requests/s {http_ratio:.2}",
                if ratio >= 0.5 { "met" } else { "MISSED" }
            );
            println!(
                "CPU-normalised ratio (ceiling CPU per GET_NUMBER / simrelay CPU per GET_NUMBER, \
                 client included; what the throughput ratio would be with the machine to \
                 ourselves): {normalised:.2}"
            );
            println!(
                "simrelay GET_NUMBER p99 {:.2} ms (target <= 5 ms: {}); ceiling p99 {:.2} ms",
                s.p99_ms,
                if s.p99_ms <= 5.0 { "met" } else { "MISSED" },
                c.p99_ms
            );
            if let Some((_, port)) = &redis {
                let fenced = || async {
                    phase(
                        Target::SimrelayRedis,
                        http_driver(*port, cfg.concurrency, cfg.gzip)?,
                        cfg,
                    )
                    .await
                };
                let unfenced_phase = |port: u16| async move {
                    phase(
                        Target::SimrelayRedisUnfenced,
                        http_driver(port, cfg.concurrency, cfg.gzip)?,
                        cfg,
                    )
                    .await
                };
                // Fenced and unfenced alternate which goes first.
                let (r, u) = match &unfenced {
                    Some((_, u_port)) if round % 2 == 0 => {
                        let u = unfenced_phase(*u_port).await?;
                        (fenced().await?, Some(u))
                    }
                    Some((_, u_port)) => {
                        let r = fenced().await?;
                        (r, Some(unfenced_phase(*u_port).await?))
                    }
                    None => (fenced().await?, None),
                };
                if let Some(u) = u {
                    let ratio = r.get_per_sec / u.get_per_sec.max(f64::MIN_POSITIVE);
                    fence_ratios.push(ratio);
                    println!(
                        "ratio fenced/unfenced: GET_NUMBER/s {ratio:.2} ({:.0} vs {:.0}; target \
                         >= 0.90: {}); p99 fenced {:.2} ms, unfenced {:.2} ms",
                        r.get_per_sec,
                        u.get_per_sec,
                        if ratio >= 0.9 { "met" } else { "MISSED" },
                        r.p99_ms,
                        u.p99_ms,
                    );
                }
                let vs_memory = r.get_per_sec / s.get_per_sec.max(f64::MIN_POSITIVE);
                println!(
                    "ratio redis/in-memory: GET_NUMBER/s {vs_memory:.2} (target >= 0.60: {}); \
                     redis/ceiling {:.2}; redis p99 {:.2} ms (target <= 10 ms: {})",
                    if vs_memory >= 0.6 { "met" } else { "MISSED" },
                    r.get_per_sec / c.get_per_sec.max(f64::MIN_POSITIVE),
                    r.p99_ms,
                    if r.p99_ms <= 10.0 { "met" } else { "MISSED" },
                );
            }
            if cfg.engine_phase {
                let e = phase(Target::Engine, Driver::Engine(engine.clone()), cfg).await?;
                println!(
                    "engine without HTTP: {:.0} reserve+finish cycles/s, {:.1}x simrelay's over \
                     HTTP",
                    e.get_per_sec,
                    e.get_per_sec / s.get_per_sec.max(f64::MIN_POSITIVE)
                );
            }
        }
        if cfg.rounds > 1 && !fence_ratios.is_empty() {
            fence_ratios.sort_by(f64::total_cmp);
            println!(
                "over {} rounds: fenced/unfenced GET_NUMBER/s ratio median {:.2} (min {:.2}, max \
                 {:.2})",
                cfg.rounds,
                fence_ratios[fence_ratios.len() / 2],
                fence_ratios[0],
                fence_ratios[fence_ratios.len() - 1],
            );
        }
        if cfg.rounds > 1 {
            ratios.sort_by(f64::total_cmp);
            p99s.sort_by(f64::total_cmp);
            normalised_ratios.sort_by(f64::total_cmp);
            println!(
                "over {} rounds: GET_NUMBER/s ratio median {:.2} (min {:.2}, max {:.2}); simrelay \
                 p99 median {:.2} ms (min {:.2}, max {:.2})",
                cfg.rounds,
                ratios[ratios.len() / 2],
                ratios[0],
                ratios[ratios.len() - 1],
                p99s[p99s.len() / 2],
                p99s[0],
                p99s[p99s.len() - 1],
            );
            println!(
                "over {} rounds: CPU-normalised ratio median {:.2} (min {:.2}, max {:.2})",
                cfg.rounds,
                normalised_ratios[normalised_ratios.len() / 2],
                normalised_ratios[0],
                normalised_ratios[normalised_ratios.len() - 1],
            );
        }
        Ok::<_, BoxError>(())
    })?;
    // The servers' threads are left to the process exit; the redis-server is a child process and
    // must be stopped first.
    drop(redis);
    drop(unfenced);
    std::process::exit(0)
}
