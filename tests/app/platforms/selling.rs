//! OnlineSIM (the `[onlinesim]` section) and SMSHub (`[[platforms]]`) selling one pool: shared
//! numbers, separate keys, paths, rules, names, banks and webhooks.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::StatusCode;
use serde_json::{json, Value};
use simrelay::config::{RawPlatform, RawSettings, SimEntry};

use super::smshub::{FakeSmsHub, Hub, HUB_KEY};
use crate::delivery::helpers::{
    default_sims, metric, new_clock, settings, sim, spawn_app_on, TestApp, API_KEY, RETRY_SECS, RU1,
};
use crate::delivery::platform::{Platform, Reply};
use crate::kit::http::assert_error;

/// An app selling `sims` on OnlineSIM (its webhook: the returned [`Platform`]) and on the fake
/// SMSHub, after `tweak` (settings, the SMSHub entry).
async fn both(
    sims: Vec<SimEntry>,
    tweak: impl FnOnce(&mut RawSettings, &mut RawPlatform),
) -> (TestApp, Platform, FakeSmsHub) {
    let clock = new_clock();
    let onlinesim = Platform::start(Some(clock.clone())).await;
    let hub = FakeSmsHub::start(clock.clone()).await;
    let mut s = settings(sims);
    s.onlinesim.push_sms_url = Some(onlinesim.url());
    let mut entry = hub.platform();
    tweak(&mut s, &mut entry);
    s.platforms.push(entry);
    (spawn_app_on(s, clock).await, onlinesim, hub)
}

/// `n` Russian beeline SIMs from 79281000001.
fn sims(n: u64) -> Vec<SimEntry> {
    (0..n)
        .map(|i| sim(&(79281000001 + i).to_string(), "russia", Some("beeline")))
        .collect()
}

/// The activation as `GET /admin/activations/{id}` shows it.
async fn activation(app: &TestApp, id: u64) -> Value {
    app.admin_json(&format!("/admin/activations/{id}")).await["activation"].clone()
}

#[actix_rt::test]
async fn two_platforms_draining_one_pool_never_give_a_number_twice() {
    let (app, _onlinesim, _hub) = both(sims(8), |_, _| {}).await;
    let hub = Hub::of(&app);
    // 24 GET_NUMBERs at once, alternating platforms, for 8 SIMs.
    let calls = (0..24).map(|i| {
        let (app, hub) = (&app, &hub);
        async move {
            let reply = if i % 2 == 0 {
                app.get_number("russia", "any", "vk").await
            } else {
                hub.get_number("russia", "any", "vk", &[]).await
            };
            (i % 2 == 1, reply)
        }
    });
    let replies = futures::future::join_all(calls).await;
    let mut numbers = BTreeSet::new();
    let mut by_platform: BTreeMap<u64, &str> = BTreeMap::new();
    for (smshub, (status, body)) in &replies {
        assert_eq!(*status, StatusCode::OK, "{body}");
        match body["status"].as_str() {
            Some("SUCCESS") => {
                let number = body["number"].as_u64().expect("number");
                assert!(
                    numbers.insert(number),
                    "{number} issued twice: {replies:#?}"
                );
                let id = body["activationId"].as_u64().expect("activationId");
                by_platform.insert(id, if *smshub { "smshub" } else { "onlinesim" });
            }
            _ => assert_eq!(*body, json!({"status": "NO_NUMBERS"})),
        }
    }
    assert_eq!(numbers.len(), 8, "every SIM sold once: {replies:#?}");
    // Each activation is recorded with the platform that bought it.
    for (id, platform) in &by_platform {
        assert_eq!(activation(&app, *id).await["platform"], *platform);
    }
    // Both platforms see the pool empty at once.
    assert_eq!(hub.services().await["russia"]["beeline"]["vk"], 0);
    let onlinesim = app.get_services().await;
    assert_eq!(
        onlinesim["countryList"][0]["operatorMap"]["beeline"]["vk"],
        0
    );
}

#[actix_rt::test]
async fn a_number_one_platform_reserves_leaves_the_others_stock_at_once() {
    let (app, _onlinesim, _hub) = both(sims(2), |_, _| {}).await;
    let hub = Hub::of(&app);
    assert_eq!(hub.services().await["russia"]["beeline"]["vk"], 2);
    app.reserve("russia", "beeline", "vk").await;
    assert_eq!(hub.services().await["russia"]["beeline"]["vk"], 1);
    hub.reserve("russia", "beeline", "vk").await;
    app.assert_no_numbers("russia", "beeline", "vk").await;
    hub.assert_no_numbers("russia", "beeline", "vk").await;
}

#[actix_rt::test]
async fn keys_and_activations_belong_to_their_platform() {
    let (app, _onlinesim, _hub) = both(sims(2), |_, _| {}).await;
    let hub = Hub::of(&app);
    // OnlineSIM's key opens no SMSHub path, and SMSHub's key no OnlineSIM path.
    let wrong = Hub {
        app: &app,
        path: super::smshub::HUB_PATH,
        key: API_KEY,
    };
    let (status, body) = wrong
        .post(json!({"action": "GET_SERVICES", "key": API_KEY}))
        .await;
    assert_error(&(status, body), 401, "BAD_KEY", "wrong key");
    let onlinesim_path = app.settings.onlinesim.v1().expect("v1").path.clone();
    let wrong = Hub {
        app: &app,
        path: &onlinesim_path,
        key: HUB_KEY,
    };
    let (status, body) = wrong
        .post(json!({"action": "GET_SERVICES", "key": HUB_KEY}))
        .await;
    assert_error(&(status, body), 401, "BAD_KEY", "wrong key");
    // An activation bought on OnlineSIM is unknown to SMSHub, and the other way round: the
    // FINISH changes nothing.
    let (number, onlinesim_id) = app.reserve("russia", "any", "vk").await;
    let (_, hub_id) = hub.reserve("russia", "any", "vk").await;
    let (status, body) = hub.finish(onlinesim_id, 3).await;
    assert_error(&(status, body), 404, "UNKNOWN_ACTIVATION", "");
    let (status, body) = app.v1().finish(hub_id, 3).await;
    assert_error(&(status, body), 404, "UNKNOWN_ACTIVATION", "");
    assert_eq!(activation(&app, onlinesim_id).await["state"], "active");
    assert_eq!(activation(&app, hub_id).await["state"], "active");
    assert_eq!(app.admin_sim(number).await["services_used"], json!([]));
    // Each platform finishes its own.
    app.finish_ok(onlinesim_id, 3).await;
    hub.finish_ok(hub_id, 3).await;
    hub.finish_ok(hub_id, 3).await;
}

#[actix_rt::test]
async fn finish_statuses_follow_each_platforms_rules_and_used_is_shared() {
    let (app, _onlinesim, _hub) = both(sims(1), |_, _| {}).await;
    let hub = Hub::of(&app);
    // OnlineSIM: 1 and 4 return the number to the pool with nothing counted.
    for status in [1, 4, 4, 4, 4, 5] {
        let (_, id) = app.reserve("russia", "any", "vk").await;
        app.finish_ok(id, status).await;
    }
    assert_eq!(app.admin_sim(RU1).await["services_used"], json!([]));
    // SMSHub: 4 returns it, and the fourth cancel of a service ends it for that service.
    for _ in 0..3 {
        let (_, id) = hub.reserve("russia", "any", "vk").await;
        hub.finish_ok(id, 4).await;
    }
    let (_, id) = hub.reserve("russia", "any", "vk").await;
    hub.finish_ok(id, 4).await;
    hub.assert_no_numbers("russia", "any", "vk").await;
    // …for every platform: what a number was used for is one fact.
    app.assert_no_numbers("russia", "any", "vk").await;
    // SMSHub: 1 stops the number for the service at once, everywhere.
    let (_, id) = hub.reserve("russia", "any", "tg").await;
    hub.finish_ok(id, 1).await;
    hub.assert_no_numbers("russia", "any", "tg").await;
    app.assert_no_numbers("russia", "any", "tg").await;
    assert_eq!(app.admin_sim(RU1).await["services_used"], json!(["tg"]));
    // 3 uses it for the service on either.
    let (_, id) = app.reserve("russia", "any", "ok").await;
    app.finish_ok(id, 3).await;
    hub.assert_no_numbers("russia", "any", "ok").await;
    // 5 returns it.
    let (_, id) = hub.reserve("russia", "any", "wa").await;
    hub.finish_ok(id, 5).await;
    hub.reserve("russia", "any", "wa").await;
}

#[actix_rt::test]
async fn get_services_has_each_protocols_shape() {
    let mut pool = sims(2);
    pool.push(sim("79031000009", "russia", None));
    pool.push(sim("77011000001", "kazakhstan", None));
    let (app, _onlinesim, _hub) = both(pool, |s, _| s.onlinesim.rent = true).await;
    let hub = Hub::of(&app);
    // SMSHub: a country split by operator never reports `any` (its SIM of unknown operator is
    // not reported); a country without operators reports `any` only; no rent.
    let services = hub.services().await;
    assert_eq!(
        services["russia"],
        json!({"beeline": {"ok": 2, "tg": 2, "vk": 2, "wa": 2}})
    );
    assert_eq!(
        services["kazakhstan"],
        json!({"any": {"ok": 1, "tg": 1, "vk": 1, "wa": 1}})
    );
    // OnlineSIM: `any` always, the sum over every operator, unknown ones included; rent sold.
    let onlinesim = app.get_services().await;
    let russia = &onlinesim["countryList"]
        .as_array()
        .expect("countryList")
        .iter()
        .find(|c| c["country"] == "russia")
        .expect("russia")["operatorMap"];
    assert_eq!(russia["any"]["vk"], 3);
    assert_eq!(russia["any"]["rent"], 3);
    assert_eq!(russia["beeline"]["vk"], 2);
    // Rent is not for sale on SMSHub, even asked for.
    hub.assert_no_numbers("russia", "any", "rent").await;
}

#[actix_rt::test]
async fn service_names_are_the_platforms_in_and_ours_out() {
    let (app, _onlinesim, _hub) = both(sims(2), |_, hub| {
        hub.services = BTreeMap::from([("tg".to_owned(), "telegram".to_owned())]);
    })
    .await;
    let hub = Hub::of(&app);
    let beeline = &hub.services().await["russia"]["beeline"];
    assert_eq!(beeline["telegram"], 2, "{beeline}");
    assert!(beeline.get("tg").is_none(), "{beeline}");
    // Its name in, ours stored.
    let (_, id) = hub.reserve("russia", "beeline", "telegram").await;
    assert_eq!(activation(&app, id).await["service"], "tg");
    // Our name is not its name for the service.
    hub.assert_no_numbers("russia", "beeline", "tg").await;
    // OnlineSIM still says tg.
    app.reserve("russia", "beeline", "tg").await;
}

#[actix_rt::test]
async fn a_platform_sells_only_the_sims_of_its_banks() {
    let (app, _onlinesim, _hub) = both(Vec::new(), |_, hub| {
        hub.banks = Some(vec!["south".to_owned()]);
    })
    .await;
    let hub = Hub::of(&app);
    let (north, south) = (79281000001u64, 79281000002u64);
    app.bank_lists("north", &[north]).await;
    app.bank_lists("south", &[south]).await;
    // Operators come from the gateway when it says: these SIMs have none, `any` it is.
    assert_eq!(hub.services().await["russia"]["any"]["vk"], 1);
    let onlinesim = app.get_services().await;
    assert_eq!(onlinesim["countryList"][0]["operatorMap"]["any"]["vk"], 2);
    let (number, _) = hub.reserve("russia", "any", "vk").await;
    assert_eq!(number, south);
    // North is free, but not SMSHub's to sell.
    hub.assert_no_numbers("russia", "any", "vk").await;
    let (number, _) = app.reserve("russia", "any", "vk").await;
    assert_eq!(number, north);
}

#[actix_rt::test]
async fn each_sms_goes_once_to_its_own_platforms_webhook_in_its_shape() {
    let (app, onlinesim, hub_fake) = both(sims(2), |_, _| {}).await;
    let hub = Hub::of(&app);
    let (onlinesim_number, onlinesim_id) = app.reserve("russia", "any", "vk").await;
    let (hub_number, hub_id) = hub.reserve("russia", "any", "vk").await;
    let (first, _) = app.sms_to(hub_number, "VK", "VK: 11111").await;
    let (second, _) = app.sms_to(hub_number, "VK", "VK: 22222").await;
    app.sms_to(onlinesim_number, "VK", "VK: 33333").await;
    app.settle().await;
    // OnlineSIM: smsId is the activation id, with OnlineSIM's key.
    let pushes: Vec<Value> = onlinesim.requests().into_iter().map(|r| r.json).collect();
    assert_eq!(pushes.len(), 1, "{pushes:#?}");
    assert_eq!(pushes[0]["smsId"], onlinesim_id);
    assert_eq!(pushes[0]["key"], API_KEY);
    assert_eq!(pushes[0]["text"], "VK: 33333");
    // SMSHub: smsId is unique per SMS, phone an integer with the country code, its key.
    let pushes = hub_fake.pushes();
    assert_eq!(pushes.len(), 2, "{pushes:#?}");
    assert_eq!(
        pushes
            .iter()
            .map(|p| p["smsId"].clone())
            .collect::<Vec<_>>(),
        vec![json!(first), json!(second)]
    );
    assert_ne!(first, hub_id);
    for p in &pushes {
        assert_eq!(p["phone"], json!(hub_number));
        assert_eq!(p["key"], HUB_KEY);
        assert_eq!(p["action"], "PUSH_SMS");
        assert_eq!(p["phoneFrom"], "VK");
    }
    // Each SMS records its platform.
    assert_eq!(app.admin_sms(first).await["platform"], "smshub");
    // Nothing more is sent once confirmed.
    app.advance_and_settle(10 * RETRY_SECS).await;
    assert_eq!(hub_fake.pushes().len(), 2);
    assert_eq!(onlinesim.count(), 1);
    // The request and delivery metrics say which platform.
    let text = app.metrics().await;
    assert_eq!(
        metric(
            &text,
            r#"simrelay_push_sms_total{outcome="SUCCESS",platform="smshub"}"#
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            r#"simrelay_v1_requests_total{action="GET_NUMBER",outcome="success",platform="smshub"}"#
        ),
        Some(1.0),
        "{text}"
    );
}

#[actix_rt::test]
async fn smshub_retries_every_answer_but_success_and_stops_at_success() {
    let (app, _onlinesim, hub_fake) = both(sims(1), |_, _| {}).await;
    let hub = Hub::of(&app);
    // OnlineSIM would stop at NO_OPERATION; SMSHub has no such code: only SUCCESS ends it.
    hub_fake.webhook.then(Reply::error(404, "NO_OPERATION"), 1);
    hub_fake.webhook.then(Reply::server_error(), 1);
    let (number, _) = hub.reserve("russia", "any", "vk").await;
    let (sms_id, _) = app.sms_to(number, "VK", "VK: 12345").await;
    app.settle().await;
    assert_eq!(hub_fake.webhook.count(), 1);
    assert_eq!(app.admin_sms(sms_id).await["state"], "pending");
    app.advance_and_settle(RETRY_SECS).await;
    assert_eq!(hub_fake.webhook.count(), 2);
    app.advance_and_settle(RETRY_SECS).await;
    assert_eq!(hub_fake.webhook.count(), 3);
    assert_eq!(app.admin_sms(sms_id).await["state"], "delivered");
    app.advance_and_settle(10 * RETRY_SECS).await;
    assert_eq!(hub_fake.webhook.count(), 3, "resent after SUCCESS");
    let ids: BTreeSet<String> = hub_fake
        .pushes()
        .iter()
        .map(|p| p["smsId"].to_string())
        .collect();
    assert_eq!(ids.len(), 1, "one SMS keeps its smsId across retries");
}

#[actix_rt::test]
async fn the_onlinesim_shorthand_alone_is_the_platform_onlinesim() {
    let clock = new_clock();
    let onlinesim = Platform::start(Some(clock.clone())).await;
    let mut s = settings(default_sims());
    s.onlinesim.push_sms_url = Some(onlinesim.url());
    let app = spawn_app_on(s, clock).await;
    assert_eq!(app.settings.platforms.len(), 1);
    let (number, id) = app.reserve("russia", "any", "vk").await;
    assert_eq!(activation(&app, id).await["platform"], "onlinesim");
    // Under OnlineSIM's rules a cancel returns the number; nothing is counted.
    app.finish_ok(id, 4).await;
    assert_eq!(app.admin_sim(number).await["cancels"], json!([]));
    // No SMSHub path.
    let hub = Hub::of(&app);
    let (status, _) = hub
        .post(json!({"action": "GET_SERVICES", "key": HUB_KEY}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[actix_rt::test]
async fn sms_of_a_platform_without_a_webhook_wait_and_go_nowhere_else() {
    let (app, onlinesim, hub_fake) = both(sims(1), |_, hub| hub.push_url = None).await;
    let hub = Hub::of(&app);
    let (number, _) = hub.reserve("russia", "any", "vk").await;
    let (sms_id, _) = app.sms_to(number, "VK", "VK: 12345").await;
    app.settle().await;
    app.advance_and_settle(RETRY_SECS).await;
    let kept = app.admin_sms(sms_id).await;
    assert_eq!(kept["state"], "pending", "{kept}");
    assert!(
        kept["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("smshub has no SMS webhook")),
        "{kept}"
    );
    assert_eq!(onlinesim.count(), 0, "sent to another platform's webhook");
    assert_eq!(hub_fake.webhook.count(), 0);
}
