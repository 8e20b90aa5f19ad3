//! The admin API of a running server, from the shell (`simrelay sims | activations | sms |
//! banks`, `release`, `redeliver`): where the server is and which token to send (the config and
//! its SIMRELAY_ overrides, or the options), requests whose failures say what to fix, and the
//! listings drawn as tables.

use std::path::PathBuf;

use anyhow::{anyhow, bail};
use clap::{Args, ValueEnum};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::config::Settings;
use crate::table::table;

/// How long one admin request may take before the command gives up.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Which running server an admin command talks to, and with which token.
#[derive(Debug, Args)]
pub struct AdminTarget {
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

/// A resolved [`AdminTarget`]: the base URL (no trailing slash) and the token.
struct Admin {
    url: String,
    token: String,
}

impl AdminTarget {
    /// The base URL and the token: the options, else what the config says (the config is read
    /// only when an option is missing or `--config` is given).
    fn resolve(self) -> anyhow::Result<Admin> {
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
        let parsed = url::Url::parse(&url).ok();
        if !parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host()) {
            bail!("{url:?} is not a server URL: give one like http://127.0.0.1:8081");
        }
        if token.is_empty() {
            bail!(
                "no admin token: set admin.token in the config (or SIMRELAY_ADMIN__TOKEN), or pass --token"
            );
        }
        Ok(Admin {
            url: url.trim_end_matches('/').to_owned(),
            token,
        })
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

impl Admin {
    /// Sends one admin request; answers the server's JSON on 200, else an error that says what
    /// to fix. The token never appears in what it answers.
    fn call(&self, method: Method, path: &str, query: &[(&str, String)]) -> anyhow::Result<Value> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let client = reqwest::Client::builder()
                .user_agent(concat!("simrelay-cli/", env!("CARGO_PKG_VERSION")))
                .timeout(TIMEOUT)
                .build()?;
            let response = client
                .request(method, format!("{}{path}", self.url))
                .query(query)
                .bearer_auth(&self.token)
                .send()
                .await
                .map_err(|e| self.unreachable(&e))?;
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            let body: Option<Value> = serde_json::from_str(&text).ok();
            match (status, body) {
                (StatusCode::OK, Some(body)) => Ok(body),
                (StatusCode::UNAUTHORIZED, _) => bail!(
                    "the admin token was refused (401): check admin.token (or SIMRELAY_ADMIN__TOKEN) or --token"
                ),
                (status, body) => {
                    let why = body
                        .as_ref()
                        .and_then(|b| b["error"].as_str())
                        .map_or_else(|| text.trim().to_owned(), str::to_owned);
                    bail!("simrelay at {} answered {status}: {why}", self.url)
                }
            }
        })
    }

    /// The error for a request that got no answer.
    fn unreachable(&self, e: &reqwest::Error) -> anyhow::Error {
        let url = &self.url;
        if e.is_timeout() {
            return anyhow!("simrelay at {url} did not answer within {TIMEOUT:?}");
        }
        // The innermost cause says why ("Connection refused", a DNS failure, …).
        let mut cause: &dyn std::error::Error = e;
        while let Some(inner) = cause.source() {
            cause = inner;
        }
        anyhow!("no simrelay answers at {url}: is it running? is --url right? ({cause})")
    }
}

/// What `simrelay sims | activations | sms | banks` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Listing {
    /// `GET /admin/sims`.
    Sims,
    /// `GET /admin/activations`.
    Activations,
    /// `GET /admin/sms`.
    Sms,
    /// `GET /admin/banks`.
    Banks,
}

/// The options every listing takes.
#[derive(Debug, Args)]
pub struct ListOptions {
    #[command(flatten)]
    target: AdminTarget,
    /// Only rows in this state. sims: free, busy, blocked, online, offline; activations:
    /// active, finished, expired, overdue; sms: pending, delivered, failed, held, unmatched,
    /// assembling; banks: live, silent.
    #[arg(long)]
    state: Option<String>,
    /// At most this many rows (activations and SMS: the newest; the server answers at most
    /// 10000, 100 when not given).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    limit: Option<u32>,
    /// Print the server's JSON instead of a table.
    #[arg(long)]
    json: bool,
}

impl Listing {
    /// The admin path and the key of the list in its answer.
    fn path(self) -> (&'static str, &'static str) {
        match self {
            Listing::Sims => ("/admin/sims", "sims"),
            Listing::Activations => ("/admin/activations", "activations"),
            Listing::Sms => ("/admin/sms", "sms"),
            Listing::Banks => ("/admin/banks", "banks"),
        }
    }

    /// The states `--state` accepts where the CLI filters (the server filters activations and
    /// SMS itself, and its refusal names what it accepts).
    fn local_states(self) -> Option<&'static [&'static str]> {
        match self {
            Listing::Sims => Some(&["free", "busy", "blocked", "online", "offline"]),
            Listing::Banks => Some(&["live", "silent"]),
            Listing::Activations | Listing::Sms => None,
        }
    }

    /// Whether a row of a locally filtered listing is in `state`.
    fn is_in(self, row: &Value, state: &str) -> bool {
        match (self, state) {
            (Listing::Sims, "online") => row["online"] == true,
            (Listing::Sims, "offline") => row["online"] == false,
            (Listing::Sims, state) => row["state"] == state,
            (Listing::Banks, "live") => row["live"] == true,
            (Listing::Banks, _) => row["live"] == false,
            (Listing::Activations | Listing::Sms, state) => row["state"] == state,
        }
    }

    /// The columns an operator looks at: header, field of the record, how it is shown.
    fn columns(self) -> &'static [(&'static str, &'static str, Shown)] {
        use Shown::{Plain, Time};
        match self {
            Listing::Sims => &[
                ("number", "number", Plain),
                ("bank", "bank", Plain),
                ("port", "port", Plain),
                ("country", "country", Plain),
                ("operator", "operator", Plain),
                ("online", "online", Plain),
                ("state", "state", Plain),
                ("activation", "activation_id", Plain),
            ],
            Listing::Activations => &[
                ("id", "id", Plain),
                ("platform", "platform", Plain),
                ("number", "number", Plain),
                ("service", "service", Plain),
                ("state", "state", Plain),
                ("created", "created_at", Time),
                ("expires", "expires_at", Time),
            ],
            Listing::Sms => &[
                ("id", "id", Plain),
                ("number", "number", Plain),
                ("platform", "platform", Plain),
                ("activation", "activation_id", Plain),
                ("state", "state", Plain),
                ("attempts", "attempts", Plain),
                ("received", "received_at", Time),
                ("last error", "last_error", Plain),
            ],
            Listing::Banks => &[
                ("name", "name", Plain),
                ("sims", "sims", Plain),
                ("online", "online", Plain),
                ("last seen", "last_seen", Time),
                ("live", "live", Plain),
            ],
        }
    }

    /// The table: the header and one row per record.
    fn render(self, records: &[Value]) -> String {
        let columns = self.columns();
        let header: Vec<&str> = columns.iter().map(|(header, _, _)| *header).collect();
        let rows: Vec<Vec<String>> = records
            .iter()
            .map(|r| {
                columns
                    .iter()
                    .map(|(_, field, shown)| match shown {
                        Shown::Plain => cell(&r[*field]),
                        Shown::Time => time(&r[*field]),
                    })
                    .collect()
            })
            .collect();
        table(&header, &rows)
    }
}

/// How a column shows its field.
#[derive(Debug, Clone, Copy)]
enum Shown {
    /// As it is (`-` for nothing, yes/no for booleans).
    Plain,
    /// An RFC 3339 time, as UTC date and time.
    Time,
}

/// A JSON value as a table cell: `-` for nothing, yes/no for booleans.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An RFC 3339 time as `2026-05-01 00:15:00` (UTC), the way people read it.
fn time(v: &Value) -> String {
    v.as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map_or_else(
            || cell(v),
            |t| {
                t.with_timezone(&chrono::Utc)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            },
        )
}

/// `simrelay sims | activations | sms | banks`: answers the table (or the JSON) to print.
pub fn list(listing: Listing, options: ListOptions) -> anyhow::Result<String> {
    let ListOptions {
        target,
        state,
        limit,
        json,
    } = options;
    let local = listing.local_states();
    if let (Some(accepted), Some(state)) = (local, &state) {
        if !accepted.contains(&state.as_str()) {
            bail!(
                "--state {state:?} is not one of {} for {}",
                accepted.join(", "),
                listing.path().1
            );
        }
    }
    let admin = target.resolve()?;
    let (path, key) = listing.path();
    let mut query = Vec::new();
    if local.is_none() {
        query.extend(state.clone().map(|s| ("state", s)));
        query.extend(limit.map(|n| ("limit", n.to_string())));
    }
    let mut answer = admin.call(Method::GET, path, &query)?;
    let Some(rows) = answer.get_mut(key).and_then(Value::as_array_mut) else {
        bail!("simrelay at {} answered without a {key:?} list", admin.url);
    };
    if local.is_some() {
        if let Some(state) = &state {
            rows.retain(|row| listing.is_in(row, state));
        }
        if let Some(limit) = limit {
            rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        }
    }
    if json {
        return Ok(answer.to_string());
    }
    Ok(listing.render(answer[key].as_array().map_or(&[], Vec::as_slice)))
}

/// An id from the command line: an integer ≥ 1, else an error naming what it is not.
fn id(raw: &str, what: &str) -> anyhow::Result<u64> {
    raw.parse::<u64>()
        .ok()
        .filter(|id| *id >= 1)
        .ok_or_else(|| anyhow!("{raw:?} is not {what} id (an integer ≥ 1)"))
}

/// `simrelay release ACTIVATION_ID`: answers what to print.
pub fn release(activation_id: &str, target: AdminTarget, json: bool) -> anyhow::Result<String> {
    let id = id(activation_id, "an activation")?;
    let answer = target.resolve()?.call(
        Method::POST,
        &format!("/admin/activations/{id}/release"),
        &[],
    )?;
    if json {
        return Ok(answer.to_string());
    }
    let a = &answer["activation"];
    Ok(format!(
        "released activation {} (number {}, {})",
        a["id"],
        a["number"],
        cell(&a["service"])
    ))
}

/// `simrelay redeliver SMS_ID`: a failed or held SMS goes back to the outbox; answers what to
/// print.
pub fn redeliver(sms_id: &str, target: AdminTarget, json: bool) -> anyhow::Result<String> {
    let id = id(sms_id, "an SMS")?;
    let answer =
        target
            .resolve()?
            .call(Method::POST, &format!("/admin/sms/{id}/redeliver"), &[])?;
    if json {
        return Ok(answer.to_string());
    }
    let s = &answer["sms"];
    Ok(format!(
        "SMS {} is {} again (number {}, activation {}): it is sent to {} at the next attempt",
        s["id"],
        cell(&s["state"]),
        cell(&s["number"]),
        cell(&s["activation_id"]),
        cell(&s["platform"]),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_and_times_read_as_people_write_them() {
        assert_eq!(cell(&Value::Null), "-");
        assert_eq!(cell(&Value::Bool(true)), "yes");
        assert_eq!(cell(&serde_json::json!(7)), "7");
        assert_eq!(
            time(&serde_json::json!("2026-05-01T03:15:00+03:00")),
            "2026-05-01 00:15:00"
        );
        assert_eq!(time(&Value::Null), "-");
    }
}
