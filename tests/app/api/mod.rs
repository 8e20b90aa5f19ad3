//! Integration tests that drive simrelay through its real HTTP stack.

mod admin;
mod archive;
mod bad_input;
mod concurrency;
mod exclusions;
mod expiry;
mod finish;
mod gzip;
pub(crate) mod helpers;
mod operators;
mod ops;
mod overdue;
mod services;
