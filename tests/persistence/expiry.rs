//! Expiry deadlines survive a restart: they are re-armed from the persisted `expires_at` with
//! the time that remains, and those that ran out while simrelay was down fire at once. The
//! engine runs in-process on a Redis store with a manual clock, so no test waits 15 minutes.

use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};
use simrelay::config::{RawSettings, Settings};
use simrelay::config::{Secret, SimEntry};
use simrelay::startup::Application;
use simrelay::store::RedisStore;
use simrelay_actors::domain::{ActivationState, CountryName, Msisdn, ServiceName};
use simrelay_actors::{Engine, ManualClock, NumberRequest, OperatorChoice};

use crate::support::Redis;

fn settings(redis_url: &str, sims: usize) -> RawSettings {
    let mut s = RawSettings::default();
    s.server.listen = "127.0.0.1:0".parse().unwrap();
    s.store.redis_url = Some(Secret::new(redis_url));
    s.onlinesim.api_key = Secret::new("k");
    // These tests are about the automatic release, which an operator opts into.
    s.engine.expiry_grace = Some(Some(std::time::Duration::from_secs(300)));
    s.sims = (0..sims)
        .map(|i| SimEntry {
            number: Msisdn::parse(&format!("7928{i:07}")).unwrap(),
            port: None,
            operator: None,
            country: None,
            mcc_mnc: None,
            rent: false,
            bank: None,
        })
        .collect();
    s
}

async fn start(redis: &Redis, clock: Arc<ManualClock>) -> Application {
    start_with(redis, clock, settings(&redis.url(), 3)).await
}

async fn start_with(redis: &Redis, clock: Arc<ManualClock>, settings: RawSettings) -> Application {
    let settings: Settings = settings.parse().expect("valid test settings");
    let store = Arc::new(
        RedisStore::new(
            &redis.url(),
            &settings.store.key_prefix,
            settings.store.command_timeout,
        )
        .unwrap(),
    );
    let app = Application::build_with_store(settings, store, clock)
        .await
        .unwrap();
    assert!(app.engine().is_ready());
    app
}

async fn reserve(engine: &Engine) -> u64 {
    let request = NumberRequest {
        platform: simrelay_actors::domain::PlatformName::onlinesim(),
        banks: simrelay_actors::BankScope::Every,
        deadline: None,
        country: CountryName::parse("russia").unwrap(),
        operator: OperatorChoice::Any,
        service: ServiceName::parse("vk").unwrap(),
        sum: 1.0,
        exclusions: Default::default(),
    };
    engine.get_number(request).await.unwrap().unwrap().id.get()
}

fn state(engine: &Engine, id: u64) -> ActivationState {
    let id = simrelay_actors::domain::ActivationId::new(id).unwrap();
    engine.activation(id).unwrap().state
}

#[actix_rt::test]
async fn expiry_is_rearmed_with_the_time_that_remains() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path());
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
    ));

    let first = start(&redis, clock.clone()).await;
    let early = reserve(first.engine()).await;
    clock.advance(TimeDelta::minutes(10));
    let late = reserve(first.engine()).await;
    // A graceful stop: the lease is handed over to the next process.
    first.store().release().await;
    drop(first);

    // "Restart": a new engine on the same Redis, 5 minutes later.
    clock.advance(TimeDelta::minutes(5));
    let second = start(&redis, clock.clone()).await;
    let engine = second.engine();
    assert_eq!(engine.armed_expiries(), 2);
    assert_eq!(state(engine, early), ActivationState::Active);
    // 15 + 5 minutes after the first reservation: only that one is freed.
    clock.advance(TimeDelta::minutes(5));
    assert_eq!(engine.expire_due().await, 1);
    assert_eq!(state(engine, early), ActivationState::Expired);
    assert_eq!(state(engine, late), ActivationState::Active);
    second.store().release().await;
    drop(second);

    // Down for an hour: the remaining deadline has passed and fires at once after recovery.
    clock.advance(TimeDelta::hours(1));
    let third = start(&redis, clock.clone()).await;
    let engine = third.engine();
    engine.expire_due().await;
    assert_eq!(state(engine, late), ActivationState::Expired);
    assert_eq!(engine.active_activations(), 0);
    assert_eq!(engine.stock().countries[0].any[0].1, 3);
}

#[actix_rt::test]
async fn closed_activations_are_archived_and_finish_repeats_still_succeed_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path());
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
    ));
    // Without a grace: the active activation stays active however long it runs.
    let no_grace = || {
        let mut s = settings(&redis.url(), 3);
        s.engine.expiry_grace = Some(None);
        s
    };
    let app = start_with(&redis, clock.clone(), no_grace()).await;
    let engine = app.engine();
    let id = reserve(engine).await;
    let aid = simrelay_actors::domain::ActivationId::new(id).unwrap();
    engine
        .finish(aid, simrelay_actors::domain::FinishStatus::Sold, None)
        .await
        .unwrap();
    let active = reserve(engine).await;
    let hot = |field: u64| -> bool {
        let mut conn = redis::Client::open(redis.url())
            .unwrap()
            .get_connection()
            .unwrap();
        redis::cmd("HEXISTS")
            .arg("simrelay:activations")
            .arg(field)
            .query(&mut conn)
            .unwrap()
    };
    // Within archive_after (7 days) the closed activation stays hot.
    clock.advance(TimeDelta::days(6));
    assert_eq!(engine.archive_due().await.unwrap(), 0);
    assert!(hot(id));
    clock.advance(TimeDelta::days(2));
    assert_eq!(engine.archive_due().await.unwrap(), 1);
    assert!(engine.activation(aid).is_none(), "left memory");
    assert!(!hot(id), "left the hot hash recovery reads");
    // Archived for archive_ttl (90 days), as a whole bucket of ids.
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let bucket = format!("simrelay:archive:activations:{}", id / 1024);
    let ttl: i64 = redis::cmd("TTL").arg(&bucket).query(&mut conn).unwrap();
    assert!(
        (89 * 24 * 3600..=90 * 24 * 3600).contains(&ttl),
        "{bucket} expires in {ttl} s"
    );
    // Active ones never leave.
    assert_eq!(state(engine, active), ActivationState::Active);
    assert!(hot(active));
    // A late repeat is answered from the archive, and changes nothing.
    let outcome = engine
        .finish(aid, simrelay_actors::domain::FinishStatus::Sold, None)
        .await
        .unwrap();
    assert_eq!(outcome, simrelay_actors::FinishOutcome::Repeat);

    // After a restart recovery does not read it, and the repeat still succeeds.
    app.store().release().await;
    drop(app);
    let again = start_with(&redis, clock.clone(), no_grace()).await;
    let engine = again.engine();
    assert!(
        engine.activation(aid).is_none(),
        "recovery read the archive"
    );
    let outcome = engine
        .finish(aid, simrelay_actors::domain::FinishStatus::Sold, None)
        .await
        .unwrap();
    assert_eq!(outcome, simrelay_actors::FinishOutcome::Repeat);
    let found = engine.find_activation(aid).await.unwrap().unwrap();
    assert_eq!(found.state, ActivationState::Finished);
    // An id that never existed is still unknown.
    let never = simrelay_actors::domain::ActivationId::new(999_999).unwrap();
    assert!(engine
        .finish(never, simrelay_actors::domain::FinishStatus::Sold, None)
        .await
        .is_err());
}

#[actix_rt::test]
async fn without_a_grace_overdue_activations_survive_restarts_until_released() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path());
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
    ));
    let no_grace = || {
        let mut s = settings(&redis.url(), 3);
        s.engine.expiry_grace = Some(None);
        s
    };

    let first = start_with(&redis, clock.clone(), no_grace()).await;
    let id = reserve(first.engine()).await;
    let aid = simrelay_actors::domain::ActivationId::new(id).unwrap();
    clock.advance(TimeDelta::hours(1));
    assert_eq!(first.engine().expire_due().await, 0);
    assert_eq!(first.engine().overdue_count(), 1);
    first.store().release().await;
    drop(first);

    // Down for a day: after recovery it is still active, its number busy, overdue.
    clock.advance(TimeDelta::days(1));
    let second = start_with(&redis, clock.clone(), no_grace()).await;
    let engine = second.engine();
    assert_eq!(engine.armed_expiries(), 0);
    assert_eq!(engine.expire_due().await, 0);
    assert_eq!(state(engine, id), ActivationState::Active);
    assert_eq!(engine.overdue_count(), 1);
    assert_eq!(engine.overdue_activations(10)[0].id, aid);
    assert_eq!(engine.stock().countries[0].any[0].1, 2);

    // The operator releases it: durable, the number free.
    let released = engine.release(aid).await.unwrap();
    assert_eq!(released.state, ActivationState::Expired);
    assert_eq!(engine.overdue_count(), 0);
    assert_eq!(engine.stock().countries[0].any[0].1, 3);
    second.store().release().await;
    drop(second);

    let third = start_with(&redis, clock.clone(), no_grace()).await;
    let engine = third.engine();
    assert_eq!(state(engine, id), ActivationState::Expired);
    assert_eq!(engine.active_activations(), 0);
    assert_eq!(engine.stock().countries[0].any[0].1, 3);
    // A late FINISH still applies.
    let outcome = engine
        .finish(aid, simrelay_actors::domain::FinishStatus::Sold, None)
        .await
        .unwrap();
    assert_eq!(outcome, simrelay_actors::FinishOutcome::Applied);
    assert_eq!(state(engine, id), ActivationState::Finished);
}
