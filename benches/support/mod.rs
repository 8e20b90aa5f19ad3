//! What the HTTP benches share: knobs from the environment and a private redis-server.
//! Included by `load.rs` and `bank_put.rs` with `#[path]`; not a bench of its own.

use std::net::TcpListener;
use std::time::{Duration, Instant};

/// Any error, for a bench's `main`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A knob from the environment, or its default.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// A private redis-server on a free port, AOF with `appendfsync always` in a temp dir (what
/// config/redis.conf recommends), killed when dropped.
pub struct RedisServer {
    child: std::process::Child,
    /// `redis://127.0.0.1:<port>/0`.
    pub url: String,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts it and waits until it answers.
    pub fn start() -> Result<RedisServer, BoxError> {
        let dir = tempfile::tempdir()?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()?;
        let server = RedisServer {
            child,
            url: format!("redis://127.0.0.1:{port}/0"),
            _dir: dir,
        };
        let started = Instant::now();
        while server.flush_all().is_err() {
            if started.elapsed() > Duration::from_secs(10) {
                return Err("redis-server did not start".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    /// The server's process id.
    #[allow(dead_code)] // not every bench reads it
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Empties the server.
    pub fn flush_all(&self) -> redis::RedisResult<()> {
        let mut conn = redis::Client::open(self.url.as_str())?.get_connection()?;
        redis::cmd("FLUSHALL").query(&mut conn)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
