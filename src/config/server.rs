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
    /// Why this listener layout is unsafe, when it is: without `internal_listen` the platform-facing
    /// listener also serves /gateway, /admin and /metrics, and bound to a non-loopback address
    /// (a SIM bank on the LAN, or the internet) anyone who reaches it meets those APIs too.
    pub fn exposure_warning(&self) -> Option<String> {
        if self.internal_listen.is_some() || self.listen.ip().is_loopback() {
            return None;
        }
        Some(format!(
            "the admin and gateway APIs (and /metrics) are served on the platform-facing listener \
             server.listen = {}, which is not a loopback address: set server.internal_listen \
             (e.g. 127.0.0.1:8081) so that only the platforms' paths are reachable there",
            self.listen
        ))
    }

    /// Refuses limits that would refuse every request.
    pub(super) fn check(&self) -> anyhow::Result<()> {
        if self.max_body_bytes == 0 || self.max_decoded_bytes == 0 {
            bail!("server.max_body_bytes and server.max_decoded_bytes must be above zero");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(listen: &str, internal: Option<&str>) -> ServerSettings {
        ServerSettings {
            listen: listen.parse().unwrap(),
            internal_listen: internal.map(|a| a.parse().unwrap()),
            ..ServerSettings::default()
        }
    }

    #[test]
    fn apis_on_a_public_platform_listener_are_warned_about() {
        for listen in ["0.0.0.0:8080", "10.0.0.11:8080", "[::]:8080"] {
            let warning = layout(listen, None).exposure_warning();
            let warning = warning.unwrap_or_else(|| panic!("no warning for {listen}"));
            assert!(warning.contains("server.internal_listen"), "{warning}");
            assert!(warning.contains(listen), "{warning}");
        }
    }

    #[test]
    fn a_loopback_listener_or_a_separate_internal_one_is_not_warned_about() {
        assert_eq!(layout("127.0.0.1:8080", None).exposure_warning(), None);
        assert_eq!(layout("[::1]:8080", None).exposure_warning(), None);
        assert_eq!(
            layout("0.0.0.0:8080", Some("127.0.0.1:8081")).exposure_warning(),
            None
        );
        // Inside a container the internal listener binds every interface, published to loopback.
        assert_eq!(
            layout("0.0.0.0:8080", Some("0.0.0.0:8081")).exposure_warning(),
            None
        );
    }
}
