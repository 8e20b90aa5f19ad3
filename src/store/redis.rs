//! The Redis store: the system of record in production.
//!
//! Key schema (every key under `store.key_prefix`, written `P` here):
//!
//! | key | type | holds | why |
//! |---|---|---|---|
//! | `P:sims` | hash | number → SIM record (JSON) | one field per SIM: a change rewrites one field; recovery scans it in chunks |
//! | `P:activations` | hash | activation id → activation record (JSON) | FINISH must work for every id ever answered SUCCESS, so records are kept |
//! | `P:sms` | hash | SMS id → SMS record (JSON, delivery state included) | the outbox is the set of pending SMS: stored before the gateway is answered, updated per attempt |
//! | `P:meta` | hash | name → JSON value (e.g. `v2_ids`: OnlineSIM's id of each listed number) | small values that must survive restarts |
//! | `P:activation_seq` | string | last id handed out (activations and SMS) | `INCRBY` reserves id blocks atomically; never goes back, so ids are never reused |
//! | `P:archive:activations:N`, `P:archive:sms:N` | hashes with a TTL | id → record, ids `N·1024 … N·1024+1023`, closed longer than `store.archive_after` | history leaves the hot hashes (recovery never reads it) but a FINISH repeat still finds it; the hash expires `store.archive_ttl` after its last record arrived |
//! | `P:lease` | string, with a TTL | the id of the process that may write | one writer per deployment: `SET NX PX` takes it, a script renews it, every write checks it |
//! | `P:lease_epoch` | string | how many times the lease was taken | tells a holder back from an outage whether anyone else held the lease meanwhile |
//!
//! **One writer.** A process writes only while it holds the lease (`store.lease`): it takes the
//! key with `SET NX PX`, renews it every third of the lease with a script that extends it only
//! if it still holds it, and every group commit and id reservation is a script that first checks
//! that the key still names this process — so a process that lost the lease (paused, cut off,
//! slow) can never write again, whatever its memory says. A process whose renewal or write
//! finds another holder is *deposed* for good: it refuses every write and `serve` exits so its
//! supervisor restarts it as a standby. Every acquisition increments `P:lease_epoch`, so a
//! holder cut off from Redis longer than the lease can tell, when Redis answers again, whether
//! anyone took the lease meanwhile: if not, its memory is still the truth and it goes on. A
//! standby tries to take the lease every third of the lease.
//!
//! Writes are group-committed: [`Store::apply`] queues its batch (bounded queue) and one writer
//! task sends everything queued meanwhile as a single `MULTI … EXEC` pipeline, so with
//! `appendfsync always` one fsync covers many reservations. A batch is acknowledged only after
//! `EXEC` answered. Connection loss is noticed by the writer and by a once-a-second `PING`;
//! the connection manager reconnects with backoff, and the store reports itself down
//! meanwhile (readiness, zero stock, ERROR answers).

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use parking_lot::Mutex;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::de::DeserializeOwned;
use simrelay_actors::store::{Change, Role, Snapshot, Store, StoreError};
use tokio::sync::{mpsc, oneshot, watch};

/// Batches waiting for the writer; callers wait (back-pressure) when it is full.
const QUEUE: usize = 4096;
/// Most batches in one MULTI/EXEC.
const MAX_GROUP: usize = 512;
/// Fields per HSCAN round trip during recovery.
const SCAN_COUNT: usize = 10_000;
/// HSCAN replies read ahead of the thread that parses them.
const PARSE_AHEAD: usize = 4;
/// How often the store checks that Redis answers.
const PING_EVERY: Duration = Duration::from_secs(1);
/// The lease when none is configured.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10);
/// How long archived records are kept when nothing is configured.
pub const DEFAULT_ARCHIVE_TTL: Duration = Duration::from_secs(90 * 24 * 3600);
/// The error a fenced script answers when this process is not the lease holder.
const NOT_HOLDER: &str = "NOTHOLDER";

/// The fence every write script starts with: the lease `KEYS[1]` must name `ARGV[1]`. A lease
/// that lapsed while nobody took it (the epoch `KEYS[2]` is still `ARGV[2]`: Redis was away
/// longer than the lease) is taken back for `ARGV[3]` ms.
const FENCE: &str = r#"
local holder = redis.call('GET', KEYS[1])
if holder ~= ARGV[1] then
  if holder or redis.call('GET', KEYS[2]) ~= ARGV[2] then
    return redis.error_reply('NOTHOLDER the lease is held by another process')
  end
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
end
"#;

/// Group commit, fenced: applies every `HSET key field value` triple after `ARGV[3]`.
const FENCED_WRITE: &str = r#"
for i = 4, #ARGV, 3 do
  redis.call('HSET', ARGV[i], ARGV[i + 1], ARGV[i + 2])
end
return 1
"#;

/// Id reservation, fenced: `INCRBY KEYS[3] ARGV[4]`.
const FENCED_INCRBY: &str = r#"
return redis.call('INCRBY', KEYS[3], ARGV[4])
"#;

/// Archive, fenced: after `ARGV[4]` (the archive TTL in ms), each quadruple (hot hash, archive
/// hash, field, record) moves the record to the archive hash, whose TTL restarts.
const FENCED_ARCHIVE: &str = r#"
for i = 5, #ARGV, 4 do
  redis.call('HSET', ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
  redis.call('HDEL', ARGV[i], ARGV[i + 2])
  redis.call('PEXPIRE', ARGV[i + 1], ARGV[4])
end
return 1
"#;

/// Archived records per archive hash: ids `n * 1024 .. (n + 1) * 1024` share one hash (ids grow
/// with time, so a hash fills within days and expires as a whole).
const ARCHIVE_SPAN: u64 = 1024;

/// Taking the lease: `SET KEYS[1] ARGV[1] NX PX ARGV[2]`, and if it was free, one more
/// acquisition counted in `KEYS[2]` (the epoch); answers the epoch, or 0 when it is held.
const ACQUIRE: &str = r#"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return 0
"#;

/// Renewal: extends the lease `KEYS[1]` (to `ARGV[2]` ms) if it names `ARGV[1]`; takes it back
/// if it lapsed and nobody took it meanwhile (the epoch `KEYS[2]` is still ours, `ARGV[3]`:
/// Redis was away longer than the lease). Answers 1, or 0 when another process took it.
const RENEW: &str = r#"
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if not holder and redis.call('GET', KEYS[2]) == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"#;

/// Release: deletes the lease `KEYS[1]` only if it names `ARGV[1]`.
const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

struct Keys {
    sims: String,
    activations: String,
    sms: String,
    meta: String,
    activation_seq: String,
    lease: String,
    lease_epoch: String,
    prefix: String,
}

impl Keys {
    fn archived_activations(&self, id: u64) -> String {
        format!("{}:archive:activations:{}", self.prefix, id / ARCHIVE_SPAN)
    }

    fn archived_sms(&self, id: u64) -> String {
        format!("{}:archive:sms:{}", self.prefix, id / ARCHIVE_SPAN)
    }
}

/// This process's claim on the deployment's lease.
struct Lease {
    /// Who this process is: host, pid and start time, unique enough among processes.
    holder: String,
    ttl: Duration,
    /// The epoch of this process's acquisition (0 before it took the lease).
    epoch: std::sync::atomic::AtomicI64,
    role: watch::Sender<Role>,
    scripts: Scripts,
}

impl Lease {
    fn ttl_ms(&self) -> u64 {
        u64::try_from(self.ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

struct Scripts {
    archive: redis::Script,
    acquire: redis::Script,
    write: redis::Script,
    incrby: redis::Script,
    renew: redis::Script,
    release: redis::Script,
}

struct Job {
    batch: Vec<Change>,
    done: oneshot::Sender<Result<(), StoreError>>,
}

struct Inner {
    client: redis::Client,
    conn: tokio::sync::Mutex<Option<ConnectionManager>>,
    keys: Keys,
    timeout: Duration,
    up: AtomicBool,
    down_reason: Mutex<Option<String>>,
    lease: Lease,
    /// How long archived records are kept.
    archive_ttl: Duration,
    /// BENCHMARK ONLY (see [`RedisStore::unfenced_for_benchmarks`]): group commits as a plain
    /// `MULTI … EXEC` without the lease check. Always false in simrelay itself.
    bench_unfenced: AtomicBool,
}

/// See the module documentation.
pub struct RedisStore {
    inner: Arc<Inner>,
    jobs: mpsc::Sender<Job>,
}

impl RedisStore {
    /// Prepares the store (no connection yet: Redis may be down at start) and spawns its
    /// writer, health and lease tasks on the current runtime; the lease is [`DEFAULT_LEASE`].
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> anyhow::Result<RedisStore> {
        RedisStore::with_lease(url, prefix, timeout, DEFAULT_LEASE)
    }

    /// [`RedisStore::new`] with a lease of `lease`.
    pub fn with_lease(
        url: &str,
        prefix: &str,
        timeout: Duration,
        lease: Duration,
    ) -> anyhow::Result<RedisStore> {
        RedisStore::open(url, prefix, timeout, lease, DEFAULT_ARCHIVE_TTL)
    }

    /// [`RedisStore::with_lease`], archived records kept `archive_ttl`.
    pub fn open(
        url: &str,
        prefix: &str,
        timeout: Duration,
        lease: Duration,
        archive_ttl: Duration,
    ) -> anyhow::Result<RedisStore> {
        let client = redis::Client::open(url)
            .map_err(|e| anyhow::anyhow!("store.redis_url is not a valid Redis URL: {e}"))?;
        let inner = Arc::new(Inner {
            client,
            conn: tokio::sync::Mutex::new(None),
            keys: Keys {
                sims: format!("{prefix}:sims"),
                activations: format!("{prefix}:activations"),
                sms: format!("{prefix}:sms"),
                meta: format!("{prefix}:meta"),
                activation_seq: format!("{prefix}:activation_seq"),
                lease: format!("{prefix}:lease"),
                lease_epoch: format!("{prefix}:lease_epoch"),
                prefix: prefix.to_owned(),
            },
            timeout,
            up: AtomicBool::new(false),
            down_reason: Mutex::new(Some("not connected yet".into())),
            archive_ttl,
            bench_unfenced: AtomicBool::new(false),
            lease: Lease {
                holder: holder_id(),
                ttl: lease,
                epoch: std::sync::atomic::AtomicI64::new(0),
                role: watch::channel(Role::Standby(None)).0,
                scripts: Scripts {
                    archive: redis::Script::new(&format!("{FENCE}{FENCED_ARCHIVE}")),
                    acquire: redis::Script::new(ACQUIRE),
                    write: redis::Script::new(&format!("{FENCE}{FENCED_WRITE}")),
                    incrby: redis::Script::new(&format!("{FENCE}{FENCED_INCRBY}")),
                    renew: redis::Script::new(RENEW),
                    release: redis::Script::new(RELEASE),
                },
            },
        });
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(write_loop(Arc::clone(&inner), queue));
        tokio::spawn(watch_health(Arc::downgrade(&inner)));
        // The lease lives on its own thread, with its own runtime and connection: a long
        // stretch of work on the engine's thread (recovery rebuilds a million SIMs without
        // yielding) must never let it lapse.
        let lease_task = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("simrelay-lease".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(keep_lease(lease_task)),
                    Err(e) => tracing::error!(error = %e, "cannot start the lease thread"),
                }
            })
            .map_err(|e| anyhow::anyhow!("cannot start the lease thread: {e}"))?;
        Ok(RedisStore { inner, jobs })
    }

    // ---- BENCHMARK ONLY (benches/load.rs, issue 9): not used by simrelay itself. ----
    /// BENCHMARK ONLY: [`RedisStore::new`] whose group commits are a plain `MULTI … EXEC`
    /// pipeline of the same `HSET`s, without the fence script — the commit as it was before the
    /// lease — so `benches/load.rs` can measure what fencing costs. The lease is still taken
    /// and renewed (the store becomes leader and serves as usual); only the group commit skips
    /// the check. Never use it to serve: a process that lost its lease could still write.
    #[doc(hidden)]
    pub fn unfenced_for_benchmarks(
        url: &str,
        prefix: &str,
        timeout: Duration,
    ) -> anyhow::Result<RedisStore> {
        let store = RedisStore::new(url, prefix, timeout)?;
        store.inner.bench_unfenced.store(true, Ordering::Release);
        Ok(store)
    }

    /// This process's id in the lease.
    pub fn holder(&self) -> &str {
        &self.inner.lease.holder
    }

    /// Reads Redis's persistence settings and says loudly when acknowledged writes could be
    /// lost in a crash. Answers the settings found, for the log.
    pub async fn check_persistence(&self) -> Result<String, StoreError> {
        let mut conn = self.inner.connection().await?;
        let get = |name: &'static str| {
            let mut cmd = redis::cmd("CONFIG");
            cmd.arg("GET").arg(name);
            cmd
        };
        let appendonly: Vec<String> = self
            .inner
            .run(get("appendonly").query_async(&mut conn))
            .await?;
        let fsync: Vec<String> = self
            .inner
            .run(get("appendfsync").query_async(&mut conn))
            .await?;
        let appendonly = appendonly.get(1).cloned().unwrap_or_default();
        let fsync = fsync.get(1).cloned().unwrap_or_default();
        if appendonly != "yes" {
            tracing::warn!(
                "Redis has appendonly={appendonly}: a Redis crash loses acknowledged activations; \
                set `appendonly yes` and `appendfsync always` (see config/redis.conf)"
            );
        } else if fsync != "always" {
            tracing::warn!(
                "Redis has appendfsync={fsync}: a machine crash may lose up to a second of \
                acknowledged activations; `appendfsync always` loses none"
            );
        }
        Ok(format!("appendonly={appendonly} appendfsync={fsync}"))
    }
}

impl Inner {
    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        let mut slot = self.conn.lock().await;
        if let Some(conn) = slot.as_ref() {
            return Ok(conn.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(self.timeout)
            .set_response_timeout(self.timeout)
            .set_number_of_retries(2)
            .set_max_delay(2_000);
        let conn = tokio::time::timeout(
            self.timeout,
            ConnectionManager::new_with_config(self.client.clone(), config),
        )
        .await
        .map_err(|_| self.failed("connecting to Redis timed out".into()))?
        .map_err(|e| self.failed(format!("cannot connect to Redis: {e}")))?;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Runs one Redis future under the store's timeout, keeping the up/down state. For the
    /// holder of the lease only a write says the store is up (fenced writes and the health
    /// probe, [`watch_health`]): a Redis that refuses writes (maxmemory, a replica, MISCONF)
    /// still answers reads and lease renewals, which must not bring readiness back.
    async fn run<T>(
        &self,
        fut: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(Ok(value)) => {
                if *self.lease.role.borrow() != Role::Leader {
                    self.succeeded();
                }
                Ok(value)
            }
            Ok(Err(e)) => Err(self.failed(format!("Redis error: {e}"))),
            Err(_) => Err(self.failed(format!("Redis did not answer within {:?}", self.timeout))),
        }
    }

    fn succeeded(&self) {
        if !self.up.swap(true, Ordering::AcqRel) {
            tracing::info!("Redis store is up");
        }
        *self.down_reason.lock() = None;
    }

    fn failed(&self, reason: String) -> StoreError {
        // Redis up but refusing writes says so in its error; name it plainly for /readyz.
        let refusal = if reason.contains("OOM") {
            Some("OOM, Redis reached maxmemory")
        } else if reason.contains("ReadOnly") || reason.contains("READONLY") {
            Some("READONLY, Redis is a replica")
        } else if reason.contains("MISCONF") {
            Some("MISCONF, Redis cannot persist to disk")
        } else {
            None
        };
        let reason = match refusal {
            Some(why) => format!("Redis refuses writes ({why}): {reason}"),
            None => reason,
        };
        if self.up.swap(false, Ordering::AcqRel) {
            tracing::error!(%reason, "Redis store is down");
        }
        *self.down_reason.lock() = Some(reason.clone());
        StoreError(reason)
    }

    async fn write(&self, jobs: &[Job]) -> Result<(), StoreError> {
        self.ensure_leader()?;
        if self.bench_unfenced.load(Ordering::Acquire) {
            return self.write_unfenced_for_benchmarks(jobs).await;
        }
        let mut invocation = self.lease.scripts.write.prepare_invoke();
        self.fence_args(&mut invocation);
        for job in jobs {
            for change in &job.batch {
                let (key, field, json) = self.encoded(change)?;
                invocation.arg(key).arg(field).arg(json);
            }
        }
        let mut conn = self.connection().await?;
        self.fenced(invocation.invoke_async::<i64>(&mut conn))
            .await
            .map(drop)
    }

    /// The hash, field and JSON a change writes.
    fn encoded<'a>(&'a self, change: &Change) -> Result<(&'a String, String, String), StoreError> {
        match change {
            Change::Sim(sim) => serde_json::to_string(sim)
                .map(|json| (&self.keys.sims, sim.number.get().to_string(), json)),
            Change::Activation(a) => serde_json::to_string(a)
                .map(|json| (&self.keys.activations, a.id.get().to_string(), json)),
            Change::Sms(sms) => {
                serde_json::to_string(sms).map(|json| (&self.keys.sms, sms.id.0.to_string(), json))
            }
            Change::Meta { key, value } => Ok((&self.keys.meta, key.clone(), value.clone())),
        }
        .map_err(|e| StoreError(format!("cannot encode a record: {e}")))
    }

    /// BENCHMARK ONLY ([`RedisStore::unfenced_for_benchmarks`]): [`Inner::write`] as a plain
    /// `MULTI … EXEC` pipeline of the same `HSET`s, no lease check.
    async fn write_unfenced_for_benchmarks(&self, jobs: &[Job]) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for job in jobs {
            for change in &job.batch {
                let (key, field, json) = self.encoded(change)?;
                pipe.hset(key, field, json).ignore();
            }
        }
        let mut conn = self.connection().await?;
        self.fenced(pipe.query_async::<()>(&mut conn)).await
    }

    /// The keys and arguments of [`FENCE`].
    fn fence_args(&self, invocation: &mut redis::ScriptInvocation<'_>) {
        let lease = &self.lease;
        invocation
            .key(&self.keys.lease)
            .key(&self.keys.lease_epoch)
            .arg(&lease.holder)
            .arg(lease.epoch.load(Ordering::Acquire))
            .arg(lease.ttl_ms());
    }

    /// Refuses at once when this process may not write.
    fn ensure_leader(&self) -> Result<(), StoreError> {
        match &*self.lease.role.borrow() {
            Role::Leader => Ok(()),
            Role::Standby(_) => Err(StoreError(
                "standby: this process does not hold the lease".into(),
            )),
            Role::Deposed => Err(StoreError(
                "this process lost the lease; it writes nothing".into(),
            )),
        }
    }

    /// Runs a fenced script: a "not the holder" answer deposes this process.
    async fn fenced<T>(
        &self,
        fut: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(Err(e)) if e.code() == Some(NOT_HOLDER) || e.to_string().contains(NOT_HOLDER) => {
                self.depose("a write found another holder of the lease");
                Err(StoreError(
                    "this process lost the lease; it writes nothing".into(),
                ))
            }
            Ok(Ok(value)) => {
                self.succeeded();
                Ok(value)
            }
            Ok(Err(e)) => Err(self.failed(format!("Redis error: {e}"))),
            Err(_) => Err(self.failed(format!("Redis did not answer within {:?}", self.timeout))),
        }
    }

    fn depose(&self, why: &str) {
        let was = self.lease.role.send_replace(Role::Deposed);
        if was != Role::Deposed {
            tracing::error!(holder = %self.lease.holder, why, "lost the lease: this process writes nothing from now on");
        }
    }

    /// Every field and value of a small hash.
    async fn scan_raw(&self, key: &str) -> Result<Vec<(String, String)>, StoreError> {
        let mut conn = self.connection().await?;
        let mut cmd = redis::cmd("HGETALL");
        cmd.arg(key);
        self.run(cmd.query_async(&mut conn)).await
    }

    /// Every record of a big hash. Redis is read on this task while a blocking thread parses
    /// the previous batches, so neither waits for the other.
    async fn scan<T: DeserializeOwned + Send + 'static>(
        &self,
        key: &str,
    ) -> Result<Vec<T>, StoreError> {
        let mut conn = self.connection().await?;
        let (batches, mut parse) = mpsc::channel::<Vec<String>>(PARSE_AHEAD);
        let name = key.to_owned();
        let parser = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            let mut next_report = 100_000;
            while let Some(flat) = parse.blocking_recv() {
                let mut pairs = flat.chunks_exact(2);
                for pair in &mut pairs {
                    match serde_json::from_str::<T>(&pair[1]) {
                        Ok(record) => out.push(record),
                        // Skipping it would forget what it says (an activation: its number would
                        // be sold again): recovery stops, and an operator decides.
                        Err(e) => return Err(unreadable(&name, &pair[0], &e.to_string())),
                    }
                }
                if let [field] = pairs.remainder() {
                    return Err(unreadable(&name, field, "no value"));
                }
                if out.len() >= next_report {
                    tracing::info!(key = name, loaded = out.len(), "loading from Redis");
                    next_report += 100_000;
                }
            }
            Ok(out)
        });
        let mut cursor = String::from("0");
        loop {
            let mut cmd = redis::cmd("HSCAN");
            cmd.arg(key).arg(&cursor).arg("COUNT").arg(SCAN_COUNT);
            let (next, flat): (String, Vec<String>) = self.run(cmd.query_async(&mut conn)).await?;
            if batches.send(flat).await.is_err() {
                // The parser stopped at an unreadable record: its error is the answer.
                break;
            }
            if next == "0" {
                break;
            }
            cursor = next;
        }
        drop(batches);
        parser
            .await
            .map_err(|e| StoreError(format!("the parser of {key} failed: {e}")))?
    }
}

async fn write_loop(inner: Arc<Inner>, mut queue: mpsc::Receiver<Job>) {
    while let Some(first) = queue.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let written = inner.write(&jobs).await;
        for job in jobs {
            let _ = job.done.send(written.clone());
        }
    }
}

/// Once a second: the holder of the lease probes with a fenced write that changes nothing, any
/// other process PINGs. Both notice an idle outage and drive the connection manager's
/// reconnection; the probe also notices Redis refusing writes while nothing is written (OOM at
/// `maxmemory`, READONLY as a replica, MISCONF after a failed save: each also answers PING) and
/// says when it takes writes again, and finds a lost lease (it deposes like any fenced write).
async fn watch_health(inner: std::sync::Weak<Inner>) {
    // After the fence, `SET NX` of the lease this process holds: a write command, refused
    // whenever Redis refuses writes, that modifies nothing (no AOF entry, no fsync).
    const PROBE: &str = "redis.call('SET', KEYS[1], ARGV[1], 'NX')\nreturn 1\n";
    let probe = redis::Script::new(&format!("{FENCE}{PROBE}"));
    loop {
        tokio::time::sleep(PING_EVERY).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let Ok(mut conn) = inner.connection().await else {
            continue;
        };
        let role = inner.lease.role.borrow().clone();
        match role {
            Role::Leader => {
                let mut invocation = probe.prepare_invoke();
                inner.fence_args(&mut invocation);
                let _ = inner
                    .fenced(invocation.invoke_async::<i64>(&mut conn))
                    .await;
            }
            Role::Standby(_) | Role::Deposed => {
                let _ = inner
                    .run(redis::cmd("PING").query_async::<String>(&mut conn))
                    .await;
            }
        }
    }
}

impl Store for RedisStore {
    fn apply(&self, batch: Vec<Change>) -> BoxFuture<'static, Result<(), StoreError>> {
        let jobs = self.jobs.clone();
        Box::pin(async move {
            let (done, answer) = oneshot::channel();
            jobs.send(Job { batch, done })
                .await
                .map_err(|_| StoreError("the Redis writer has stopped".into()))?;
            answer
                .await
                .map_err(|_| StoreError("the Redis writer has stopped".into()))?
        })
    }

    fn load(&self) -> BoxFuture<'static, Result<Snapshot, StoreError>> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            // The three hashes at once: Redis answers one while the others are parsed.
            let (sims, activations, sms, meta) = futures::try_join!(
                inner.scan(&inner.keys.sims),
                inner.scan(&inner.keys.activations),
                inner.scan(&inner.keys.sms),
                inner.scan_raw(&inner.keys.meta),
            )?;
            Ok(Snapshot {
                sims,
                activations,
                sms,
                meta,
            })
        })
    }

    fn sim(
        &self,
        number: simrelay_actors::domain::Msisdn,
    ) -> BoxFuture<'static, Result<Option<simrelay_actors::store::SimRecord>, StoreError>> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            let mut conn = inner.connection().await?;
            let mut cmd = redis::cmd("HGET");
            cmd.arg(&inner.keys.sims).arg(number.get());
            let json: Option<String> = inner.run(cmd.query_async(&mut conn)).await?;
            json.map(|j| serde_json::from_str(&j))
                .transpose()
                .map_err(|e| StoreError(format!("unreadable SIM {number} in Redis: {e}")))
        })
    }

    fn archive(
        &self,
        activations: Vec<simrelay_actors::domain::ActivationRecord>,
        sms: Vec<simrelay_actors::domain::SmsRecord>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            inner.ensure_leader()?;
            let encode = |e: serde_json::Error| StoreError(format!("cannot encode a record: {e}"));
            let mut invocation = inner.lease.scripts.archive.prepare_invoke();
            inner.fence_args(&mut invocation);
            invocation.arg(u64::try_from(inner.archive_ttl.as_millis()).unwrap_or(u64::MAX));
            for a in &activations {
                let id = a.id.get();
                invocation
                    .arg(&inner.keys.activations)
                    .arg(inner.keys.archived_activations(id))
                    .arg(id)
                    .arg(serde_json::to_string(a).map_err(encode)?);
            }
            for m in &sms {
                invocation
                    .arg(&inner.keys.sms)
                    .arg(inner.keys.archived_sms(m.id.0))
                    .arg(m.id.0)
                    .arg(serde_json::to_string(m).map_err(encode)?);
            }
            let mut conn = inner.connection().await?;
            inner
                .fenced(invocation.invoke_async::<i64>(&mut conn))
                .await
                .map(drop)
        })
    }

    fn activation(
        &self,
        id: simrelay_actors::domain::ActivationId,
    ) -> BoxFuture<'static, Result<Option<simrelay_actors::domain::ActivationRecord>, StoreError>>
    {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            let mut conn = inner.connection().await?;
            // Hot first (a late FINISH may have written it back), then the archive.
            let mut json = None;
            for key in [
                inner.keys.activations.clone(),
                inner.keys.archived_activations(id.get()),
            ] {
                let mut cmd = redis::cmd("HGET");
                cmd.arg(key).arg(id.get());
                json = inner
                    .run(cmd.query_async::<Option<String>>(&mut conn))
                    .await?;
                if json.is_some() {
                    break;
                }
            }
            json.map(|j| serde_json::from_str(&j))
                .transpose()
                .map_err(|e| StoreError(format!("unreadable activation {id} in Redis: {e}")))
        })
    }

    fn allocate_ids(&self, count: u64) -> BoxFuture<'static, Result<Range<u64>, StoreError>> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            inner.ensure_leader()?;
            let mut conn = inner.connection().await?;
            let mut invocation = inner.lease.scripts.incrby.prepare_invoke();
            inner.fence_args(&mut invocation);
            invocation.key(&inner.keys.activation_seq).arg(count);
            let end: u64 = inner.fenced(invocation.invoke_async(&mut conn)).await?;
            Ok(end.saturating_sub(count) + 1..end + 1)
        })
    }

    fn role(&self) -> Role {
        self.inner.lease.role.borrow().clone()
    }

    fn until_leader(&self) -> BoxFuture<'static, ()> {
        let mut role = self.inner.lease.role.subscribe();
        Box::pin(async move {
            if role.wait_for(|r| *r == Role::Leader).await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }

    fn deposed(&self) -> BoxFuture<'static, ()> {
        let mut role = self.inner.lease.role.subscribe();
        Box::pin(async move {
            if role.wait_for(|r| *r == Role::Deposed).await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }

    fn release(&self) -> BoxFuture<'static, ()> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            let held = inner.lease.role.send_replace(Role::Deposed) == Role::Leader;
            if !held {
                return;
            }
            let released = async {
                let mut conn = inner.connection().await?;
                let mut invocation = inner.lease.scripts.release.key(&inner.keys.lease);
                invocation.arg(&inner.lease.holder);
                inner.run(invocation.invoke_async::<i64>(&mut conn)).await
            };
            match released.await {
                Ok(_) => tracing::info!(holder = %inner.lease.holder, "lease released"),
                Err(e) => {
                    tracing::warn!(error = %e, "could not release the lease; it lapses by itself")
                }
            }
        })
    }

    fn down_reason(&self) -> Option<String> {
        if self.inner.up.load(Ordering::Acquire) {
            None
        } else {
            Some(
                self.inner
                    .down_reason
                    .lock()
                    .clone()
                    .unwrap_or_else(|| "Redis unavailable".into()),
            )
        }
    }
}

/// This process's id in the lease: host, pid and start time.
fn holder_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into());
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{host}:{}:{started}", std::process::id())
}

/// The lease task: a standby tries to take the lease, the holder renews it, every third of the
/// lease. The holder is deposed when a renewal finds that another process took the lease. A
/// holder that cannot reach Redis keeps trying (it cannot write meanwhile anyway): if the lease
/// lapsed and the epoch shows nobody took it since, it is still the one writer and goes on.
async fn keep_lease(inner: std::sync::Weak<Inner>) {
    let mut last_holder: Option<String> = None;
    // This thread's own connection (the shared one is driven by the engine's runtime).
    let mut own: Option<redis::aio::MultiplexedConnection> = None;
    loop {
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let conn = match own.clone() {
            Some(conn) => Ok(conn),
            None => tokio::time::timeout(
                inner.timeout,
                inner.client.get_multiplexed_async_connection(),
            )
            .await
            .map_err(|_| StoreError("connecting to Redis timed out".into()))
            .and_then(|c| c.map_err(|e| StoreError(format!("cannot connect to Redis: {e}")))),
        };
        own = conn.as_ref().ok().cloned();
        let lease = &inner.lease;
        let every = lease.ttl / 3;
        let ttl_ms = lease.ttl_ms();
        let role = lease.role.borrow().clone();
        match role {
            Role::Deposed => return,
            Role::Standby(_) => {
                let attempt = async {
                    let mut conn = conn.clone()?;
                    let mut acquire = lease.scripts.acquire.key(&inner.keys.lease);
                    acquire
                        .key(&inner.keys.lease_epoch)
                        .arg(&lease.holder)
                        .arg(ttl_ms);
                    let taken: i64 = inner.run(acquire.invoke_async(&mut conn)).await?;
                    if taken > 0 {
                        return Ok::<_, StoreError>((taken, None));
                    }
                    let mut get = redis::cmd("GET");
                    get.arg(&inner.keys.lease);
                    let holder: Option<String> = inner.run(get.query_async(&mut conn)).await?;
                    Ok((0, holder))
                };
                match attempt.await {
                    Ok((taken, _)) if taken > 0 => {
                        lease.epoch.store(taken, Ordering::Release);
                        lease.role.send_replace(Role::Leader);
                        tracing::info!(holder = %lease.holder, epoch = taken, "took the lease: this process serves");
                    }
                    Ok((_, holder)) => {
                        if holder != last_holder {
                            tracing::info!(holder = ?holder, "standby: another process holds the lease");
                            last_holder.clone_from(&holder);
                        }
                        lease.role.send_replace(Role::Standby(holder));
                    }
                    Err(e) => {
                        own = None;
                        tracing::debug!(error = %e, "cannot reach Redis for the lease");
                    }
                }
            }
            Role::Leader => {
                let attempt = async {
                    let mut conn = conn.clone()?;
                    let mut renew = lease.scripts.renew.key(&inner.keys.lease);
                    renew
                        .key(&inner.keys.lease_epoch)
                        .arg(&lease.holder)
                        .arg(ttl_ms)
                        .arg(lease.epoch.load(Ordering::Acquire));
                    let kept: i64 = inner.run(renew.invoke_async(&mut conn)).await?;
                    Ok::<_, StoreError>(kept == 1)
                };
                match attempt.await {
                    Ok(true) => {}
                    Ok(false) => {
                        inner.depose("another process took the lease");
                        return;
                    }
                    Err(e) => {
                        own = None;
                        tracing::warn!(error = %e, "could not renew the lease; retrying");
                    }
                }
            }
        }
        drop(inner);
        tokio::time::sleep(every).await;
    }
}

/// The error of a record recovery cannot read: names it and says what to do.
fn unreadable(key: &str, field: &str, why: &str) -> StoreError {
    let message = format!(
        "unreadable record in Redis: key {key} field {field}: {why}. Nothing is served until it \
         is dealt with: repair it, or set it aside with `simrelay quarantine {key} {field}` (its \
         number is then blocked: never issued until you unblock it)"
    );
    tracing::error!("{message}");
    StoreError(message)
}
