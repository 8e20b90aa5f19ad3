//! The command line as an operator meets it: `simrelay check-config` on good and bad files and
//! environment overrides, run as the real binary.

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
