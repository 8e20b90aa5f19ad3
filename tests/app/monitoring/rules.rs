//! The deploy/ monitoring files: the alert rules pass `promtool check rules` and their unit tests
//! (`promtool test rules`), the dashboard is valid JSON with its fixed uid, and every metric name
//! the dashboard and the rules use is in the `/metrics` of a running simrelay with traffic.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;
use serde_json::{json, Value};
use simrelay::config::FilteringMode;

use crate::delivery::helpers::{default_sims, new_clock, rfc3339, settings, spawn_app_on};
use crate::delivery::platform::{Platform, Reply};
use crate::v2::fake::{Endpoint, Reply as V2Reply};

fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(path)
}

/// Runs promtool with these arguments in deploy/prometheus; fails loudly when it is missing.
fn promtool(args: &[&str]) -> String {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(deploy("prometheus"))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run promtool ({e}): install the Debian package `prometheus` \
                 (README's test command does when it is missing)"
            )
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

#[test]
fn promtool_accepts_the_alert_rules() {
    let out = promtool(&["check", "rules", "alerts.yml"]);
    assert!(out.contains("SUCCESS: 6 rules found"), "{out}");
}

#[test]
fn promtool_unit_tests_of_every_alert_pass() {
    let out = promtool(&["test", "rules", "alerts.test.yml"]);
    assert!(out.contains("SUCCESS"), "{out}");
    // Every alert of the rules has its own case.
    let rules = std::fs::read_to_string(deploy("prometheus/alerts.yml")).expect("alerts.yml");
    let cases = std::fs::read_to_string(deploy("prometheus/alerts.test.yml")).expect("tests");
    let alert = Regex::new(r"(?m)^\s*-?\s*alert(?:name)?:\s*(\w+)").expect("regex");
    let named = |text: &str| -> BTreeSet<String> {
        alert.captures_iter(text).map(|c| c[1].to_owned()).collect()
    };
    let alerts = named(&rules);
    assert_eq!(alerts.len(), 6, "{alerts:?}");
    assert_eq!(alerts, named(&cases), "an alert without a promtool case");
}

fn dashboard() -> Value {
    let text = std::fs::read_to_string(deploy("grafana/dashboards/simrelay.json"))
        .expect("deploy/grafana/dashboards/simrelay.json");
    serde_json::from_str(&text).expect("the dashboard is JSON")
}

/// Every PromQL expression of the dashboard: panel targets and template variable queries.
fn dashboard_queries(dashboard: &Value) -> Vec<String> {
    fn walk(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v) {
                        ("expr" | "query" | "definition", Value::String(q)) => {
                            found.push(q.clone())
                        }
                        _ => walk(v, found),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(dashboard, &mut found);
    found
}

#[test]
fn the_dashboard_is_json_with_its_uid_and_a_panel_per_subject() {
    let dashboard = dashboard();
    assert_eq!(dashboard["uid"], "simrelay");
    let panels = dashboard["panels"].as_array().expect("panels");
    let titles: Vec<&str> = panels.iter().filter_map(|p| p["title"].as_str()).collect();
    for subject in [
        "Stock by country and service",
        "GET_NUMBER rate by platform and outcome",
        "GET_NUMBER latency by platform",
        "Activations active and overdue",
        "SMS events per minute",
        "Outbox depth and oldest pending SMS",
        "Store up",
        "Lease held",
        "Banks live",
        "Online SIMs per bank",
        "HTTP requests by route and status",
    ] {
        assert!(titles.contains(&subject), "no panel {subject}: {titles:?}");
    }
    let mut ids = BTreeSet::new();
    for panel in panels {
        assert!(ids.insert(panel["id"].as_u64()), "panel ids repeat");
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(
            panel["datasource"]["uid"], "${DS_PROMETHEUS}",
            "{}",
            panel["title"]
        );
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{} has no query", panel["title"]);
    }
}

/// Metric names in PromQL (simrelay's and the process collector's).
fn metric_names(promql: &str) -> BTreeSet<String> {
    let name = Regex::new(r"\b((?:simrelay|process)_[a-z0-9_]+)\b").expect("regex");
    name.captures_iter(promql)
        .map(|c| c[1].to_owned())
        .collect()
}

/// Names with at least one sample in a text exposition.
fn exported(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

/// `/metrics` of a simrelay selling on OnlineSIM v1 (its PUSH_SMS answered by a fake) with a
/// SIM bank, after traffic that makes every labelled series exist; and of one listing on
/// OnlineSIM v2, which refuses our key.
async fn busy_apps() -> String {
    let clock = new_clock();
    let platform = Platform::start(Some(clock.clone())).await;
    let mut s = settings(default_sims());
    s.onlinesim.push_sms_url = Some(platform.url());
    s.filtering.mode = FilteringMode::Partner;
    let app = spawn_app_on(s, clock).await;
    app.bank_lists("rack-1", &[79281000005]).await;
    let mut numbers = Vec::new();
    for _ in 0..3 {
        numbers.push(app.reserve("russia", "any", "vk").await.0);
    }
    app.sms_to(numbers[0], "VK", "VK: 1").await;
    app.settle().await;
    platform.then(Reply::error(404, "NO_OPERATION"), 1);
    app.sms_to(numbers[1], "VK", "VK: 2").await;
    app.settle().await;
    app.sms_to(numbers[2], "Telegram", "Telegram code 3").await;
    app.sms(json!({"number": numbers[0].to_string(), "from": "VK", "text": "VK: 4", "received_at": rfc3339(-600)}))
        .await;
    app.metrics().await;
    let v1 = app.metrics().await;

    let (v2_app, v2) = crate::v2::helpers::spawn(|_| {}).await;
    v2.always(Endpoint::SendNumbersOnline, V2Reply::wrong_key());
    v2_app.tick().await;
    assert_eq!(v2.count(Endpoint::SendNumbersOnline), 1);
    format!("{v1}\n{}", v2_app.metrics().await)
}

#[actix_rt::test]
async fn every_metric_the_dashboard_and_the_alerts_use_is_exported() {
    let text = busy_apps().await;
    let exported = exported(&text);
    let rules = std::fs::read_to_string(deploy("prometheus/alerts.yml")).expect("alerts.yml");
    let mut used = metric_names(&rules);
    let in_dashboard: BTreeSet<String> = dashboard_queries(&dashboard())
        .iter()
        .flat_map(|q| metric_names(q))
        .collect();
    assert!(in_dashboard.len() >= 20, "{in_dashboard:?}");
    used.extend(in_dashboard);
    let missing: Vec<&String> = used.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "used by the dashboard or the alerts, not in /metrics: {missing:?}\n{exported:?}"
    );
}
