//! SIM banks: each bank reports its own SIMs (`PUT /gateway/banks/{bank}/sims`), a SIM listed
//! by another bank moves there, heartbeats, `GET /admin/banks`, and bank presence: a bank
//! silent for `gateway.bank_ttl` has its SIMs taken off sale until it reports again (driven by
//! the controlled clock), while activations on them go on.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::delivery::helpers::{
    assert_error, count, metric, settings, sim, spawn_app_with, spawn_with_platform, TestApp,
    GATEWAY_TOKEN,
};

/// The one configured SIM: Kazakh, so Russia holds only bank SIMs.
const PINNED_KZ: u64 = 77011000005;
const A: u64 = 79281234501;
const B: u64 = 79281234502;
const C: u64 = 79281234503;
const D: u64 = 79281234504;

async fn kz_only_app() -> TestApp {
    spawn_app_with(settings(vec![sim(
        &PINNED_KZ.to_string(),
        "kazakhstan",
        Some("beeline"),
    )]))
    .await
}

/// (bank, online) of a SIM as `/admin/sims` shows it.
async fn bank_of(app: &TestApp, number: u64) -> (String, bool) {
    let sim = app.admin_sim(number).await;
    (
        sim["bank"].as_str().expect("bank").to_owned(),
        sim["online"].as_bool().expect("online"),
    )
}

async fn russian_vk_stock(app: &TestApp) -> u64 {
    count(&app.get_services().await, "russia", "any", "vk").unwrap_or(0)
}

#[actix_rt::test]
async fn two_banks_report_their_own_sims_without_taking_each_others_offline() {
    let app = kz_only_app().await;
    assert_eq!(
        app.bank_lists("bank1", &[A, B]).await,
        json!({"bank": "bank1", "online": 2, "added": 2, "removed": 0})
    );
    assert_eq!(
        app.bank_lists("bank2", &[C, D]).await,
        json!({"bank": "bank2", "online": 2, "added": 2, "removed": 0})
    );
    assert_eq!(russian_vk_stock(&app).await, 4);

    // bank1's complete list no longer has B: only B goes offline.
    assert_eq!(
        app.bank_lists("bank1", &[A]).await,
        json!({"bank": "bank1", "online": 1, "added": 0, "removed": 1})
    );
    assert_eq!(bank_of(&app, A).await, ("bank1".into(), true));
    assert_eq!(bank_of(&app, B).await, ("bank1".into(), false));
    assert_eq!(bank_of(&app, C).await, ("bank2".into(), true));
    assert_eq!(bank_of(&app, D).await, ("bank2".into(), true));
    assert_eq!(bank_of(&app, PINNED_KZ).await, ("default".into(), true));
    assert_eq!(russian_vk_stock(&app).await, 3);

    let banks = app.admin_banks().await;
    assert_eq!(
        banks.keys().collect::<Vec<_>>(),
        vec!["bank1", "bank2", "default"]
    );
    for (name, sims, online) in [("bank1", 2, 1), ("bank2", 2, 2), ("default", 1, 1)] {
        assert_eq!(banks[name]["sims"], sims, "{name}: {}", banks[name]);
        assert_eq!(banks[name]["online"], online, "{name}: {}", banks[name]);
        assert_eq!(banks[name]["live"], true, "{name}: {}", banks[name]);
    }
    // Reported banks carry the time; the configured SIMs' bank never reported.
    assert_eq!(
        crate::delivery::helpers::time(&banks["bank1"]["last_seen"]),
        app.engine.now()
    );
    assert_eq!(banks["default"]["last_seen"], Value::Null);

    let text = app.metrics().await;
    assert_eq!(
        metric(&text, r#"simrelay_bank_sims_online{bank="bank1"}"#),
        Some(1.0)
    );
    assert_eq!(
        metric(&text, r#"simrelay_bank_sims_online{bank="bank2"}"#),
        Some(2.0)
    );
    assert_eq!(
        metric(&text, r#"simrelay_bank_live{bank="bank2"}"#),
        Some(1.0)
    );
}

#[actix_rt::test]
async fn a_sim_listed_by_another_bank_moves_there() {
    let app = kz_only_app().await;
    app.bank_lists("bank1", &[A, B]).await;
    // B was put into a port of bank2.
    assert_eq!(
        app.bank_lists("bank2", &[B, C]).await,
        json!({"bank": "bank2", "online": 2, "added": 2, "removed": 0})
    );
    assert_eq!(bank_of(&app, B).await, ("bank2".into(), true));
    assert_eq!(app.admin_sim(B).await["port"], "bank2.0");
    // bank1's next list leaves B out: B is bank2's now and stays online.
    assert_eq!(
        app.bank_lists("bank1", &[A]).await,
        json!({"bank": "bank1", "online": 1, "added": 0, "removed": 0})
    );
    assert_eq!(bank_of(&app, B).await, ("bank2".into(), true));
    let banks = app.admin_banks().await;
    assert_eq!(banks["bank1"]["sims"], 1);
    assert_eq!(banks["bank2"]["sims"], 2);
    assert_eq!(russian_vk_stock(&app).await, 3);
}

#[actix_rt::test]
async fn the_unscoped_calls_act_on_bank_default() {
    let app = kz_only_app().await;
    let (status, body) = app
        .put_sims(json!({"sims": [{"number": A.to_string()}, {"number": B.to_string()}]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // "online" counts bank default's SIMs, the configured one included.
    assert_eq!(body, json!({"online": 3, "added": 2, "removed": 0}));
    app.bank_lists("bank1", &[C]).await;
    // One SIM posted with a bank, one without.
    let posted = app
        .sim_online(json!({"number": D.to_string(), "bank": "bank2"}))
        .await;
    assert_eq!(posted["bank"], "bank2");
    assert_eq!(bank_of(&app, A).await, ("default".into(), true));
    // Posted again without a bank, a known SIM stays in its bank.
    let posted = app
        .sim_online(json!({"number": D.to_string(), "port": "moved"}))
        .await;
    assert_eq!(posted["bank"], "bank2", "{posted}");
    assert_eq!(posted["port"], "moved", "{posted}");

    // The legacy list is bank default's: an empty one takes A and B offline, nothing else.
    let (status, body) = app.put_sims(json!({"sims": []})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"online": 1, "added": 0, "removed": 2}));
    assert_eq!(bank_of(&app, A).await, ("default".into(), false));
    assert_eq!(bank_of(&app, C).await, ("bank1".into(), true));
    assert_eq!(bank_of(&app, D).await, ("bank2".into(), true));
    assert_eq!(bank_of(&app, PINNED_KZ).await, ("default".into(), true));
    assert_eq!(app.admin_banks().await["bank2"]["live"], true);
}

#[actix_rt::test]
async fn a_silent_bank_leaves_sale_until_it_reports_again_and_its_activation_goes_on() {
    let (app, platform) = spawn_with_platform(|s| {
        s.sims = vec![sim(&PINNED_KZ.to_string(), "kazakhstan", Some("beeline"))];
    })
    .await;
    app.bank_lists("bank1", &[A]).await;
    let (number, activation) = app.reserve("russia", "any", "vk").await;
    assert_eq!(number, A);
    app.bank_lists("bank1", &[A, B]).await;
    app.bank_lists("bank2", &[C]).await;
    assert_eq!(russian_vk_stock(&app).await, 2);

    // bank2 keeps reporting; bank1 falls silent. 179 s: still live.
    app.advance_banks(100).await;
    let (status, body) = app.heartbeat("bank2").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"bank": "bank2", "online": 1}));
    app.advance_banks(79).await;
    assert_eq!(russian_vk_stock(&app).await, 2);
    assert_eq!(app.admin_banks().await["bank1"]["live"], true);
    // 180 s after its last report: off sale at once.
    app.advance_banks(1).await;
    assert_eq!(russian_vk_stock(&app).await, 1, "only bank2's C");
    let banks = app.admin_banks().await;
    assert_eq!(banks["bank1"]["live"], false, "{}", banks["bank1"]);
    assert_eq!(banks["bank1"]["online"], 2, "its SIMs are still in ports");
    assert_eq!(banks["bank2"]["live"], true);
    let text = app.metrics().await;
    assert_eq!(
        metric(&text, r#"simrelay_bank_live{bank="bank1"}"#),
        Some(0.0)
    );
    // Never issued: the only number left is bank2's.
    assert_eq!(app.reserve("russia", "any", "ok").await.0, C);
    app.assert_no_numbers("russia", "any", "ok").await;

    // The running activation on A goes on: its SMS is accepted and forwarded, FINISH works.
    let (sms_id, matched) = app.sms_to(A, "VK", "VK: 4242").await;
    assert_eq!(matched, Some(activation));
    app.settle().await;
    assert_eq!(app.admin_sms(sms_id).await["state"], "delivered");
    assert_eq!(platform.count(), 1);
    // The SMS came from one of bank1's SIMs: bank1 is alive after all.
    assert_eq!(app.admin_banks().await["bank1"]["live"], true);
    app.finish_ok(activation, 3).await;
    assert_eq!(
        count(&app.get_services().await, "russia", "any", "ok"),
        Some(2)
    );

    // Silent again; a heartbeat brings it back.
    app.advance_banks(180).await;
    assert_eq!(app.admin_banks().await["bank1"]["live"], false);
    assert_eq!(
        count(&app.get_services().await, "russia", "any", "ok"),
        Some(0)
    );
    let (status, body) = app.heartbeat("bank1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"bank": "bank1", "online": 2}));
    assert_eq!(
        count(&app.get_services().await, "russia", "any", "ok"),
        Some(2)
    );
    // The configured SIM never left sale.
    assert_eq!(
        count(&app.get_services().await, "kazakhstan", "any", "vk"),
        Some(1)
    );
}

#[actix_rt::test]
async fn with_bank_ttl_off_a_bank_never_falls_silent() {
    let mut s = settings(vec![sim(
        &PINNED_KZ.to_string(),
        "kazakhstan",
        Some("beeline"),
    )]);
    s.gateway.bank_ttl = None;
    let app = spawn_app_with(s).await;
    app.bank_lists("bank1", &[A, B]).await;
    app.advance_banks(365 * 24 * 3600).await;
    assert_eq!(russian_vk_stock(&app).await, 2);
    assert_eq!(app.admin_banks().await["bank1"]["live"], true);
}

/// A request that must be refused: method, path, body, status, code, what the message names.
type BadRequest = (
    Method,
    String,
    Option<Value>,
    u16,
    &'static str,
    &'static str,
);

#[actix_rt::test]
async fn bad_bank_input_is_refused_and_changes_nothing() {
    let app = kz_only_app().await;
    app.bank_lists("bank1", &[A]).await;
    let sims_before = app.admin_sims().await;
    let banks_before = app.admin_banks().await;
    let long = "b".repeat(65);
    let cases: Vec<BadRequest> = vec![
        (
            Method::PUT,
            "/gateway/banks/bank%20one/sims".into(),
            Some(json!({"sims": [{"number": B.to_string()}]})),
            400,
            "BAD_BANK",
            "bank",
        ),
        (
            Method::PUT,
            "/gateway/banks/bank!/sims".into(),
            Some(json!({"sims": []})),
            400,
            "BAD_BANK",
            "bank",
        ),
        (
            Method::PUT,
            format!("/gateway/banks/{long}/sims"),
            Some(json!({"sims": []})),
            400,
            "BAD_BANK",
            "bank",
        ),
        (
            Method::POST,
            "/gateway/banks/%C3%A9/heartbeat".into(),
            None,
            400,
            "BAD_BANK",
            "bank",
        ),
        (
            Method::POST,
            "/gateway/sims".into(),
            Some(json!({"number": B.to_string(), "bank": "two words"})),
            400,
            "BAD_BANK",
            "bank",
        ),
        (
            Method::PUT,
            "/gateway/banks/bank1/sims".into(),
            Some(
                json!({"sims": [{"number": B.to_string()}, {"number": C.to_string()}, {"number": format!("+{B}")}]}),
            ),
            400,
            "BAD_FIELD",
            "sims[2].number",
        ),
        (
            Method::PUT,
            "/gateway/banks/bank1/sims".into(),
            Some(json!({"sims": [{"number": B.to_string(), "bank": "bank2"}]})),
            400,
            "BAD_FIELD",
            "sims[0].bank",
        ),
        (
            Method::PUT,
            "/gateway/banks/bank1/sims".into(),
            Some(json!({"sims": [{"number": B.to_string()}, {"number": "12"}]})),
            400,
            "BAD_FIELD",
            "sims[1].number",
        ),
        (
            Method::PUT,
            "/gateway/banks/bank1/sims".into(),
            Some(json!({"sims": {"number": B.to_string()}})),
            400,
            "BAD_FIELD",
            "sims",
        ),
    ];
    for (method, path, body, status, code, mentions) in cases {
        let reply = app.gateway(method.clone(), &path, body.clone()).await;
        assert_error(&reply, status, code, mentions);
    }
    // Wrong token: 401, nothing acted on.
    let reply = app
        .gateway_raw(
            Method::POST,
            "/gateway/banks/bank9/heartbeat",
            Some("Bearer wrong"),
            None,
        )
        .await;
    assert_eq!(reply.0, StatusCode::UNAUTHORIZED, "{}", reply.1);
    assert_eq!(app.admin_sims().await, sims_before);
    assert_eq!(app.admin_banks().await, banks_before);
    assert!(GATEWAY_TOKEN.len() > 5);
}

#[actix_rt::test]
async fn a_put_of_100_000_sims_is_accepted_and_repeating_it_changes_nothing() {
    let mut app = kz_only_app().await;
    // A list this big takes seconds in a debug build on a busy machine; actix may close a
    // connection kept alive across such a request, so every request here opens its own.
    app.client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .expect("client");
    let numbers: Vec<u64> = (0..100_000u64).map(|i| 79_280_000_000 + i).collect();
    let body = app.bank_lists("big", &numbers).await;
    assert_eq!(
        body,
        json!({"bank": "big", "online": 100_000, "added": 100_000, "removed": 0})
    );
    assert_eq!(russian_vk_stock(&app).await, 100_000);
    let body = app.bank_lists("big", &numbers).await;
    assert_eq!(
        body,
        json!({"bank": "big", "online": 100_000, "added": 0, "removed": 0})
    );
    // One less: exactly that one goes offline.
    let body = app.bank_lists("big", &numbers[1..]).await;
    assert_eq!(
        body,
        json!({"bank": "big", "online": 99_999, "added": 0, "removed": 1})
    );
    assert_eq!(russian_vk_stock(&app).await, 99_999);
    assert_eq!(app.admin_banks().await["big"]["sims"], 100_000);
}

#[actix_rt::test]
async fn a_bank_silent_before_a_restart_is_silent_after_it_until_it_reports() {
    let dir = tempfile::tempdir().unwrap();
    let redis = crate::delivery::restart::Redis::start(dir.path());
    let store = || -> std::sync::Arc<dyn simrelay_actors::store::Store> {
        std::sync::Arc::new(
            simrelay::store::RedisStore::new(
                &redis.url(),
                "banks",
                std::time::Duration::from_secs(2),
            )
            .expect("redis store"),
        )
    };
    let first_store = store();
    let clock = crate::delivery::helpers::new_clock();
    let s = settings(vec![sim(
        &PINNED_KZ.to_string(),
        "kazakhstan",
        Some("beeline"),
    )]);
    let before = crate::delivery::helpers::spawn_app_on_store(
        s.clone(),
        std::sync::Arc::clone(&first_store),
        clock.clone(),
    )
    .await;
    wait_ready(&before).await;
    before.bank_lists("quiet", &[A, B]).await;
    // A bank no SIM belongs to (a typo) is forgotten at the restart.
    assert_eq!(before.heartbeat("qiuet").await.0, StatusCode::OK);
    before.advance_banks(100).await;
    before.bank_lists("chatty", &[C]).await;
    before.advance_banks(100).await;
    assert_eq!(before.admin_banks().await["quiet"]["live"], false);
    assert_eq!(russian_vk_stock(&before).await, 1);

    // A restart on the same Redis, same time (the first process stops gracefully, handing
    // the lease over): quiet is still silent, chatty still live.
    first_store.release().await;
    let after = crate::delivery::helpers::spawn_app_on_store(s, store(), clock).await;
    wait_ready(&after).await;
    let banks = after.admin_banks().await;
    assert!(!banks.contains_key("qiuet"), "{banks:?}");
    assert_eq!(banks["quiet"]["live"], false, "{}", banks["quiet"]);
    assert_eq!(banks["quiet"]["online"], 2);
    assert_eq!(banks["chatty"]["live"], true, "{}", banks["chatty"]);
    assert_eq!(russian_vk_stock(&after).await, 1);
    assert_eq!(bank_of(&after, A).await, ("quiet".into(), true));
    // chatty's deadline was re-armed with the time that remained (reported at +100 s, now
    // +200 s: 80 s left).
    after.advance_banks(79).await;
    assert_eq!(after.admin_banks().await["chatty"]["live"], true);
    after.advance_banks(1).await;
    assert_eq!(after.admin_banks().await["chatty"]["live"], false);
    assert_eq!(russian_vk_stock(&after).await, 0);
    // quiet reports: back on sale.
    assert_eq!(after.heartbeat("quiet").await.0, StatusCode::OK);
    assert_eq!(russian_vk_stock(&after).await, 2);
}

/// Waits until the app recovered from the store (Redis answers within moments).
async fn wait_ready(app: &TestApp) {
    for _ in 0..200 {
        if app.engine.is_ready() {
            return;
        }
        actix_rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the app did not recover from Redis");
}

#[actix_rt::test]
async fn two_lists_of_one_bank_at_once_leave_exactly_one_of_them_online() {
    let app = kz_only_app().await;
    app.bank_lists("bank1", &[A, B, C]).await;
    for _ in 0..5 {
        let (first, second) =
            futures::join!(app.put_bank("bank1", &[A]), app.put_bank("bank1", &[B]));
        assert_eq!(first.0, StatusCode::OK, "{}", first.1);
        assert_eq!(second.0, StatusCode::OK, "{}", second.1);
        let mut up = Vec::new();
        for n in [A, B, C] {
            if bank_of(&app, n).await.1 {
                up.push(n);
            }
        }
        assert_eq!(up.len(), 1, "one list or the other, never both: {up:?}");
        assert_eq!(russian_vk_stock(&app).await, 1);
        app.bank_lists("bank1", &[A, B, C]).await;
    }
}

#[actix_rt::test]
async fn banks_are_bounded() {
    let app = kz_only_app().await;
    for i in 0..simrelay_actors::MAX_BANKS {
        let (status, body) = app.heartbeat(&format!("b{i}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let reply = app.heartbeat("one-too-many").await;
    assert_error(&reply, 400, "TOO_MANY_BANKS", "1024");
    let reply = app.put_bank("one-too-many", &[A]).await;
    assert_error(&reply, 400, "TOO_MANY_BANKS", "1024");
    assert_eq!(app.admin_sims().await.as_array().map(|a| a.len()), Some(1));
    // Known banks still report.
    assert_eq!(app.heartbeat("b7").await.0, StatusCode::OK);
}
