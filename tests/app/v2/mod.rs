//! OnlineSIM v2 (`onlinesim.mode = "v2"`): the list task's cadence (heartbeat, debounce, full and
//! incremental lists), the exact wire format, SMS forwarding by addMessage(s) with retries and
//! terminal answers, dry runs, account errors, metrics, the `simrelay v2` CLI, and delivery
//! across a SIGKILL with Redis. Everything talks to a recording fake v2 server; time moves only
//! with a manual clock, except where real timers are the point (batching, restart).

pub(crate) mod fake;
mod filtering;
pub(crate) mod helpers;

mod account;
mod batch;
mod cli;
mod dry_run;
mod heartbeat;
mod incremental;
mod listing;
mod metrics;
mod restart;
mod sms;
mod wire;
