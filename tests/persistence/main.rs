//! Redis as the system of record: every answer survives a crash of simrelay or of Redis.
//! Runs the real binary against private redis-server processes (AOF, `appendfsync always`).

#[path = "../kit/mod.rs"]
mod kit;

mod restart;
mod support;

mod crash;
mod expiry;
mod lease;
mod outage;
mod refused;
mod strict;
