//! `simrelay quarantine KEY FIELD`: sets aside a record recovery cannot read, so simrelay can
//! start again, without forgetting what the record stood for: its number is blocked (never
//! issued) until an operator unblocks it.
//!
//! It talks to Redis directly (the server is not serving: its recovery stops at that record),
//! moves the raw value to `P:quarantine` (field `KEY/FIELD`), and blocks the number the record
//! names — the SIM's own record, or a placeholder when that is the unreadable one.

use anyhow::{bail, Context};
use serde_json::Value;
use simrelay_actors::domain::Msisdn;
use simrelay_actors::store::SimRecord;

use crate::config::{CountryTable, Settings};

/// What the command did, for the operator.
pub fn quarantine(settings: &Settings, key: &str, field: &str) -> anyhow::Result<String> {
    let url =
        settings.store.redis_url.as_ref().context(
            "store.redis_url is not set: only the Redis store keeps records to quarantine",
        )?;
    let prefix = &settings.store.key_prefix;
    let kind = key
        .strip_prefix(&format!("{prefix}:"))
        .filter(|k| ["sims", "activations", "sms"].contains(k))
        .with_context(|| {
            format!("{key} is not one of {prefix}:sims, {prefix}:activations, {prefix}:sms")
        })?;
    let client = redis::Client::open(url.expose()).context("store.redis_url")?;
    let mut conn = client.get_connection().context("cannot connect to Redis")?;
    let raw: Option<String> = redis::cmd("HGET").arg(key).arg(field).query(&mut conn)?;
    let Some(raw) = raw else {
        bail!("{key} has no field {field}");
    };
    let number = match kind {
        "sims" => Msisdn::parse(field).ok(),
        // What is left of an activation may not say its number; its SIM says it is busy with it.
        "activations" => match number_in(&raw) {
            Some(number) => Some(number),
            None => busy_with(&mut conn, &format!("{prefix}:sims"), field)?,
        },
        _ => number_in(&raw),
    };
    let sims_key = format!("{prefix}:sims");
    let blocked = match number {
        Some(number) => {
            let stored: Option<String> = redis::cmd("HGET")
                .arg(&sims_key)
                .arg(number.get())
                .query(&mut conn)?;
            let mut record = stored
                .filter(|_| kind != "sims")
                .and_then(|json| serde_json::from_str::<SimRecord>(&json).ok())
                .map_or_else(|| placeholder(number), Ok)?;
            record.blocked = true;
            Some((number, serde_json::to_string(&record)?))
        }
        None => None,
    };
    let mut pipe = redis::pipe();
    pipe.atomic()
        .hset(
            format!("{prefix}:quarantine"),
            format!("{key}/{field}"),
            &raw,
        )
        .ignore()
        .hdel(key, field)
        .ignore();
    if let Some((number, json)) = &blocked {
        pipe.hset(&sims_key, number.get(), json).ignore();
    }
    pipe.query::<()>(&mut conn)?;
    Ok(match blocked {
        Some((number, _)) => format!(
            "quarantined {key} {field} (kept in {prefix}:quarantine); SIM {number} is blocked: \
             unblock it with POST /admin/sims/{number}/unblock once you know it is safe"
        ),
        None => format!(
            "quarantined {key} {field} (kept in {prefix}:quarantine); it names no number to block"
        ),
    })
}

/// The number an unreadable activation or SMS record names, if any can be read from it.
fn number_in(raw: &str) -> Option<Msisdn> {
    let value: Value = serde_json::from_str(raw).ok()?;
    match &value["number"] {
        Value::Number(n) => Msisdn::parse(&n.to_string()).ok(),
        Value::String(s) => Msisdn::parse(s).ok(),
        _ => None,
    }
}

/// The SIM whose record says it is busy with activation `id` (a scan of every SIM: an
/// operator's command, run once).
fn busy_with(
    conn: &mut redis::Connection,
    sims_key: &str,
    id: &str,
) -> anyhow::Result<Option<Msisdn>> {
    let Ok(id) = id.parse::<u64>() else {
        return Ok(None);
    };
    let mut cursor = String::from("0");
    loop {
        let (next, flat): (String, Vec<String>) = redis::cmd("HSCAN")
            .arg(sims_key)
            .arg(&cursor)
            .arg("COUNT")
            .arg(10_000)
            .query(conn)?;
        for pair in flat.chunks(2) {
            let busy = pair
                .get(1)
                .and_then(|json| serde_json::from_str::<SimRecord>(json).ok())
                .filter(|sim| sim.active.is_some_and(|a| a.get() == id));
            if let Some(sim) = busy {
                return Ok(Some(sim.number));
            }
        }
        if next == "0" {
            return Ok(None);
        }
        cursor = next;
    }
}

/// A blocked, offline SIM record standing for a number whose own record was set aside.
fn placeholder(number: Msisdn) -> anyhow::Result<SimRecord> {
    let country = CountryTable::builtin()?
        .country_of(number)
        .or_else(|_| simrelay_actors::domain::CountryName::parse("unknown"))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(SimRecord {
        number,
        country,
        operator: None,
        port: None,
        online: false,
        blocked: true,
        active: None,
        used: Vec::new(),
        cancels: Vec::new(),
        last_activation: None,
        mcc_mnc: None,
        rent: false,
        online_since: None,
        bank: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_number_is_read_from_what_is_left_of_a_record() {
        assert_eq!(
            number_in(r#"{"id":5,"number":79281234567,"state":"???"}"#).map(|n| n.get()),
            Some(79281234567)
        );
        assert_eq!(
            number_in(r#"{"number":"79281234567"}"#).map(|n| n.get()),
            Some(79281234567)
        );
        assert_eq!(number_in("{}"), None);
        assert_eq!(number_in("garbage"), None);
    }
}
