//! Recovery bench: how long simrelay takes from start to ready when Redis holds 1 M SIMs,
//! 100 k active activations and 10 M archived activations, and how long a standby takes over.
//! Starts a private redis-server on a free port (temp dir, no persistence), fills it with
//! records in simrelay's own format, then, each in a fresh process (this bench re-executed as a
//! "holder" child, so its peak memory is recovery's own):
//!
//! 1. baseline: `Engine::start` on the Redis store before the archive is filled;
//! 2. the archive is filled: `ARCHIVED` closed activations in `simrelay:archive:activations:N`
//!    (`N` = id / 1024, field = id, the JSON the store writes, a TTL on each hash as the store
//!    sets it), with Redis's `used_memory` before and after (memory per archived activation);
//! 3. recovery again, on the full data set (the archive must not slow it: recovery never reads
//!    it);
//! 4. takeover: that holder keeps its lease (`RECOVERY_LEASE_MS`, 2 s) while a standby in this
//!    process waits for it; the holder is SIGKILLed; the standby's time to take the lease (the
//!    lapse) and to recover are reported separately.
//!
//! Around every recovery it also prints what Redis ran meanwhile (`INFO commandstats`: the
//! archive is never read), the CPU of the recovering process and of redis-server, and how long
//! the lease key went missing while the holder recovered (a lease shorter than recovery's
//! longest blocking step lapses).
//!
//! `cargo bench --bench recovery`. Env: `SIMS` (1 000 000), `ACTIVE` (100 000), `ARCHIVED`
//! (10 000 000), `RECOVERY_LEASE_MS` (2000), `RECOVERY_REPEAT` (2), `TAKEOVER` (1; 0 skips step
//! 4), `RECOVERY_COMPARE` (another build of this bench: its recovery on the same data, first in
//! each round of step 3), `RECOVERY_WRAP` (a profiler command the holders run under, e.g.
//! `perf record -g -o /tmp/recovery.perf`; the holders then exit when ready), `RECOVERY_LOG`
//! (show the holders' logs).

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use simrelay::store::RedisStore;

#[path = "../tests/kit/redis.rs"]
mod private_redis;
use simrelay_actors::domain::{
    ActivationId, ActivationRecord, ActivationState, CountryName, FinishStatus, Msisdn,
    OperatorName, PlatformName, ServiceName,
};
use simrelay_actors::store::{Role, SimRecord, Store};
use simrelay_actors::{Engine, EngineSettings, SystemClock};

const PREFIX: &str = "simrelay";
/// Archived ids per archive hash (the store's `ARCHIVE_SPAN`).
const ARCHIVE_SPAN: usize = 1024;
/// The store's default archive TTL (90 days), set on every archive hash as the store does.
const ARCHIVE_TTL_MS: u64 = 90 * 24 * 3600 * 1000;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A `Vm…` line of `/proc/self/status`, in MiB.
fn status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// CPU seconds in user mode and in the kernel, and minor page faults, of process `pid`
/// (`self` for this one).
fn cpu_secs(pid: &str) -> (f64, f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which ends with ')'), from 0: state, ppid, pgrp, session,
    // tty_nr, tpgid, flags, minflt (7), cminflt, majflt, cmajflt, utime (11), stime (12).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (n(11) / 100.0, n(12) / 100.0, n(7))
}

/// The machine's steal and total jiffies (`/proc/stat`), to see whether the host took CPU.
fn steal_jiffies() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    (f.get(7).copied().unwrap_or(0), f.iter().take(8).sum())
}

fn settings() -> EngineSettings {
    EngineSettings {
        offered: ["vk", "ok", "wa", "tg"]
            .iter()
            .map(|s| ServiceName::parse(s).expect("name"))
            .collect(),
        ..EngineSettings::default()
    }
}

fn lease() -> Duration {
    Duration::from_millis(env_or("RECOVERY_LEASE_MS", 2000) as u64)
}

/// The child: takes the lease, recovers, prints `READY <lease s> <recovery s> <SIMs> <active>
/// <VmHWM MiB> <VmRSS MiB>` on stdout, then holds the lease until killed.
fn holder(url: &str) {
    tracing_subscriber::fmt()
        .with_env_filter("info")
        .with_writer(std::io::stderr)
        .init();
    let system = actix_rt::System::new();
    system.block_on(async {
        let started = Instant::now();
        let store = Arc::new(
            RedisStore::with_lease(url, PREFIX, Duration::from_secs(30), lease()).expect("store"),
        );
        store.until_leader().await;
        let leased = started.elapsed();
        let started = Instant::now();
        let engine = Engine::start(store, Arc::new(SystemClock), settings(), Vec::new())
            .await
            .expect("recovery");
        let recovered = started.elapsed();
        println!(
            "READY {:.3} {:.3} {} {} {:.0} {:.0} {:.2} {:.2} {:.0}",
            leased.as_secs_f64(),
            recovered.as_secs_f64(),
            engine.sim_count(),
            engine.active_activations(),
            status_mib("VmHWM:"),
            status_mib("VmRSS:"),
            cpu_secs("self").0,
            cpu_secs("self").1,
            cpu_secs("self").2,
        );
        // Under a profiler (`RECOVERY_WRAP`) the holder exits, so the profiler writes its data;
        // otherwise it keeps the lease (the store renews it) until killed.
        if std::env::var_os("RECOVERY_PROFILED").is_some() {
            std::process::exit(0);
        }
        std::future::pending::<()>().await;
    });
}

/// Kills a holder and drops its lease (it would lapse by itself) to go on at once.
fn end_holder(child: &mut Child, conn: &mut redis::Connection) {
    let _ = child.kill();
    let _ = child.wait();
    redis::cmd("DEL")
        .arg(format!("{PREFIX}:lease"))
        .query::<()>(conn)
        .expect("DEL lease");
}

/// Starts a holder child on `url` and waits for its READY line; answers the child and the
/// recovery time it measured.
fn spawn_holder(url: &str, label: &str, redis_pid: u32) -> (Child, f64) {
    spawn_holder_of(
        std::env::current_exe().expect("own path"),
        url,
        label,
        redis_pid,
    )
}

/// [`spawn_holder`] with the holder of another build of this bench (`RECOVERY_COMPARE`).
fn spawn_holder_of(
    exe: std::path::PathBuf,
    url: &str,
    label: &str,
    redis_pid: u32,
) -> (Child, f64) {
    // Meanwhile, how long the lease key goes missing (the holder failed to renew it in time).
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let done = Arc::clone(&done);
        let client = redis::Client::open(url).expect("url");
        std::thread::spawn(move || {
            let mut conn = client.get_connection().expect("connection");
            let (mut seen, mut gap_from, mut longest, mut gaps) = (false, None, Duration::ZERO, 0);
            while !done.load(std::sync::atomic::Ordering::Acquire) {
                let held: bool = redis::cmd("EXISTS")
                    .arg(format!("{PREFIX}:lease"))
                    .query(&mut conn)
                    .expect("EXISTS");
                match (held, gap_from) {
                    (true, Some(from)) => {
                        longest = longest.max(Instant::now() - from);
                        gaps += 1;
                        gap_from = None;
                    }
                    (false, None) if seen => gap_from = Some(Instant::now()),
                    _ => {}
                }
                seen |= held;
                std::thread::sleep(Duration::from_millis(20));
            }
            (gaps, longest, gap_from.map(|from| from.elapsed()))
        })
    };
    let redis_cpu = cpu_secs(&redis_pid.to_string());
    let steal = steal_jiffies();
    // `RECOVERY_WRAP` (e.g. `perf record -g -o /tmp/recovery.perf`) runs the holder under a
    // profiler; `RECOVERY_LOG=1` shows the holder's log (recovery's own phase timings).
    let wrap = std::env::var("RECOVERY_WRAP").unwrap_or_default();
    let mut argv: Vec<std::ffi::OsString> = wrap.split_whitespace().map(Into::into).collect();
    argv.push(exe.into_os_string());
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .env("RECOVERY_ROLE", "holder")
        .env("RECOVERY_URL", url)
        .envs((!wrap.is_empty()).then_some(("RECOVERY_PROFILED", "1")))
        .stdout(Stdio::piped())
        .stderr(if std::env::var_os("RECOVERY_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .expect("holder process");
    let stdout = child.stdout.take().expect("stdout");
    let line = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find(|l| l.starts_with("READY "))
        .expect("the holder recovered");
    let f: Vec<&str> = line.split_whitespace().collect();
    let recovery: f64 = f[2].parse().expect("seconds");
    let steal_after = steal_jiffies();
    // Two lease periods more, so a lapse right after READY shows too.
    std::thread::sleep(2 * lease());
    done.store(true, std::sync::atomic::Ordering::Release);
    let (gaps, longest, open) = watcher.join().expect("lease watcher");
    println!(
        "  lease key after the holder took it, until 2 leases after READY: missing {gaps} \
         time(s), longest {:.2} s{}",
        longest.as_secs_f64(),
        open.map_or(String::new(), |d| format!(
            ", and missing at the end for {:.2} s",
            d.as_secs_f64()
        ))
    );
    let redis_after = cpu_secs(&redis_pid.to_string());
    println!(
        "  CPU meanwhile: recovering process user {} s, kernel {} s, {} minor page faults; \
         redis-server user+kernel {:.2} s; steal {:.1}% of the machine",
        f[7],
        f[8],
        f[9],
        redis_after.0 + redis_after.1 - redis_cpu.0 - redis_cpu.1,
        (steal_after.0 - steal.0) as f64 / (steal_after.1 - steal.1).max(1) as f64 * 100.0
    );
    println!(
        "recovery ({label}), fresh process: {} SIMs, {} active activations ready in {recovery:.2} s \
         (target ≤ 10 s; lease taken {} s after start); peak memory VmHWM {} MiB, RSS after {} MiB",
        f[3], f[4], f[1], f[5], f[6]
    );
    (child, recovery)
}

/// What Redis ran since the last `CONFIG RESETSTAT`: per command, calls and time inside
/// Redis (`INFO commandstats`), the lease scripts and probes included.
fn commandstats(conn: &mut redis::Connection) -> String {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(conn)
        .expect("INFO commandstats");
    info.lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let field = |k: &str| {
                rest.split(',')
                    .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('='))
                    .unwrap_or("?")
                    .to_owned()
            };
            let usec: f64 = field("usec").parse().unwrap_or(0.0);
            Some(format!(
                "{name} {} calls {:.0} ms",
                field("calls"),
                usec / 1000.0
            ))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn reset_stats(conn: &mut redis::Connection) {
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query::<()>(conn)
        .expect("RESETSTAT");
}

fn used_memory(conn: &mut redis::Connection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query(conn)
        .expect("INFO memory");
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory")
}

fn number(i: usize) -> Msisdn {
    Msisdn::parse(&format!("79{:09}", i)).expect("number")
}

/// Fills the archive with closed activations `ids`, as the store's archive script leaves them.
fn fill_archive(url: &str, ids: std::ops::Range<usize>, sims: usize) {
    let client = redis::Client::open(url).expect("url");
    let mut conn = client.get_connection().expect("connection");
    let country = CountryName::parse("russia").expect("name");
    let operators: Vec<OperatorName> = ["beeline", "megafon", "mts", "tele2"]
        .iter()
        .map(|o| OperatorName::parse(o).expect("name"))
        .collect();
    let vk = ServiceName::parse("vk").expect("name");
    let base = Utc::now() - TimeDelta::days(30);
    // Ten archive hashes per pipeline.
    let step = ARCHIVE_SPAN * 10;
    let mut start = ids.start;
    while start < ids.end {
        let end = (start - start % ARCHIVE_SPAN + step).min(ids.end);
        let mut pipe = redis::pipe();
        for id in start..end {
            let i = id % sims;
            let created_at = base + TimeDelta::milliseconds(id as i64 * 200);
            let a = ActivationRecord {
                id: ActivationId::new(id as u64).expect("id"),
                platform: PlatformName::onlinesim(),
                number: number(i),
                service: vk.clone(),
                country: country.clone(),
                operator: Some(operators[i % operators.len()].clone()),
                sum: 10.0,
                created_at,
                expires_at: Some(created_at + TimeDelta::minutes(15)),
                state: ActivationState::Finished,
                finish_status: Some(FinishStatus::Refunded),
                finish_sum: None,
                finished_at: Some(created_at + TimeDelta::minutes(2)),
                expired_at: None,
            };
            let key = format!("{PREFIX}:archive:activations:{}", id / ARCHIVE_SPAN);
            pipe.hset(&key, id, serde_json::to_string(&a).expect("json"))
                .ignore();
            if (id + 1) % ARCHIVE_SPAN == 0 || id + 1 == end {
                pipe.cmd("PEXPIRE").arg(&key).arg(ARCHIVE_TTL_MS).ignore();
            }
        }
        pipe.query::<()>(&mut conn).expect("fill archive");
        start = end;
    }
}

fn main() {
    if std::env::var("RECOVERY_ROLE").as_deref() == Ok("holder") {
        holder(&std::env::var("RECOVERY_URL").expect("RECOVERY_URL"));
        return;
    }
    let sims = env_or("SIMS", 1_000_000);
    let active = env_or("ACTIVE", 100_000).min(sims);
    let archived = env_or("ARCHIVED", 10_000_000);
    let takeover = env_or("TAKEOVER", 1) != 0;
    // Archived ids come first (they are older), then the active ones.
    let first_active = archived + 1;
    let dir = tempfile::tempdir().expect("temp dir");
    let redis = private_redis::RedisServer::start_volatile(dir.path());
    let redis_pid = redis.pid().expect("redis-server runs");
    let url = redis.url();
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
            let number = number(i);
            let id =
                (i < active).then(|| ActivationId::new((first_active + i) as u64).expect("id"));
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
                format!("{PREFIX}:sims"),
                number.get(),
                serde_json::to_string(&sim).expect("json"),
            )
            .ignore();
            if let Some(id) = id {
                let a = ActivationRecord {
                    id,
                    platform: PlatformName::onlinesim(),
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
                    format!("{PREFIX}:activations"),
                    id.get(),
                    serde_json::to_string(&a).expect("json"),
                )
                .ignore();
            }
        }
        pipe.query::<()>(&mut conn).expect("fill");
    }
    redis::cmd("SET")
        .arg(format!("{PREFIX}:activation_seq"))
        .arg(archived + active)
        .query::<()>(&mut conn)
        .expect("seq");
    println!(
        "filled Redis with {sims} SIMs and {active} active activations in {:.1?}",
        fill.elapsed()
    );

    // 1. Baseline: recovery before the archive exists, `RECOVERY_REPEAT` times.
    let repeat = env_or("RECOVERY_REPEAT", 2).max(1);
    let mut baseline_secs = f64::MAX;
    for _ in 0..repeat {
        reset_stats(&mut conn);
        let (mut baseline, secs) = spawn_holder(&url, "baseline, no archive", redis_pid);
        println!("  Redis commands meanwhile: {}", commandstats(&mut conn));
        baseline_secs = baseline_secs.min(secs);
        end_holder(&mut baseline, &mut conn);
    }

    // 2. The archive.
    let before = used_memory(&mut conn);
    let fill = Instant::now();
    // Two client threads, so that encoding overlaps Redis applying the previous pipeline.
    let half = 1 + archived / 2;
    std::thread::scope(|s| {
        s.spawn(|| fill_archive(&url, 1..half, sims));
        s.spawn(|| fill_archive(&url, half..archived + 1, sims));
    });
    let after = used_memory(&mut conn);
    let hashes: u64 = redis::cmd("DBSIZE").query(&mut conn).expect("DBSIZE");
    println!(
        "filled the archive with {archived} closed activations ({} hashes of {ARCHIVE_SPAN}) in \
         {:.1?}; Redis used_memory {:.0} MiB -> {:.0} MiB: {:.0} B per archived activation \
         ({} keys in Redis)",
        archived.div_ceil(ARCHIVE_SPAN),
        fill.elapsed(),
        before as f64 / 1048576.0,
        after as f64 / 1048576.0,
        after.saturating_sub(before) as f64 / archived.max(1) as f64,
        hashes
    );

    // 3. Recovery with the archive, `RECOVERY_REPEAT` times; the last holder stays for step 4.
    // With `RECOVERY_COMPARE` (the path of another build of this bench), each round first runs
    // that build's holder on the same data: a baseline from the same run.
    let compare = std::env::var_os("RECOVERY_COMPARE").map(std::path::PathBuf::from);
    let mut full_secs = f64::MAX;
    let mut compare_secs = f64::MAX;
    let mut holder = None;
    for round in 0..repeat {
        if let Some(exe) = &compare {
            let (mut child, secs) = spawn_holder_of(
                exe.clone(),
                &url,
                "with the archive, RECOVERY_COMPARE build",
                redis_pid,
            );
            compare_secs = compare_secs.min(secs);
            end_holder(&mut child, &mut conn);
        }
        reset_stats(&mut conn);
        let (mut child, secs) = spawn_holder(&url, "with the archive", redis_pid);
        println!("  Redis commands meanwhile: {}", commandstats(&mut conn));
        full_secs = full_secs.min(secs);
        if round + 1 < repeat {
            end_holder(&mut child, &mut conn);
        } else {
            holder = Some(child);
        }
    }
    let mut holder = holder.expect("a holder");
    println!(
        "recovery with {archived} archived / without (best of {repeat} each): {full_secs:.2} s / \
         {baseline_secs:.2} s = {:.2}",
        full_secs / baseline_secs.max(f64::MIN_POSITIVE)
    );
    if compare.is_some() {
        println!(
            "recovery with the archive, this build / RECOVERY_COMPARE build (best of {repeat} \
             each): {full_secs:.2} s / {compare_secs:.2} s = {:.2}",
            full_secs / compare_secs.max(f64::MIN_POSITIVE)
        );
    }

    // 4. Takeover by a standby.
    if takeover {
        tracing_subscriber::fmt()
            .with_env_filter("warn")
            .with_writer(std::io::stderr)
            .init();
        let system = actix_rt::System::new();
        system.block_on(async {
            let hwm_before = status_mib("VmHWM:");
            let store = Arc::new(
                RedisStore::with_lease(&url, PREFIX, Duration::from_secs(30), lease())
                    .expect("store"),
            );
            // Wait until the standby has seen the holder.
            let waiting = Instant::now();
            while !matches!(store.role(), Role::Standby(Some(_))) {
                if store.role() == Role::Leader {
                    println!(
                        "takeover: NOT MEASURED, the standby took the lease at once (the holder \
                         had let it lapse)"
                    );
                    return;
                }
                assert!(
                    waiting.elapsed() < Duration::from_secs(30),
                    "standby never saw the holder: {:?}",
                    store.role()
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            reset_stats(&mut conn);
            let killed = Instant::now();
            let _ = holder.kill();
            let _ = holder.wait();
            store.until_leader().await;
            let lapse = killed.elapsed();
            let leader = Instant::now();
            let cpu_before = cpu_secs("self");
            let engine = Engine::start(
                Arc::clone(&store) as Arc<dyn Store>,
                Arc::new(SystemClock),
                settings(),
                Vec::new(),
            )
            .await
            .expect("recovery");
            let recovery = leader.elapsed();
            let cpu_after = cpu_secs("self");
            println!(
                "takeover (lease {:?}): holder SIGKILLed -> standby holds the lease in {:.2} s \
                 (lapse: the lease's remaining time + up to a third of it until the standby's \
                 next try) -> recovered and ready ({} SIMs, {} active) {:.2} s later; total \
                 {:.2} s; standby VmHWM {:.0} MiB (before taking over {:.0} MiB)",
                lease(),
                lapse.as_secs_f64(),
                engine.sim_count(),
                engine.active_activations(),
                recovery.as_secs_f64(),
                killed.elapsed().as_secs_f64(),
                status_mib("VmHWM:"),
                hwm_before,
            );
            println!(
                "  Redis commands meanwhile: {}; CPU of the standby's recovery: user {:.2} s, \
                 kernel {:.2} s, {:.0} minor page faults",
                commandstats(&mut conn),
                cpu_after.0 - cpu_before.0,
                cpu_after.1 - cpu_before.1,
                cpu_after.2 - cpu_before.2,
            );
        });
    } else {
        let _ = holder.kill();
        let _ = holder.wait();
    }
}
