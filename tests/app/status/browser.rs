//! The status page in Debian's Chromium, headless, driven through WebDriver (chromedriver):
//! log in, see the stock, press redeliver on a failed SMS, see its state change. The page as the
//! operator sees it is saved to `target/status-page.png` (in the repository, whatever
//! `CARGO_TARGET_DIR` says).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::delivery::helpers::{rfc3339, spawn_with_platform, ADMIN_TOKEN, RU5};
use crate::delivery::platform::Reply;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Where the screenshot goes.
pub fn screenshot_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/status-page.png")
}

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver() -> Driver {
    for tool in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing: the status page test needs Debian's chromium and chromium-driver \
             (apt-get install chromium chromium-driver; README's test command installs them)"
        );
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
    Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

/// A headless Chromium session, once chromedriver accepts connections (it takes a moment to
/// listen; give up after 60 s on a busy machine).
async fn connect(driver: &Driver) -> Client {
    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1800"]
        }
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!("a JSON object")
    };
    let started = Instant::now();
    loop {
        let attempt = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities.clone())
            .connect(&driver.url)
            .await;
        match attempt {
            Ok(client) => return client,
            Err(e) if started.elapsed() < Duration::from_secs(60) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!(
                "no WebDriver session from {CHROMEDRIVER} at {}: {e}",
                driver.url
            ),
        }
    }
}

#[actix_rt::test]
async fn an_operator_logs_in_sees_the_stock_and_redelivers_a_failed_sms_in_chromium() {
    let (app, platform) = spawn_with_platform(|_| {}).await;
    // Something to look at: a failed SMS, a running activation, an unmatched SMS, a second bank.
    platform.then(Reply::error(404, "NO_OPERATION"), 1);
    let (number, activation) = app.reserve("russia", "any", "vk").await;
    let (failed, matched) = app.sms_to(number, "VK", "VK: 4242 is your code").await;
    assert_eq!(matched, Some(activation));
    app.settle().await;
    assert_eq!(app.admin_sms(failed).await["state"], "failed");
    app.reserve("russia", "any", "tg").await;
    app.sms(json!({"number": RU5.to_string(), "from": "OK", "text": "code 77", "received_at": rfc3339(-100)}))
        .await;
    let (status, body) = app.put_bank("bank2", &[79281000011, 79281000012]).await;
    assert!(status.is_success(), "{body}");

    let driver = start_driver();
    let browser = connect(&driver).await;
    let outcome = async {
        // No session yet: the page sends the browser to the login form.
        browser.goto(&format!("{}/status", app.address)).await?;
        assert_eq!(browser.current_url().await?.path(), "/status/login");
        browser
            .find(Locator::Id("token"))
            .await?
            .send_keys(ADMIN_TOKEN)
            .await?;
        browser.find(Locator::Id("login")).await?.click().await?;

        // The stock of every platform, by country and operator.
        let stock = browser
            .wait()
            .for_element(Locator::Id("stock-onlinesim"))
            .await?
            .text()
            .await?;
        assert!(
            stock.contains("russia") && stock.contains("beeline"),
            "{stock}"
        );
        let bank2 = browser
            .find(Locator::Id("bank-bank2"))
            .await?
            .text()
            .await?;
        assert!(bank2.contains("live"), "{bank2}");

        // The failed SMS, its state and its button; the page as the operator sees it.
        let row = Locator::Css(&format!("#sms-{failed} td.state"));
        assert_eq!(browser.find(row).await?.text().await?, "failed");
        let png = browser.screenshot().await?;
        let path = screenshot_path();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("target/");
        }
        std::fs::write(&path, &png).expect("the screenshot is saved");

        browser
            .find(Locator::Id(&format!("redeliver-{failed}")))
            .await?
            .click()
            .await?;
        let notice = browser.wait().for_element(Locator::Id("notice")).await?;
        assert_eq!(
            notice.text().await?,
            format!("SMS {failed} is back in the outbox.")
        );
        // The outbox delivers it; the page, reloaded, says so.
        app.settle().await;
        browser.refresh().await?;
        let latest = Locator::Css(&format!("#latest-{failed} td.state"));
        assert_eq!(browser.find(latest).await?.text().await?, "delivered");
        assert!(
            browser
                .find(Locator::Id(&format!("sms-{failed}")))
                .await
                .is_err(),
            "no longer needs attention"
        );
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    let _ = browser.close().await;
    drop(driver);
    outcome.expect("the browser steps");
    assert_eq!(platform.count(), 2);
    assert!(screenshot_path().exists());
}
