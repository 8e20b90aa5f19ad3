//! The command line: `simrelay serve` and `simrelay check-config`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
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
    /// OnlineSIM v2 requests run by hand (they use the config's v2_base_url and api_key).
    V2 {
        /// Config file (default: config/simrelay.toml if present, else built-in defaults).
        #[arg(long, global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        request: V2Request,
    },
    /// Validate a config file and print the effective settings (secrets masked).
    CheckConfig {
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
fn v2_request(config: Option<PathBuf>, request: V2Request) -> anyhow::Result<String> {
    use crate::v2::{cli, client::V2Client};
    let (settings, _) = Settings::load(config.as_deref())?;
    let o = &settings.onlinesim;
    let base = o
        .v2_base_url
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("onlinesim.v2_base_url is not set"))?;
    let client = V2Client::new(base, o.api_key.clone(), o.v2_test, o.v2_timeout)?;
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

/// Runs the command line; the exit code says whether it worked.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { config } => match Settings::load(config.as_deref()) {
            Ok((settings, file)) => {
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
        Command::V2 { config, request } => match v2_request(config, request) {
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
            let outcome = actix_web::rt::System::new().block_on(async move {
                Application::build(settings, Arc::new(SystemClock))
                    .await?
                    .run_until_stopped()
                    .await?;
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
