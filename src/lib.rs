//! simrelay, the server: configuration, the platforms it sells on (`platforms/`), the other HTTP
//! edges (gateway, admin, ops), store implementations and start-up wiring around the engine in
//! `simrelay-actors`.

pub mod admin;
pub mod admin_client;
pub mod auth;
pub mod body;
pub mod cli;
pub mod config;
pub mod error;
pub mod fields;
pub mod gammu_hook;
pub mod gateway;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod platforms;
pub mod startup;
pub mod state;
pub mod status;
pub mod store;
pub mod table;
pub mod telemetry;
