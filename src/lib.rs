//! simrelay, the server: configuration, the HTTP edges (OnlineSIM v1, admin, ops), store
//! implementations and start-up wiring around the engine in `simrelay-actors`.

pub mod admin;
pub mod auth;
pub mod body;
pub mod cli;
pub mod config;
pub mod error;
pub mod gammu_hook;
pub mod gateway;
pub mod metrics;
pub mod ops;
pub mod push_sms;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod v1;
pub mod v2;
