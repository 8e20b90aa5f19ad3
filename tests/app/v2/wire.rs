//! The exact wire format: Bearer key, `application/json; charset=utf-8`, a User-Agent, the
//! sendNumbersOnline / addNumber objects field by field, and OnlineSIM's `ids` kept.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use simrelay::config::V2ListMode;
use simrelay::platforms::onlinesim_v2::sync::IDS_KEY;

use crate::v2::fake::Endpoint::{
    AddMessage, AddNumber, CheckWork, RemoveNumber, SendNumbersOnline,
};
use crate::v2::fake::Recorded;
use crate::v2::helpers::{plus, spawn, unix, V2App, API_KEY, C1, DEBOUNCE_SECS, G1, G2, SE1};

/// The numbers of a sendNumbersOnline body as number → object.
fn by_number(request: &Recorded) -> BTreeMap<String, Value> {
    request.json["numbers"]
        .as_array()
        .unwrap_or_else(|| panic!("numbers is an array: {:#}", request.json))
        .iter()
        .map(|n| (n["number"].as_str().expect("number").to_owned(), n.clone()))
        .collect()
}

/// OnlineSIM's ids as simrelay keeps them.
fn kept_ids(app: &V2App) -> BTreeMap<String, Option<u64>> {
    let raw = app
        .engine
        .meta(IDS_KEY)
        .unwrap_or_else(|| panic!("no {IDS_KEY} kept"));
    serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{IDS_KEY} is not an id map ({e}): {raw}"))
}

/// Lets a change through the debounce.
async fn settle_list(app: &V2App) {
    app.tick().await;
    app.advance_and_tick(DEBOUNCE_SECS).await;
}

#[actix_rt::test]
async fn every_request_carries_the_bearer_key_json_utf8_and_a_user_agent() {
    let (app, fake) = spawn(|s| s.onlinesim.v2_list_mode = V2ListMode::Incremental).await;
    app.tick().await;
    app.online(G1).await;
    settle_list(&app).await;
    app.offline(G1).await;
    settle_list(&app).await;
    app.sms(C1, "VK", "VK: 123456").await;
    app.settle().await;

    let requests = fake.requests();
    for endpoint in [
        SendNumbersOnline,
        CheckWork,
        AddNumber,
        RemoveNumber,
        AddMessage,
    ] {
        assert!(
            requests.iter().any(|r| r.endpoint == endpoint),
            "no {endpoint:?} to check: {requests:#?}"
        );
    }
    for r in &requests {
        let what = format!("{} {}", r.method, r.path);
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {API_KEY}").as_str()),
            "{what}"
        );
        let agent = r.header("user-agent").unwrap_or_default();
        assert!(agent.contains("simrelay"), "{what}: User-Agent {agent:?}");
        assert!(
            !r.raw_query.contains(API_KEY),
            "{what}: the key is not in the URL"
        );
        if r.method == "POST" {
            assert_eq!(
                r.header("content-type"),
                Some("application/json; charset=utf-8"),
                "{what}"
            );
            assert!(r.json.is_object(), "{what}: a JSON object body");
        }
    }
}

#[actix_rt::test]
async fn send_numbers_online_lists_every_field_exactly() {
    let (app, fake) = spawn(|_| {}).await;
    app.tick().await;
    app.advance(10);
    app.sim_online(json!({
        "number": G1.to_string(), "port": "bank.11", "mcc_mnc": "25002", "rent": true
    }))
    .await;
    app.sim_online(json!({"number": format!("+{SE1}")})).await;
    settle_list(&app).await;

    let last = fake.last(SendNumbersOnline);
    assert_eq!(
        last.json
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["numbers".to_owned()]),
        "only `numbers` (no `test` outside dry runs): {:#}",
        last.json
    );
    let numbers = by_number(&last);
    assert_eq!(
        numbers.keys().cloned().collect::<Vec<_>>(),
        vec![plus(SE1), plus(C1), plus(G1)]
    );
    assert_eq!(
        numbers[&plus(C1)],
        json!({"number": "+79281000001", "country_id": 7, "operator": 25099,
               "date_start": unix(0), "port_id": "bank.1", "rent": 0}),
        "the configured SIM, in a port since start-up"
    );
    assert_eq!(
        numbers[&plus(G1)],
        json!({"number": "+79281000011", "country_id": 7, "operator": 25002,
               "date_start": unix(10), "port_id": "bank.11", "rent": 1}),
        "a rent SIM from the gateway"
    );
    assert_eq!(
        numbers[&plus(SE1)],
        json!({"number": "+46701234567", "country_id": 46, "date_start": unix(10), "rent": 0}),
        "no operator without an MCC-MNC, no port_id without a port"
    );
}

#[actix_rt::test]
async fn onlinesim_rent_lists_every_sim_for_rent() {
    let (app, fake) = spawn(|s| s.onlinesim.rent = true).await;
    app.online(G1).await;
    settle_list(&app).await;
    let numbers = by_number(&fake.last(SendNumbersOnline));
    assert_eq!(numbers.len(), 2);
    for (number, entry) in &numbers {
        assert_eq!(entry["rent"], 1, "{number}: {entry}");
    }
}

#[actix_rt::test]
async fn configured_sims_carry_their_rent_flag_and_mcc_mnc() {
    let (app, fake) = spawn(|s| {
        let mut rented = crate::v2::helpers::configured_sim();
        rented.number = simrelay_actors::domain::Msisdn::parse(&G2.to_string()).expect("number");
        rented.port = Some("bank.2".into());
        rented.mcc_mnc = Some("310260".into());
        rented.rent = true;
        s.sims.push(rented);
    })
    .await;
    app.tick().await;
    let numbers = by_number(&fake.last(SendNumbersOnline));
    assert_eq!(numbers[&plus(C1)]["rent"], 0);
    assert_eq!(
        numbers[&plus(G2)],
        json!({"number": plus(G2), "country_id": 7, "operator": 310260,
               "date_start": unix(0), "port_id": "bank.2", "rent": 1})
    );
}

#[actix_rt::test]
async fn a_sim_reported_again_without_rent_stays_a_rent_sim() {
    let (app, fake) = spawn(|_| {}).await;
    app.sim_online(json!({"number": G1.to_string(), "rent": true}))
        .await;
    settle_list(&app).await;
    assert_eq!(
        by_number(&fake.last(SendNumbersOnline))[&plus(G1)]["rent"],
        1
    );
    // The SIM bank's periodic complete set names numbers only: what it leaves out stays.
    app.put_sims(&[G1]).await;
    app.sim_online(json!({"number": G1.to_string()})).await;
    settle_list(&app).await;
    app.advance_and_tick(300).await;
    assert_eq!(
        by_number(&fake.last(SendNumbersOnline))[&plus(G1)]["rent"],
        1,
        "{:#?}",
        fake.requests_to(SendNumbersOnline)
    );
}

#[actix_rt::test]
async fn the_ids_of_send_numbers_online_are_kept() {
    let (app, fake) = spawn(|_| {}).await;
    app.tick().await;
    let c1 = fake.id_of(&plus(C1)).expect("the fake gave C1 an id");
    assert_eq!(kept_ids(&app), BTreeMap::from([(plus(C1), Some(c1))]));

    app.online(G1).await;
    app.online(G2).await;
    settle_list(&app).await;
    let g1 = fake.id_of(&plus(G1)).expect("id of G1");
    let g2 = fake.id_of(&plus(G2)).expect("id of G2");
    assert_eq!(
        kept_ids(&app),
        BTreeMap::from([
            (plus(C1), Some(c1)),
            (plus(G1), Some(g1)),
            (plus(G2), Some(g2))
        ])
    );

    // The platform answers `null` for a number dropped from the list: it is forgotten.
    app.offline(G1).await;
    settle_list(&app).await;
    assert_eq!(
        kept_ids(&app),
        BTreeMap::from([(plus(C1), Some(c1)), (plus(G2), Some(g2))])
    );
}

#[actix_rt::test]
async fn the_ids_of_add_number_are_kept() {
    let (app, fake) = spawn(|s| s.onlinesim.v2_list_mode = V2ListMode::Incremental).await;
    app.tick().await;
    app.online(G1).await;
    settle_list(&app).await;
    assert_eq!(fake.count(AddNumber), 1);
    let ids = kept_ids(&app);
    assert_eq!(ids.get(&plus(G1)), Some(&fake.id_of(&plus(G1))));
    assert_eq!(ids.get(&plus(C1)), Some(&fake.id_of(&plus(C1))));
}

#[actix_rt::test]
async fn a_base_url_with_a_trailing_slash_still_names_the_documented_paths() {
    let clock = std::sync::Arc::new(simrelay_actors::ManualClock::new(
        crate::v2::helpers::clock_start(),
    ));
    let fake = crate::v2::fake::FakeV2::start(Some(clock.clone())).await;
    let settings = crate::v2::helpers::settings(&format!("{}/", fake.url()));
    let app = crate::v2::helpers::spawn_app(settings, clock).await;
    app.tick().await;
    app.sms(C1, "VK", "VK: slash").await;
    app.settle().await;
    let paths: Vec<String> = fake.requests().iter().map(|r| r.path.clone()).collect();
    assert!(
        paths.contains(&"/api/resellers/sendNumbersOnline".to_owned()),
        "{paths:?}"
    );
    assert!(
        paths.contains(&"/api/resellers/addMessage".to_owned()),
        "{paths:?}"
    );
    assert!(paths.iter().all(|p| !p.contains("//")), "{paths:?}");
}
