//! The platform's list equals the SIMs online and not blocked after every kind of change, in
//! both list modes: the fake keeps the list as OnlineSIM would (sendNumbersOnline replaces it,
//! addNumber / removeNumber edit it), and it is compared with what `/admin/sims` says is online
//! and with what the test expects.

use reqwest::Method;
use serde_json::json;
use simrelay::config::V2ListMode;

use crate::v2::fake::Endpoint::{AddNumber, SendNumbersOnline};
use crate::v2::fake::FakeV2;
use crate::v2::helpers::{plus, spawn, V2App, C1, DEBOUNCE_SECS, G1, G2, G3, G4};

/// Lets the list task act on what changed (past the debounce), then checks the platform holds
/// exactly `expected`, which is also what simrelay calls online and unblocked.
async fn assert_listed(app: &V2App, fake: &FakeV2, step: &str, expected: &[u64]) {
    app.tick().await;
    app.advance_and_tick(DEBOUNCE_SECS).await;
    let mut expected: Vec<String> = expected.iter().map(|n| plus(*n)).collect();
    expected.sort();
    assert_eq!(
        app.online_unblocked().await,
        expected,
        "{step}: simrelay's own view"
    );
    assert_eq!(fake.held(), expected, "{step}: the platform's list");
    assert_eq!(
        app.sync.listed(),
        expected.len(),
        "{step}: what the task believes it listed"
    );
}

async fn listed_set_follows_every_kind_of_change(mode: V2ListMode) {
    let (app, fake) = spawn(|s| s.onlinesim.v2_list_mode = mode).await;
    assert_listed(&app, &fake, "start: the configured SIM", &[C1]).await;

    app.sim_online(json!({"number": G1.to_string(), "port": "bank.11", "mcc_mnc": "25002"}))
        .await;
    assert_listed(&app, &fake, "POST G1", &[C1, G1]).await;
    app.online(G2).await;
    assert_listed(&app, &fake, "POST G2", &[C1, G1, G2]).await;
    app.offline(G1).await;
    assert_listed(&app, &fake, "DELETE G1", &[C1, G2]).await;
    app.put_sims(&[G3, G4]).await;
    assert_listed(
        &app,
        &fake,
        "PUT G3 G4 (configured C1 stays)",
        &[C1, G3, G4],
    )
    .await;
    app.block(G3, true).await;
    assert_listed(&app, &fake, "block G3", &[C1, G4]).await;
    app.block(C1, true).await;
    assert_listed(&app, &fake, "block the configured C1", &[G4]).await;
    app.block(G3, false).await;
    assert_listed(&app, &fake, "unblock G3", &[G3, G4]).await;
    app.block(C1, false).await;
    assert_listed(&app, &fake, "unblock C1", &[C1, G3, G4]).await;
    app.offline(C1).await;
    assert_listed(&app, &fake, "DELETE the configured C1", &[C1, G3, G4]).await;
    app.put_sims(&[]).await;
    assert_listed(&app, &fake, "PUT nothing", &[C1]).await;
    app.online(G1).await;
    assert_listed(&app, &fake, "POST G1 again", &[C1, G1]).await;

    // A blocked SIM stays unlisted while it goes offline and comes back online: no request
    // names it from the moment it is blocked.
    app.block(G1, true).await;
    assert_listed(&app, &fake, "block G1", &[C1]).await;
    let from = fake.requests().len();
    app.offline(G1).await;
    app.online(G1).await;
    assert_listed(&app, &fake, "blocked G1 back in a port", &[C1]).await;
    app.put_sims(&[G1, G2]).await;
    assert_listed(&app, &fake, "PUT blocked G1 and G2", &[C1, G2]).await;
    let named: Vec<_> = fake.requests()[from..]
        .iter()
        .filter(|r| {
            (r.endpoint == SendNumbersOnline && r.numbers().contains(&plus(G1)))
                || (r.endpoint == AddNumber && r.json["number"] == plus(G1))
        })
        .cloned()
        .collect();
    assert!(named.is_empty(), "the blocked G1 was listed: {named:#?}");
}

#[actix_rt::test]
async fn full_mode_lists_exactly_the_sims_online_and_unblocked() {
    listed_set_follows_every_kind_of_change(V2ListMode::Full).await;
}

#[actix_rt::test]
async fn incremental_mode_lists_exactly_the_sims_online_and_unblocked() {
    listed_set_follows_every_kind_of_change(V2ListMode::Incremental).await;
}

async fn an_empty_port_set_lists_nothing(mode: V2ListMode) {
    let (app, fake) = spawn(|s| {
        s.onlinesim.v2_list_mode = mode;
        s.sims.clear();
    })
    .await;
    app.tick().await;
    // No SIM in a port: the list is empty (never a stale one).
    let first = fake.last(SendNumbersOnline);
    assert_eq!(first.json["numbers"], json!([]), "{:#}", first.json);
    app.online(G1).await;
    assert_listed(&app, &fake, "POST G1", &[G1]).await;
    app.put_sims(&[]).await;
    assert_listed(&app, &fake, "PUT nothing", &[]).await;
}

#[actix_rt::test]
async fn with_no_sim_in_a_port_the_list_is_empty_full_mode() {
    an_empty_port_set_lists_nothing(V2ListMode::Full).await;
}

#[actix_rt::test]
async fn with_no_sim_in_a_port_the_list_is_empty_incremental_mode() {
    an_empty_port_set_lists_nothing(V2ListMode::Incremental).await;
}

/// `PUT /gateway/banks/{bank}/sims` that must succeed.
async fn bank_lists(app: &V2App, bank: &str, numbers: &[u64]) {
    let sims: Vec<_> = numbers
        .iter()
        .map(|n| json!({"number": n.to_string()}))
        .collect();
    let (status, body) = app
        .gateway(
            Method::PUT,
            &format!("/gateway/banks/{bank}/sims"),
            Some(json!({ "sims": sims })),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
}

/// What the platform holds once the list task acted (past the debounce).
async fn held_after_sync(app: &V2App, fake: &FakeV2) -> Vec<String> {
    app.tick().await;
    app.advance_and_tick(DEBOUNCE_SECS).await;
    fake.held()
}

async fn a_silent_banks_sims_leave_the_list(mode: V2ListMode) {
    let (app, fake) = spawn(|s| s.onlinesim.v2_list_mode = mode).await;
    app.tick().await;
    bank_lists(&app, "bank1", &[G1, G2]).await;
    bank_lists(&app, "bank2", &[G3]).await;
    let all: Vec<String> = [C1, G1, G2, G3].iter().map(|n| plus(*n)).collect();
    assert_eq!(held_after_sync(&app, &fake).await, all);
    // bank2 keeps reporting, bank1 falls silent 180 s after its list.
    app.advance(100);
    let (status, _) = app
        .gateway(Method::POST, "/gateway/banks/bank2/heartbeat", None)
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    app.advance(180 - 100 - DEBOUNCE_SECS);
    assert_eq!(app.engine.silence_due_banks().await, 1);
    assert_eq!(
        held_after_sync(&app, &fake).await,
        vec![plus(C1), plus(G3)],
        "bank1's SIMs leave the list; the configured C1 stays"
    );
    let (status, _) = app
        .gateway(Method::POST, "/gateway/banks/bank1/heartbeat", None)
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(
        held_after_sync(&app, &fake).await,
        all,
        "bank1 reports again"
    );
}

#[actix_rt::test]
async fn a_silent_banks_sims_leave_the_list_full_mode() {
    a_silent_banks_sims_leave_the_list(V2ListMode::Full).await;
}

#[actix_rt::test]
async fn a_silent_banks_sims_leave_the_list_incremental_mode() {
    a_silent_banks_sims_leave_the_list(V2ListMode::Incremental).await;
}
