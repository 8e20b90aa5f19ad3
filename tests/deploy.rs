//! The ways to install and run simrelay, checked as shipped: the systemd units through
//! `systemd-analyze verify`, compose.yaml and the monitoring provisioning it mounts, the
//! Dockerfile, the container's config through the real binary, and the start-up warning about
//! the admin and gateway APIs on a public platform-facing listener.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_yaml_ng::Value;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> Value {
    serde_yaml_ng::from_str(&read(path)).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A systemd unit's `Key=value` lines (the last one of a key wins, as in systemd).
fn unit_keys(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// The port of `server.internal_listen` in the container's config.
fn container_internal_port() -> u16 {
    let config: toml::Value = toml::from_str(&read("deploy/simrelay.compose.toml"))
        .expect("deploy/simrelay.compose.toml is TOML");
    let addr = config["server"]["internal_listen"]
        .as_str()
        .expect("the container's config sets server.internal_listen");
    addr.parse::<std::net::SocketAddr>()
        .expect("server.internal_listen is an address")
        .port()
}

#[test]
fn systemd_units_pass_systemd_analyze_verify() {
    let analyze = Path::new("/usr/bin/systemd-analyze");
    assert!(
        analyze.exists(),
        "systemd-analyze is missing: install the Debian package `systemd` (README's test command does)"
    );
    let gammu = Path::new("/usr/bin/gammu-smsd");
    assert!(
        gammu.exists(),
        "gammu-smsd is missing: install the Debian package `gammu-smsd` (README's test command does)"
    );
    // verify checks that ExecStart's binary exists: point the service at the one cargo built.
    let dir = tempfile::tempdir().unwrap();
    let service = read("deploy/systemd/simrelay.service");
    assert!(service.contains("ExecStart=/usr/local/bin/simrelay serve "));
    std::fs::write(
        dir.path().join("simrelay.service"),
        service.replace("/usr/local/bin/simrelay", env!("CARGO_BIN_EXE_simrelay")),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("gammu-smsd@.service"),
        read("deploy/systemd/gammu-smsd@.service"),
    )
    .unwrap();
    let out = Command::new(analyze)
        .args(["verify", "simrelay.service", "gammu-smsd@bank1.17.service"])
        .current_dir(dir.path())
        .output()
        .expect("systemd-analyze runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify: {stderr}");
    // Unknown or misspelt keys are only warnings: there must be none about our units.
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("simrelay.service") || l.contains("gammu-smsd@"))
        .collect();
    assert!(ours.is_empty(), "systemd-analyze verify warns: {ours:#?}");
}

#[test]
fn simrelay_service_is_hardened_and_restarts_on_failure() {
    let keys = unit_keys(&read("deploy/systemd/simrelay.service"));
    for (key, value) in [
        ("User", "simrelay"),
        ("NoNewPrivileges", "yes"),
        ("PrivateTmp", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("Restart", "on-failure"),
        (
            "ExecStart",
            "/usr/local/bin/simrelay serve --config /etc/simrelay/simrelay.toml",
        ),
        ("ConfigurationDirectory", "simrelay"),
        ("StateDirectory", "simrelay"),
        ("CapabilityBoundingSet", ""),
    ] {
        assert_eq!(keys.get(key).map(String::as_str), Some(value), "{key}");
    }
}

#[test]
fn gammu_template_runs_one_smsd_per_modem_with_its_own_config() {
    let keys = unit_keys(&read("deploy/systemd/gammu-smsd@.service"));
    assert_eq!(
        keys.get("ExecStart").map(String::as_str),
        Some("/usr/bin/gammu-smsd --config /etc/gammu-smsdrc-%i")
    );
    assert_eq!(keys.get("NoNewPrivileges").map(String::as_str), Some("yes"));
    assert_eq!(
        keys.get("SupplementaryGroups").map(String::as_str),
        Some("dialout")
    );
    // The hook's URL and token come from the unit's environment file.
    assert_eq!(
        keys.get("EnvironmentFile").map(String::as_str),
        Some("-/etc/simrelay/gammu-hook.env")
    );
    // The shipped smsd config runs simrelay's hook, against the internal listener.
    let smsdrc = read("config/gammu-smsdrc");
    let hook = smsdrc
        .lines()
        .find_map(|l| l.strip_prefix("RunOnReceive = "))
        .expect("config/gammu-smsdrc sets RunOnReceive");
    assert!(hook.contains("simrelay gammu-hook"), "{hook}");
    assert!(hook.contains("127.0.0.1:8081"), "{hook}");
}

#[test]
fn compose_names_its_services_profile_volumes_and_files() {
    let compose = yaml("compose.yaml");
    let services = &compose["services"];
    for name in ["simrelay", "redis", "prometheus", "grafana"] {
        assert!(
            services[name].is_mapping(),
            "compose.yaml lacks service {name}"
        );
    }
    for name in ["simrelay", "redis"] {
        assert!(
            services[name]["profiles"].is_null(),
            "{name} runs by default"
        );
    }
    for name in ["prometheus", "grafana"] {
        assert_eq!(
            strings(&services[name]["profiles"]),
            ["monitoring"],
            "{name}"
        );
    }
    let volumes = compose["volumes"].as_mapping().expect("named volumes");
    // Every named volume a service uses is declared; every bind mount's source is in the tree.
    for (name, service) in services.as_mapping().unwrap() {
        for mount in strings(&service["volumes"]) {
            let source = mount.split(':').next().unwrap();
            if source.starts_with('.') {
                assert!(
                    repo(source).exists(),
                    "{name:?} mounts {source}, which is missing"
                );
            } else {
                assert!(
                    volumes.contains_key(source),
                    "{name:?} uses volume {source}, not declared"
                );
            }
        }
    }
    // Redis runs config/redis.conf with its data on the named volume.
    let redis = &services["redis"];
    let mounts = strings(&redis["volumes"]);
    let conf = mounts
        .iter()
        .find(|m| m.starts_with("./config/redis.conf:"))
        .expect("redis mounts config/redis.conf");
    let conf_target = conf.split(':').nth(1).unwrap();
    assert_eq!(
        strings(&redis["command"])[..2],
        ["redis-server", conf_target]
    );
    assert!(
        mounts.contains(&"redis-data:/data".to_owned()),
        "{mounts:?}"
    );
    assert!(strings(&redis["command"]).contains(&"/data".to_owned()));
    // simrelay reads deploy/simrelay.compose.toml, publishes the internal listener on loopback.
    let simrelay = &services["simrelay"];
    assert!(strings(&simrelay["volumes"])
        .contains(&"./deploy/simrelay.compose.toml:/etc/simrelay/simrelay.toml:ro".to_owned()));
    let internal = container_internal_port();
    let ports = strings(&simrelay["ports"]);
    assert!(
        ports.contains(&format!("127.0.0.1:{internal}:{internal}")),
        "{ports:?}"
    );
    assert!(
        !ports
            .iter()
            .any(|p| p.ends_with(&format!(":{internal}")) && !p.starts_with("127.0.0.1:")),
        "the internal listener is published beyond loopback: {ports:?}"
    );
    let config = read("deploy/simrelay.compose.toml");
    assert!(config.contains("redis_url = \"redis://redis:6379/0\""));
}

#[test]
fn prometheus_scrapes_the_internal_listener_and_loads_the_alert_rules() {
    let prometheus = yaml("deploy/prometheus/prometheus.yml");
    let compose = yaml("compose.yaml");
    let mounts = strings(&compose["services"]["prometheus"]["volumes"]);
    let rules = strings(&prometheus["rule_files"]);
    assert_eq!(rules, ["/etc/prometheus/alerts.yml"]);
    assert!(
        mounts.contains(&"./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro".to_owned())
    );
    assert!(mounts.contains(
        &"./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro".to_owned()
    ));
    let job = &prometheus["scrape_configs"][0];
    assert_eq!(job["metrics_path"].as_str(), Some("/metrics"));
    assert_eq!(
        strings(&job["static_configs"][0]["targets"]),
        [format!("simrelay:{}", container_internal_port())]
    );
}

#[test]
fn grafana_is_provisioned_with_prometheus_and_the_dashboards_folder() {
    let compose = yaml("compose.yaml");
    let mounts = strings(&compose["services"]["grafana"]["volumes"]);
    let datasource = yaml("deploy/grafana/provisioning/datasources/prometheus.yml");
    let source = &datasource["datasources"][0];
    assert_eq!(source["type"].as_str(), Some("prometheus"));
    assert_eq!(source["url"].as_str(), Some("http://prometheus:9090"));
    let dashboards = yaml("deploy/grafana/provisioning/dashboards/simrelay.yml");
    let path = dashboards["providers"][0]["options"]["path"]
        .as_str()
        .expect("the provider names a path");
    assert!(
        mounts.contains(&format!("./deploy/grafana/dashboards:{path}:ro")),
        "{path} is not where deploy/grafana/dashboards is mounted: {mounts:?}"
    );
    assert!(
        mounts.contains(&"./deploy/grafana/provisioning:/etc/grafana/provisioning:ro".to_owned())
    );
}

#[test]
fn dockerfile_builds_locked_runs_unprivileged_and_checks_readyz() {
    let dockerfile = read("Dockerfile");
    let lines: Vec<&str> = dockerfile
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    let stages = lines.iter().filter(|l| l.starts_with("FROM ")).count();
    assert!(stages >= 2, "multi-stage: {stages} FROM");
    assert!(dockerfile.contains("cargo build --release --locked"));
    let user = lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the image sets USER");
    assert!(
        !user.starts_with("root") && !user.starts_with('0'),
        "USER {user}"
    );
    let healthcheck = dockerfile
        .split("HEALTHCHECK")
        .nth(1)
        .expect("the image has a HEALTHCHECK");
    let probe = format!("http://127.0.0.1:{}/readyz", container_internal_port());
    assert!(
        healthcheck.lines().take(3).any(|l| l.contains(&probe)),
        "HEALTHCHECK does not probe {probe}"
    );
    assert!(dockerfile.contains("COPY deploy/simrelay.compose.toml /etc/simrelay/simrelay.toml"));
    assert!(dockerfile.contains(r#"CMD ["serve", "--config", "/etc/simrelay/simrelay.toml"]"#));
    // The build context keeps what the build needs and drops the rest.
    let ignored: Vec<&str> = include_str!("../.dockerignore")
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for needed in [
        "src",
        "actors",
        "Cargo.toml",
        "Cargo.lock",
        "config",
        "deploy",
    ] {
        assert!(!ignored.contains(&needed), ".dockerignore drops {needed}");
    }
    for dropped in ["target", ".git"] {
        assert!(ignored.contains(&dropped), ".dockerignore keeps {dropped}");
    }
}

#[test]
fn the_container_config_is_valid_and_keeps_secrets_out() {
    let out = Command::new(env!("CARGO_BIN_EXE_simrelay"))
        .args(["check-config", "--config", "deploy/simrelay.compose.toml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SIMRELAY_ONLINESIM__API_KEY", "compose-partner-key")
        .env("SIMRELAY_GATEWAY__TOKEN", "compose-gateway-token")
        .env("SIMRELAY_ADMIN__TOKEN", "compose-admin-token")
        .output()
        .expect("the simrelay binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("internal_listen = \"0.0.0.0:8081\""),
        "{stdout}"
    );
    assert!(!stdout.contains("compose-"), "{stdout}");
    let text = read("deploy/simrelay.compose.toml");
    assert!(!text.contains("token =") && !text.contains("api_key ="));
}

/// Starts `simrelay serve` on `config` and returns its log lines up to the "listening" line.
fn start_up_log(config: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("simrelay.toml");
    std::fs::write(&path, config).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_simrelay"))
        .args(["serve", "--config", path.to_str().unwrap()])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the simrelay binary runs");
    let (tx, rx) = mpsc::channel();
    let pipes: [Box<dyn Read + Send>; 2] = [
        Box::new(child.stdout.take().unwrap()),
        Box::new(child.stderr.take().unwrap()),
    ];
    for pipe in pipes {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut lines = Vec::new();
    let listening = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let done = line.contains("simrelay listening");
                lines.push(line);
                if done {
                    break true;
                }
            }
            Err(_) => break false,
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        listening,
        "serve did not log `simrelay listening`: {lines:#?}"
    );
    lines
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[test]
fn serve_warns_when_the_admin_api_is_on_a_public_platform_listener() {
    let port = free_port();
    let lines = start_up_log(&format!(
        "[server]\nlisten = \"0.0.0.0:{port}\"\n[onlinesim]\napi_key = \"k\"\n[log]\nfilter = \"info\"\n"
    ));
    let warning = lines
        .iter()
        .find(|l| l.contains("WARN") && l.contains("admin and gateway APIs"))
        .unwrap_or_else(|| panic!("no warning: {lines:#?}"));
    assert!(warning.contains("server.internal_listen"), "{warning}");
}

#[test]
fn serve_does_not_warn_with_an_internal_listener() {
    let (port, internal) = (free_port(), free_port());
    let lines = start_up_log(&format!(
        "[server]\nlisten = \"0.0.0.0:{port}\"\ninternal_listen = \"127.0.0.1:{internal}\"\n\
         [onlinesim]\napi_key = \"k\"\n[log]\nfilter = \"info\"\n"
    ));
    assert!(
        !lines.iter().any(|l| l.contains("admin and gateway APIs")),
        "{lines:#?}"
    );
}

#[test]
fn prometheus_config_passes_promtool() {
    let promtool = Path::new("/usr/bin/promtool");
    assert!(
        promtool.exists(),
        "promtool is missing: install the Debian package `prometheus` (README's test command does)"
    );
    // compose mounts alerts.yml at /etc/prometheus/alerts.yml: check against the tree's copy.
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("alerts.yml");
    std::fs::write(&rules, read("deploy/prometheus/alerts.yml")).unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        read("deploy/prometheus/prometheus.yml")
            .replace("/etc/prometheus/alerts.yml", rules.to_str().unwrap()),
    )
    .unwrap();
    let out = Command::new(promtool)
        .args(["check", "config"])
        .arg(&config)
        .output()
        .expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool check config: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
