//! A private redis-server for tests and benches: on a free port (another one when a parallel
//! test took it first), its data in a directory of the caller's, never the machine's shared
//! Redis. By default with `appendonly yes` and `appendfsync always` (what config/redis.conf
//! recommends); killed when dropped.
//!
//! Shared by every test binary (`mod kit;`) and by the benches (`#[path]`), so there is one
//! launcher to fix.

#![allow(dead_code)] // each test binary and bench uses a different part

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long redis-server may take to answer PING (loading an AOF included).
const START_LIMIT: Duration = Duration::from_secs(10);

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// See the module documentation.
pub struct RedisServer {
    /// Its port.
    pub port: u16,
    dir: PathBuf,
    persistence: Vec<String>,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one with AOF (`appendfsync always`) in `dir`.
    pub fn start(dir: &Path) -> RedisServer {
        RedisServer::start_with(dir, &["--appendonly", "yes", "--appendfsync", "always"])
    }

    /// Starts one with no persistence at all (benches that fill gigabytes).
    pub fn start_volatile(dir: &Path) -> RedisServer {
        RedisServer::start_with(dir, &["--appendonly", "no"])
    }

    /// Starts one with these persistence options (RDB snapshots are always off).
    pub fn start_with(dir: &Path, persistence: &[&str]) -> RedisServer {
        let mut server = RedisServer {
            port: 0,
            dir: dir.to_path_buf(),
            persistence: persistence.iter().map(|s| s.to_string()).collect(),
            child: None,
        };
        for _ in 0..5 {
            server.port = free_port();
            if server.try_start() {
                return server;
            }
        }
        panic!("redis-server did not start on any of five free ports");
    }

    /// `redis://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Starts it again on the same port and directory (it reloads its AOF).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "redis-server already running");
        assert!(
            self.try_start(),
            "redis-server did not start again on port {}",
            self.port
        );
    }

    /// SIGKILL: no shutdown, nothing written beyond what `appendfsync always` already did.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends a signal (`STOP`, `CONT`, …).
    pub fn signal(&self, name: &str) {
        let pid = self.pid().expect("redis-server runs");
        let status = Command::new("kill")
            .args([&format!("-{name}"), &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} {pid}");
    }

    /// A blocking connection to it.
    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection())
            .expect("a connection to the test redis-server")
    }

    /// Runs one command (`["HGET", "key", "field"]`) and answers its reply.
    pub fn cmd(&self, args: &[&str]) -> redis::Value {
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query(&mut self.connection())
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    /// Starts the process on `self.port`; false if it exited at once (the port was taken).
    fn try_start(&mut self) -> bool {
        let mut child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(&self.persistence)
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (install it with apt-get install redis-server)");
        let client = redis::Client::open(self.url()).expect("redis URL");
        let started = Instant::now();
        loop {
            // Accepting connections precedes loading the AOF: wait until it answers PING, then
            // make sure the one answering is ours (another test's redis-server may hold the
            // port).
            let pong = client
                .get_connection_with_timeout(Duration::from_secs(1))
                .and_then(|mut c| {
                    redis::cmd("PING").query::<String>(&mut c)?;
                    redis::cmd("INFO").arg("server").query::<String>(&mut c)
                });
            if let Ok(info) = pong {
                let ours = format!("process_id:{}", child.id());
                if info.lines().any(|l| l.trim() == ours) {
                    self.child = Some(child);
                    return true;
                }
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            if matches!(child.try_wait(), Ok(Some(_))) {
                return false;
            }
            if started.elapsed() > START_LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("redis-server did not answer within {START_LIMIT:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
