//! The SIM-bank side and SMS delivery: the gateway API (SIMs in ports, SMS intake), PUSH_SMS to
//! a fake OnlineSIM platform (wire format, retries, terminal answers, back-off, redelivery),
//! our-side filtering, delivery metrics, delivery across a SIGKILL with Redis, and nothing
//! pushed again after SUCCESS (SIGTERM mid-push, Redis refusing or stalling writes).

pub(crate) mod helpers;
pub(crate) mod platform;

mod banks;
mod confirmed;
mod filtering;
mod intake;
mod lost;
mod metrics;
mod multipart;
mod restart;
mod retries;
mod sims;
mod sms_time;
mod wire;
