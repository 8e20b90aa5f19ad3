//! The in-process integration tests, one binary: the whole app on port 0 with its real HTTP
//! stack, fake platforms that record what simrelay sends, and private redis-servers.
//!
//! * `api`: OnlineSIM v1 (GET_SERVICES, GET_NUMBER, FINISH_ACTIVATION), admin and ops endpoints;
//! * `delivery`: the SIM-bank side and PUSH_SMS delivery;
//! * `v2`: OnlineSIM v2 (lists, addMessage(s), the `simrelay v2` CLI);
//! * `platforms`: one pool sold on several platforms at once (OnlineSIM v1, SMSHub, v2);
//! * `status`: the status page, over HTTP and in headless Chromium;
//! * `monitoring`: request, process and SMS event metrics; the dashboard and alert rules;
//! * `openapi`: `/openapi.json`, validated and run against the server by schemathesis.

#[path = "../kit/mod.rs"]
mod kit;

mod api;
mod delivery;
mod monitoring;
mod openapi;
mod platforms;
mod status;
mod v2;
