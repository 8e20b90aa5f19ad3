//! Real processes for the persistence tests: private redis-server instances with AOF in a temp
//! dir on free ports (never the machine's shared Redis), and the real simrelay binary.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub use crate::kit::{eventually, free_port, RedisServer as Redis};

/// The real simrelay binary serving on a Redis store.
pub struct Simrelay {
    pub port: u16,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    pub http: reqwest::Client,
}

pub const KEY: &str = "test-key";
/// The lease of every test process: a killed holder is replaced within this long.
pub const LEASE_SECS: u64 = 2;
pub const ADMIN: &str = "test-admin";

impl Simrelay {
    /// Writes a config with `sims` numbers (russia, beeline) and starts the binary.
    pub fn start(dir: &Path, redis_url: &str, sims: usize) -> Simrelay {
        let port = free_port();
        let mut config = format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\n[store]\nredis_url = \"{redis_url}\"\nkey_prefix = \"t\"\ncommand_timeout = \"1s\"\nlease = \"{LEASE_SECS}s\"\n\
             [onlinesim]\napi_key = \"{KEY}\"\n[admin]\ntoken = \"{ADMIN}\"\n[log]\nfilter = \"warn\"\n"
        );
        for i in 0..sims {
            config.push_str(&format!(
                "[[sims]]\nnumber = \"7928{:07}\"\noperator = \"beeline\"\n",
                i
            ));
        }
        let path = dir.join(format!("simrelay-{port}.toml"));
        std::fs::write(&path, config).unwrap();
        let mut s = Simrelay {
            port,
            config: path,
            log: dir.join(format!("simrelay-{port}.log")),
            child: None,
            http: reqwest::Client::new(),
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_simrelay"))
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .env_remove("RUST_LOG")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait for a graceful exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let status = child.wait().unwrap();
            assert!(
                status.success(),
                "graceful stop failed: {status}\n{}",
                self.log()
            );
        }
    }

    /// Its config file.
    pub fn config_path(&self) -> &Path {
        &self.config
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Sends a signal (`STOP`, `CONT`, `TERM`, …) to the process.
    pub fn signal(&self, name: &str) {
        if let Some(pid) = self.pid() {
            let status = Command::new("kill")
                .args([&format!("-{name}"), &pid.to_string()])
                .status()
                .expect("kill runs");
            assert!(status.success(), "kill -{name} {pid}");
        }
    }

    /// Waits up to `limit` for the process to exit by itself; its exit code, if it did.
    pub fn exited_within(&mut self, limit: Duration) -> Option<i32> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Some(status.code().unwrap_or(-1));
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Starts the same binary with the same config again.
    pub fn restart(&mut self) {
        assert!(self.child.is_none());
        self.spawn();
    }

    /// A client of this instance (clone it into load tasks).
    pub fn api(&self) -> Api {
        Api {
            port: self.port,
            http: self.http.clone(),
        }
    }
}

/// The HTTP side of a simrelay instance.
#[derive(Clone)]
pub struct Api {
    pub port: u16,
    http: reqwest::Client,
}

impl Api {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub async fn readyz(&self) -> Option<(u16, Value)> {
        let r = self.http.get(self.url("/readyz")).send().await.ok()?;
        let status = r.status().as_u16();
        Some((status, r.json().await.ok()?))
    }

    pub async fn wait_ready(&self) {
        eventually(Duration::from_secs(30), "simrelay ready", || async {
            matches!(self.readyz().await, Some((200, _)))
        })
        .await;
    }

    /// POSTs a v1 body; answers (HTTP status, JSON).
    pub async fn v1(&self, body: Value) -> reqwest::Result<(u16, Value)> {
        let r = self
            .http
            .post(self.url("/onlinesim/v1"))
            .timeout(Duration::from_secs(15))
            .json(&body)
            .send()
            .await?;
        let status = r.status().as_u16();
        Ok((status, r.json().await?))
    }

    pub async fn get_number(&self, service: &str) -> reqwest::Result<(u16, Value)> {
        self.v1(json!({"action":"GET_NUMBER","key":KEY,"country":"russia","operator":"any","service":service,"sum":10}))
            .await
    }

    pub async fn finish(&self, id: u64, status: u8) -> reqwest::Result<(u16, Value)> {
        self.v1(json!({"action":"FINISH_ACTIVATION","key":KEY,"activationId":id,"status":status}))
            .await
    }

    /// GET_SERVICES as (HTTP status, JSON).
    pub async fn stock_raw(&self) -> (u16, Value) {
        self.v1(json!({"action":"GET_SERVICES","key":KEY}))
            .await
            .unwrap()
    }

    /// The Prometheus exposition.
    pub async fn metrics(&self) -> String {
        self.http
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn stock(&self, service: &str) -> reqwest::Result<(u16, Option<u64>)> {
        let (status, body) = self.v1(json!({"action":"GET_SERVICES","key":KEY})).await?;
        let count = body["countryList"]
            .as_array()
            .and_then(|l| l.iter().find(|c| c["country"] == "russia"))
            .and_then(|c| c["operatorMap"]["any"][service].as_u64());
        Ok((status, count))
    }

    pub async fn admin(&self, path: &str) -> Value {
        self.http
            .get(self.url(path))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Active activations as (id, number).
    pub async fn active(&self) -> Vec<(u64, u64)> {
        let body = self
            .admin("/admin/activations?state=active&limit=10000")
            .await;
        body["activations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["id"].as_u64().unwrap(), a["number"].as_u64().unwrap()))
            .collect()
    }
}

impl Drop for Simrelay {
    fn drop(&mut self) {
        self.kill();
    }
}
