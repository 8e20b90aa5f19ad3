//! Our-side filtering (`[filtering] mode = "partner"`, protocol §5.1): SMS that match none of the
//! ordered service's patterns are held, not pushed; rent is never filtered.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use simrelay::config::FilteringMode;

use crate::delivery::helpers::spawn_with_platform;

fn texts(platform: &crate::delivery::platform::Platform) -> BTreeSet<String> {
    platform
        .requests()
        .iter()
        .map(|r| r.text().to_owned())
        .collect()
}

#[actix_rt::test]
async fn partner_filtering_holds_sms_of_another_service() {
    let (app, platform) = spawn_with_platform(|s| s.filtering.mode = FilteringMode::Partner).await;
    let (number, activation) = app.reserve("russia", "any", "vk").await;

    let (telegram, matched) = app.sms_to(number, "Telegram", "Telegram code 55555").await;
    assert_eq!(
        matched,
        Some(activation),
        "held SMS still belong to the activation"
    );
    let (by_sender, _) = app.sms_to(number, "VK", "Your code 12345").await;
    let (by_text, _) = app
        .sms_to(number, "+79001112233", "Ваш код ВКонтакте: 5555")
        .await;
    app.settle().await;
    for _ in 0..3 {
        app.advance_and_settle(600).await;
    }

    assert_eq!(
        texts(&platform),
        BTreeSet::from([
            "Your code 12345".to_owned(),
            "Ваш код ВКонтакте: 5555".to_owned()
        ])
    );
    assert_eq!(platform.count(), 2);
    let held = app.admin_sms(telegram).await;
    assert_eq!(held["state"], "held", "{held}");
    assert_eq!(held["attempts"], 0, "{held}");
    assert_eq!(held["activation_id"], activation, "{held}");
    for id in [by_sender, by_text] {
        assert_eq!(app.admin_sms(id).await["state"], "delivered");
    }
    let listed = app.admin_json("/admin/sms?state=held").await;
    assert_eq!(listed["sms"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["sms"][0]["id"], telegram, "{listed}");

    // An operator can release a held SMS by hand.
    let (status, body) = app.redeliver(&telegram.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.settle().await;
    assert_eq!(platform.count(), 3);
    assert_eq!(app.admin_sms(telegram).await["state"], "delivered");
}

#[actix_rt::test]
async fn without_partner_filtering_every_sms_of_the_activation_is_pushed() {
    let (app, platform) = spawn_with_platform(|s| s.filtering.mode = FilteringMode::Off).await;
    let (number, _) = app.reserve("russia", "any", "vk").await;
    app.sms_to(number, "Telegram", "Telegram code 55555").await;
    app.sms_to(number, "VK", "Your code 12345").await;
    app.sms_to(number, "SBERBANK", "Kod 4321").await;
    app.settle().await;
    assert_eq!(
        texts(&platform),
        BTreeSet::from([
            "Telegram code 55555".to_owned(),
            "Your code 12345".to_owned(),
            "Kod 4321".to_owned()
        ])
    );
    assert_eq!(app.engine.sms_counts().held, 0);
}

#[actix_rt::test]
async fn rent_activations_are_never_filtered() {
    let (app, platform) = spawn_with_platform(|s| {
        s.filtering.mode = FilteringMode::Partner;
        s.onlinesim.rent = true;
    })
    .await;
    let (rented, rent) = app.reserve("russia", "any", "rent").await;
    let (other, vk) = app.reserve("russia", "any", "vk").await;
    let (a, _) = app.sms_to(rented, "Telegram", "Telegram code 55555").await;
    let (b, _) = app.sms_to(rented, "+79001112233", "hello there").await;
    let (held, _) = app.sms_to(other, "Telegram", "Telegram code 66666").await;
    app.settle().await;

    assert_eq!(
        texts(&platform),
        BTreeSet::from(["Telegram code 55555".to_owned(), "hello there".to_owned()])
    );
    for r in platform.requests() {
        assert_eq!(r.json["smsId"], rent);
        assert_eq!(r.json["service"], "rent");
    }
    for id in [a, b] {
        assert_eq!(app.admin_sms(id).await["state"], "delivered");
    }
    let stored = app.admin_sms(held).await;
    assert_eq!(
        stored["state"], "held",
        "the vk control is filtered: {stored}"
    );
    assert_eq!(stored["activation_id"], vk);
}
