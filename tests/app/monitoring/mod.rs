//! Monitoring: the HTTP request and process metrics, the SMS counters that only grow, and the
//! deploy/ files built on them (the Grafana dashboard, the Prometheus alert rules checked and
//! unit-tested by promtool, every metric they name present in a running server's `/metrics`).

mod counters;
mod rules;
