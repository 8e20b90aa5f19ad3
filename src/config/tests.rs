//! Parsing the config file into [`Settings`]: URLs, modes, the `[engine]` section and its
//! deprecated `[onlinesim]` aliases.

use std::time::Duration;

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;

use super::*;

fn raw(text: &str) -> RawSettings {
    Figment::from(Serialized::defaults(RawSettings::default()))
        .merge(Toml::string(text))
        .extract()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn parsed(text: &str) -> Settings {
    raw(text).parse().unwrap_or_else(|e| panic!("{e:#}"))
}

fn refused(text: &str) -> String {
    match raw(text).parse() {
        Ok(s) => panic!("accepted: {s:?}"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn keep_closed_is_a_deprecated_alias_of_archive_after() {
    let defaults = parsed("");
    assert_eq!(
        defaults.store.archive_after,
        Duration::from_secs(7 * 24 * 3600)
    );
    assert_eq!(
        defaults.store.archive_ttl,
        Duration::from_secs(90 * 24 * 3600)
    );
    assert!(defaults.deprecations.is_empty());
    let new = parsed("[store]\narchive_after = \"2d\"\n");
    assert_eq!(new.store.archive_after, Duration::from_secs(2 * 24 * 3600));
    let old = parsed("[onlinesim]\nkeep_closed = \"3d\"\n");
    assert_eq!(old.store.archive_after, Duration::from_secs(3 * 24 * 3600));
    assert!(old.deprecations[0].contains("store.archive_after"));
}

#[test]
fn a_url_that_is_not_a_url_is_refused_naming_the_key() {
    let e = refused("[onlinesim]\npush_sms_url = \"not a url\"\n");
    assert!(e.contains("onlinesim.push_sms_url"), "{e}");
    let e = refused("[onlinesim]\npush_sms_url = \"ftp://x\"\n");
    assert!(e.contains("onlinesim.push_sms_url"), "{e}");
    let e = refused("[onlinesim]\nmode = \"v2\"\napi_key = \"k\"\nv2_base_url = \"https://\"\n");
    assert!(e.contains("onlinesim.v2_base_url"), "{e}");
    let e = refused("[store]\nredis_url = \"127.0.0.1:6379\"\n");
    assert!(e.contains("store.redis_url"), "{e}");
    let e = refused("[store]\nredis_url = \"redis://[::1\"\n");
    assert!(e.contains("store.redis_url"), "{e}");
}

#[test]
fn urls_are_parsed_once_at_load() {
    let s = parsed(
        "[onlinesim]\npush_sms_url = \"https://partner-api.example/v1/PUSH_SMS\"\n\
         [store]\nredis_url = \"redis://127.0.0.1:6379/0\"\n",
    );
    let v1 = s.onlinesim.v1().expect("v1 is the default mode");
    assert_eq!(
        v1.push_sms_url.as_ref().map(|u| u.as_str()),
        Some("https://partner-api.example/v1/PUSH_SMS")
    );
    assert_eq!(
        s.store.redis_url.as_ref().map(|u| u.expose()),
        Some("redis://127.0.0.1:6379/0")
    );
    assert_eq!(format!("{:?}", s.store.redis_url), "Some(\"***\")");
}

#[test]
fn v1_without_push_sms_url_loads_and_delivers_nothing() {
    // As before: accepted; start-up warns that SMS are stored but not delivered.
    let s = parsed("[onlinesim]\nmode = \"v1\"\n");
    let v1 = s.onlinesim.v1().expect("v1 mode");
    assert!(v1.push_sms_url.is_none());
    assert_eq!(v1.path, "/onlinesim/v1");
    assert!(s.onlinesim.v2().is_none());
}

#[test]
fn v2_mode_carries_its_settings_and_needs_its_url_and_key() {
    let s = parsed(
        "[onlinesim]\nmode = \"v2\"\napi_key = \"k\"\nv2_base_url = \"https://partner-api.example\"\n\
         v2_batch = true\nv2_batch_every = \"2s\"\n",
    );
    let v2 = s.onlinesim.v2().expect("v2 mode");
    assert_eq!(v2.endpoint.base_url.host_str(), Some("partner-api.example"));
    assert_eq!(v2.batch_every, Some(Duration::from_secs(2)));
    assert_eq!(v2.heartbeat, Duration::from_secs(300));
    let e = refused("[onlinesim]\nmode = \"v2\"\napi_key = \"k\"\n");
    assert!(e.contains("onlinesim.v2_base_url"), "{e}");
    let e = refused("[onlinesim]\nmode = \"v2\"\nv2_base_url = \"https://partner-api.example\"\n");
    assert!(e.contains("onlinesim.api_key"), "{e}");
}

#[test]
fn v2_base_url_in_v1_mode_serves_the_requests_run_by_hand() {
    let s = parsed("[onlinesim]\nv2_base_url = \"https://partner-api.example\"\n");
    assert!(s.onlinesim.v1().is_some());
    let endpoint = s.onlinesim.v2_endpoint().expect("an endpoint");
    assert_eq!(endpoint.timeout, Duration::from_secs(10));
    assert!(parsed("").onlinesim.v2_endpoint().is_none());
}

#[test]
fn engine_keys_set_the_engine() {
    let defaults = parsed("");
    assert_eq!(defaults.engine.activation_ttl, Duration::from_secs(900));
    assert_eq!(defaults.engine.expiry_grace, None);
    assert_eq!(defaults.engine.get_number_deadline, Duration::from_secs(3));
    assert_eq!(defaults.engine.max_cancels, 4);
    let s = parsed(
        "[engine]\nactivation_ttl = \"20m\"\nexpiry_grace = \"5m\"\nget_number_deadline = \"2s\"\nmax_cancels = 2\n",
    );
    assert_eq!(s.engine.activation_ttl, Duration::from_secs(1200));
    assert_eq!(s.engine.expiry_grace, Some(Duration::from_secs(300)));
    assert_eq!(s.engine.get_number_deadline, Duration::from_secs(2));
    assert_eq!(s.engine.max_cancels, 2);
    assert!(s.deprecations.is_empty(), "{:?}", s.deprecations);
    let engine = s.engine();
    assert_eq!(engine.activation_ttl, Duration::from_secs(1200));
    assert_eq!(engine.max_cancels, 2);
    let e = refused("[engine]\nget_number_deadline = \"10s\"\n");
    assert!(e.contains("engine.get_number_deadline"), "{e}");
    let e = refused("[engine]\nmax_cancels = 0\n");
    assert!(e.contains("engine.max_cancels"), "{e}");
}

#[test]
fn deprecated_onlinesim_engine_keys_still_work_and_warn() {
    let s = parsed(
        "[onlinesim]\nactivation_ttl = \"20m\"\nexpiry_grace = \"5m\"\nget_number_deadline = \"2s\"\n",
    );
    assert_eq!(s.engine.activation_ttl, Duration::from_secs(1200));
    assert_eq!(s.engine.expiry_grace, Some(Duration::from_secs(300)));
    assert_eq!(s.engine.get_number_deadline, Duration::from_secs(2));
    assert_eq!(s.deprecations.len(), 3, "{:?}", s.deprecations);
    for key in ["activation_ttl", "expiry_grace", "get_number_deadline"] {
        assert!(
            s.deprecations
                .iter()
                .any(|d| d.contains(&format!("onlinesim.{key}"))
                    && d.contains(&format!("engine.{key}"))),
            "{key}: {:?}",
            s.deprecations
        );
    }
    // "off" through the alias is a value, not an absent key.
    let off = parsed("[engine]\nexpiry_grace = \"5m\"\n[onlinesim]\nexpiry_grace = \"off\"\n");
    assert_eq!(off.engine.expiry_grace, Some(Duration::from_secs(300)));
    // A bad value through the alias names the key that was written.
    let e = refused("[onlinesim]\nget_number_deadline = \"12s\"\n");
    assert!(e.contains("onlinesim.get_number_deadline"), "{e}");
}

#[test]
fn the_engine_key_wins_over_its_deprecated_alias() {
    let s = parsed(
        "[engine]\nactivation_ttl = \"20m\"\nexpiry_grace = \"off\"\n\
         [onlinesim]\nactivation_ttl = \"30m\"\nexpiry_grace = \"5m\"\n",
    );
    assert_eq!(s.engine.activation_ttl, Duration::from_secs(1200));
    assert_eq!(s.engine.expiry_grace, None);
    assert_eq!(s.deprecations.len(), 2, "{:?}", s.deprecations);
    assert!(s
        .deprecations
        .iter()
        .all(|d| d.contains("ignored") && d.contains("wins")));
}
