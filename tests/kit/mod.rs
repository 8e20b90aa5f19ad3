//! The test kit every integration-test binary shares (`mod kit;`): one place for what the
//! harnesses need from the outside world.

#![allow(dead_code, unused_imports)] // each test binary uses a different part

pub mod app;
pub mod fake;
pub mod http;
pub mod process;
pub mod redis;

use std::time::{Duration, Instant};

pub use self::process::Process;
pub use self::redis::{free_port, RedisServer};

/// Waits for a condition that depends on another process (start-up, reconnection, delivery);
/// fails the test after `limit`.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
