//! Recovery from a snapshot the store returns as it is, repeats included: HSCAN may return a
//! field twice when Redis rehashes the hash between two calls.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use simrelay_actors::domain::{BankName, CountryName, Msisdn, OperatorName, ServiceName};
use simrelay_actors::store::{SimRecord, Snapshot};
use simrelay_actors::{Engine, EngineSettings, ManualClock, SimSpec};

#[path = "support/fixed_store.rs"]
mod fixed_store;
use fixed_store::FixedStore;

fn service(name: &str) -> ServiceName {
    ServiceName::parse(name).unwrap()
}

fn record(number: Msisdn, operator: &str, used: &[&str]) -> SimRecord {
    SimRecord {
        number,
        country: CountryName::parse("russia").unwrap(),
        operator: Some(OperatorName::parse(operator).unwrap()),
        port: None,
        online: false,
        blocked: false,
        active: None,
        used: used.iter().map(|s| service(s)).collect(),
        cancels: Vec::new(),
        last_activation: None,
        mcc_mnc: None,
        rent: false,
        online_since: None,
        bank: BankName::default(),
    }
}

#[actix_rt::test]
async fn a_record_read_twice_installs_the_last_copy_with_the_config_applied() {
    let number = Msisdn::parse("79281000001").unwrap();
    let other = Msisdn::parse("79281000002").unwrap();
    // The configured SIM read twice (the later copy knows vk was sold), another SIM between.
    let snapshot = Snapshot {
        sims: vec![
            record(number, "mts", &[]),
            record(other, "mts", &[]),
            record(number, "mts", &["vk"]),
        ],
        ..Snapshot::default()
    };
    let store = Arc::new(FixedStore::with_snapshot(snapshot));
    let configured = SimSpec {
        number,
        country: CountryName::parse("russia").unwrap(),
        operator: Some(OperatorName::parse("beeline").unwrap()),
        port: Some("bank.1".into()),
        pinned: true,
        mcc_mnc: None,
        rent: None,
        bank: None,
    };
    let settings = EngineSettings {
        offered: vec![service("vk"), service("ok")],
        ..EngineSettings::default()
    };
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
    ));
    let engine = Engine::start(store, clock, settings, vec![configured])
        .await
        .unwrap();
    assert_eq!(engine.sim_count(), 2);
    let view = engine.sim(number).await.unwrap();
    assert!(view.online, "configured SIMs are online: {view:?}");
    assert_eq!(view.operator.as_ref().map(|o| o.as_str()), Some("beeline"));
    assert_eq!(view.port.as_deref(), Some("bank.1"));
    assert_eq!(
        view.services_used,
        vec![service("vk")],
        "the last copy read wins"
    );
    // On sale under its configured operator, for ok only.
    let stock = engine.stock();
    let russia = stock
        .countries
        .iter()
        .find(|c| c.country.as_str() == "russia")
        .unwrap();
    let beeline = russia
        .operators
        .iter()
        .find(|(o, _)| o.as_str() == "beeline")
        .map(|(_, counts)| counts.clone())
        .unwrap();
    assert_eq!(beeline, vec![(service("vk"), 0), (service("ok"), 1)]);
}
