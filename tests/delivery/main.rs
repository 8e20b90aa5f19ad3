//! The SIM-bank side and SMS delivery: the gateway API (SIMs in ports, SMS intake), PUSH_SMS to
//! a fake OnlineSIM platform (wire format, retries, terminal answers, back-off, redelivery),
//! our-side filtering, delivery metrics, and delivery across a SIGKILL with Redis.

mod helpers;
mod platform;

mod banks;
mod filtering;
mod intake;
mod metrics;
mod multipart;
mod restart;
mod retries;
mod sims;
mod sms_time;
mod wire;
