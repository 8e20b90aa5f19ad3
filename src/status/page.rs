//! The status page's HTML: the login form, the overview and the error page.
//!
//! Rendered on the server with maud, which escapes every value it interpolates; no script, one
//! inline style sheet, forms only. Element ids (`stock-<platform>`, `sms-<id>`, …) are stable so
//! scripts and the browser test can find things.

use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use simrelay_actors::domain::{ActivationRecord, PlatformName, SmsRecord};
use simrelay_actors::{BankView, SimView, Stock};

use super::SimFilter;

/// Everything the overview shows, read from the engine at request time.
pub struct Overview {
    /// Each platform's stock, in config order.
    pub stock: Vec<(PlatformName, Stock)>,
    /// Every bank.
    pub banks: Vec<BankView>,
    /// SIMs that pass the filter, at most [`super::MAX_SIM_ROWS`].
    pub sims: Vec<SimView>,
    /// How many SIMs pass the filter in all.
    pub sims_matching: usize,
    /// The SIM filter as asked.
    pub filter: SimFilter,
    /// Active activations, newest first.
    pub active: Vec<ActivationRecord>,
    /// Active activations past their expiry: the platform never finished them.
    pub overdue: Vec<ActivationRecord>,
    /// Failed, held and unmatched SMS, newest first.
    pub attention: Vec<SmsRecord>,
    /// The latest SMS in any state, newest first.
    pub latest: Vec<SmsRecord>,
    /// The session's CSRF token, for the forms.
    pub csrf: String,
    /// What the last action did, if the page follows one.
    pub notice: Option<String>,
    /// The engine's time.
    pub now: DateTime<Utc>,
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em}\
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}\
th{background:#f2f2f2}td.n{text-align:right}\
.live{color:#17692d}.silent,.failed,.overdue{color:#a11}.held,.unmatched{color:#8a5a00}\
.notice{background:#eef6ee;border:1px solid #9c9;padding:.5em}\
.error{background:#fbeaea;border:1px solid #d99;padding:.5em}\
header{display:flex;justify-content:space-between;align-items:center}\
form.inline{display:inline}";

fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · simrelay" }
                style { (PreEscaped(CSS)) }
            }
            body { (body) }
        }
    }
}

/// The login form; `error` says why the last try failed.
pub fn login(error: Option<&str>) -> Markup {
    layout(
        "Log in",
        html! {
            h1 { "simrelay status" }
            @if let Some(error) = error {
                p.error #login-error { (error) }
            }
            form method="post" action="/status/login" {
                label for="token" { "Admin token (admin.token) " }
                input #token type="password" name="token" autocomplete="current-password" required autofocus;
                " "
                button #login type="submit" { "Log in" }
            }
        },
    )
}

/// A page saying what went wrong, with a way back.
pub fn error(code: &str, message: &str) -> Markup {
    layout(
        "Error",
        html! {
            h1 { "simrelay status" }
            p.error #error { (code) ": " (message) }
            p { a href="/status" { "Back to the status page" } }
        },
    )
}

fn time(at: Option<DateTime<Utc>>) -> String {
    at.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "—".to_owned())
}

fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

/// The overview: stock, banks, SIMs, activations and the SMS that need attention.
pub fn overview(o: &Overview) -> Markup {
    layout(
        "Status",
        html! {
            header {
                h1 { "simrelay status" }
                form.inline method="post" action="/status/logout" {
                    (csrf_field(&o.csrf))
                    button #logout type="submit" { "Log out" }
                }
            }
            p { "As of " (time(Some(o.now))) " UTC. " a href="/status" { "Refresh" } }
            @if let Some(notice) = &o.notice {
                p.notice #notice { (notice) }
            }
            (stock(o))
            (banks(o))
            (sims(o))
            (activations(o))
            (attention(o))
            (latest(o))
        },
    )
}

fn stock(o: &Overview) -> Markup {
    html! {
        h2 #stock { "Stock" }
        @for (platform, stock) in &o.stock {
            h3 { (platform.as_str()) }
            @let services: Vec<&str> = stock
                .countries
                .first()
                .map(|c| c.any.iter().map(|(s, _)| s.as_str()).collect())
                .unwrap_or_default();
            @if stock.countries.is_empty() {
                p id={ "stock-" (platform.as_str()) } { "No SIMs for this platform." }
            } @else {
                table id={ "stock-" (platform.as_str()) } {
                    tr {
                        th { "Country" } th { "Operator" }
                        @for service in &services { th { (service) } }
                    }
                    @for country in &stock.countries {
                        @for (operator, counts) in &country.operators {
                            tr {
                                td { (country.country.as_str()) } td { (operator.as_str()) }
                                @for (_, n) in counts { td.n { (n) } }
                            }
                        }
                        tr {
                            td { (country.country.as_str()) } td { b { "any" } }
                            @for (_, n) in &country.any { td.n { b { (n) } } }
                        }
                    }
                }
            }
        }
    }
}

fn banks(o: &Overview) -> Markup {
    html! {
        h2 #banks { "Banks" }
        table #bank-list {
            tr { th { "Bank" } th { "SIMs" } th { "Online" } th { "Last seen (UTC)" } th { "State" } }
            @for bank in &o.banks {
                tr id={ "bank-" (bank.name.as_str()) } {
                    td { (bank.name.as_str()) }
                    td.n { (bank.sims) }
                    td.n { (bank.online) }
                    td { (time(bank.last_seen)) }
                    @if bank.live { td.live { "live" } } @else { td.silent { "silent" } }
                }
            }
        }
    }
}

fn sims(o: &Overview) -> Markup {
    let f = &o.filter;
    let chosen = |current: &Option<String>, value: &str| current.as_deref() == Some(value);
    html! {
        h2 #sims { "SIMs" }
        form #sim-filter method="get" action="/status" {
            label { "Bank " select name="bank" {
                option value="" { "any" }
                @for bank in &o.banks {
                    option value=(bank.name.as_str()) selected[chosen(&f.bank, bank.name.as_str())] { (bank.name.as_str()) }
                }
            } }
            " "
            label { "State " select name="state" {
                option value="" { "any" }
                @for state in ["free", "busy", "blocked"] {
                    option value=(state) selected[chosen(&f.state, state)] { (state) }
                }
            } }
            " "
            label { "Online " select name="online" {
                option value="" { "any" }
                option value="yes" selected[chosen(&f.online, "yes")] { "yes" }
                option value="no" selected[chosen(&f.online, "no")] { "no" }
            } }
            " "
            button type="submit" { "Filter" }
        }
        p { (o.sims_matching) " SIMs match"
            @if o.sims_matching > o.sims.len() { "; the first " (o.sims.len()) " are shown" } "." }
        table #sim-list {
            tr { th { "Number" } th { "Bank" } th { "Port" } th { "Country" } th { "Operator" }
                 th { "Online" } th { "State" } th { "Activation" } }
            @for sim in &o.sims {
                tr id={ "sim-" (sim.number.to_string()) } {
                    td { (sim.number.to_string()) }
                    td { (sim.bank.as_str()) }
                    td { (sim.port.as_deref().unwrap_or("—")) }
                    td { (sim.country.as_str()) }
                    td { (sim.operator.as_ref().map(|o| o.as_str()).unwrap_or("—")) }
                    td { @if sim.online { "yes" } @else { "no" } }
                    td { (sim.state) }
                    td { (sim.activation_id.map(|a| a.to_string()).unwrap_or_default()) }
                }
            }
        }
    }
}

fn activation_row(a: &ActivationRecord, csrf: &str, overdue: bool) -> Markup {
    html! {
        tr id={ "activation-" (a.id.to_string()) } {
            td { (a.id.to_string()) }
            td { (a.platform.as_str()) }
            td { (a.number.to_string()) }
            td { (a.service.as_str()) }
            td { (a.country.as_str()) }
            td { (time(Some(a.created_at))) }
            @if overdue { td.overdue { (time(a.expires_at)) } } @else { td { (time(a.expires_at)) } }
            @if overdue {
                td {
                    form.inline method="post" action={ "/status/activations/" (a.id.to_string()) "/release" } {
                        (csrf_field(csrf))
                        button type="submit" { "Release" }
                    }
                }
            }
        }
    }
}

fn activations(o: &Overview) -> Markup {
    let head = html! {
        th { "Id" } th { "Platform" } th { "Number" } th { "Service" } th { "Country" }
        th { "Created (UTC)" } th { "Expires (UTC)" }
    };
    html! {
        h2 #overdue { "Overdue activations (" (o.overdue.len()) ")" }
        p { "Active past their expiry: the platform never finished them. Releasing one frees its number." }
        table #overdue-list {
            tr { (head) th { "" } }
            @for a in &o.overdue { (activation_row(a, &o.csrf, true)) }
        }
        h2 #active { "Active activations (" (o.active.len()) ")" }
        table #active-list {
            tr { (head) }
            @for a in &o.active { (activation_row(a, &o.csrf, false)) }
        }
    }
}

fn attention(o: &Overview) -> Markup {
    html! {
        h2 #attention { "SMS that need attention (" (o.attention.len()) ")" }
        p { "Failed: the platform refused them or attempts ran out. Held: our-side filtering found them not for the ordered service.
             Unmatched: no activation was open for their number." }
        table #sms-list {
            tr { th { "Id" } th { "Number" } th { "From" } th { "Text" } th { "Received (UTC)" }
                 th { "Activation" } th { "State" } th { "Attempts" } th { "Last error" } th { "" } }
            @for sms in &o.attention {
                @let state = super::sms_state(sms.state);
                tr id={ "sms-" (sms.id.to_string()) } {
                    td { (sms.id.to_string()) }
                    td { (sms.number.to_string()) }
                    td { (sms.from) }
                    td { (sms.text) }
                    td { (time(Some(sms.received_at))) }
                    td { (sms.activation_id.map(|a| a.to_string()).unwrap_or_default()) }
                    td class={ "state " (state) } { (state) }
                    td.n { (sms.attempts) }
                    td { (sms.last_error.as_deref().unwrap_or("")) }
                    td {
                        @if sms.activation_id.is_some() && state != "unmatched" {
                            form.inline method="post" action={ "/status/sms/" (sms.id.to_string()) "/redeliver" } {
                                (csrf_field(&o.csrf))
                                button type="submit" id={ "redeliver-" (sms.id.to_string()) } { "Redeliver" }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn latest(o: &Overview) -> Markup {
    html! {
        h2 #latest { "Latest SMS" }
        table #latest-list {
            tr { th { "Id" } th { "Number" } th { "From" } th { "Received (UTC)" } th { "Activation" }
                 th { "Platform" } th { "State" } th { "Attempts" } th { "Delivered (UTC)" } }
            @for sms in &o.latest {
                @let state = super::sms_state(sms.state);
                tr id={ "latest-" (sms.id.to_string()) } {
                    td { (sms.id.to_string()) }
                    td { (sms.number.to_string()) }
                    td { (sms.from) }
                    td { (time(Some(sms.received_at))) }
                    td { (sms.activation_id.map(|a| a.to_string()).unwrap_or_default()) }
                    td { (sms.platform.as_ref().map(|p| p.as_str()).unwrap_or("—")) }
                    td class={ "state " (state) } { (state) }
                    td.n { (sms.attempts) }
                    td { (time(sms.delivered_at)) }
                }
            }
        }
    }
}
