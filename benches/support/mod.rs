//! What the HTTP benches share: knobs from the environment and a private redis-server.
//! Included by `load.rs` and `bank_put.rs` with `#[path]`; not a bench of its own.

/// Any error, for a bench's `main`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A knob from the environment, or its default.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

#[path = "../../tests/kit/redis.rs"]
mod private_redis;

/// A private redis-server on a free port (the tests' launcher), AOF with `appendfsync always`
/// in a temp dir (what config/redis.conf recommends), killed when dropped.
pub struct RedisServer {
    server: private_redis::RedisServer,
    /// `redis://127.0.0.1:<port>/0`.
    pub url: String,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts it and waits until it answers.
    pub fn start() -> Result<RedisServer, BoxError> {
        let dir = tempfile::tempdir()?;
        let server = private_redis::RedisServer::start(dir.path());
        Ok(RedisServer {
            url: server.url(),
            server,
            _dir: dir,
        })
    }

    /// The server's process id.
    #[allow(dead_code)] // not every bench reads it
    pub fn pid(&self) -> u32 {
        self.server.pid().unwrap_or(0)
    }

    /// Empties the server.
    #[allow(dead_code)] // not every bench reads it
    pub fn flush_all(&self) -> redis::RedisResult<()> {
        redis::cmd("FLUSHALL").query(&mut self.server.connection())
    }
}
