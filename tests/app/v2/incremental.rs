//! Incremental mode: checkWork (`GET /api/resellers`) every heartbeat, addNumber for each SIM
//! that comes online, removeNumber (`DELETE ?number=%2B…`) for each SIM gone, and a full
//! sendNumbersOnline every `v2_reconcile`.

use std::time::Duration;

use serde_json::json;
use simrelay::config::V2ListMode;

use crate::v2::fake::Endpoint::{AddNumber, CheckWork, RemoveNumber, SendNumbersOnline};
use crate::v2::fake::FakeV2;
use crate::v2::helpers::{
    at, plus, spawn, unix, V2App, C1, DEBOUNCE_SECS, G1, G2, G3, HEARTBEAT_SECS,
};

async fn incremental(reconcile_secs: u64) -> (V2App, FakeV2) {
    spawn(|s| {
        s.onlinesim.v2_list_mode = V2ListMode::Incremental;
        s.onlinesim.v2_reconcile = Duration::from_secs(reconcile_secs);
    })
    .await
}

/// The test-clock times `endpoint` was called at, in seconds from the start.
fn times(fake: &FakeV2, endpoint: crate::v2::fake::Endpoint) -> Vec<i64> {
    fake.requests_to(endpoint)
        .iter()
        .map(|r| (r.at.expect("clock") - at(0)).num_seconds())
        .collect()
}

#[actix_rt::test]
async fn check_work_every_heartbeat_and_a_full_list_every_reconcile() {
    let (app, fake) = incremental(900).await;
    app.tick().await;
    assert_eq!(
        times(&fake, SendNumbersOnline),
        vec![0],
        "a full list first"
    );
    assert_eq!(times(&fake, CheckWork), vec![0]);
    let check = fake.last(CheckWork);
    assert_eq!(check.method, "GET");
    assert_eq!(check.path, "/api/resellers");
    assert_eq!(check.raw_query, "");

    for _ in 0..3 {
        app.advance_and_tick(HEARTBEAT_SECS - 1).await;
        app.advance_and_tick(1).await;
    }
    assert_eq!(times(&fake, CheckWork), vec![0, 300, 600, 900]);
    assert_eq!(
        times(&fake, SendNumbersOnline),
        vec![0, 900],
        "the full list again at v2_reconcile (15 min), not at each heartbeat"
    );
    assert_eq!(fake.last(SendNumbersOnline).numbers(), vec![plus(C1)]);
    app.advance_and_tick(HEARTBEAT_SECS).await;
    assert_eq!(times(&fake, SendNumbersOnline), vec![0, 900]);
    assert_eq!(fake.count(AddNumber) + fake.count(RemoveNumber), 0);
}

#[actix_rt::test]
async fn each_sim_online_is_added_and_each_sim_gone_is_removed() {
    let (app, fake) = incremental(3600).await;
    app.tick().await;
    app.advance_and_tick(10).await;

    app.online(G1).await; // t = 10
    app.tick().await;
    app.advance_and_tick(DEBOUNCE_SECS).await;
    let added = fake.requests_to(AddNumber);
    assert_eq!(added.len(), 1, "{added:#?}");
    assert_eq!(added[0].method, "POST");
    assert_eq!(
        added[0].json,
        json!({"number": plus(G1), "country_id": 7, "date_start": unix(10), "rent": 0}),
        "operator and port_id only when known"
    );

    app.sim_online(json!({"number": G2.to_string(), "port": "bank.12", "mcc_mnc": "25001"}))
        .await;
    app.tick().await;
    app.advance_and_tick(DEBOUNCE_SECS).await;
    assert_eq!(
        fake.last(AddNumber).json,
        json!({"number": plus(G2), "country_id": 7, "operator": 25001,
               "date_start": unix(10 + DEBOUNCE_SECS), "port_id": "bank.12", "rent": 0})
    );

    app.offline(G1).await;
    app.tick().await;
    app.advance_and_tick(DEBOUNCE_SECS).await;
    let removed = fake.requests_to(RemoveNumber);
    assert_eq!(removed.len(), 1, "{removed:#?}");
    assert_eq!(removed[0].method, "DELETE");
    assert_eq!(removed[0].path, "/api/resellers/removeNumber");
    assert_eq!(
        removed[0].raw_query, "number=%2B79281000011",
        "the + is percent-encoded"
    );
    assert_eq!(removed[0].param("number"), Some(plus(G1).as_str()));
    assert_eq!(removed[0].json, serde_json::Value::Null, "no body");

    // The complete set: G2 stays (nothing sent for it), G3 is added, nothing removed.
    app.put_sims(&[G2, G3]).await;
    app.tick().await;
    app.advance_and_tick(DEBOUNCE_SECS).await;
    let added: Vec<serde_json::Value> = fake
        .requests_to(AddNumber)
        .iter()
        .map(|r| r.json["number"].clone())
        .collect();
    assert_eq!(
        added,
        vec![json!(plus(G1)), json!(plus(G2)), json!(plus(G3))]
    );
    assert_eq!(fake.count(RemoveNumber), 1);

    // Both SIMs gone at once: one removeNumber each.
    app.put_sims(&[]).await;
    app.tick().await;
    app.advance_and_tick(DEBOUNCE_SECS).await;
    let mut removed: Vec<String> = fake
        .requests_to(RemoveNumber)
        .iter()
        .map(|r| r.param("number").unwrap_or_default().to_owned())
        .collect();
    removed.sort();
    assert_eq!(removed, vec![plus(G1), plus(G2), plus(G3)]);
    assert_eq!(fake.held(), vec![plus(C1)]);

    // Changes are not full lists, and not heartbeats either.
    assert_eq!(fake.count(SendNumbersOnline), 1);
    assert_eq!(fake.count(CheckWork), 1);
}

#[actix_rt::test]
async fn a_failed_change_is_retried_and_the_list_converges() {
    let (app, fake) = incremental(3600).await;
    app.tick().await;
    fake.then(AddNumber, crate::v2::fake::Reply::ServerError, 1);
    app.online(G1).await;
    app.tick().await;
    app.advance_and_tick(DEBOUNCE_SECS).await;
    assert_eq!(fake.count(AddNumber), 1);
    assert_eq!(fake.held(), vec![plus(C1)], "the platform refused it");
    // After the back-off (at most 10 minutes) it is sent again and the platform has it.
    for _ in 0..60 {
        if fake.held().contains(&plus(G1)) {
            break;
        }
        app.advance_and_tick(10).await;
    }
    assert_eq!(fake.held(), vec![plus(C1), plus(G1)]);
    assert_eq!(fake.count(AddNumber), 2, "{:#?}", fake.requests());
}
