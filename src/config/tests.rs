//! Parsing the config file into [`Settings`]: URLs, modes, the `[engine]` section and its
//! deprecated `[onlinesim]` aliases.

use std::time::Duration;

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;

use simrelay_actors::BankScope;

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

/// `[[platforms]]` tests: the `[onlinesim]` shorthand with an SMSHub entry.
const TWO_PLATFORMS: &str = r#"
[onlinesim]
api_key = "os-key"
push_sms_url = "https://onlinesim.example/v1/PUSH_SMS"

[services]
offered = ["vk", "tg", "wa"]

[[platforms]]
name = "smshub"
protocol = "smshub"
key = "hub-key"
path = "/smshub"
push_url = "https://agent.example/agent/api/sms"
services = { tg = "telegram", vk = "vkontakte" }
banks = ["bank2", "bank3"]
"#;

fn service(s: &str) -> ServiceName {
    ServiceName::parse(s).unwrap()
}

fn bank(s: &str) -> simrelay_actors::domain::BankName {
    simrelay_actors::domain::BankName::parse(s).unwrap()
}

fn names(s: &Settings) -> Vec<&str> {
    s.platforms.iter().map(|p| p.name.as_str()).collect()
}

/// `[services] offered = ["vk", "tg", "wa"]` and the shorthand with a key, then `platforms`.
fn with_platforms(platforms: &str) -> String {
    format!(
        "[onlinesim]\napi_key = \"os-key\"\n[services]\noffered = [\"vk\", \"tg\", \"wa\"]\n{platforms}"
    )
}

/// An SMSHub entry named `name` at `path`, with extra lines.
fn hub(name: &str, path: &str, extra: &str) -> String {
    format!(
        "[[platforms]]\nname = \"{name}\"\nprotocol = \"smshub\"\nkey = \"k-{name}\"\npath = \"{path}\"\n{extra}"
    )
}

/// An OnlineSIM v2 entry named `name`, with extra lines.
fn v2(name: &str, extra: &str) -> String {
    format!(
        "[[platforms]]\nname = \"{name}\"\nprotocol = \"onlinesim-v2\"\nkey = \"k-{name}\"\npush_url = \"https://v2.example\"\n{extra}"
    )
}

#[test]
fn onlinesim_shorthand_and_smshub_are_two_platforms() {
    let s = parsed(TWO_PLATFORMS);
    assert_eq!(names(&s), ["onlinesim", "smshub"]);
    let (onlinesim, hub) = (&s.platforms[0], &s.platforms[1]);

    assert_eq!(onlinesim.protocol, Protocol::OnlineSimV1);
    assert_eq!(onlinesim.key.expose(), "os-key");
    assert_eq!(onlinesim.path(), Some("/onlinesim/v1"));
    assert_eq!(onlinesim.banks, BankScope::Every);
    assert!(onlinesim.services.is_identity());
    match &onlinesim.side {
        Side::Pull { push_url, .. } => assert_eq!(
            push_url.as_ref().map(|u| u.as_str()),
            Some("https://onlinesim.example/v1/PUSH_SMS")
        ),
        Side::Push(_) => panic!("the shorthand in v1 mode is pulled"),
    }

    assert_eq!(hub.protocol, Protocol::SmsHub);
    assert_eq!(hub.key.expose(), "hub-key");
    assert_eq!(hub.path(), Some("/smshub"));
    match &hub.side {
        Side::Pull { push_url, .. } => assert_eq!(
            push_url.as_ref().map(|u| u.as_str()),
            Some("https://agent.example/agent/api/sms")
        ),
        Side::Push(_) => panic!("smshub is pulled"),
    }
    assert_eq!(hub.banks, BankScope::only([bank("bank2"), bank("bank3")]));
    assert!(hub.banks.allows(&bank("bank2")) && !hub.banks.allows(&bank("bank1")));

    // Ours → the platform's, and back; an unnamed service keeps its name both ways.
    let names = &hub.services;
    assert!(!names.is_identity());
    assert_eq!(names.outgoing(&service("tg")), service("telegram"));
    assert_eq!(names.outgoing(&service("vk")), service("vkontakte"));
    assert_eq!(names.outgoing(&service("wa")), service("wa"));
    assert_eq!(names.incoming(&service("telegram")), Some(service("tg")));
    assert_eq!(names.incoming(&service("vkontakte")), Some(service("vk")));
    assert_eq!(names.incoming(&service("wa")), Some(service("wa")));
    // "tg" is not the platform's name of anything: it calls our tg "telegram".
    assert_eq!(names.incoming(&service("tg")), None);

    // No v2 platform: no SMS goes anywhere without an activation.
    assert!(s.engine().listing_platforms.is_empty());
}

#[test]
fn without_platforms_entries_the_shorthand_is_the_only_platform() {
    // Existing configs are unchanged: one platform, onlinesim, every bank, even without a key.
    let s = parsed("");
    assert_eq!(names(&s), ["onlinesim"]);
    let p = &s.platforms[0];
    assert_eq!(p.protocol, Protocol::OnlineSimV1);
    assert_eq!(p.path(), Some("/onlinesim/v1"));
    assert_eq!(p.banks, BankScope::Every);
    assert!(p.key.is_empty());
    assert!(p.services.is_identity());

    let s = parsed("[onlinesim]\napi_key = \"k\"\nv1_path = \"/partner\"\n");
    assert_eq!(names(&s), ["onlinesim"]);
    assert_eq!(s.platforms[0].path(), Some("/partner"));

    let s = parsed(
        "[onlinesim]\nmode = \"v2\"\napi_key = \"k\"\nv2_base_url = \"https://partner-api.example\"\n",
    );
    assert_eq!(names(&s), ["onlinesim"]);
    assert_eq!(s.platforms[0].protocol, Protocol::OnlineSimV2);
    assert_eq!(s.platforms[0].path(), None);
    let listing = s.engine().listing_platforms;
    assert_eq!(listing.len(), 1);
    assert_eq!(listing[0].0.as_str(), "onlinesim");
    assert_eq!(listing[0].1, BankScope::Every);
}

#[test]
fn with_platforms_entries_and_no_onlinesim_key_there_is_no_onlinesim_platform() {
    let s = parsed(&hub("smshub", "/smshub", ""));
    assert_eq!(names(&s), ["smshub"]);
    // Its path is free then, and so is its name.
    let s = parsed(&format!(
        "{}{}",
        hub("onlinesim", "/onlinesim/v1", ""),
        hub("smshub", "/smshub", "")
    ));
    assert_eq!(names(&s), ["onlinesim", "smshub"]);
    assert_eq!(s.platforms[0].protocol, Protocol::SmsHub);
}

#[test]
fn an_onlinesim_v2_entry_takes_the_v2_knobs_of_the_onlinesim_section() {
    let s = parsed(&format!(
        "[onlinesim]\nv2_heartbeat = \"1m\"\nv2_batch = true\n{}{}",
        v2("os2", "banks = [\"bank1\"]\n"),
        hub("smshub", "/smshub", "banks = [\"bank2\"]\n")
    ));
    assert_eq!(names(&s), ["os2", "smshub"]);
    let Side::Push(settings) = &s.platforms[0].side else {
        panic!("a v2 platform is pushed");
    };
    assert_eq!(settings.endpoint.base_url.host_str(), Some("v2.example"));
    assert_eq!(settings.heartbeat, Duration::from_secs(60));
    assert_eq!(settings.batch_every, Some(Duration::from_secs(5)));
    assert_eq!(s.platforms[0].key.expose(), "k-os2");
    // Its SIMs' SMS without an activation go to it.
    let listing = s.engine().listing_platforms;
    assert_eq!(listing.len(), 1);
    assert_eq!(listing[0].0.as_str(), "os2");
    assert_eq!(listing[0].1, BankScope::only([bank("bank1")]));
}

#[test]
fn platform_names_must_be_unique() {
    let e = refused(&with_platforms(&format!(
        "{}{}",
        hub("hub", "/hub-a", ""),
        hub("hub", "/hub-b", "")
    )));
    assert!(e.contains("platforms[1].name"), "{e}");
    assert!(e.contains("platforms[0]") && e.contains("unique"), "{e}");
    // The shorthand is the platform onlinesim while onlinesim.api_key is set.
    let e = refused(&with_platforms(&hub("onlinesim", "/other", "")));
    assert!(e.contains("platforms[0].name"), "{e}");
    assert!(e.contains("[onlinesim]"), "{e}");
}

#[test]
fn platform_paths_must_be_unique() {
    let e = refused(&with_platforms(&format!(
        "{}{}",
        hub("hub-a", "/hub", ""),
        hub("hub-b", "/hub", "")
    )));
    assert!(e.contains("platforms[1].path"), "{e}");
    assert!(e.contains("\"/hub\""), "{e}");
    // The shorthand's path, default or set.
    let e = refused(&with_platforms(&hub("hub", "/onlinesim/v1", "")));
    assert!(e.contains("platforms[0].path"), "{e}");
    assert!(e.contains("[onlinesim]"), "{e}");
    let e = refused(&format!(
        "[onlinesim]\napi_key = \"k\"\nv1_path = \"/partner\"\n{}",
        hub("hub", "/partner", "")
    ));
    assert!(e.contains("platforms[0].path"), "{e}");
}

#[test]
fn an_unknown_protocol_is_refused_naming_the_key() {
    let e = refused(&with_platforms(
        &hub("hub", "/hub", "").replace("\"smshub\"", "\"smshub-v3\""),
    ));
    assert!(e.contains("platforms[0].protocol"), "{e}");
    assert!(e.contains("smshub-v3"), "{e}");
}

#[test]
fn a_v2_platforms_banks_are_its_alone() {
    // Disjoint banks: accepted.
    let s = parsed(&format!(
        "{}{}",
        v2("os2", "banks = [\"bank1\"]\n"),
        hub("smshub", "/smshub", "banks = [\"bank2\"]\n")
    ));
    assert_eq!(names(&s), ["os2", "smshub"]);
    // A common bank.
    let e = refused(&format!(
        "{}{}",
        v2("os2", "banks = [\"bank1\", \"bank2\"]\n"),
        hub("smshub", "/smshub", "banks = [\"bank2\", \"bank3\"]\n")
    ));
    assert!(e.contains("platforms[1].banks"), "{e}");
    assert!(e.contains("\"os2\"") && e.contains("\"smshub\""), "{e}");
    // The other platform has no `banks`: it sells every bank, the v2 platform's too.
    let e = refused(&format!(
        "{}{}",
        v2("os2", "banks = [\"bank1\"]\n"),
        hub("smshub", "/smshub", "")
    ));
    assert!(e.contains("platforms[1].banks"), "{e}");
    // Either order; and the v2 platform without `banks` lists every bank.
    let e = refused(&format!(
        "{}{}",
        hub("smshub", "/smshub", "banks = [\"bank2\"]\n"),
        v2("os2", "")
    ));
    assert!(e.contains("platforms[1].banks"), "{e}");
    // The shorthand sells every bank.
    let e = refused(&with_platforms(&v2("os2", "banks = [\"bank1\"]\n")));
    assert!(e.contains("platforms[0].banks"), "{e}");
    assert!(e.contains("\"onlinesim\""), "{e}");
    assert!(e.contains("leave onlinesim.api_key empty"), "{e}");
    // The shorthand in v2 mode lists every bank: nothing can sell beside it.
    let e = refused(&format!(
        "[onlinesim]\nmode = \"v2\"\napi_key = \"k\"\nv2_base_url = \"https://partner-api.example\"\n{}",
        hub("smshub", "/smshub", "banks = [\"bank2\"]\n")
    ));
    assert!(e.contains("platforms[0].banks"), "{e}");
    // Two v2 platforms: the same.
    let e = refused(&format!(
        "{}{}",
        v2("os2", "banks = [\"bank1\"]\n"),
        v2("os3", "banks = [\"bank1\"]\n")
    ));
    assert!(e.contains("platforms[1].banks"), "{e}");
    // Two platforms that call us may share banks: the engine gives each number to one.
    let s = parsed(&with_platforms(&hub(
        "smshub",
        "/smshub",
        "banks = [\"bank1\"]\n",
    )));
    assert_eq!(names(&s), ["onlinesim", "smshub"]);
}

#[test]
fn a_services_map_names_offered_services_and_maps_each_name_once() {
    let e = refused(&with_platforms(&hub(
        "hub",
        "/hub",
        "services = { ok = \"odnoklassniki\" }\n",
    )));
    assert!(e.contains("platforms[0].services.ok"), "{e}");
    assert!(e.contains("services.offered"), "{e}");
    // Two of our services, one platform name.
    let e = refused(&with_platforms(&hub(
        "hub",
        "/hub",
        "services = { tg = \"msg\", vk = \"msg\" }\n",
    )));
    assert!(e.contains("platforms[0].services.vk"), "{e}");
    assert!(e.contains("\"msg\""), "{e}");
    // A platform name that is one of our services keeping its own name there: "vk" would mean
    // both our tg and our vk.
    let e = refused(&with_platforms(&hub(
        "hub",
        "/hub",
        "services = { tg = \"vk\" }\n",
    )));
    assert!(e.contains("platforms[0].services.tg"), "{e}");
    assert!(e.contains("two services"), "{e}");
    // One of our services, mapped twice (names are not case-sensitive).
    let e = refused(&with_platforms(&hub(
        "hub",
        "/hub",
        "services = { tg = \"telegram\", TG = \"tgram\" }\n",
    )));
    assert!(e.contains("mapped twice"), "{e}");
    // Swapped names are fine: each platform name still maps one service.
    let s = parsed(&with_platforms(&hub(
        "hub",
        "/hub",
        "services = { tg = \"vk\", vk = \"tg\" }\n",
    )));
    let names = &s.platforms[1].services;
    assert_eq!(names.incoming(&service("vk")), Some(service("tg")));
    assert_eq!(names.incoming(&service("tg")), Some(service("vk")));
    assert_eq!(names.outgoing(&service("wa")), service("wa"));
}

#[test]
fn a_platform_entry_needs_its_key_path_and_url() {
    let e = refused(&with_platforms(
        &hub("hub", "/hub", "").replace("key = \"k-hub\"\n", ""),
    ));
    assert!(e.contains("platforms[0].key"), "{e}");
    let e = refused(&with_platforms(
        &hub("hub", "/hub", "").replace("key = \"k-hub\"", "key = \"\""),
    ));
    assert!(e.contains("platforms[0].key"), "{e}");
    let e = refused(&with_platforms(
        &hub("hub", "/hub", "").replace("path = \"/hub\"\n", ""),
    ));
    assert!(e.contains("platforms[0].path"), "{e}");
    let e = refused(&with_platforms(
        &hub("hub", "/hub", "")
            .replace("\"smshub\"", "\"onlinesim-v1\"")
            .replace("path = \"/hub\"\n", ""),
    ));
    assert!(e.contains("platforms[0].path"), "{e}");
    let e = refused(&v2("os2", "").replace("push_url = \"https://v2.example\"\n", ""));
    assert!(e.contains("platforms[0].push_url"), "{e}");
    let e = refused(&v2("os2", "path = \"/os2\"\n"));
    assert!(e.contains("platforms[0].path"), "{e}");
    let e = refused(&with_platforms(&hub(
        "hub",
        "/hub",
        "push_url = \"ftp://x\"\n",
    )));
    assert!(e.contains("platforms[0].push_url"), "{e}");
    // Without push_url an SMSHub entry loads (its SMS are kept, not delivered).
    let s = parsed(&hub("hub", "/hub", ""));
    assert!(matches!(
        s.platforms[0].side,
        Side::Pull { push_url: None, .. }
    ));
}

#[test]
fn empty_banks_are_refused() {
    let e = refused(&with_platforms(&hub("hub", "/hub", "banks = []\n")));
    assert!(e.contains("platforms[0].banks"), "{e}");
    let e = refused(&with_platforms(&hub(
        "hub",
        "/hub",
        "banks = [\"bank 1\"]\n",
    )));
    assert!(e.contains("platforms[0].banks[0]"), "{e}");
}

#[test]
fn platform_paths_stay_out_of_simrelays_own_surfaces() {
    for path in [
        "/admin",
        "/admin/v1",
        "/gateway/hub",
        "/metrics",
        "/status/x",
    ] {
        let e = refused(&with_platforms(&hub("hub", path, "")));
        assert!(e.contains("platforms[0].path"), "{path}: {e}");
        assert!(e.contains("simrelay serves itself"), "{path}: {e}");
    }
    let e = refused(&with_platforms(&hub("hub", "hub", "")));
    assert!(e.contains("platforms[0].path"), "{e}");
    // A neighbour of a reserved path is not under it.
    let s = parsed(&with_platforms(&hub("hub", "/administration", "")));
    assert_eq!(s.platforms[1].path(), Some("/administration"));
    // The shorthand's path too.
    let e = refused("[onlinesim]\nv1_path = \"/gateway/onlinesim\"\n");
    assert!(e.contains("onlinesim.v1_path"), "{e}");
    let e = refused("[onlinesim]\nv1_path = \"/admin\"\n");
    assert!(e.contains("onlinesim.v1_path"), "{e}");
}

#[test]
fn a_platform_name_is_lower_case_letters_digits_underscore_and_dash() {
    for bad in ["Hub.1", "hub.1", "Hub", "hub 1", ""] {
        let e = refused(&with_platforms(&format!(
            "[[platforms]]\nname = \"{bad}\"\nprotocol = \"smshub\"\nkey = \"k\"\npath = \"/hub\"\n"
        )));
        assert!(e.contains("platforms[0].name"), "{bad:?}: {e}");
    }
    let s = parsed(&with_platforms(&hub("hub_2-b", "/hub", "")));
    assert_eq!(s.platforms[1].name.as_str(), "hub_2-b");
}
