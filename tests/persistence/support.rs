//! Real processes for the persistence tests: private redis-server instances with AOF in a temp
//! dir on free ports (never the machine's shared Redis), and the real simrelay binary.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

pub use crate::kit::{eventually, free_port, Process, RedisServer as Redis};

/// The real simrelay binary serving on a Redis store (the kit's [`Process`], with this
/// harness's config and client).
pub struct Simrelay {
    process: Process,
    pub http: reqwest::Client,
}

pub const KEY: &str = "test-key";
/// The lease of every test process: a killed holder is replaced within this long.
pub const LEASE_SECS: u64 = 2;
pub const ADMIN: &str = "test-admin";

crate::wraps_process!(Simrelay);

impl Simrelay {
    /// Writes a config with `sims` numbers (russia, beeline) and starts the binary.
    pub fn start(dir: &Path, redis_url: &str, sims: usize) -> Simrelay {
        Simrelay::start_with(dir, redis_url, sims, "")
    }

    /// [`Simrelay::start`] with `extra` appended to the config (more tables).
    pub fn start_with(dir: &Path, redis_url: &str, sims: usize, extra: &str) -> Simrelay {
        let process = Process::serve(dir, |port| {
            let mut config = format!(
                "[server]\nlisten = \"127.0.0.1:{port}\"\n[store]\nredis_url = \"{redis_url}\"\nkey_prefix = \"t\"\ncommand_timeout = \"1s\"\nlease = \"{LEASE_SECS}s\"\n\
                 [onlinesim]\napi_key = \"{KEY}\"\n[admin]\ntoken = \"{ADMIN}\"\n[log]\nfilter = \"warn\"\n"
            );
            for i in 0..sims {
                config.push_str(&format!(
                    "[[sims]]\nnumber = \"7928{i:07}\"\noperator = \"beeline\"\n"
                ));
            }
            config.push_str(extra);
            config
        });
        Simrelay {
            process,
            http: reqwest::Client::new(),
        }
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
        self.post("/onlinesim/v1", body).await
    }

    /// POSTs a body to a platform's path; answers (HTTP status, JSON).
    pub async fn post(&self, path: &str, body: Value) -> reqwest::Result<(u16, Value)> {
        let r = self
            .http
            .post(self.url(path))
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
