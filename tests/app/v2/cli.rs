//! `simrelay v2 check-number | take-off | blacklist`, run as the real binary against the fake v2
//! server (on a blocking thread, so the in-test fake keeps serving): the request on the wire and
//! a readable table on stdout.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::json;

use crate::v2::fake::Endpoint::{CheckNumber, SaveConfig, TakeOffNumbers};
use crate::v2::fake::{FakeV2, Reply};
use crate::v2::helpers::API_KEY;

/// A config naming the fake as the v2 server, in a temp dir.
fn config(dir: &tempfile::TempDir, fake: &FakeV2) -> PathBuf {
    let path = dir.path().join("simrelay.toml");
    std::fs::write(
        &path,
        format!(
            "[onlinesim]\nmode = \"v2\"\napi_key = \"{API_KEY}\"\nv2_base_url = \"{}\"\nv2_timeout = \"5s\"\n[log]\nfilter = \"warn\"\n",
            fake.url()
        ),
    )
    .expect("write the config");
    path
}

/// Runs `simrelay v2 --config <config> <args…>` to completion.
async fn simrelay_v2(config: PathBuf, args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let dir = config.parent().expect("config dir").to_path_buf();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_simrelay"))
            .arg("v2")
            .arg("--config")
            .arg(&config)
            .args(&args)
            .current_dir(dir)
            .env_remove("RUST_LOG")
            .env_remove("SIMRELAY_ONLINESIM__API_KEY")
            .env_remove("SIMRELAY_ONLINESIM__V2_BASE_URL")
            .output()
            .expect("run simrelay")
    })
    .await
    .expect("the blocking task")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

/// The rows of a printed table as `|`-separated cells, header and rule included.
fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .map(|l| l.split('|').map(|c| c.trim().to_owned()).collect())
        .collect()
}

/// Checks a table's header and rule: the rule's dashes line up under the header's columns.
fn assert_table_head(lines: &[&str], header: &[&str]) {
    let cells: Vec<&str> = lines[0].split('|').map(str::trim).collect();
    assert_eq!(cells, header, "{lines:#?}");
    assert!(
        lines[1].chars().all(|c| c == '-' || c == '+'),
        "a rule under the header: {lines:#?}"
    );
    for h in header {
        let at = lines[0].find(h).expect("header cell");
        assert_eq!(
            lines[1].chars().nth(at),
            Some('-'),
            "rule under {h}: {lines:#?}"
        );
    }
}

#[actix_rt::test]
async fn check_number_asks_for_the_number_and_prints_its_fields() {
    let fake = FakeV2::start(None).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let out = stdout(&simrelay_v2(config(&dir, &fake), &["check-number", "+460509081050"]).await);

    let asked = fake.last(CheckNumber);
    assert_eq!(asked.method, "GET");
    assert_eq!(asked.path, "/api/resellers/checkNumber");
    assert_eq!(asked.raw_query, "number=%2B460509081050");
    assert_eq!(
        asked.header("authorization"),
        Some(format!("Bearer {API_KEY}").as_str())
    );

    let lines: Vec<&str> = out.lines().collect();
    assert_table_head(&lines, &["field", "value"]);
    let fields: Vec<(String, String)> = rows(&out)[2..]
        .iter()
        .map(|r| (r[0].clone(), r[1..].join(" ")))
        .collect();
    let get = |f: &str| {
        fields
            .iter()
            .find(|(k, _)| k == f)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {f} row:\n{out}"))
    };
    assert_eq!(get("id"), "110251");
    assert_eq!(get("number"), "4605091080");
    assert_eq!(get("status"), "1");
    assert_eq!(get("status_text"), "work");
    assert_eq!(get("sum"), "76.25");
    assert_eq!(get("banned"), "true");
    assert_eq!(get("used_service"), "whatsapp");
    assert_eq!(get("banned_service"), "telegram");
    assert_eq!(get("port_id"), "Port1");
    // Values start in one column.
    let column = lines[0].find("value").expect("value header");
    for line in &lines[2..] {
        assert!(
            line.len() > column && line.as_bytes()[column - 1] == b' ',
            "aligned: {line:?}\n{out}"
        );
    }

    // A number without + is sent with it.
    stdout(&simrelay_v2(config(&dir, &fake), &["check-number", "79281234567"]).await);
    assert_eq!(fake.last(CheckNumber).raw_query, "number=%2B79281234567");
}

#[actix_rt::test]
async fn take_off_asks_for_the_sum_and_prints_the_numbers() {
    let fake = FakeV2::start(None).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let out = stdout(&simrelay_v2(config(&dir, &fake), &["take-off", "--sum", "37.5"]).await);

    let asked = fake.last(TakeOffNumbers);
    assert_eq!(asked.method, "GET");
    assert_eq!(asked.path, "/api/resellers/takeOffNumbers");
    assert_eq!(asked.raw_query, "sum=37.5");

    let lines: Vec<&str> = out.lines().collect();
    assert_table_head(&lines, &["number", "id", "income RUB", "country"]);
    let table = rows(&out);
    assert_eq!(table[2], vec!["2203830000", "40516575", "75.76", "220"]);
    assert_eq!(table[3], vec!["79281234567", "40516999", "120.5", "7"]);
    assert!(
        out.contains("2 number(s) earned at least 37.5 RUB"),
        "{out}"
    );
}

#[actix_rt::test]
async fn blacklist_replaces_the_whole_list_and_says_so() {
    let fake = FakeV2::start(None).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let out = stdout(&simrelay_v2(config(&dir, &fake), &["blacklist", "vk", "tg"]).await);

    let sent = fake.last(SaveConfig);
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/api/auth/me");
    assert_eq!(
        sent.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(
        sent.json,
        json!({"disabled_service": {"vk": "vk", "tg": "tg"}})
    );
    assert!(out.contains("REPLACED"), "{out}");
    assert!(out.contains("vk, tg") || out.contains("tg, vk"), "{out}");
}

#[actix_rt::test]
async fn a_refused_request_exits_non_zero_and_names_the_code() {
    let fake = FakeV2::start(None).await;
    fake.always(CheckNumber, Reply::wrong_key());
    let dir = tempfile::tempdir().expect("temp dir");
    let output = simrelay_v2(config(&dir, &fake), &["check-number", "+79281234567"]).await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ERROR_WRONG_KEY"), "{stderr}");
    assert!(output.stdout.is_empty(), "no table on failure");
}

/// `simrelay check-config --config <file>`.
async fn check_config(config: PathBuf) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_simrelay"))
            .arg("check-config")
            .arg("--config")
            .arg(&config)
            .env_remove("SIMRELAY_ONLINESIM__API_KEY")
            .env_remove("SIMRELAY_ONLINESIM__V2_BASE_URL")
            .output()
            .expect("run simrelay")
    })
    .await
    .expect("the blocking task")
}

#[actix_rt::test]
async fn check_config_refuses_v2_without_a_base_url() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("simrelay.toml");
    std::fs::write(&path, "[onlinesim]\nmode = \"v2\"\napi_key = \"k\"\n").expect("config");
    let output = check_config(path).await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("v2_base_url"), "{stderr}");
}

#[actix_rt::test]
async fn check_config_refuses_v2_without_an_api_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("simrelay.toml");
    std::fs::write(
        &path,
        "[onlinesim]\nmode = \"v2\"\nv2_base_url = \"http://127.0.0.1:9\"\n",
    )
    .expect("config");
    let output = check_config(path).await;
    assert!(
        !output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("api_key"), "{stderr}");
}

#[actix_rt::test]
async fn a_v2_platform_entry_is_asked_by_name_with_its_own_key() {
    let fake = FakeV2::start(None).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("simrelay.toml");
    let entry = |name: &str, key: &str, bank: &str| {
        format!(
            "[[platforms]]\nname = \"{name}\"\nprotocol = \"onlinesim-v2\"\nkey = \"{key}\"\npush_url = \"{}\"\nbanks = [\"{bank}\"]\n",
            fake.url()
        )
    };
    std::fs::write(
        &path,
        format!(
            "[onlinesim]\nv2_timeout = \"5s\"\n[log]\nfilter = \"warn\"\n{}{}",
            entry("east", "east-key", "b1"),
            entry("west", "west-key", "b2")
        ),
    )
    .expect("write the config");
    // Two v2 platforms: which one is asked must be said.
    let output = simrelay_v2(path.clone(), &["check-number", "+79281234567"]).await;
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--platform"),
        "{output:?}"
    );
    assert_eq!(fake.count(CheckNumber), 0);
    stdout(
        &simrelay_v2(
            path.clone(),
            &["--platform", "west", "check-number", "+79281234567"],
        )
        .await,
    );
    assert_eq!(
        fake.last(CheckNumber).header("authorization"),
        Some("Bearer west-key")
    );
    let output = simrelay_v2(
        path,
        &["--platform", "north", "check-number", "+79281234567"],
    )
    .await;
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("\"north\""),
        "{output:?}"
    );
}
