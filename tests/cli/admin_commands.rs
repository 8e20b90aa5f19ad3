//! `simrelay sims | activations | sms | banks`, `simrelay redeliver` and `simrelay completions`,
//! run as an operator runs them against a live simrelay: tables with the columns that matter,
//! `--json`, `--state`, and errors that say what to fix.

use serde_json::{json, Value};
use simrelay::config::{FilteringMode, RawSettings, Secret};
use simrelay_actors::domain::{Msisdn, SmsId, SmsState};
use simrelay_actors::Engine;

use super::release_command::run;

const TOKEN: &str = "cli-admin-token-4b1d";
const GATEWAY_TOKEN: &str = "cli-gateway-token-9e2c";
/// The SIM the shop blocks.
const BLOCKED: &str = "79281234569";

/// A live simrelay with something in every listing: three configured SIMs (one blocked), bank2
/// reporting one SIM, a vk activation, a held SMS (our-side filtering) on it and an unmatched
/// SMS on a free SIM. PUSH_SMS goes to a port nobody listens on, so nothing is ever delivered.
struct Shop {
    port: u16,
    engine: Engine,
    activation: u64,
    /// The number of the activation.
    busy: String,
    held: u64,
    unmatched: u64,
}

impl Shop {
    async fn open() -> Shop {
        let mut settings = RawSettings::default();
        settings.server.listen = "127.0.0.1:0".parse().unwrap();
        settings.onlinesim.api_key = Secret::new("k");
        settings.onlinesim.push_sms_url = Some("http://127.0.0.1:9/PUSH_SMS".into());
        settings.admin.token = Secret::new(TOKEN);
        settings.gateway.token = Secret::new(GATEWAY_TOKEN);
        settings.filtering.mode = FilteringMode::Partner;
        settings.sims = vec![
            super::sim("79281234567", Some("bank1.17"), Some("beeline")),
            super::sim("79281234568", Some("bank1.18"), None),
            super::sim(BLOCKED, None, None),
        ];
        let (port, engine, _) = super::serve(settings).await;

        let gateway = |method: reqwest::Method, path: &str, body: Value| {
            reqwest::Client::new()
                .request(method, format!("http://127.0.0.1:{port}{path}"))
                .bearer_auth(GATEWAY_TOKEN)
                .json(&body)
                .send()
        };
        let answer = gateway(
            reqwest::Method::PUT,
            "/gateway/banks/bank2/sims",
            json!({"sims": [{"number": "79281234570", "port": "b2.1", "operator": "mts"}]}),
        )
        .await
        .unwrap();
        assert!(answer.status().is_success(), "{:?}", answer.text().await);
        engine
            .set_blocked(Msisdn::parse(BLOCKED).unwrap(), true)
            .await
            .unwrap();
        let reservation = super::reserve_vk(&engine).await;
        let busy = reservation.number.to_string();
        let free = ["79281234567", "79281234568", "79281234570"]
            .into_iter()
            .find(|n| *n != busy)
            .unwrap();
        let mut sms_ids = Vec::new();
        for (number, from, text) in [
            (busy.as_str(), "Telegram", "Telegram code 55555"),
            (free, "VK", "VK: 12345"),
        ] {
            let answer = gateway(
                reqwest::Method::POST,
                "/gateway/sms",
                json!({"number": number, "from": from, "text": text}),
            )
            .await
            .unwrap();
            let body: Value = answer.json().await.unwrap();
            sms_ids.push(body["sms_id"].as_u64().expect("an sms_id"));
        }
        let shop = Shop {
            port,
            engine,
            activation: reservation.id.get(),
            busy,
            held: sms_ids[0],
            unmatched: sms_ids[1],
        };
        assert_eq!(shop.sms_state(shop.held), SmsState::Held);
        assert_eq!(shop.sms_state(shop.unmatched), SmsState::Unmatched);
        shop
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `simrelay ARGS… --url <shop> --token <admin token>`.
    async fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        all.extend(["--url".into(), self.url(), "--token".into(), TOKEN.into()]);
        run(all, vec![]).await
    }

    /// `simrelay ARGS…` that must succeed: its stdout.
    async fn ok(&self, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.cli(args).await;
        assert!(ok, "simrelay {args:?} failed: {stderr}");
        assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
        stdout
    }

    /// The admin API's own answer, to compare `--json` with.
    async fn admin(&self, path: &str) -> Value {
        reqwest::Client::new()
            .get(format!("{}{path}", self.url()))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    fn sms_state(&self, id: u64) -> SmsState {
        self.engine
            .sms(None, 100)
            .into_iter()
            .find(|s| s.id == SmsId(id))
            .map(|s| s.state)
            .expect("the SMS is listed")
    }
}

/// A printed table as trimmed `|`-separated cells: the header, then the rows (the rule under
/// the header checked and left out).
fn cells(table: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = table.lines();
    let split = |line: &str| line.split('|').map(|c| c.trim().to_owned()).collect();
    let header = split(lines.next().unwrap_or_default());
    let rule = lines.next().unwrap_or_default();
    assert!(
        !rule.is_empty() && rule.chars().all(|c| c == '-' || c == '+'),
        "a rule under the header:\n{table}"
    );
    (header, lines.map(split).collect())
}

fn row<'a>(rows: &'a [Vec<String>], first: &str) -> &'a Vec<String> {
    rows.iter()
        .find(|r| r[0] == first)
        .unwrap_or_else(|| panic!("no row {first}: {rows:#?}"))
}

#[actix_rt::test]
async fn sims_lists_each_sim_with_its_bank_state_and_activation() {
    let shop = Shop::open().await;
    // URL and token from the config: the internal listener wins (nobody listens on port 9).
    let config = super::config_file(&format!(
        "[server]\nlisten = \"127.0.0.1:9\"\ninternal_listen = \"127.0.0.1:{}\"\n[admin]\ntoken = \"{TOKEN}\"\n",
        shop.port
    ));
    let (ok, stdout, stderr) = run(
        vec![
            "sims".into(),
            "--config".into(),
            config.path().to_str().unwrap().into(),
        ],
        vec![],
    )
    .await;
    assert!(ok, "{stderr}");
    let (header, rows) = cells(&stdout);
    assert_eq!(
        header,
        [
            "number",
            "bank",
            "port",
            "country",
            "operator",
            "online",
            "state",
            "activation"
        ]
    );
    assert_eq!(rows.len(), 4, "{stdout}");
    let busy = row(&rows, &shop.busy);
    assert_eq!(busy[5..], ["yes", "busy", &shop.activation.to_string()]);
    let bank2 = row(&rows, "79281234570");
    assert_eq!(bank2[1..5], ["bank2", "b2.1", "russia", "mts"]);
    assert_eq!(row(&rows, BLOCKED)[6..], ["blocked", "-"]);

    // --state filters, --limit cuts, --json prints the server's JSON.
    let (_, rows) = cells(&shop.ok(&["sims", "--state", "busy"]).await);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0], shop.busy);
    let (_, rows) = cells(&shop.ok(&["sims", "--state", "blocked"]).await);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0], BLOCKED);
    let (_, rows) = cells(&shop.ok(&["sims", "--limit", "2"]).await);
    assert_eq!(rows.len(), 2);
    let json: Value = serde_json::from_str(&shop.ok(&["sims", "--json"]).await).unwrap();
    assert_eq!(json, shop.admin("/admin/sims").await);
    let (ok, stdout, stderr) = shop.cli(&["sims", "--state", "sleeping"]).await;
    assert!(!ok && stdout.is_empty());
    assert!(
        stderr.contains("\"sleeping\" is not one of free, busy, blocked, online, offline"),
        "{stderr}"
    );
}

#[actix_rt::test]
async fn activations_lists_with_the_servers_state_filter() {
    let shop = Shop::open().await;
    let (header, rows) = cells(&shop.ok(&["activations"]).await);
    assert_eq!(
        header,
        ["id", "platform", "number", "service", "state", "created", "expires"]
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0],
        [
            shop.activation.to_string().as_str(),
            "onlinesim",
            &shop.busy,
            "vk",
            "active",
            "2026-05-01 00:00:00",
            "2026-05-01 00:15:00"
        ]
    );
    let (_, rows) = cells(&shop.ok(&["activations", "--state", "active"]).await);
    assert_eq!(rows.len(), 1);
    let (_, rows) = cells(&shop.ok(&["activations", "--state", "finished"]).await);
    assert!(rows.is_empty(), "{rows:?}");
    let json: Value = serde_json::from_str(&shop.ok(&["activations", "--json"]).await).unwrap();
    assert_eq!(json, shop.admin("/admin/activations").await);
    assert_eq!(json["activations"][0]["id"], shop.activation);

    // A state the server does not know: its 400 and message, exit non-zero.
    let (ok, stdout, stderr) = shop.cli(&["activations", "--state", "done"]).await;
    assert!(!ok && stdout.is_empty());
    assert!(
        stderr.contains("400")
            && stderr.contains("BAD_QUERY")
            && stderr.contains("not one of active, finished, expired, overdue"),
        "{stderr}"
    );
}

#[actix_rt::test]
async fn sms_lists_delivery_states_and_filters_by_state() {
    let shop = Shop::open().await;
    let (header, rows) = cells(&shop.ok(&["sms"]).await);
    assert_eq!(
        header,
        [
            "id",
            "number",
            "platform",
            "activation",
            "state",
            "attempts",
            "received",
            "last error"
        ]
    );
    assert_eq!(rows.len(), 2);
    let held = row(&rows, &shop.held.to_string());
    assert_eq!(held[1], shop.busy);
    assert_eq!(
        held[2..],
        [
            "onlinesim",
            &shop.activation.to_string(),
            "held",
            "0",
            "2026-05-01 00:00:00",
            "-"
        ]
    );
    assert_eq!(
        row(&rows, &shop.unmatched.to_string())[3..5],
        ["-", "unmatched"]
    );

    let (_, rows) = cells(&shop.ok(&["sms", "--state", "unmatched"]).await);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0], shop.unmatched.to_string());
    let json: Value =
        serde_json::from_str(&shop.ok(&["sms", "--state", "held", "--json"]).await).unwrap();
    assert_eq!(json, shop.admin("/admin/sms?state=held").await);
    assert_eq!(json["sms"].as_array().map(Vec::len), Some(1));
    let (ok, _, stderr) = shop.cli(&["sms", "--state", "lost"]).await;
    assert!(
        !ok && stderr.contains("400") && stderr.contains("BAD_QUERY"),
        "{stderr}"
    );
}

#[actix_rt::test]
async fn banks_lists_each_bank_live_or_silent() {
    let shop = Shop::open().await;
    let (header, rows) = cells(&shop.ok(&["banks"]).await);
    assert_eq!(header, ["name", "sims", "online", "last seen", "live"]);
    assert_eq!(
        row(&rows, "bank2")[1..],
        ["1", "1", "2026-05-01 00:00:00", "yes"]
    );
    let (_, rows) = cells(&shop.ok(&["banks", "--state", "live"]).await);
    assert!(rows.iter().any(|r| r[0] == "bank2"), "{rows:?}");
    let (_, rows) = cells(&shop.ok(&["banks", "--state", "silent"]).await);
    assert!(rows.iter().all(|r| r[0] != "bank2"), "{rows:?}");
    let json: Value = serde_json::from_str(&shop.ok(&["banks", "--json"]).await).unwrap();
    assert_eq!(json, shop.admin("/admin/banks").await);
}

#[actix_rt::test]
async fn redeliver_sends_a_held_sms_again() {
    let shop = Shop::open().await;
    let stdout = shop.ok(&["redeliver", &shop.held.to_string()]).await;
    assert!(
        stdout.starts_with(&format!("SMS {} is pending again", shop.held)),
        "{stdout}"
    );
    assert_eq!(shop.sms_state(shop.held), SmsState::Pending);

    // Not redeliverable (no activation), unknown, not an id: the server's refusal, exit 1,
    // nothing changed.
    let (ok, stdout, stderr) = shop.cli(&["redeliver", &shop.unmatched.to_string()]).await;
    assert!(!ok && stdout.is_empty());
    assert!(
        stderr.contains("409") && stderr.contains("NOT_REDELIVERABLE"),
        "{stderr}"
    );
    assert_eq!(shop.sms_state(shop.unmatched), SmsState::Unmatched);
    let (ok, _, stderr) = shop.cli(&["redeliver", "999999"]).await;
    assert!(
        !ok && stderr.contains("404") && stderr.contains("UNKNOWN_SMS"),
        "{stderr}"
    );
    let (ok, _, stderr) = shop.cli(&["redeliver", "first"]).await;
    assert!(
        !ok && stderr.contains("\"first\" is not an SMS id"),
        "{stderr}"
    );

    // --json: the server's answer.
    let (ok, _, stderr) = shop
        .cli(&["redeliver", &shop.unmatched.to_string(), "--json"])
        .await;
    assert!(!ok && stderr.contains("NOT_REDELIVERABLE"), "{stderr}");
}

#[actix_rt::test]
async fn errors_say_what_to_fix() {
    let shop = Shop::open().await;
    // Nobody listening.
    for command in ["sims", "activations", "sms", "banks"] {
        let (ok, stdout, stderr) = run(
            vec![
                command.into(),
                "--url".into(),
                "http://127.0.0.1:9".into(),
                "--token".into(),
                TOKEN.into(),
            ],
            vec![],
        )
        .await;
        assert!(!ok && stdout.is_empty(), "{command}");
        assert!(
            stderr.contains(
                "no simrelay answers at http://127.0.0.1:9: is it running? is --url right?"
            ),
            "{command}: {stderr}"
        );
        assert!(!stderr.contains(TOKEN), "{stderr}");
    }
    // A wrong token, from the option or from the config's SIMRELAY_ override.
    let wrong = "not-the-admin-token-5e";
    for args in [
        vec![
            "sms".to_owned(),
            "--url".into(),
            shop.url(),
            "--token".into(),
            wrong.into(),
        ],
        vec![
            "redeliver".to_owned(),
            shop.held.to_string(),
            "--url".into(),
            shop.url(),
        ],
    ] {
        let (ok, stdout, stderr) = run(args, vec![("SIMRELAY_ADMIN__TOKEN", wrong.into())]).await;
        assert!(!ok && stdout.is_empty());
        assert!(
            stderr.contains("the admin token was refused (401): check admin.token")
                && stderr.contains("--token"),
            "{stderr}"
        );
        assert!(!stderr.contains(wrong), "{stderr}");
    }
    assert_eq!(shop.sms_state(shop.held), SmsState::Held);
    // An unknown activation: the server's 404 and code.
    let (ok, _, stderr) = shop.cli(&["release", "424242"]).await;
    assert!(
        !ok && stderr.contains("404") && stderr.contains("UNKNOWN_ACTIVATION"),
        "{stderr}"
    );
    // A URL that is not one.
    let (ok, _, stderr) = run(
        vec![
            "banks".into(),
            "--url".into(),
            "127.0.0.1:8081".into(),
            "--token".into(),
            TOKEN.into(),
        ],
        vec![],
    )
    .await;
    assert!(!ok && stderr.contains("is not a server URL"), "{stderr}");
}

#[test]
fn completions_for_each_shell_name_the_commands() {
    for shell in ["bash", "zsh", "fish"] {
        let out = super::simrelay(&["completions", shell], &[]);
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for command in [
            "serve",
            "sims",
            "activations",
            "sms",
            "banks",
            "release",
            "redeliver",
            "completions",
        ] {
            assert!(script.contains(command), "{shell} script names {command}");
        }
    }
    let out = super::simrelay(&["completions", "tcsh"], &[]);
    assert!(!out.status.success());
}
