//! SMS forwarding by addMessage: every SMS of a listed SIM goes out once, failures are retried
//! after the back-off, NO_NUMBER resyncs the list and is retried once, ERROR_PARAMS and
//! NUMBER_FORMAT_ERROR are final, SMS of SIMs not listed stay home.

use std::time::Duration;

use serde_json::{json, Value};

use crate::v2::fake::Endpoint::{AddMessage, SendNumbersOnline};
use crate::v2::fake::{FakeV2, Reply};
use crate::v2::helpers::{plus, spawn, time, unix, V2App, C1, DEBOUNCE_SECS, G1, RETRY_SECS};

/// The SMS as `/admin/sms` shows it, after the attempts due now ended.
async fn settled(app: &V2App, id: u64) -> Value {
    app.settle().await;
    app.admin_sms(id).await
}

/// Moves the clock to the SMS's next attempt, checking nothing goes out a second before it.
async fn to_next_attempt(app: &V2App, fake: &FakeV2, id: u64) {
    let stored = app.admin_sms(id).await;
    let due = time(&stored["next_attempt_at"]);
    let wait = (due - app.engine.now()).num_seconds();
    assert!(wait >= RETRY_SECS.min(5), "retried too soon: {stored}");
    let before = fake.count(AddMessage);
    app.advance_and_settle(wait - 1).await;
    assert_eq!(
        fake.count(AddMessage),
        before,
        "nothing before the back-off"
    );
    app.advance_and_settle(1).await;
}

#[actix_rt::test]
async fn every_sms_of_a_listed_sim_goes_out_by_add_message() {
    let (app, fake) = spawn(|_| {}).await;
    app.tick().await;
    let first = app
        .sms_body(
            json!({"number": C1.to_string(), "from": "VKcom", "text": "VKcom 111111",
                         "received_at": "2024-12-31T23:59:55Z"}),
        )
        .await;
    let stored = settled(&app, first).await;
    assert_eq!(stored["state"], "delivered", "{stored}");
    let sent = fake.requests_to(AddMessage);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, "/api/resellers/addMessage");
    assert_eq!(
        sent[0].json,
        json!({"date": "1735689595", "number": "+79281000001", "from": "VKcom",
               "message": "VKcom 111111"}),
        "date is the receive time as a UNIX-time string"
    );

    // Without a receive time, the time simrelay accepted it; SIMs from the gateway too.
    app.advance(20);
    app.online(G1).await;
    app.tick().await;
    app.advance_and_tick(DEBOUNCE_SECS).await;
    let second = app.sms(G1, "+79990001122", "Ваш код: 4242").await;
    assert_eq!(settled(&app, second).await["state"], "delivered");
    assert_eq!(
        fake.last(AddMessage).json,
        json!({"date": unix(20 + DEBOUNCE_SECS).to_string(), "number": plus(G1),
               "from": "+79990001122", "message": "Ваш код: 4242"})
    );
}

#[actix_rt::test]
async fn an_sms_posted_by_port_goes_out_with_the_sims_number() {
    let (app, fake) = spawn(|_| {}).await;
    app.tick().await;
    let id = app
        .sms_body(json!({"port": "bank.1", "from": "VK", "text": "VK: by port"}))
        .await;
    assert_eq!(settled(&app, id).await["state"], "delivered");
    assert_eq!(fake.last(AddMessage).json["number"], plus(C1));
}

#[actix_rt::test]
async fn an_sms_the_gateway_posts_twice_goes_out_once() {
    let (app, fake) = spawn(|_| {}).await;
    app.tick().await;
    let body = json!({"number": C1.to_string(), "from": "VK", "text": "VK: twice", "id": "gw-1"});
    let id = app.sms_body(body.clone()).await;
    app.settle().await;
    let (status, answer) = app
        .gateway(reqwest::Method::POST, "/gateway/sms", Some(body))
        .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["duplicate"], true, "{answer}");
    assert_eq!(answer["sms_id"], id, "{answer}");
    app.advance_and_settle(RETRY_SECS).await;
    assert_eq!(fake.count(AddMessage), 1);
}

#[actix_rt::test]
async fn nothing_is_sent_twice_after_success() {
    let (app, fake) = spawn(|_| {}).await;
    app.tick().await;
    let ids = [
        app.sms(C1, "VK", "one").await,
        app.sms(C1, "VK", "two").await,
        app.sms(C1, "WhatsApp", "three").await,
    ];
    app.settle().await;
    assert_eq!(fake.count(AddMessage), 3);
    for step in [RETRY_SECS, 60, 3600, 86_400] {
        app.advance_and_settle(step).await;
    }
    assert_eq!(
        fake.count(AddMessage),
        3,
        "{:#?}",
        fake.requests_to(AddMessage)
    );
    let mut texts: Vec<String> = fake
        .requests_to(AddMessage)
        .iter()
        .map(|r| r.json["message"].as_str().unwrap_or_default().to_owned())
        .collect();
    texts.sort();
    assert_eq!(texts, vec!["one", "three", "two"]);
    for id in ids {
        let stored = app.admin_sms(id).await;
        assert_eq!(stored["state"], "delivered", "{stored}");
        assert_eq!(stored["attempts"], 1, "{stored}");
    }
}

#[actix_rt::test]
async fn server_errors_are_retried_after_the_back_off() {
    let (app, fake) = spawn(|_| {}).await;
    app.tick().await;
    fake.then(AddMessage, Reply::ServerError, 2);
    let id = app.sms(C1, "VK", "VK: 500").await;
    let stored = settled(&app, id).await;
    assert_eq!(stored["state"], "pending", "{stored}");
    assert_eq!(stored["attempts"], 1, "{stored}");
    assert!(
        stored["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("500"),
        "{stored}"
    );
    assert_eq!(
        time(&stored["next_attempt_at"]),
        crate::v2::helpers::at(RETRY_SECS),
        "the first back-off is push_retry_interval"
    );
    let (status, body) = app.readyz().await;
    assert_eq!(status, 200, "a 500 is not an account problem: {body}");
    to_next_attempt(&app, &fake, id).await;
    assert_eq!(fake.count(AddMessage), 2);
    assert_eq!(app.admin_sms(id).await["state"], "pending");
    to_next_attempt(&app, &fake, id).await;
    let stored = app.admin_sms(id).await;
    assert_eq!(stored["state"], "delivered", "{stored}");
    assert_eq!(stored["attempts"], 3, "{stored}");
    assert_eq!(fake.count(AddMessage), 3);
    // All three attempts carried the same SMS.
    let bodies: Vec<Value> = fake
        .requests_to(AddMessage)
        .iter()
        .map(|r| r.json.clone())
        .collect();
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:#?}");
}

#[actix_rt::test]
async fn network_errors_are_retried() {
    let (app, mut fake) = spawn(|_| {}).await;
    app.tick().await;
    fake.stop().await;
    let id = app.sms(C1, "VK", "VK: down").await;
    let stored = settled(&app, id).await;
    assert_eq!(stored["state"], "pending", "{stored}");
    assert_eq!(stored["attempts"], 1, "{stored}");
    assert!(stored["last_error"].is_string(), "{stored}");
    fake.restart().await;
    assert_eq!(fake.count(AddMessage), 0, "the platform saw nothing");
    to_next_attempt(&app, &fake, id).await;
    assert_eq!(app.admin_sms(id).await["state"], "delivered");
    assert_eq!(fake.count(AddMessage), 1);
}

#[actix_rt::test]
async fn timeouts_are_retried() {
    let (app, fake) = spawn(|s| s.onlinesim.v2_timeout = Duration::from_millis(300)).await;
    app.tick().await;
    fake.then(AddMessage, Reply::Slow(Duration::from_secs(2)), 1);
    let id = app.sms(C1, "VK", "VK: slow").await;
    let stored = settled(&app, id).await;
    assert_eq!(stored["state"], "pending", "{stored}");
    assert_eq!(fake.count(AddMessage), 1);
    to_next_attempt(&app, &fake, id).await;
    let stored = app.admin_sms(id).await;
    assert_eq!(stored["state"], "delivered", "{stored}");
    assert_eq!(stored["attempts"], 2, "{stored}");
}

#[actix_rt::test]
async fn no_number_resyncs_the_list_and_retries_once() {
    let (app, fake) = spawn(|_| {}).await;
    app.tick().await;
    assert_eq!(fake.count(SendNumbersOnline), 1);
    fake.then(AddMessage, Reply::html("NO_NUMBER"), 1);
    let id = app.sms(C1, "VK", "VK: resync").await;
    let stored = settled(&app, id).await;
    assert_eq!(stored["state"], "pending", "{stored}");
    assert_eq!(stored["last_error"], "NO_NUMBER", "{stored}");

    // The list goes out again at once (no clock move: the resync is not the heartbeat).
    fake.wait_for(SendNumbersOnline, 2, Duration::from_secs(5))
        .await;
    let order: Vec<_> = fake
        .requests()
        .iter()
        .filter(|r| matches!(r.endpoint, AddMessage | SendNumbersOnline))
        .map(|r| r.endpoint)
        .collect();
    assert_eq!(
        order,
        vec![SendNumbersOnline, AddMessage, SendNumbersOnline]
    );
    assert_eq!(fake.last(SendNumbersOnline).numbers(), vec![plus(C1)]);

    to_next_attempt(&app, &fake, id).await;
    let stored = app.admin_sms(id).await;
    assert_eq!(stored["state"], "delivered", "{stored}");
    assert_eq!(fake.count(AddMessage), 2);
}

#[actix_rt::test]
async fn a_second_no_number_fails_the_sms() {
    let (app, fake) = spawn(|_| {}).await;
    app.tick().await;
    fake.then(AddMessage, Reply::html("NO_NUMBER"), 2);
    let id = app.sms(C1, "VK", "VK: gone").await;
    settled(&app, id).await;
    to_next_attempt(&app, &fake, id).await;
    let stored = app.admin_sms(id).await;
    assert_eq!(stored["state"], "failed", "{stored}");
    assert_eq!(stored["last_error"], "NO_NUMBER", "{stored}");
    assert_eq!(stored["next_attempt_at"], Value::Null, "{stored}");
    for step in [RETRY_SECS, 3600, 86_400] {
        app.advance_and_settle(step).await;
    }
    assert_eq!(fake.count(AddMessage), 2, "failed SMS are not retried");
}

#[actix_rt::test]
async fn no_number_after_a_network_failure_still_resyncs_and_retries() {
    let (app, fake) = spawn(|_| {}).await;
    app.tick().await;
    fake.then(AddMessage, Reply::ServerError, 1);
    fake.then(AddMessage, Reply::html("NO_NUMBER"), 1);
    let id = app.sms(C1, "VK", "VK: outage then stale list").await;
    settled(&app, id).await;
    to_next_attempt(&app, &fake, id).await;
    let stored = app.admin_sms(id).await;
    assert_eq!(stored["last_error"], "NO_NUMBER", "{stored}");
    assert_eq!(
        stored["state"], "pending",
        "the first NO_NUMBER is retried: {stored}"
    );
    fake.wait_for(SendNumbersOnline, 2, Duration::from_secs(5))
        .await;
    to_next_attempt(&app, &fake, id).await;
    assert_eq!(app.admin_sms(id).await["state"], "delivered");
}

#[actix_rt::test]
async fn error_params_and_number_format_error_are_final() {
    let (app, fake) = spawn(|_| {}).await;
    app.tick().await;
    for code in ["ERROR_PARAMS", "NUMBER_FORMAT_ERROR"] {
        let before = fake.count(AddMessage);
        fake.then(AddMessage, Reply::html(code), 1);
        let id = app.sms(C1, "VK", &format!("VK: {code}")).await;
        let stored = settled(&app, id).await;
        assert_eq!(stored["state"], "failed", "{stored}");
        assert_eq!(stored["last_error"], code, "{stored}");
        assert_eq!(stored["attempts"], 1, "{stored}");
        for step in [RETRY_SECS, 3600] {
            app.advance_and_settle(step).await;
        }
        assert_eq!(fake.count(AddMessage), before + 1, "{code} is not retried");
    }
    let failed = app.admin("/admin/sms?state=failed").await;
    let mut codes: Vec<&str> = failed["sms"]
        .as_array()
        .expect("sms")
        .iter()
        .map(|s| s["last_error"].as_str().unwrap_or_default())
        .collect();
    codes.sort_unstable();
    assert_eq!(codes, vec!["ERROR_PARAMS", "NUMBER_FORMAT_ERROR"]);
}

#[actix_rt::test]
async fn sms_of_a_sim_not_listed_are_not_forwarded() {
    let (app, fake) = spawn(|_| {}).await;
    app.online(G1).await;
    app.tick().await;
    app.advance_and_tick(DEBOUNCE_SECS).await;
    app.offline(G1).await;
    app.block(C1, true).await;
    app.tick().await;
    app.advance_and_tick(DEBOUNCE_SECS).await;
    assert_eq!(fake.held(), Vec::<String>::new());

    let offline = app.sms(G1, "VK", "to an offline SIM").await;
    let blocked = app.sms(C1, "VK", "to a blocked SIM").await;
    for step in [0, RETRY_SECS, 3600] {
        app.advance_and_settle(step).await;
    }
    assert_eq!(
        fake.count(AddMessage),
        0,
        "{:#?}",
        fake.requests_to(AddMessage)
    );
    for id in [offline, blocked] {
        let stored = app.admin_sms(id).await;
        assert_ne!(stored["state"], "pending", "{stored}");
        assert_ne!(stored["state"], "delivered", "{stored}");
        assert_eq!(stored["attempts"], 0, "{stored}");
    }
}

#[actix_rt::test]
async fn an_sms_that_beats_the_list_is_delivered_after_the_resync() {
    let (app, fake) = spawn(|_| {}).await;
    fake.strict();
    app.tick().await;
    // G1 comes online and gets an SMS at once, before the debounced list names it.
    app.online(G1).await;
    let id = app.sms(G1, "VK", "VK: early").await;
    let stored = settled(&app, id).await;
    assert_eq!(stored["last_error"], "NO_NUMBER", "{stored}");
    fake.wait_for(SendNumbersOnline, 2, Duration::from_secs(5))
        .await;
    assert_eq!(fake.held(), vec![plus(C1), plus(G1)]);
    to_next_attempt(&app, &fake, id).await;
    assert_eq!(app.admin_sms(id).await["state"], "delivered");
}

#[actix_rt::test]
async fn a_long_sms_in_parts_goes_out_once_with_the_joined_text() {
    let (app, fake) = spawn(|_| {}).await;
    app.tick().await;
    let part = |i: u64, text: &str| {
        json!({"number": C1.to_string(), "from": "Telegram", "text": text,
               "ref": "77", "part": i, "parts": 2})
    };
    let id = app.sms_body(part(2, "is 55012")).await;
    app.settle().await;
    assert_eq!(fake.count(AddMessage), 0, "nothing while a part is missing");
    assert_eq!(app.sms_body(part(1, "Telegram code ")).await, id);
    let stored = settled(&app, id).await;
    assert_eq!(stored["state"], "delivered", "{stored}");
    let sent = fake.requests_to(AddMessage);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].json["message"], "Telegram code is 55012");
}
