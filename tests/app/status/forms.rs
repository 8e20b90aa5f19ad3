//! The status page over HTTP: login, the session cookie, CSRF, the redeliver and release forms.

use reqwest::StatusCode;

use super::helpers::{csrf_in, row, Browser};
use crate::delivery::helpers::{spawn_with_platform, RU1};
use crate::delivery::platform::Reply;
use crate::kit::app::{base_settings, new_clock, sim, start_in_memory};

#[actix_rt::test]
async fn login_takes_the_admin_token_once_and_sets_a_strict_httponly_cookie() {
    let (app, _platform) = spawn_with_platform(|_| {}).await;
    let mut browser = Browser::new(&app);

    // No session: to the login form.
    let page = browser.get("/status").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location.as_deref(), Some("/status/login"));
    let form = browser.get("/status/login").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body.contains(r#"type="password" name="token""#),
        "{}",
        form.body
    );

    // A wrong token: 401, the form again, no cookie; a made-up cookie is no session either.
    let wrong = browser.login_with("not-the-token").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("Wrong token"), "{}", wrong.body);
    assert_eq!(wrong.set_cookie, None);
    assert!(
        !wrong.body.contains("not-the-token"),
        "the typed token is not echoed"
    );
    browser.cookie = Some("simrelay_status=00000000000000000000000000000000".into());
    assert_eq!(browser.get("/status").await.status, StatusCode::SEE_OTHER);
    browser.cookie = None;

    // The right token: a session cookie only the server reads, sent only by our own pages.
    let ok = browser
        .login_with(crate::delivery::helpers::ADMIN_TOKEN)
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(ok.location.as_deref(), Some("/status"));
    let cookie = ok.set_cookie.expect("a session cookie");
    let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
    assert!(attributes[0].starts_with("simrelay_status="), "{cookie}");
    assert_eq!(
        attributes[0].len(),
        "simrelay_status=".len() + 32,
        "{cookie}"
    );
    for wanted in ["HttpOnly", "SameSite=Strict", "Path=/status"] {
        assert!(attributes.contains(&wanted), "{wanted} missing: {cookie}");
    }
    assert!(
        !cookie.contains(crate::delivery::helpers::ADMIN_TOKEN),
        "{cookie}"
    );

    // Logged in: the page, as HTML nobody caches, with the stock of the configured SIMs.
    let page = browser.get("/status").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let stock = row(&page.body, "bank-default").expect("the default bank's row");
    assert!(stock.contains(">5<"), "five SIMs: {stock}");
    assert!(page.body.contains(r#"<table id="stock-onlinesim">"#));
    let russia_any = page
        .body
        .split("<tr>")
        .find(|r| r.contains("russia") && r.contains("any"))
        .expect("russia's any row");
    assert!(russia_any.contains("<b>5</b>"), "{russia_any}");

    // Logout needs the CSRF token too; after it the cookie is worthless.
    let csrf = csrf_in(&page.body);
    let refused = browser.post("/status/logout", &[("csrf", "forged")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(browser.get("/status").await.status, StatusCode::OK);
    let out = browser.post("/status/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location.as_deref(), Some("/status/login"));
    assert!(out.set_cookie.unwrap_or_default().contains("Max-Age=0"));
    assert_eq!(browser.get("/status").await.status, StatusCode::SEE_OTHER);
}

#[actix_rt::test]
async fn the_redeliver_form_sends_a_failed_sms_again_and_refuses_a_forged_one() {
    let (app, platform) = spawn_with_platform(|_| {}).await;
    platform.then(Reply::error(404, "NO_OPERATION"), 1);
    let (number, activation) = app.reserve("russia", "any", "vk").await;
    let (sms, matched) = app.sms_to(number, "VK", "VK: <b>42</b>").await;
    assert_eq!(matched, Some(activation));
    app.settle().await;
    assert_eq!(app.admin_sms(sms).await["state"], "failed");

    let mut browser = Browser::new(&app);
    browser.login().await;
    let page = browser.overview("").await;
    let failed = row(&page, &format!("sms-{sms}")).expect("the failed SMS is listed");
    assert!(failed.contains(">failed<"), "{failed}");
    assert!(
        failed.contains("VK: &lt;b&gt;42&lt;/b&gt;"),
        "escaped: {failed}"
    );
    assert!(
        failed.contains(&format!(r#"id="redeliver-{sms}""#)),
        "{failed}"
    );
    let csrf = csrf_in(&page);
    let path = format!("/status/sms/{sms}/redeliver");

    // A wrong or missing CSRF token: 403, nothing sent, nothing changed.
    for form in [vec![("csrf", "forged")], vec![]] {
        let refused = browser.post(&path, &form).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        assert!(refused.body.contains("BAD_CSRF"), "{}", refused.body);
    }
    // Without a session (a cross-site form, whose cookie SameSite=Strict withholds): to login.
    let stranger = Browser::new(&app);
    let refused = stranger.post(&path, &[("csrf", &csrf)]).await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert_eq!(refused.location.as_deref(), Some("/status/login"));
    app.settle().await;
    assert_eq!(platform.count(), 1);
    assert_eq!(app.admin_sms(sms).await["state"], "failed");

    // The session's token: back to the outbox, delivered, gone from the attention list.
    let done = browser.post(&path, &[("csrf", &csrf)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        done.location.as_deref(),
        Some(format!("/status?redelivered={sms}#attention").as_str())
    );
    app.settle().await;
    assert_eq!(platform.count(), 2);
    assert_eq!(app.admin_sms(sms).await["state"], "delivered");
    let page = browser.overview(&format!("?redelivered={sms}")).await;
    assert!(page.contains(&format!("SMS {sms} is back in the outbox.")));
    assert_eq!(row(&page, &format!("sms-{sms}")), None);
    let latest = row(&page, &format!("latest-{sms}")).expect("in the latest SMS");
    assert!(latest.contains(">delivered<"), "{latest}");

    // What the admin API refuses, the page refuses with the same code.
    let again = browser.post(&path, &[("csrf", &csrf)]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("NOT_REDELIVERABLE"), "{}", again.body);
    let bad = browser
        .post("/status/sms/abc/redeliver", &[("csrf", &csrf)])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("BAD_ID"), "{}", bad.body);
    assert_eq!(platform.count(), 2);
}

#[actix_rt::test]
async fn the_release_form_frees_an_overdue_activation_sims_filter_and_sessions_expire() {
    let (app, _platform) = spawn_with_platform(|_| {}).await;
    let (number, activation) = app.reserve("russia", "any", "vk").await;
    let mut browser = Browser::new(&app);
    browser.login().await;

    let page = browser.overview("").await;
    assert!(row(&page, &format!("activation-{activation}")).is_some());
    assert!(!page.contains(&format!("/status/activations/{activation}/release")));
    // The filter: the busy SIM alone, the free ones without it, unknown choices refused.
    let busy = browser.overview("?bank=&state=busy&online=yes").await;
    assert!(row(&busy, &format!("sim-{number}")).is_some());
    assert!(busy.contains("1 SIMs match"), "{busy}");
    let free = browser.overview("?state=free").await;
    assert!(row(&free, &format!("sim-{number}")).is_none());
    assert!(free.contains("4 SIMs match"));
    let offline = browser.overview("?online=no").await;
    assert!(offline.contains("0 SIMs match"));
    let bad = browser.get("/status?state=sleeping").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("BAD_QUERY"), "{}", bad.body);

    // Past its expiry the platform never finished it: overdue, with a release button.
    app.advance(16 * 60);
    let page = browser.overview("").await;
    let overdue = page
        .split(r#"id="overdue-list""#)
        .nth(1)
        .expect("the overdue table");
    assert!(row(overdue, &format!("activation-{activation}")).is_some());
    let path = format!("/status/activations/{activation}/release");
    assert!(page.contains(&path));
    let forged = browser.post(&path, &[("csrf", "forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.admin_json(&format!("/admin/activations/{activation}"))
            .await["activation"]["state"],
        "active"
    );
    let done = browser.post(&path, &[("csrf", &csrf_in(&page))]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        app.admin_json(&format!("/admin/activations/{activation}"))
            .await["activation"]["state"],
        "expired"
    );
    let page = browser.overview(&format!("?released={activation}")).await;
    assert!(page.contains(&format!("Activation {activation} was released")));
    assert!(!page.contains(&path));
    let again = browser.post(&path, &[("csrf", &csrf_in(&page))]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("NOT_ACTIVE"), "{}", again.body);

    // A session lasts 12 hours (the engine's clock), then it is back to the login form.
    app.advance(12 * 3600 - 16 * 60 - 1);
    assert_eq!(browser.get("/status").await.status, StatusCode::OK);
    app.advance(1);
    let expired = browser.get("/status").await;
    assert_eq!(expired.status, StatusCode::SEE_OTHER);
    assert_eq!(expired.location.as_deref(), Some("/status/login"));
}

#[actix_rt::test]
async fn the_status_page_lives_on_the_internal_listener_only() {
    let mut settings = base_settings(
        "key",
        1,
        vec![sim(&RU1.to_string(), "russia", Some("beeline"))],
    );
    settings.server.internal_listen = Some("127.0.0.1:0".parse().expect("address"));
    let app = start_in_memory(settings, new_clock()).await;
    let client = crate::kit::app::client();
    let platform_side = client
        .get(format!("{}/status/login", app.address))
        .send()
        .await
        .expect("request");
    assert_eq!(platform_side.status(), StatusCode::NOT_FOUND);
    let internal = app.internal_address.expect("an internal listener");
    let internal_side = client
        .get(format!("{internal}/status/login"))
        .send()
        .await
        .expect("request");
    assert_eq!(internal_side.status(), StatusCode::OK);
}
