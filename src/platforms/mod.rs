//! The platforms simrelay sells on, one folder per platform protocol, both directions.
//!
//! A platform folder holds everything that speaks that protocol's wire format and nothing
//! else: the inbound endpoint when the platform calls us (`mod.rs` dispatches, one file per
//! action, each owning its typed request and reply), the outbound half (the SMS webhook or API
//! client, which is the outbox's `SmsSink`), and any task the protocol needs (v2's list sync).
//! Folders call the engine and never each other; what every edge shares (reading bodies,
//! typed fields, keys, the error shape) lives beside them in `body.rs`, `fields.rs`, `auth.rs`
//! and `error.rs`.

pub mod onlinesim_v1;
pub mod onlinesim_v2;
