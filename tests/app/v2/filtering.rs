//! Our-side filtering in v2: there is no ordered service, so with `[filtering] mode = "partner"`
//! an SMS must match one of the offered services' patterns or it is held (never forwarded).

use crate::v2::fake::Endpoint::AddMessage;
use crate::v2::helpers::{spawn, C1};

#[actix_rt::test]
async fn partner_filtering_holds_sms_of_no_offered_service() {
    let (app, fake) = spawn(|s| {
        s.filtering.mode = simrelay::config::FilteringMode::Partner;
    })
    .await;
    app.tick().await;
    let code = app.sms(C1, "VK", "VK: 33708 is your code").await;
    let bank = app
        .sms(C1, "Sberbank", "Card *1234: purchase 500 RUB")
        .await;
    app.settle().await;
    assert_eq!(app.admin_sms(code).await["state"], "delivered");
    assert_eq!(app.admin_sms(bank).await["state"], "held");
    let sent = fake.requests_to(AddMessage);
    assert_eq!(sent.len(), 1, "only the service's SMS goes out");
    assert_eq!(sent[0].json["message"], "VK: 33708 is your code");
}

#[actix_rt::test]
async fn without_filtering_every_sms_of_a_listed_sim_goes_out() {
    let (app, fake) = spawn(|_| {}).await;
    app.tick().await;
    let bank = app
        .sms(C1, "Sberbank", "Card *1234: purchase 500 RUB")
        .await;
    app.settle().await;
    assert_eq!(app.admin_sms(bank).await["state"], "delivered");
    assert_eq!(fake.requests_to(AddMessage).len(), 1);
}
