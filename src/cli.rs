//! The command line: `simrelay serve`, `simrelay check-config`, the gammu hook, v2 requests by
//! hand, the admin API of a running server from the shell (`simrelay sims | activations | sms |
//! banks`, `release`, `redeliver`; see `admin_client`), and shell completions.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{CommandFactory, Parser, Subcommand};
use simrelay_actors::SystemClock;

use crate::admin_client::{self, AdminTarget, ListOptions, Listing};
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
    /// The SIMs of a running server: bank, port, operator, online, state, activation.
    Sims(ListOptions),
    /// The activations of a running server (newest first).
    Activations(ListOptions),
    /// The SMS of a running server with their delivery state (newest first).
    Sms(ListOptions),
    /// The SIM banks of a running server: SIMs, online SIMs, last report, live or silent.
    Banks(ListOptions),
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
    /// Send a failed or held SMS again, through the admin API of a running server.
    Redeliver {
        /// The SMS's id (`simrelay sms --state failed` lists them).
        sms_id: String,
        #[command(flatten)]
        target: AdminTarget,
        /// Print the server's JSON answer instead of a line for people.
        #[arg(long)]
        json: bool,
    },
    /// Print the shell completion script, e.g. `simrelay completions bash >
    /// /etc/bash_completion.d/simrelay`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
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
        Command::Sims(options) => report(admin_client::list(Listing::Sims, options)),
        Command::Activations(options) => report(admin_client::list(Listing::Activations, options)),
        Command::Sms(options) => report(admin_client::list(Listing::Sms, options)),
        Command::Banks(options) => report(admin_client::list(Listing::Banks, options)),
        Command::Release {
            activation_id,
            target,
            json,
        } => report(admin_client::release(&activation_id, target, json)),
        Command::Redeliver {
            sms_id,
            target,
            json,
        } => report(admin_client::redeliver(&sms_id, target, json)),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "simrelay", &mut script);
            say(String::from_utf8_lossy(&script).trim_end());
            ExitCode::SUCCESS
        }
        Command::Quarantine { key, field, config } => {
            report(Settings::load(config.as_deref()).and_then(|(settings, _)| {
                crate::store::quarantine::quarantine(&settings, &key, &field)
            }))
        }
        Command::V2 {
            config,
            platform,
            request,
        } => report(v2_request(config, platform.as_deref(), request)),
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

/// Prints what a command answers, or its error on stderr with a failing exit code.
fn report(outcome: anyhow::Result<String>) -> ExitCode {
    match outcome {
        Ok(text) => {
            say(&text);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
