//! The command line: `simrelay serve`, `simrelay check-config`, the gammu hook, v2 requests by
//! hand, and the admin actions against a running server (`simrelay release`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use simrelay_actors::SystemClock;

use crate::config::Settings;
use crate::startup::Application;

/// simrelay: sells a SIM bank's numbers on OnlineSIM.
#[derive(Debug, Parser)]
#[command(name = "simrelay", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Config file (default: config/simrelay.toml if present, else built-in defaults).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// gammu-smsd's RunOnReceive hook: posts the received SMS to simrelay's gateway API.
    GammuHook {
        /// simrelay's gateway base URL (the internal listener when one is set).
        #[arg(
            long,
            env = "SIMRELAY_GATEWAY_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        url: String,
        /// The gateway token.
        #[arg(long, env = "SIMRELAY_GATEWAY__TOKEN", hide_env_values = true)]
        token: String,
        /// The receiving SIM's number; without it the SIM is found by port = gammu's PhoneID.
        #[arg(long)]
        number: Option<String>,
        /// The inbox ids gammu-smsd passes.
        inbox_ids: Vec<String>,
    },
    /// OnlineSIM v2 requests run by hand (they use the config's v2_base_url and api_key, or
    /// those of an `onlinesim-v2` `[[platforms]]` entry).
    V2 {
        /// Config file (default: config/simrelay.toml if present, else built-in defaults).
        #[arg(long, global = true)]
        config: Option<PathBuf>,
        /// The `onlinesim-v2` platform to ask (default: the `[onlinesim]` section's v2_base_url,
        /// else the only `onlinesim-v2` entry).
        #[arg(long, global = true)]
        platform: Option<String>,
        #[command(subcommand)]
        request: V2Request,
    },
    /// Validate a config file and print the effective settings (secrets masked).
    CheckConfig {
        /// Config file (default: config/simrelay.toml if present, else built-in defaults).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Free the number of an active activation the platform never finished (it becomes
    /// expired; a later FINISH still succeeds), through the admin API of a running server.
    Release {
        /// The activation's id.
        activation_id: String,
        #[command(flatten)]
        target: AdminTarget,
        /// Print the server's JSON answer instead of a line for people.
        #[arg(long)]
        json: bool,
    },
    /// Set aside a record recovery cannot read (the error names KEY and FIELD): it moves to
    /// `<prefix>:quarantine` and the number it names is blocked until you unblock it.
    Quarantine {
        /// The Redis key, e.g. simrelay:activations.
        key: String,
        /// The field, e.g. the activation id.
        field: String,
        /// Config file (default: config/simrelay.toml if present, else built-in defaults).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// Which running server an admin command talks to, and with which token.
#[derive(Debug, Args)]
struct AdminTarget {
    /// Config file (default: config/simrelay.toml if present, else built-in defaults); its
    /// listener and admin token are used, with their SIMRELAY_ overrides.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The server's base URL (default: http:// + server.internal_listen if set, else
    /// server.listen).
    #[arg(long)]
    url: Option<String>,
    /// The admin token (default: admin.token of the config).
    #[arg(long)]
    token: Option<String>,
}

impl AdminTarget {
    /// The base URL and the token: the options, else what the config says (the config is read
    /// only when an option is missing or `--config` is given).
    fn resolve(self) -> anyhow::Result<(String, String)> {
        let (url, token) = match (self.url, self.token, self.config) {
            (Some(url), Some(token), None) => (url, token),
            (url, token, config) => {
                let (settings, _) = Settings::load(config.as_deref())?;
                (
                    url.unwrap_or_else(|| listener_url(&settings)),
                    token.unwrap_or_else(|| settings.admin.token.expose().to_owned()),
                )
            }
        };
        if token.is_empty() {
            anyhow::bail!(
                "no admin token: set admin.token in the config (or SIMRELAY_ADMIN__TOKEN), or pass --token"
            );
        }
        Ok((url.trim_end_matches('/').to_owned(), token))
    }
}

/// Where the admin API of the configured server is: the internal listener if set, else the
/// listener; one listening on every address is reached on the loopback one.
fn listener_url(settings: &Settings) -> String {
    let mut at = settings
        .server
        .internal_listen
        .unwrap_or(settings.server.listen);
    if at.ip().is_unspecified() {
        at.set_ip(match at.ip() {
            std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{at}")
}

/// POSTs to an admin action of a running server; answers its JSON on 200, else an error with
/// the server's message. The token never appears in what it answers.
fn admin_post(url: &str, token: &str, path: &str) -> anyhow::Result<serde_json::Value> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .user_agent(concat!("simrelay-cli/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        let endpoint = format!("{url}{path}");
        let response = client
            .post(&endpoint)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("cannot reach simrelay at {endpoint}: {e}"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let body: Option<serde_json::Value> = serde_json::from_str(&text).ok();
        match body {
            Some(body) if status == reqwest::StatusCode::OK => Ok(body),
            _ => {
                let why = body
                    .as_ref()
                    .and_then(|b| b["error"].as_str())
                    .map_or_else(|| text.trim().to_owned(), str::to_owned);
                anyhow::bail!("simrelay answered {status}: {why}")
            }
        }
    })
}

/// `simrelay release ID`: answers what to print.
fn release(activation_id: &str, target: AdminTarget, json: bool) -> anyhow::Result<String> {
    let id = activation_id
        .parse::<u64>()
        .ok()
        .filter(|id| *id >= 1)
        .ok_or_else(|| {
            anyhow::anyhow!("{activation_id:?} is not an activation id (an integer ≥ 1)")
        })?;
    let (url, token) = target.resolve()?;
    let answer = admin_post(&url, &token, &format!("/admin/activations/{id}/release"))?;
    if json {
        return Ok(answer.to_string());
    }
    let a = &answer["activation"];
    Ok(format!(
        "released activation {} (number {}, {})",
        a["id"],
        a["number"],
        a["service"].as_str().unwrap_or("?")
    ))
}

#[derive(Debug, Subcommand)]
enum V2Request {
    /// checkNumber: OnlineSIM's view of one number.
    CheckNumber {
        /// The number, international (a leading + is optional).
        number: String,
    },
    /// takeOffNumbers: numbers whose income reached SUM roubles (worth replacing).
    TakeOff {
        /// Minimum income in RUB.
        #[arg(long, default_value = "50")]
        sum: String,
    },
    /// saveConfig: REPLACES the whole service blacklist with exactly these services.
    Blacklist {
        /// Every service to block (an empty list clears the blacklist).
        services: Vec<String>,
    },
}

/// Runs one v2 request and prints its table.
fn v2_request(
    config: Option<PathBuf>,
    platform: Option<&str>,
    request: V2Request,
) -> anyhow::Result<String> {
    use crate::config::Side;
    use crate::platforms::onlinesim_v2::{cli, client::V2Client};
    let (settings, _) = Settings::load(config.as_deref())?;
    let o = &settings.onlinesim;
    let entries: Vec<_> = settings
        .platforms
        .iter()
        .filter_map(|p| match &p.side {
            Side::Push(v2) => Some((p.name.as_str(), &v2.endpoint, &p.key)),
            Side::Pull { .. } => None,
        })
        .collect();
    let (endpoint, key) = match platform {
        Some(name) => entries
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, endpoint, key)| (*endpoint, (*key).clone()))
            .ok_or_else(|| {
                anyhow::anyhow!("no onlinesim-v2 platform named {name:?} in the config")
            })?,
        None => match (o.v2_endpoint(), entries.as_slice()) {
            (Some(endpoint), _) => (endpoint, o.api_key.clone()),
            (None, [(_, endpoint, key)]) => (*endpoint, (*key).clone()),
            (None, []) => anyhow::bail!("onlinesim.v2_base_url is not set"),
            (None, _) => anyhow::bail!("several onlinesim-v2 platforms: name one with --platform"),
        },
    };
    let client = V2Client::new(endpoint, key)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match request {
            V2Request::CheckNumber { number } => cli::check_number(&client, &number).await,
            V2Request::TakeOff { sum } => cli::take_off(&client, &sum).await,
            V2Request::Blacklist { services } => cli::blacklist(&client, &services).await,
        }
    })
}

/// The exit code of `serve` when the process lost the lease (EX_TEMPFAIL: restart me).
const DEPOSED_EXIT: i32 = 75;

/// Runs the command line; the exit code says whether it worked.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { config } => match Settings::load(config.as_deref()) {
            Ok((settings, file)) => {
                for deprecation in &settings.deprecations {
                    eprintln!("warning: {deprecation}");
                }
                let source = file.map_or("built-in defaults".into(), |f| f.display().to_string());
                match toml::to_string_pretty(&settings) {
                    Ok(text) => say(&format!("# {source}: OK\n{text}")),
                    Err(e) => eprintln!("cannot print the settings: {e}"),
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::GammuHook {
            url,
            token,
            number,
            inbox_ids,
        } => {
            use crate::gammu_hook::{body, message_from, post, Received};
            let env: std::collections::HashMap<String, String> = std::env::vars().collect();
            let outcome = match message_from(&env, &inbox_ids) {
                // Not an SMS (USSD reply, delivery report, no text): nothing is posted, and exit
                // 0 so gammu-smsd does not count it as a failure.
                Ok(Received::Skipped(why)) => {
                    eprintln!("simrelay gammu-hook: {why}");
                    return ExitCode::SUCCESS;
                }
                Ok(Received::Sms(m)) => {
                    body(&m, number.as_deref()).and_then(|body| post(&url, &token, &body))
                }
                Err(e) => Err(e),
            };
            match outcome {
                Ok(answer) => {
                    say(&answer.to_string());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("simrelay gammu-hook: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Release {
            activation_id,
            target,
            json,
        } => match release(&activation_id, target, json) {
            Ok(line) => {
                say(&line);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Quarantine { key, field, config } => {
            let done = Settings::load(config.as_deref()).and_then(|(settings, _)| {
                crate::store::quarantine::quarantine(&settings, &key, &field)
            });
            match done {
                Ok(line) => {
                    say(&line);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::V2 {
            config,
            platform,
            request,
        } => match v2_request(config, platform.as_deref(), request) {
            Ok(table) => {
                say(&table);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Serve { config } => {
            let settings = match Settings::load(config.as_deref()) {
                Ok((settings, _)) => settings,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    return ExitCode::FAILURE;
                }
            };
            crate::telemetry::init(&settings.log);
            let drain_limit = crate::startup::drain_limit(&settings);
            let outcome = actix_web::rt::System::new().block_on(async move {
                let app = Application::build(settings, Arc::new(SystemClock)).await?;
                let store = app.store();
                let engine = app.engine().clone();
                let deposed = store.deposed();
                tokio::select! {
                    served = app.run_until_stopped() => {
                        // SMS deliveries in flight end and their outcomes are written while this
                        // process still holds the lease; then a graceful stop hands it over.
                        engine.drain_deliveries(drain_limit).await;
                        store.release().await;
                        served?;
                    }
                    () = deposed => {
                        // Another process holds the lease now and this one's memory may be
                        // stale: stop, and let the supervisor restart it as a standby.
                        tracing::error!("lost the lease; exiting so that a restart makes this process a standby");
                        std::process::exit(DEPOSED_EXIT);
                    }
                }
                anyhow::Ok(())
            });
            match outcome {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e:#}");
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Prints to stdout; a closed pipe (`| head`) is not an error worth a panic.
fn say(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}
