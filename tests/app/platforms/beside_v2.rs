//! An OnlineSIM v2 platform beside SMSHub: each with banks of its own. The v2 platform lists only
//! its banks' SIMs and gets the SMS of the SIMs it lists; SMSHub sells only its banks' SIMs and
//! gets the SMS of its activations.

use std::time::Duration;

use serde_json::json;
use simrelay::config::{RawPlatform, Secret};

use super::smshub::{FakeSmsHub, Hub};
use crate::delivery::helpers::{metric, new_clock, settings, TestApp, RETRY_SECS};
use crate::kit::app;
use crate::v2::fake::{Endpoint, FakeV2, Reply};

const V2_KEY: &str = "test-v2-bearer";
/// SIMs of the v2 platform's bank, SMSHub's bank, and a bank nobody sells.
const LISTED: u64 = 79281000001;
const HUBS: u64 = 79281000002;
const NOBODYS: u64 = 79281000003;

#[actix_rt::test]
async fn a_v2_platform_lists_and_hears_only_its_banks_sims() {
    let clock = new_clock();
    let v2 = FakeV2::start(Some(clock.clone())).await;
    let hub_fake = FakeSmsHub::start(clock.clone()).await;
    let mut s = settings(Vec::new());
    // No `[onlinesim]` platform: its key is not set.
    s.onlinesim.api_key = Secret::default();
    s.onlinesim.v2_debounce = Duration::from_secs(3);
    s.platforms.push(RawPlatform {
        name: "os-v2".into(),
        protocol: "onlinesim-v2".into(),
        key: Secret::new(V2_KEY),
        push_url: Some(v2.url()),
        banks: Some(vec!["rack-v2".into()]),
        ..RawPlatform::default()
    });
    let mut hub_entry = hub_fake.platform();
    hub_entry.banks = Some(vec!["rack-hub".into()]);
    s.platforms.push(hub_entry);
    let running = app::start_in_memory(s, clock.clone()).await;
    let sync = running
        .v2_sync
        .clone()
        .expect("the v2 platform's list task");
    let app = TestApp::of(running, clock);
    assert_eq!(app.settings.platforms.len(), 2);
    app.bank_lists("rack-v2", &[LISTED]).await;
    app.bank_lists("rack-hub", &[HUBS]).await;
    app.bank_lists("rack-other", &[NOBODYS]).await;

    // The v2 list holds its bank's SIM only, sent with its own key.
    app.advance(10);
    sync.tick().await;
    let list = v2.last(Endpoint::SendNumbersOnline);
    assert_eq!(list.numbers(), vec![format!("+{LISTED}")]);
    assert_eq!(
        list.header("authorization"),
        Some(format!("Bearer {V2_KEY}").as_str())
    );

    // SMSHub sells its bank's SIM only.
    let hub = Hub::of(&app);
    assert_eq!(hub.services().await["russia"]["any"]["vk"], 1);
    let (number, hub_id) = hub.reserve("russia", "any", "vk").await;
    assert_eq!(number, HUBS);
    hub.assert_no_numbers("russia", "any", "vk").await;

    // Each SMS goes to its own platform; a SIM nobody sells keeps its SMS.
    let (listed_sms, none) = app.sms_to(LISTED, "VK", "VK: 11111").await;
    assert_eq!(none, None);
    let (hub_sms, activation) = app.sms_to(HUBS, "VK", "VK: 22222").await;
    assert_eq!(activation, Some(hub_id));
    let (nobodys_sms, _) = app.sms_to(NOBODYS, "VK", "VK: 33333").await;
    app.settle().await;
    let added = v2.requests_to(Endpoint::AddMessage);
    assert_eq!(added.len(), 1, "{added:#?}");
    assert_eq!(added[0].json["message"], "VK: 11111");
    let pushed = hub_fake.pushes();
    assert_eq!(pushed.len(), 1, "{pushed:#?}");
    assert_eq!(pushed[0]["text"], "VK: 22222");
    assert_eq!(app.admin_sms(listed_sms).await["platform"], "os-v2");
    assert_eq!(app.admin_sms(hub_sms).await["platform"], "smshub");
    let kept = app.admin_sms(nobodys_sms).await;
    assert_eq!(kept["state"], "unmatched", "{kept}");
    assert!(kept.get("platform").is_none(), "{kept}");
    app.advance_and_settle(10 * RETRY_SECS).await;
    assert_eq!(v2.requests_to(Endpoint::AddMessage).len(), 1);
    assert_eq!(hub_fake.pushes().len(), 1);
    assert_eq!(json!(v2.count(Endpoint::AddMessages)), json!(0));

    // The v2 account refused: the metric says so, but SMSHub keeps its traffic (ready).
    v2.always(Endpoint::SendNumbersOnline, Reply::wrong_key());
    app.bank_lists("rack-v2", &[LISTED, 79281000004]).await;
    app.advance(10);
    sync.tick().await;
    assert_eq!(
        v2.last(Endpoint::SendNumbersOnline).reply,
        Reply::wrong_key()
    );
    let text = app.metrics().await;
    assert_eq!(
        metric(
            &text,
            r#"simrelay_v2_account_problem{code="ERROR_WRONG_KEY",platform="os-v2"}"#
        ),
        Some(1.0),
        "{text}"
    );
    let ready = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), reqwest::StatusCode::OK);
}

/// Two v2 platforms, each with its own bank: the v2 metrics are per platform, and one
/// platform's account problem is neither hidden nor cleared by the other's successful lists.
#[actix_rt::test]
async fn two_v2_platforms_have_metrics_of_their_own() {
    let clock = new_clock();
    let fake_a = FakeV2::start(Some(clock.clone())).await;
    let fake_b = FakeV2::start(Some(clock.clone())).await;
    let mut s = settings(Vec::new());
    s.onlinesim.api_key = Secret::default();
    for (name, fake, bank) in [("os-a", &fake_a, "rack-a"), ("os-b", &fake_b, "rack-b")] {
        s.platforms.push(RawPlatform {
            name: name.into(),
            protocol: "onlinesim-v2".into(),
            key: Secret::new(V2_KEY),
            push_url: Some(fake.url()),
            banks: Some(vec![bank.into()]),
            ..RawPlatform::default()
        });
    }
    let running = app::start_in_memory(s, clock.clone()).await;
    assert_eq!(running.v2_syncs.len(), 2);
    let syncs = running.v2_syncs.clone();
    let app = TestApp::of(running, clock);
    app.bank_lists("rack-a", &[LISTED]).await;
    app.bank_lists("rack-b", &[HUBS, NOBODYS]).await;
    // Platform b refuses the key (until told otherwise below).
    fake_b.always(Endpoint::SendNumbersOnline, Reply::wrong_key());
    app.advance(10);
    for sync in &syncs {
        sync.tick().await;
    }
    let listed = |name: &str| format!(r#"simrelay_v2_listed_sims{{platform="{name}"}}"#);
    let problem = |name: &str| {
        format!(r#"simrelay_v2_account_problem{{code="ERROR_WRONG_KEY",platform="{name}"}}"#)
    };
    let heartbeat = |name: &str| {
        format!(r#"simrelay_v2_last_heartbeat_timestamp_seconds{{platform="{name}"}}"#)
    };
    let text = app.metrics().await;
    assert_eq!(metric(&text, &listed("os-a")), Some(1.0), "{text}");
    assert!(metric(&text, &heartbeat("os-a")).is_some(), "{text}");
    assert_eq!(metric(&text, &problem("os-b")), Some(1.0), "{text}");
    assert_eq!(metric(&text, &problem("os-a")), None, "{text}");
    // b's list of its two SIMs was never accepted (its first list, at start, may have been).
    assert_ne!(metric(&text, &listed("os-b")), Some(2.0), "{text}");

    // Platform a lists again: b's problem stays until b itself lists.
    app.bank_lists("rack-a", &[LISTED, 79281000004]).await;
    app.advance(10);
    syncs[0].tick().await;
    let text = app.metrics().await;
    assert_eq!(metric(&text, &listed("os-a")), Some(2.0), "{text}");
    assert_eq!(metric(&text, &problem("os-b")), Some(1.0), "{text}");

    // b's key is accepted now; its back-off is over.
    fake_b.always(Endpoint::SendNumbersOnline, Reply::Ok);
    app.advance(60);
    syncs[1].tick().await;
    let text = app.metrics().await;
    assert_eq!(metric(&text, &problem("os-b")), None, "{text}");
    assert_eq!(metric(&text, &listed("os-b")), Some(2.0), "{text}");
    assert!(metric(&text, &heartbeat("os-b")).is_some(), "{text}");
    assert_eq!(metric(&text, &listed("os-a")), Some(2.0), "{text}");
}
