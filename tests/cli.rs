//! The command line as an operator meets it: `simrelay check-config` on good and bad files and
//! environment overrides, the gammu hook, and the admin commands against a live server, run as
//! the real binary.

#[path = "cli/admin_commands.rs"]
mod admin_commands;

use std::io::Write;
use std::process::{Command, Output};

fn simrelay(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_simrelay"));
    cmd.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the simrelay binary runs")
}

fn config_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

/// A configured SIM (bank `default`, country from the number).
fn sim(number: &str, port: Option<&str>, operator: Option<&str>) -> simrelay::config::SimEntry {
    simrelay::config::SimEntry {
        number: simrelay_actors::domain::Msisdn::parse(number).unwrap(),
        port: port.map(str::to_owned),
        operator: operator.map(|o| simrelay_actors::domain::OperatorName::parse(o).unwrap()),
        country: None,
        mcc_mnc: None,
        rent: false,
        bank: None,
    }
}

/// Starts simrelay in-process over a memory store, its clock at 2026-05-01 00:00 UTC:
/// (port, engine, clock).
async fn serve(
    settings: simrelay::config::RawSettings,
) -> (
    u16,
    simrelay_actors::Engine,
    std::sync::Arc<simrelay_actors::ManualClock>,
) {
    use chrono::TimeZone;
    let clock = std::sync::Arc::new(simrelay_actors::ManualClock::new(
        chrono::Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap(),
    ));
    let app = simrelay::startup::Application::build_with_store(
        settings.parse().unwrap(),
        std::sync::Arc::new(simrelay::store::MemoryStore::new()),
        clock.clone(),
    )
    .await
    .unwrap();
    let port = app.port();
    let engine = app.engine().clone();
    actix_rt::spawn(app.run_until_stopped());
    (port, engine, clock)
}

/// Reserves a Russian number for vk, as OnlineSIM's GET_NUMBER would.
async fn reserve_vk(engine: &simrelay_actors::Engine) -> simrelay_actors::Reservation {
    use simrelay_actors::domain::{CountryName, PlatformName, ServiceName};
    engine
        .get_number(simrelay_actors::NumberRequest {
            platform: PlatformName::onlinesim(),
            banks: simrelay_actors::BankScope::Every,
            deadline: None,
            country: CountryName::parse("russia").unwrap(),
            operator: simrelay_actors::OperatorChoice::Any,
            service: ServiceName::parse("vk").unwrap(),
            sum: 1.0,
            exclusions: Default::default(),
        })
        .await
        .unwrap()
        .unwrap()
}

fn check(text: &str, env: &[(&str, &str)]) -> (bool, String, String) {
    let f = config_file(text);
    let out = simrelay(
        &["check-config", "--config", f.path().to_str().unwrap()],
        env,
    );
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn shipped_configs_are_valid() {
    for file in ["config/simrelay.toml", "config/simrelay.example.toml"] {
        let out = simrelay(&["check-config", "--config", file], &[]);
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn check_config_masks_secrets() {
    let (ok, stdout, _) = check(
        "[onlinesim]\napi_key = \"very-secret-key\"\n[admin]\ntoken = \"admin-secret\"\n",
        &[],
    );
    assert!(ok);
    assert!(!stdout.contains("very-secret-key") && !stdout.contains("admin-secret"));
    assert!(stdout.contains("api_key = \"***\""));
}

#[test]
fn unknown_key_is_named_with_the_file() {
    let (ok, _, stderr) = check("[server]\nlisten = \"127.0.0.1:1\"\nlistne = 3\n", &[]);
    assert!(!ok);
    assert!(stderr.contains("listne"), "{stderr}");
    assert!(stderr.contains(".toml"), "{stderr}");
}

#[test]
fn wrong_type_and_bad_duration_are_named() {
    let (ok, _, stderr) = check("[onlinesim]\nrent = \"maybe\"\n", &[]);
    assert!(!ok);
    assert!(stderr.contains("rent"), "{stderr}");
    let (ok, _, stderr) = check("[onlinesim]\nactivation_ttl = \"fifteen\"\n", &[]);
    assert!(!ok);
    assert!(stderr.contains("activation_ttl"), "{stderr}");
}

#[test]
fn bad_url_and_bad_sim_are_named() {
    let (ok, _, stderr) = check("[onlinesim]\npush_sms_url = \"ftp://x\"\n", &[]);
    assert!(!ok);
    assert!(stderr.contains("onlinesim.push_sms_url"), "{stderr}");
    let (ok, _, stderr) = check("[[sims]]\nnumber = \"12ab\"\n", &[]);
    assert!(!ok);
    assert!(stderr.contains("number"), "{stderr}");
    let (ok, _, stderr) = check(
        "[[sims]]\nnumber = \"79281234567\"\n[[sims]]\nnumber = \"+79281234567\"\n",
        &[],
    );
    assert!(!ok);
    assert!(stderr.contains("sims[1].number"), "{stderr}");
}

#[test]
fn expiry_grace_is_off_by_default_and_takes_a_duration() {
    let (ok, stdout, stderr) = check("", &[]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("expiry_grace = \"off\""), "{stdout}");
    let (ok, stdout, stderr) = check("[onlinesim]\nexpiry_grace = \"5m\"\n", &[]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("expiry_grace = \"5m\""), "{stdout}");
    let (ok, stdout, stderr) = check(
        "[onlinesim]\nexpiry_grace = \"5m\"\n",
        &[("SIMRELAY_ONLINESIM__EXPIRY_GRACE", "off")],
    );
    assert!(ok, "{stderr}");
    assert!(stdout.contains("expiry_grace = \"off\""), "{stdout}");
    let (ok, _, stderr) = check("[onlinesim]\nexpiry_grace = \"soon\"\n", &[]);
    assert!(!ok);
    assert!(stderr.contains("expiry_grace"), "{stderr}");
}

#[test]
fn engine_keys_and_their_deprecated_aliases() {
    let (ok, stdout, stderr) = check(
        "[engine]\nactivation_ttl = \"20m\"\nmax_cancels = 2\n",
        &[("SIMRELAY_ENGINE__GET_NUMBER_DEADLINE", "2s")],
    );
    assert!(ok, "{stderr}");
    assert!(stdout.contains("[engine]"), "{stdout}");
    assert!(stdout.contains("activation_ttl = \"20m\""), "{stdout}");
    assert!(stdout.contains("get_number_deadline = \"2s\""), "{stdout}");
    assert!(stdout.contains("max_cancels = 2"), "{stdout}");
    assert!(!stderr.contains("deprecated"), "{stderr}");
    let (ok, stdout, stderr) = check("[onlinesim]\nget_number_deadline = \"2s\"\n", &[]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("get_number_deadline = \"2s\""), "{stdout}");
    assert!(
        stderr.contains("onlinesim.get_number_deadline is deprecated")
            && stderr.contains("engine.get_number_deadline"),
        "{stderr}"
    );
    let (ok, stdout, stderr) = check(
        "[engine]\nactivation_ttl = \"20m\"\n[onlinesim]\nactivation_ttl = \"30m\"\n",
        &[],
    );
    assert!(ok, "{stderr}");
    assert!(stdout.contains("activation_ttl = \"20m\""), "{stdout}");
    assert!(
        stderr.contains("engine.activation_ttl is also set and wins"),
        "{stderr}"
    );
}

#[test]
fn a_url_that_is_not_a_url_is_named() {
    let (ok, _, stderr) = check("[onlinesim]\npush_sms_url = \"https://\"\n", &[]);
    assert!(!ok);
    assert!(stderr.contains("onlinesim.push_sms_url"), "{stderr}");
    let (ok, _, stderr) = check("[store]\nredis_url = \"localhost:6379\"\n", &[]);
    assert!(!ok);
    assert!(stderr.contains("store.redis_url"), "{stderr}");
}

#[test]
fn unreadable_file_is_an_error() {
    let out = simrelay(
        &["check-config", "--config", "/nonexistent/simrelay.toml"],
        &[],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/simrelay.toml"));
}

#[test]
fn environment_overrides_the_file() {
    let (ok, stdout, stderr) = check(
        "[server]\nlisten = \"127.0.0.1:8080\"\n",
        &[
            ("SIMRELAY_SERVER__LISTEN", "0.0.0.0:9000"),
            ("SIMRELAY_ONLINESIM__ACTIVATION_TTL", "20m"),
        ],
    );
    assert!(ok, "{stderr}");
    assert!(stdout.contains("listen = \"0.0.0.0:9000\""), "{stdout}");
    assert!(stdout.contains("activation_ttl = \"20m\""), "{stdout}");
    let (ok, _, stderr) = check("", &[("SIMRELAY_ONLINESIM__GET_NUMBER_DEADLINE", "soon")]);
    assert!(!ok);
    assert!(
        stderr.to_lowercase().contains("get_number_deadline"),
        "{stderr}"
    );
}

#[test]
fn serve_refuses_a_bad_config_without_starting() {
    let f = config_file("[server]\nlisten = \"not an address\"\n");
    let out = simrelay(&["serve", "--config", f.path().to_str().unwrap()], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("listen"));
}

/// OnlineSIM (the `[onlinesim]` section) and SMSHub, as README's "Selling on several platforms".
const TWO_PLATFORMS: &str = r#"
[onlinesim]
api_key = "onlinesim-secret-key"
push_sms_url = "https://partner-api.example/v1/PUSH_SMS"

[[platforms]]
name = "smshub"
protocol = "smshub"
key = "smshub-secret-key"
path = "/smshub"
push_url = "https://agent.example/agent/api/sms"
services = { tg = "telegram" }
banks = ["bank2"]
"#;

#[test]
fn check_config_accepts_two_platforms_and_masks_their_keys() {
    let (ok, stdout, stderr) = check(TWO_PLATFORMS, &[]);
    assert!(ok, "{stderr}");
    assert!(
        !stdout.contains("smshub-secret-key") && !stdout.contains("onlinesim-secret-key"),
        "{stdout}"
    );
    // The entries as written (the [onlinesim] section is printed as itself), keys masked.
    let platforms = stdout.split("[[platforms]]").skip(1).collect::<Vec<_>>();
    assert_eq!(platforms.len(), 1, "{stdout}");
    assert!(platforms[0].contains("name = \"smshub\""), "{stdout}");
    assert!(platforms[0].contains("protocol = \"smshub\""), "{stdout}");
    assert!(platforms[0].contains("path = \"/smshub\""), "{stdout}");
    assert!(platforms[0].contains("tg = \"telegram\""), "{stdout}");
    assert!(platforms[0].contains("key = \"***\""), "{stdout}");
    assert!(stdout.contains("v1_path = \"/onlinesim/v1\""), "{stdout}");
    // What check-config prints is a config that check-config accepts as the same.
    let (again, printed_again, stderr) = check(&stdout, &[]);
    assert!(
        again,
        "the printed settings do not read back: {stderr}\n{stdout}"
    );
    let body = |out: &str| out.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&printed_again), body(&stdout));
}

#[test]
fn check_config_refuses_platforms_that_clash_naming_the_key() {
    let cases = [
        // A second platform on the first one's path.
        (
            TWO_PLATFORMS.replace("path = \"/smshub\"", "path = \"/onlinesim/v1\""),
            "platforms[0].path",
        ),
        // A v2 platform whose banks another platform sells too.
        (
            format!(
                "{}\n[[platforms]]\nname = \"os2\"\nprotocol = \"onlinesim-v2\"\nkey = \"k\"\n\
                 push_url = \"https://v2.example\"\nbanks = [\"bank2\", \"bank3\"]\n",
                TWO_PLATFORMS.replace("api_key = \"onlinesim-secret-key\"", "")
            ),
            "platforms[1].banks",
        ),
        // Under a path simrelay serves itself.
        (
            TWO_PLATFORMS.replace("path = \"/smshub\"", "path = \"/admin/smshub\""),
            "platforms[0].path",
        ),
    ];
    for (text, key) in cases {
        let (ok, stdout, stderr) = check(&text, &[]);
        assert!(!ok, "{key}: accepted:\n{stdout}");
        assert!(stderr.contains(key), "{key}: {stderr}");
        assert!(!stderr.contains("secret-key"), "{stderr}");
    }
}

/// Every variable a simrelay command reads besides the config overrides: the gammu hook's own
/// and the message gammu-smsd hands it. An operator sets the hook's for gammu-smsd, and the same
/// environment may well reach `serve`.
const COMMAND_ENV: &[(&str, &str)] = &[
    ("SIMRELAY_GATEWAY_URL", "http://127.0.0.1:9/x"),
    ("SIMRELAY_GATEWAY__TOKEN", "hook-and-gateway-token"),
    ("SMS_MESSAGES", "1"),
    ("SMS_1_CLASS", "-1"),
    ("SMS_1_NUMBER", "VK"),
    ("SMS_1_TEXT", "VK: 33708"),
    ("SMS_1_REFERENCE", "0"),
    ("DECODED_PARTS", "1"),
    ("DECODED_1_TEXT", "VK: 33708"),
    ("PHONE_ID", "bank1.17"),
];

#[test]
fn the_commands_variables_never_stop_check_config() {
    let (ok, stdout, stderr) = check("[onlinesim]\napi_key = \"k\"\n", COMMAND_ENV);
    assert!(ok, "{stderr}");
    // `SIMRELAY_GATEWAY__TOKEN` is also `gateway.token`: the hook and the server agree on it.
    assert!(stdout.contains("[gateway]"), "{stdout}");
    assert!(!stdout.contains("hook-and-gateway-token"), "{stdout}");
    assert!(!stdout.contains("gateway_url"), "{stdout}");
    // Any other variable without `__` is not config either.
    let (ok, _, stderr) = check("", &[("SIMRELAY_SOMETHING_ELSE", "1")]);
    assert!(ok, "{stderr}");
}

#[test]
fn an_unknown_key_in_the_override_form_is_still_named() {
    let mut env = COMMAND_ENV.to_vec();
    env.push(("SIMRELAY_GATEWAY__NO_SUCH_KEY", "1"));
    let (ok, _, stderr) = check("", &env);
    assert!(!ok);
    assert!(stderr.contains("no_such_key"), "{stderr}");
}

#[test]
fn serve_starts_with_the_commands_variables_set() {
    use std::io::{Read, Write as _};
    use std::net::{TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let f = config_file(&format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\n[onlinesim]\napi_key = \"k\"\n[log]\nfilter = \"warn\"\n"
    ));
    let mut child = Command::new(env!("CARGO_BIN_EXE_simrelay"))
        .args(["serve", "--config", f.path().to_str().unwrap()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .envs(COMMAND_ENV.iter().copied())
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the simrelay binary runs");
    let healthz = || -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .ok()?;
        let mut answer = String::new();
        s.read_to_string(&mut answer).ok()?;
        Some(answer)
    };
    let started = Instant::now();
    let mut answer = None;
    while started.elapsed() < Duration::from_secs(20) {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            panic!("serve exited ({status}): {stderr}");
        }
        answer = healthz();
        if answer.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let answer = answer.expect("serve answered /healthz within 20 s");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn gammu_hook_skips_a_ussd_reply_without_posting() {
    // Port 9 (discard) refuses: a post would fail after its retries and exit 1.
    let out = simrelay(
        &["gammu-hook", "--url", "http://127.0.0.1:9", "IN1_00.txt"],
        &[
            ("SIMRELAY_GATEWAY__TOKEN", "t"),
            ("SMS_MESSAGES", "1"),
            ("SMS_1_CLASS", "127"),
            ("SMS_1_NUMBER", ""),
            ("SMS_1_TEXT", "Balance: 12.50 RUB"),
            ("PHONE_ID", "bank1.17"),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("USSD"), "{stderr}");
}

mod gammu_hook {
    //! `simrelay gammu-hook` run as gammu-smsd runs it: the message in the environment, the
    //! inbox ids as arguments, posting to a live simrelay.

    use std::sync::Arc;

    use chrono::{TimeZone, Utc};
    use serde_json::Value;
    use simrelay::config::{RawSettings, Secret, SimEntry};
    use simrelay::startup::Application;
    use simrelay::store::MemoryStore;
    use simrelay_actors::domain::{Msisdn, SmsState};
    use simrelay_actors::ManualClock;

    const TOKEN: &str = "gateway-test-token";

    async fn run_hook(
        port: u16,
        env: Vec<(&'static str, String)>,
        args: Vec<String>,
    ) -> (bool, String, String) {
        tokio::task::spawn_blocking(move || {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_simrelay"))
                .arg("gammu-hook")
                .arg("--url")
                .arg(format!("http://127.0.0.1:{port}"))
                .args(args)
                .env("SIMRELAY_GATEWAY__TOKEN", TOKEN)
                .envs(env)
                .output()
                .unwrap();
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        })
        .await
        .unwrap()
    }

    /// simrelay with one SIM in port `bank1.17` and a vk activation on it: (port, engine,
    /// reservation).
    async fn app_with_an_activation(
        start: chrono::DateTime<Utc>,
    ) -> (u16, simrelay_actors::Engine, simrelay_actors::Reservation) {
        let mut settings = RawSettings::default();
        settings.server.listen = "127.0.0.1:0".parse().unwrap();
        settings.onlinesim.api_key = Secret::new("k");
        settings.gateway.token = Secret::new(TOKEN);
        settings.sims = vec![SimEntry {
            number: Msisdn::parse("79281234567").unwrap(),
            port: Some("bank1.17".into()),
            operator: None,
            country: None,
            mcc_mnc: None,
            rent: false,
            bank: None,
        }];
        let settings = settings.parse().unwrap();
        let clock = Arc::new(ManualClock::new(start));
        let app = Application::build_with_store(settings, Arc::new(MemoryStore::new()), clock)
            .await
            .unwrap();
        let port = app.port();
        let engine = app.engine().clone();
        actix_rt::spawn(app.run_until_stopped());
        let reservation = super::reserve_vk(&engine).await;
        (port, engine, reservation)
    }

    #[actix_rt::test]
    async fn posts_the_received_sms_to_the_gateway_once() {
        let (port, engine, reservation) =
            app_with_an_activation(Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap()).await;

        let env = vec![
            ("SMS_MESSAGES", "2".to_string()),
            ("SMS_1_NUMBER", "VK".to_string()),
            ("SMS_1_TEXT", "VK: 33708 — ".to_string()),
            ("SMS_2_TEXT", "your code".to_string()),
            ("DECODED_PARTS", "1".to_string()),
            ("DECODED_1_TEXT", "VK: 33708 — your code".to_string()),
            ("PHONE_ID", "bank1.17".to_string()),
        ];
        let args = vec![
            "IN20260501_000000_00_VK_00.txt".to_string(),
            "IN20260501_000000_00_VK_01.txt".to_string(),
        ];
        let (ok, stdout, stderr) = run_hook(port, env.clone(), args.clone()).await;
        assert!(ok, "{stderr}");
        let answer: Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(answer["activation_id"], reservation.id.get());
        assert_eq!(answer["duplicate"], false);
        let stored = engine.sms(None, 10);
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].text, "VK: 33708 — your code");
        assert_eq!(stored[0].from, "VK");
        assert_eq!(
            stored[0].gateway_id.as_deref(),
            Some("IN20260501_000000_00_VK_00.txt")
        );
        assert_eq!(stored[0].state, SmsState::Pending);

        // gammu-smsd running the hook twice for one message stores it once.
        let (ok, stdout, _) = run_hook(port, env.clone(), args).await;
        assert!(ok);
        assert_eq!(
            serde_json::from_str::<Value>(stdout.trim()).unwrap()["duplicate"],
            true
        );
        assert_eq!(engine.sms(None, 10).len(), 1);

        // Outside gammu-smsd, or with the wrong token, it fails loudly.
        let (ok, _, stderr) = run_hook(port, vec![], vec![]).await;
        assert!(!ok && stderr.contains("RunOnReceive"), "{stderr}");
        let mut wrong = env;
        wrong.push(("SIMRELAY_GATEWAY__TOKEN", "nope".to_string()));
        let (ok, _, stderr) = run_hook(port, wrong, vec![]).await;
        assert!(!ok && stderr.contains("401"), "{stderr}");
    }

    /// The whole path from a modem: gammu-smsd (its dummy driver standing in for the modem)
    /// finds the SMS, runs `simrelay gammu-hook`, simrelay stores it for the activation.
    /// Needs gammu-smsd (Debian package gammu-smsd; .ci/run installs it).
    #[actix_rt::test]
    async fn gammu_smsd_with_its_dummy_driver_delivers_through_the_hook() {
        let (port, engine, reservation) = app_with_an_activation(Utc::now()).await;

        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in [
            "phone/sms/1",
            "phone/sms/2",
            "phone/sms/3",
            "phone/sms/4",
            "phone/sms/5",
            "spool/inbox",
            "spool/outbox",
            "spool/sent",
            "spool/error",
        ] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        let text = "VK: 33708 is your code";
        let hex: String = text.encode_utf16().map(|u| format!("{u:04X}")).collect();
        let received = Utc::now().format("%Y%m%dT%H%M%SZ");
        std::fs::write(
            d.join("phone/sms/1/1"),
            format!("[SMSBackup000]\nSMSC = \"+79000000000\"\nState = UnRead\nNumber = \"VK\"\nCoding = Default\nFolder = 1\nSent = {received}\nText00 = {hex}\n"),
        )
        .unwrap();
        let smsdrc = d.join("smsdrc");
        std::fs::write(
            &smsdrc,
            format!(
                "[gammu]\nmodel = dummy\nconnection = none\ndevice = {phone}/\n[smsd]\nservice = files\nPhoneID = bank1.17\n\
                 inboxpath = {spool}/inbox/\noutboxpath = {spool}/outbox/\nsentsmspath = {spool}/sent/\nerrorsmspath = {spool}/error/\n\
                 logfile = {log}\nReceiveFrequency = 1\nCommTimeout = 1\nRunOnReceive = {bin} gammu-hook --url http://127.0.0.1:{port}\n",
                phone = d.join("phone").display(),
                spool = d.join("spool").display(),
                log = d.join("smsd.log").display(),
                bin = env!("CARGO_BIN_EXE_simrelay"),
            ),
        )
        .unwrap();
        let mut smsd = std::process::Command::new("gammu-smsd")
            .arg("-c")
            .arg(&smsdrc)
            .env("SIMRELAY_GATEWAY__TOKEN", TOKEN)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("gammu-smsd is installed (apt-get install gammu-smsd)");
        let started = std::time::Instant::now();
        while engine.sms(None, 10).is_empty()
            && started.elapsed() < std::time::Duration::from_secs(20)
        {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let _ = smsd.kill();
        let _ = smsd.wait();
        let stored = engine.sms(None, 10);
        let log = std::fs::read_to_string(d.join("smsd.log")).unwrap_or_default();
        assert_eq!(stored.len(), 1, "gammu-smsd log:\n{log}");
        assert_eq!(stored[0].text, text);
        assert_eq!(stored[0].from, "VK");
        assert_eq!(stored[0].activation_id, Some(reservation.id));
        assert!(stored[0]
            .gateway_id
            .as_deref()
            .is_some_and(|id| id.starts_with("IN")));
    }
}

mod release_command {
    //! `simrelay release ID` run as an operator runs it, against a live simrelay: URL and token
    //! from the config (and its SIMRELAY_ overrides) or from the options.

    use chrono::TimeDelta;
    use simrelay::config::{RawSettings, Secret};
    use simrelay_actors::domain::ActivationState;
    use simrelay_actors::Engine;

    const TOKEN: &str = "cli-admin-token-7f3a";

    /// Runs the binary with these arguments and environment: (success, stdout, stderr).
    pub(super) async fn run(
        args: Vec<String>,
        env: Vec<(&'static str, String)>,
    ) -> (bool, String, String) {
        tokio::task::spawn_blocking(move || {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_simrelay"))
                .args(args)
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .env_remove("SIMRELAY_ADMIN__TOKEN")
                .env_remove("SIMRELAY_SERVER__LISTEN")
                .env_remove("SIMRELAY_SERVER__INTERNAL_LISTEN")
                .envs(env)
                .output()
                .unwrap();
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        })
        .await
        .unwrap()
    }

    /// A simrelay with two SIMs and a vk activation on each, an hour past their TTL (overdue):
    /// (port, engine, activation ids).
    async fn app_with_overdue_activations() -> (u16, Engine, Vec<u64>) {
        let mut settings = RawSettings::default();
        settings.server.listen = "127.0.0.1:0".parse().unwrap();
        settings.onlinesim.api_key = Secret::new("k");
        settings.admin.token = Secret::new(TOKEN);
        settings.sims = vec![
            super::sim("79281234567", None, None),
            super::sim("79281234568", None, None),
        ];
        let (port, engine, clock) = super::serve(settings).await;
        let mut ids = Vec::new();
        for _ in 0..2 {
            let reservation = super::reserve_vk(&engine).await;
            ids.push(reservation.id.get());
        }
        clock.advance(TimeDelta::minutes(75));
        assert_eq!(engine.overdue_count(), 2);
        (port, engine, ids)
    }

    fn state(engine: &Engine, id: u64) -> ActivationState {
        let id = simrelay_actors::domain::ActivationId::new(id).unwrap();
        engine.activation(id).unwrap().state
    }

    #[actix_rt::test]
    async fn release_frees_an_overdue_activation_with_the_configs_url_and_token() {
        let (port, engine, ids) = app_with_overdue_activations().await;
        // The internal listener wins over the listener (nobody listens on port 9).
        let config = super::config_file(&format!(
            "[server]\nlisten = \"127.0.0.1:9\"\ninternal_listen = \"127.0.0.1:{port}\"\n[admin]\ntoken = \"{TOKEN}\"\n"
        ));
        let config_arg = config.path().to_str().unwrap().to_owned();
        let args = |id: &str| {
            vec![
                "release".to_string(),
                id.to_string(),
                "--config".to_string(),
                config_arg.clone(),
            ]
        };
        let (ok, stdout, stderr) = run(args(&ids[0].to_string()), vec![]).await;
        assert!(ok, "{stderr}");
        let number = engine
            .activation(simrelay_actors::domain::ActivationId::new(ids[0]).unwrap())
            .unwrap()
            .number;
        assert_eq!(
            stdout.trim(),
            format!("released activation {} (number {number}, vk)", ids[0])
        );
        assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
        assert_eq!(state(&engine, ids[0]), ActivationState::Expired);
        assert_eq!(state(&engine, ids[1]), ActivationState::Active);
        assert_eq!(engine.overdue_count(), 1);

        // Again: refused, exit 1, the server's error on stderr, nothing on stdout.
        let (ok, stdout, stderr) = run(args(&ids[0].to_string()), vec![]).await;
        assert!(!ok);
        assert!(stdout.is_empty(), "{stdout}");
        assert!(
            stderr.contains("409") && stderr.contains("NOT_ACTIVE"),
            "{stderr}"
        );
        // Unknown and malformed ids.
        let (ok, _, stderr) = run(args("999"), vec![]).await;
        assert!(!ok && stderr.contains("UNKNOWN_ACTIVATION"), "{stderr}");
        let (ok, _, stderr) = run(args("abc"), vec![]).await;
        assert!(!ok && stderr.contains("abc"), "{stderr}");

        // The token's SIMRELAY_ override wins over the file: a wrong one is refused.
        let wrong = "wrong-token-c0ffee";
        let (ok, stdout, stderr) = run(
            args(&ids[1].to_string()),
            vec![("SIMRELAY_ADMIN__TOKEN", wrong.to_string())],
        )
        .await;
        assert!(!ok && stderr.contains("401"), "{stderr}");
        assert!(!stdout.contains(wrong) && !stderr.contains(wrong));
        assert_eq!(state(&engine, ids[1]), ActivationState::Active);
    }

    #[actix_rt::test]
    async fn url_and_token_options_need_no_config() {
        let (port, engine, ids) = app_with_overdue_activations().await;
        let url = format!("http://127.0.0.1:{port}/");
        let with = |token: &str| {
            vec![
                "release".to_string(),
                ids[1].to_string(),
                "--url".to_string(),
                url.clone(),
                "--token".to_string(),
                token.to_string(),
            ]
        };
        let (ok, _, stderr) = run(with("not-the-token-123"), vec![]).await;
        assert!(!ok && stderr.contains("401"), "{stderr}");
        assert!(!stderr.contains("not-the-token-123"), "{stderr}");
        assert_eq!(state(&engine, ids[1]), ActivationState::Active);
        let (ok, stdout, stderr) = run(with(TOKEN), vec![]).await;
        assert!(ok, "{stderr}");
        assert!(
            stdout.starts_with(&format!("released activation {} ", ids[1])),
            "{stdout}"
        );
        assert_eq!(state(&engine, ids[1]), ActivationState::Expired);
        assert_eq!(state(&engine, ids[0]), ActivationState::Active);

        // --json prints the server's answer; a second release is refused all the same.
        let mut json = with(TOKEN);
        json.push("--json".into());
        let (ok, _, stderr) = run(json.clone(), vec![]).await;
        assert!(!ok && stderr.contains("NOT_ACTIVE"), "{stderr}");
        json[1] = ids[0].to_string();
        let (ok, stdout, stderr) = run(json, vec![]).await;
        assert!(ok, "{stderr}");
        let answer: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(answer["activation"]["id"], ids[0]);
        assert_eq!(answer["activation"]["state"], "expired");

        // Nobody listening: exit 1 with what it tried.
        let (ok, _, stderr) = run(
            vec![
                "release".into(),
                "1".into(),
                "--url".into(),
                "http://127.0.0.1:9".into(),
                "--token".into(),
                TOKEN.into(),
            ],
            vec![],
        )
        .await;
        assert!(
            !ok && stderr.contains("no simrelay answers at http://127.0.0.1:9: is it running?"),
            "{stderr}"
        );
        assert!(!stderr.contains(TOKEN), "{stderr}");
    }
}
