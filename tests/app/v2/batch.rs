//! `onlinesim.v2_batch`: SMS that wait together go out as one addMessages `{"messages":[…]}`.
//! The batcher flushes on a real tokio timer (`v2_batch_every`, 100 ms here), so requests are
//! awaited with a bounded poll. To make "within one batch period" deterministic, the first
//! attempts are refused (whatever batches they formed) and the retries, all due at the same
//! test-clock instant, are started together.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use simrelay_actors::domain::SmsState;

use crate::v2::fake::Endpoint::{AddMessage, AddMessages};
use crate::v2::fake::Reply;
use crate::v2::helpers::{plus, spawn, V2App, C1, DEBOUNCE_SECS, G1, RETRY_SECS};

async fn batching() -> (V2App, crate::v2::fake::FakeV2) {
    spawn(|s| {
        s.onlinesim.v2_batch = true;
        s.onlinesim.v2_batch_every = Duration::from_millis(100);
    })
    .await
}

/// Waits (real time) until every SMS has had an attempt and none is in flight.
async fn attempted(app: &V2App, n: usize) {
    let started = Instant::now();
    loop {
        let all = app.engine.sms(None, 1000);
        if all.len() == n && all.iter().all(|r| r.attempts >= 1 && !r.in_flight) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "attempts did not end: {all:#?}"
        );
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
}

#[actix_rt::test]
async fn sms_waiting_together_go_out_as_one_add_messages() {
    let (app, fake) = batching().await;
    app.online(G1).await;
    app.tick().await;
    app.advance_and_tick(DEBOUNCE_SECS).await;

    fake.always(AddMessages, Reply::ServerError);
    let ids = [
        app.sms(C1, "VK", "VK: 1").await,
        app.sms(G1, "WhatsApp", "WA: 2").await,
        app.sms(C1, "Telegram", "TG: 3").await,
    ];
    attempted(&app, 3).await;
    let refused = fake.count(AddMessages);
    assert!((1..=3).contains(&refused), "{:#?}", fake.requests());
    for id in ids {
        assert_eq!(app.admin_sms(id).await["state"], "pending");
    }

    fake.always(AddMessages, Reply::Ok);
    app.advance_and_settle(RETRY_SECS).await;
    fake.wait_for(AddMessages, refused + 1, Duration::from_secs(5))
        .await;
    let batches = fake.requests_to(AddMessages);
    assert_eq!(
        batches.len(),
        refused + 1,
        "one batch for three SMS: {batches:#?}"
    );
    let batch = &batches[refused];
    assert_eq!(batch.path, "/api/resellers/addMessages");
    assert_eq!(
        batch.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(
        batch.json.as_object().map(|o| o.len()),
        Some(1),
        "only `messages`: {:#}",
        batch.json
    );
    let mut messages: Vec<Value> = batch.json["messages"]
        .as_array()
        .expect("messages is an array")
        .clone();
    messages.sort_by_key(|m| m["message"].as_str().unwrap_or_default().to_owned());
    let date = crate::v2::helpers::unix(DEBOUNCE_SECS).to_string();
    assert_eq!(
        messages,
        vec![
            json!({"date": date, "number": plus(C1), "from": "Telegram", "message": "TG: 3"}),
            json!({"date": date, "number": plus(C1), "from": "VK", "message": "VK: 1"}),
            json!({"date": date, "number": plus(G1), "from": "WhatsApp", "message": "WA: 2"}),
        ]
    );
    for id in ids {
        assert_eq!(app.admin_sms(id).await["state"], "delivered");
    }
    assert_eq!(
        fake.count(AddMessage),
        0,
        "no single addMessage in batch mode"
    );

    // Nothing goes out again: not on the timer, not when the clock moves.
    actix_rt::time::sleep(Duration::from_millis(350)).await;
    app.advance_and_settle(86_400).await;
    actix_rt::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(fake.count(AddMessages), refused + 1);
}

#[actix_rt::test]
async fn a_batch_refused_for_good_fails_its_sms() {
    let (app, fake) = batching().await;
    app.tick().await;
    fake.always(AddMessages, Reply::html("ERROR_PARAMS"));
    let id = app.sms(C1, "VK", "VK: bad").await;
    attempted(&app, 1).await;
    let stored = app.admin_sms(id).await;
    assert_eq!(stored["state"], "failed", "{stored}");
    assert_eq!(stored["last_error"], "ERROR_PARAMS", "{stored}");
    assert_eq!(app.engine.sms(Some(SmsState::Pending), 10).len(), 0);
}
