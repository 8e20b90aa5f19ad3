//! `[server]`: the listeners and the HTTP limits.

use std::net::SocketAddr;

use anyhow::bail;
use serde::{Deserialize, Serialize};

/// `[server]`: where simrelay listens and how much one request may carry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Platform-facing listener (the v1 endpoint, and everything else unless
    /// `internal_listen` is set).
    pub listen: SocketAddr,
    /// When set, gateway, admin, metrics and health live only here.
    pub internal_listen: Option<SocketAddr>,
    /// HTTP worker threads per listener; 0 means one per core.
    pub workers: usize,
    /// Largest request body accepted, in bytes, as sent (compressed or not).
    pub max_body_bytes: usize,
    /// Largest body accepted after gzip decoding, in bytes (caps gzip bombs while decoding).
    pub max_decoded_bytes: usize,
    /// `TCP_NODELAY` on accepted connections: an answer written in more than one piece (a
    /// gzip-compressed body is) leaves at once instead of waiting for the client's delayed ACK.
    pub tcp_nodelay: bool,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            internal_listen: None,
            workers: 0,
            max_body_bytes: 256 * 1024,
            max_decoded_bytes: 1024 * 1024,
            tcp_nodelay: true,
        }
    }
}

impl ServerSettings {
    /// Refuses limits that would refuse every request.
    pub(super) fn check(&self) -> anyhow::Result<()> {
        if self.max_body_bytes == 0 || self.max_decoded_bytes == 0 {
            bail!("server.max_body_bytes and server.max_decoded_bytes must be above zero");
        }
        Ok(())
    }
}
