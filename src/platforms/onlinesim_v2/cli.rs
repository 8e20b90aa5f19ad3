//! `simrelay v2 …`: the optional v2 requests, run by hand, printed as readable tables.

use serde_json::Value;

use super::client::{TakeOff, V2Client};
use crate::table::table;

fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(m)) => m.keys().cloned().collect::<Vec<_>>().join(", "),
        Some(other) => other.to_string(),
    }
}

/// `simrelay v2 check-number NUMBER`.
pub async fn check_number(client: &V2Client, number: &str) -> anyhow::Result<String> {
    let number = if number.starts_with('+') {
        number.to_owned()
    } else {
        format!("+{number}")
    };
    let answer = client.check_number(&number).await?;
    let fields = [
        "id",
        "number",
        "country_id",
        "port_id",
        "status",
        "status_text",
        "sum",
        "balance",
        "errors",
        "banned",
        "rent",
        "clearable",
        "used_service",
        "banned_service",
    ];
    let rows: Vec<Vec<String>> = fields
        .iter()
        .map(|f| vec![f.to_string(), text(answer.get(*f))])
        .collect();
    Ok(table(&["field", "value"], &rows))
}

/// `simrelay v2 take-off [--sum RUB]`.
pub async fn take_off(client: &V2Client, sum: &str) -> anyhow::Result<String> {
    let list: Vec<TakeOff> = client.take_off_numbers(sum).await?;
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|t| {
            vec![
                t.number.clone(),
                t.id.clone(),
                t.sum.clone(),
                t.country.clone(),
            ]
        })
        .collect();
    Ok(format!(
        "{}\n{} number(s) earned at least {sum} RUB",
        table(&["number", "id", "income RUB", "country"], &rows),
        list.len()
    ))
}

/// `simrelay v2 blacklist SERVICE…`: replaces the whole blacklist.
pub async fn blacklist(client: &V2Client, services: &[String]) -> anyhow::Result<String> {
    client.save_config(services).await?;
    let listed = if services.is_empty() {
        "(none: the blacklist is now empty)".to_owned()
    } else {
        services.join(", ")
    };
    Ok(format!(
        "The blacklist was REPLACED; it is now exactly: {listed}\n\
         (saveConfig replaces the whole list: name every service you want blocked each time)"
    ))
}
