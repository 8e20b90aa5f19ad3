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
use simrelay_actors::store::{Change, Snapshot, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// Batches waiting for the writer; callers wait (back-pressure) when it is full.
const QUEUE: usize = 4096;
/// Most batches in one MULTI/EXEC.
const MAX_GROUP: usize = 512;
/// Fields per HSCAN round trip during recovery.
const SCAN_COUNT: usize = 10_000;
/// How often the store checks that Redis answers.
const PING_EVERY: Duration = Duration::from_secs(1);

struct Keys {
    sims: String,
    activations: String,
    sms: String,
    meta: String,
    activation_seq: String,
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
}

/// See the module documentation.
pub struct RedisStore {
    inner: Arc<Inner>,
    jobs: mpsc::Sender<Job>,
}

impl RedisStore {
    /// Prepares the store (no connection yet: Redis may be down at start) and spawns its
    /// writer and health tasks on the current runtime.
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> anyhow::Result<RedisStore> {
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
            },
            timeout,
            up: AtomicBool::new(false),
            down_reason: Mutex::new(Some("not connected yet".into())),
        });
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(write_loop(Arc::clone(&inner), queue));
        tokio::spawn(watch_health(Arc::downgrade(&inner)));
        Ok(RedisStore { inner, jobs })
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

    /// Runs one Redis future under the store's timeout, keeping the up/down state.
    async fn run<T>(
        &self,
        fut: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(Ok(value)) => {
                self.succeeded();
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
        if self.up.swap(false, Ordering::AcqRel) {
            tracing::error!(%reason, "Redis store is down");
        }
        *self.down_reason.lock() = Some(reason.clone());
        StoreError(reason)
    }

    async fn write(&self, jobs: &[Job]) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for job in jobs {
            for change in &job.batch {
                let encoded = match change {
                    Change::Sim(sim) => serde_json::to_string(sim)
                        .map(|json| (&self.keys.sims, sim.number.get(), json)),
                    Change::Activation(a) => serde_json::to_string(a)
                        .map(|json| (&self.keys.activations, a.id.get(), json)),
                    Change::Sms(sms) => {
                        serde_json::to_string(sms).map(|json| (&self.keys.sms, sms.id.0, json))
                    }
                    Change::Meta { key, value } => {
                        pipe.hset(&self.keys.meta, key, value).ignore();
                        continue;
                    }
                }
                .map_err(|e| StoreError(format!("cannot encode a record: {e}")))?;
                pipe.hset(encoded.0, encoded.1, encoded.2).ignore();
            }
        }
        let mut conn = self.connection().await?;
        self.run(pipe.query_async::<()>(&mut conn)).await
    }

    /// Every field and value of a small hash.
    async fn scan_raw(&self, key: &str) -> Result<Vec<(String, String)>, StoreError> {
        let mut conn = self.connection().await?;
        let mut cmd = redis::cmd("HGETALL");
        cmd.arg(key);
        self.run(cmd.query_async(&mut conn)).await
    }

    async fn scan<T: DeserializeOwned>(&self, key: &str) -> Result<Vec<T>, StoreError> {
        let mut conn = self.connection().await?;
        let mut out = Vec::new();
        let mut cursor = String::from("0");
        let mut corrupt = 0usize;
        let mut next_report = 100_000;
        loop {
            let mut cmd = redis::cmd("HSCAN");
            cmd.arg(key).arg(&cursor).arg("COUNT").arg(SCAN_COUNT);
            let (next, flat): (String, Vec<String>) = self.run(cmd.query_async(&mut conn)).await?;
            for pair in flat.chunks(2) {
                match pair.get(1).map(|v| serde_json::from_str::<T>(v)) {
                    Some(Ok(record)) => out.push(record),
                    _ => {
                        corrupt += 1;
                        tracing::error!(key, field = ?pair.first(), "unreadable record in Redis; skipped");
                    }
                }
            }
            if out.len() >= next_report {
                tracing::info!(key, loaded = out.len(), "loading from Redis");
                next_report += 100_000;
            }
            if next == "0" {
                break;
            }
            cursor = next;
        }
        if corrupt > 0 {
            tracing::error!(key, corrupt, "records skipped during recovery");
        }
        Ok(out)
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

async fn watch_health(inner: std::sync::Weak<Inner>) {
    loop {
        tokio::time::sleep(PING_EVERY).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        if let Ok(mut conn) = inner.connection().await {
            let _ = inner
                .run(redis::cmd("PING").query_async::<String>(&mut conn))
                .await;
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
            Ok(Snapshot {
                sims: inner.scan(&inner.keys.sims).await?,
                activations: inner.scan(&inner.keys.activations).await?,
                sms: inner.scan(&inner.keys.sms).await?,
                meta: inner.scan_raw(&inner.keys.meta).await?,
            })
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
            let mut cmd = redis::cmd("HGET");
            cmd.arg(&inner.keys.activations).arg(id.get());
            let json: Option<String> = inner.run(cmd.query_async(&mut conn)).await?;
            json.map(|j| serde_json::from_str(&j))
                .transpose()
                .map_err(|e| StoreError(format!("unreadable activation {id} in Redis: {e}")))
        })
    }

    fn allocate_ids(&self, count: u64) -> BoxFuture<'static, Result<Range<u64>, StoreError>> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            let mut conn = inner.connection().await?;
            let mut cmd = redis::cmd("INCRBY");
            cmd.arg(&inner.keys.activation_seq).arg(count);
            let end: u64 = inner.run(cmd.query_async(&mut conn)).await?;
            Ok(end.saturating_sub(count) + 1..end + 1)
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
