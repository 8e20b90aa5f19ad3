//! `onlinesim.v2_test`: `test1` / `test2` ride on every request the protocol allows it on —
//! sendNumbersOnline, addNumber, addMessage(s) bodies and removeNumber's query — and the
//! platform's `test2` echo counts as success.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use simrelay::config::{V2ListMode, V2Test};

use crate::v2::fake::Endpoint::{
    AddMessage, AddMessages, AddNumber, RemoveNumber, SendNumbersOnline,
};
use crate::v2::fake::{Echo, FakeV2};
use crate::v2::helpers::{plus, spawn, V2App, C1, DEBOUNCE_SECS, G1};

async fn dry(test: V2Test, mode: V2ListMode, batch: bool) -> (V2App, FakeV2) {
    spawn(|s| {
        s.onlinesim.v2_test = Some(test);
        s.onlinesim.v2_list_mode = mode;
        s.onlinesim.v2_batch = batch;
        s.onlinesim.v2_batch_every = Duration::from_millis(100);
    })
    .await
}

/// G1 comes online, an SMS arrives, G1 goes offline: every kind of request once.
async fn exercise(app: &V2App, fake: &FakeV2) {
    app.tick().await;
    app.online(G1).await;
    app.tick().await;
    app.advance_and_tick(DEBOUNCE_SECS).await;
    let id = app.sms(C1, "VK", "VK: dry").await;
    app.settle().await;
    if fake.count(AddMessages) + fake.count(AddMessage) == 0 {
        fake.wait_for(AddMessages, 1, Duration::from_secs(5)).await;
        app.settle().await;
    }
    app.offline(G1).await;
    app.tick().await;
    app.advance_and_tick(DEBOUNCE_SECS).await;
    let stored = app.admin_sms(id).await;
    assert_eq!(
        stored["state"], "delivered",
        "the platform accepted it: {stored}"
    );
}

/// Every body of `endpoint` carries `"test": <test>`.
fn all_marked(fake: &FakeV2, endpoint: crate::v2::fake::Endpoint, test: &str) {
    let requests = fake.requests_to(endpoint);
    assert!(
        !requests.is_empty(),
        "no {endpoint:?}: {:#?}",
        fake.requests()
    );
    for r in requests {
        assert_eq!(r.json["test"], test, "{endpoint:?}: {:#}", r.json);
    }
}

#[actix_rt::test]
async fn test1_marks_send_numbers_online_and_add_message() {
    let (app, fake) = dry(V2Test::Test1, V2ListMode::Full, false).await;
    exercise(&app, &fake).await;
    all_marked(&fake, SendNumbersOnline, "test1");
    all_marked(&fake, AddMessage, "test1");
    let last = fake.last(SendNumbersOnline);
    assert_eq!(
        last.numbers(),
        vec![plus(C1)],
        "the list itself is unchanged"
    );
    assert!(last.json["numbers"][0]["country_id"].is_number());
}

#[actix_rt::test]
async fn test1_marks_add_number_and_remove_number() {
    let (app, fake) = dry(V2Test::Test1, V2ListMode::Incremental, false).await;
    exercise(&app, &fake).await;
    all_marked(&fake, SendNumbersOnline, "test1");
    all_marked(&fake, AddNumber, "test1");
    let add = fake.last(AddNumber);
    assert_eq!(add.json["number"], plus(G1));
    let remove = fake.last(RemoveNumber);
    assert_eq!(remove.raw_query, "number=%2B79281000011&test=test1");
    assert_eq!(remove.param("test"), Some("test1"));
    assert_eq!(
        remove.json,
        Value::Null,
        "the test mode is in the query, no body"
    );
}

#[actix_rt::test]
async fn test1_marks_add_messages() {
    let (app, fake) = dry(V2Test::Test1, V2ListMode::Full, true).await;
    exercise(&app, &fake).await;
    all_marked(&fake, AddMessages, "test1");
    assert!(fake.last(AddMessages).json["messages"].is_array());
}

/// test2: the echo is success — the SMS is delivered (checked in `exercise`), the account is
/// healthy, and the list is not backing off (a change goes out after the debounce).
async fn test2_echo_is_accepted(echo: Echo, mode: V2ListMode) {
    let (app, fake) = dry(V2Test::Test2, mode, false).await;
    fake.echo(echo);
    exercise(&app, &fake).await;
    all_marked(&fake, SendNumbersOnline, "test2");
    all_marked(&fake, AddMessage, "test2");
    if mode == V2ListMode::Incremental {
        all_marked(&fake, AddNumber, "test2");
        assert_eq!(
            fake.last(RemoveNumber).raw_query,
            "number=%2B79281000011&test=test2"
        );
    }
    let (status, body) = app.readyz().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let before = fake.requests().len();
    app.online(G1).await;
    app.tick().await;
    app.advance_and_tick(DEBOUNCE_SECS).await;
    assert!(
        fake.requests().len() > before,
        "a change goes out after the debounce, no back-off: {:#?}",
        fake.requests()
    );
}

#[actix_rt::test]
async fn test2_echo_merged_into_the_answer_is_accepted_full_mode() {
    test2_echo_is_accepted(Echo::Merged, V2ListMode::Full).await;
}

#[actix_rt::test]
async fn test2_echo_merged_into_the_answer_is_accepted_incremental_mode() {
    test2_echo_is_accepted(Echo::Merged, V2ListMode::Incremental).await;
}

#[actix_rt::test]
async fn test2_bare_echo_is_accepted() {
    test2_echo_is_accepted(Echo::Bare, V2ListMode::Full).await;
}
