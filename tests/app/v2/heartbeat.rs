//! Full mode's cadence: sendNumbersOnline at start, every 5 minutes, and a debounce after each
//! change of the SIMs in ports. The background loop and `tick()` share one lock and act only
//! when something is due, so exact counts hold whoever sends.

use reqwest::Method;
use serde_json::json;

use crate::v2::fake::Endpoint::{CheckWork, SendNumbersOnline};
use crate::v2::helpers::{at, plus, spawn, V2App, C1, DEBOUNCE_SECS, G1, G2, G3, HEARTBEAT_SECS};

/// The numbers of every sendNumbersOnline so far.
fn lists(fake: &crate::v2::fake::FakeV2) -> Vec<Vec<String>> {
    fake.requests_to(SendNumbersOnline)
        .iter()
        .map(|r| {
            let mut n = r.numbers();
            n.sort();
            n
        })
        .collect()
}

#[actix_rt::test]
async fn first_tick_lists_and_the_next_heartbeat_comes_five_minutes_later() {
    let (app, fake) = spawn(|_| {}).await;
    app.tick().await;
    let sent = fake.requests_to(SendNumbersOnline);
    assert_eq!(sent.len(), 1, "the first tick lists the SIMs: {sent:#?}");
    assert_eq!(sent[0].at, Some(at(0)));
    assert_eq!(sent[0].numbers(), vec![plus(C1)]);

    // Nothing more until the heartbeat is due, however often the task looks.
    app.tick().await;
    app.advance_and_tick(HEARTBEAT_SECS - 1).await;
    assert_eq!(fake.count(SendNumbersOnline), 1, "nothing before 5 minutes");
    app.advance_and_tick(1).await;
    assert_eq!(
        fake.count(SendNumbersOnline),
        2,
        "the heartbeat at 5 minutes"
    );
    assert_eq!(fake.last(SendNumbersOnline).at, Some(at(HEARTBEAT_SECS)));
    assert_eq!(fake.last(SendNumbersOnline).numbers(), vec![plus(C1)]);

    app.advance_and_tick(HEARTBEAT_SECS - 1).await;
    assert_eq!(fake.count(SendNumbersOnline), 2);
    app.advance_and_tick(1).await;
    assert_eq!(fake.count(SendNumbersOnline), 3);
    assert_eq!(
        fake.last(SendNumbersOnline).at,
        Some(at(2 * HEARTBEAT_SECS))
    );
    assert_eq!(fake.count(CheckWork), 0, "full mode never sends checkWork");
}

#[actix_rt::test]
async fn a_long_silence_still_gets_one_heartbeat_per_tick_not_a_burst() {
    let (app, fake) = spawn(|_| {}).await;
    app.tick().await;
    // The box slept for an hour: one list now, not twelve.
    app.advance_and_tick(12 * HEARTBEAT_SECS).await;
    app.tick().await;
    assert_eq!(fake.count(SendNumbersOnline), 2);
    app.advance_and_tick(HEARTBEAT_SECS - 1).await;
    assert_eq!(fake.count(SendNumbersOnline), 2);
    app.advance_and_tick(1).await;
    assert_eq!(fake.count(SendNumbersOnline), 3);
}

/// Makes a change at the current time and checks it goes out after the debounce, not before,
/// in exactly one request listing `expected`.
async fn change_is_debounced(
    app: &V2App,
    fake: &crate::v2::fake::FakeV2,
    change: impl std::future::Future<Output = ()>,
    expected: Vec<String>,
) {
    let before = fake.count(SendNumbersOnline);
    let changed_at = app.engine.now();
    change.await;
    app.tick().await;
    assert_eq!(fake.count(SendNumbersOnline), before, "not at once");
    app.advance_and_tick(DEBOUNCE_SECS - 1).await;
    assert_eq!(
        fake.count(SendNumbersOnline),
        before,
        "not before the debounce"
    );
    app.advance_and_tick(1).await;
    assert_eq!(
        fake.count(SendNumbersOnline),
        before + 1,
        "one list once the debounce passed"
    );
    let last = fake.last(SendNumbersOnline);
    assert_eq!(
        last.at,
        Some(changed_at + chrono::TimeDelta::seconds(DEBOUNCE_SECS))
    );
    let mut numbers = last.numbers();
    numbers.sort();
    assert_eq!(numbers, expected);
    app.advance_and_tick(DEBOUNCE_SECS).await;
    assert_eq!(fake.count(SendNumbersOnline), before + 1, "sent once");
}

#[actix_rt::test]
async fn every_kind_of_gateway_change_is_sent_after_the_debounce() {
    let (app, fake) = spawn(|_| {}).await;
    app.tick().await;
    app.advance_and_tick(10).await;

    // POST: a SIM comes online.
    change_is_debounced(&app, &fake, app.online(G1), vec![plus(C1), plus(G1)]).await;
    app.advance_and_tick(10).await;
    // PUT: the complete set.
    change_is_debounced(
        &app,
        &fake,
        async {
            app.put_sims(&[G2, G3]).await;
        },
        vec![plus(C1), plus(G2), plus(G3)],
    )
    .await;
    app.advance_and_tick(10).await;
    // DELETE: a SIM goes offline.
    change_is_debounced(&app, &fake, app.offline(G2), vec![plus(C1), plus(G3)]).await;
    app.advance_and_tick(10).await;
    // Admin block.
    change_is_debounced(&app, &fake, app.block(G3, true), vec![plus(C1)]).await;
}

#[actix_rt::test]
async fn several_changes_inside_the_debounce_make_one_request() {
    let (app, fake) = spawn(|_| {}).await;
    app.tick().await;
    app.advance_and_tick(10).await;
    assert_eq!(fake.count(SendNumbersOnline), 1);

    app.online(G1).await; // t = 10
    app.tick().await;
    app.advance_and_tick(1).await;
    app.online(G2).await; // t = 11
    app.tick().await;
    app.advance_and_tick(1).await;
    let (status, answer) = app
        .gateway(Method::DELETE, &format!("/gateway/sims/{G1}"), None)
        .await; // t = 12
    assert_eq!(status, 200, "{answer}");
    app.tick().await;
    assert_eq!(
        fake.count(SendNumbersOnline),
        1,
        "nothing inside the debounce"
    );

    // Whether the debounce counts from the first change or the last, by the last change plus
    // the debounce exactly one list has gone out, with the final set.
    app.advance_and_tick(DEBOUNCE_SECS).await;
    assert_eq!(
        lists(&fake),
        vec![vec![plus(C1)], vec![plus(C1), plus(G2)]],
        "one request for three changes"
    );
    app.advance_and_tick(DEBOUNCE_SECS).await;
    assert_eq!(fake.count(SendNumbersOnline), 2);
}

#[actix_rt::test]
async fn a_sim_that_comes_and_goes_inside_the_debounce_is_never_listed() {
    let (app, fake) = spawn(|_| {}).await;
    app.online(G1).await;
    app.tick().await;
    app.advance_and_tick(DEBOUNCE_SECS).await;
    let before = fake.count(SendNumbersOnline);
    assert!(before >= 1);
    // The same SIM reported again, and a SIM that comes online and goes again at once.
    app.sim_online(json!({"number": G1.to_string()})).await;
    app.online(G2).await;
    app.offline(G2).await;
    app.tick().await;
    app.advance_and_tick(DEBOUNCE_SECS).await;
    // A list may go out, but never one naming G2.
    let all = lists(&fake);
    assert!(
        all.iter().all(|list| !list.contains(&plus(G2))),
        "G2 was never in a port for a debounce: {all:?}"
    );
    assert_eq!(all.last(), Some(&vec![plus(C1), plus(G1)]));
    // However the changes moved the heartbeat, no 5 minutes pass without a list.
    let last = fake.last(SendNumbersOnline).at.expect("clock");
    let until_due = (last - app.engine.now()).num_seconds() + HEARTBEAT_SECS;
    let count = fake.count(SendNumbersOnline);
    app.advance_and_tick(until_due).await;
    assert_eq!(fake.count(SendNumbersOnline), count + 1);
}

#[actix_rt::test]
async fn a_steady_stream_of_changes_neither_floods_nor_starves_the_list() {
    let (app, fake) = spawn(|_| {}).await;
    app.tick().await;
    // A flapping port: G1 in and out every second for a minute.
    for second in 1..=60 {
        app.advance(1);
        if second % 2 == 1 {
            app.online(G1).await;
        } else {
            app.offline(G1).await;
        }
        app.tick().await;
    }
    let times: Vec<i64> = fake
        .requests_to(SendNumbersOnline)
        .iter()
        .map(|r| (r.at.expect("clock") - at(0)).num_seconds())
        .collect();
    let gaps: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().all(|g| *g >= DEBOUNCE_SECS),
        "at most one list per debounce: {times:?}"
    );
    assert!(
        gaps.iter().all(|g| *g <= 10),
        "changes keep going out while others keep coming: {times:?}"
    );
    assert!(*times.last().expect("lists") >= 50, "{times:?}");
}
