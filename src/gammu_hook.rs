//! `simrelay gammu-hook`: gammu-smsd's RunOnReceive program. gammu-smsd runs it once per
//! received message with the message in its environment; it posts the message to simrelay's
//! gateway API (`POST /gateway/sms`).
//!
//! Environment read (gammu-smsd documentation, RunOnReceive): `SMS_MESSAGES` (physical parts),
//! `SMS_<n>_NUMBER`, `SMS_<n>_TEXT`, `DECODED_PARTS` and `DECODED_<n>_TEXT` (the joined text of a
//! multipart message), `PHONE_ID` (the modem's PhoneID). The arguments are the inbox ids of the
//! parts; the first is the gateway id simrelay de-duplicates on.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};

/// What one received message becomes.
#[derive(Debug, Clone, PartialEq)]
pub struct HookMessage {
    /// Sender.
    pub from: String,
    /// Whole text (multipart joined).
    pub text: String,
    /// The inbox id of the first part.
    pub id: Option<String>,
    /// The modem's PhoneID.
    pub phone_id: Option<String>,
}

/// Reads the message from gammu-smsd's environment and the hook's arguments.
pub fn message_from(
    env: &HashMap<String, String>,
    inbox_ids: &[String],
) -> anyhow::Result<HookMessage> {
    let get = |k: &str| env.get(k).map(String::as_str);
    let parts: usize = get("SMS_MESSAGES")
        .context("SMS_MESSAGES is not set: run this from gammu-smsd's RunOnReceive")?
        .trim()
        .parse()
        .context("SMS_MESSAGES is not a number")?;
    if parts == 0 {
        bail!("SMS_MESSAGES is 0: nothing to post");
    }
    let from = get("SMS_1_NUMBER")
        .context("SMS_1_NUMBER is not set")?
        .to_owned();
    let decoded = get("DECODED_PARTS")
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let joined = (1..=decoded)
        .filter_map(|i| get(&format!("DECODED_{i}_TEXT")))
        .collect::<String>();
    let text = if joined.is_empty() {
        (1..=parts)
            .filter_map(|i| get(&format!("SMS_{i}_TEXT")))
            .collect::<String>()
    } else {
        joined
    };
    Ok(HookMessage {
        from,
        text,
        id: inbox_ids.first().cloned(),
        phone_id: get("PHONE_ID").map(str::to_owned),
    })
}

/// The gateway body: by `number` when given, else by port = PhoneID.
pub fn body(message: &HookMessage, number: Option<&str>) -> anyhow::Result<Value> {
    let mut body = json!({"from": message.from, "text": message.text});
    match (number, &message.phone_id) {
        (Some(n), _) => body["number"] = json!(n),
        (None, Some(port)) => body["port"] = json!(port),
        (None, None) => bail!("give --number, or set PhoneID in smsdrc so PHONE_ID names the port"),
    }
    if let Some(id) = &message.id {
        body["id"] = json!(id);
    }
    Ok(body)
}

/// Posts the message, retrying a few times: gammu-smsd will not call again for it.
pub fn post(url: &str, token: &str, body: &Value) -> anyhow::Result<Value> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .user_agent(concat!("simrelay-gammu-hook/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(10))
            .build()?;
        let endpoint = format!("{}/gateway/sms", url.trim_end_matches('/'));
        let mut last = anyhow::anyhow!("not attempted");
        for attempt in 0..5u64 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
            }
            match client
                .post(&endpoint)
                .bearer_auth(token)
                .json(body)
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => return Ok(r.json::<Value>().await?),
                // The gateway refused the message itself: retrying will not help.
                Ok(r) if r.status().is_client_error() => {
                    let status = r.status();
                    bail!(
                        "simrelay refused the SMS ({status}): {}",
                        r.text().await.unwrap_or_default()
                    );
                }
                Ok(r) => last = anyhow::anyhow!("simrelay answered {}", r.status()),
                Err(e) => last = anyhow::anyhow!("cannot reach simrelay at {endpoint}: {e}"),
            }
        }
        Err(last)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn multipart_text_is_joined_from_the_decoded_parts() {
        let e = env(&[
            ("SMS_MESSAGES", "2"),
            ("SMS_1_NUMBER", "VK"),
            ("SMS_1_TEXT", "part one "),
            ("SMS_2_TEXT", "part two"),
            ("DECODED_PARTS", "1"),
            ("DECODED_1_TEXT", "part one part two"),
            ("PHONE_ID", "bank1.17"),
        ]);
        let m = message_from(&e, &["IN1_00.txt".into(), "IN2_00.txt".into()]).unwrap();
        assert_eq!(m.text, "part one part two");
        assert_eq!(m.id.as_deref(), Some("IN1_00.txt"));
        let b = body(&m, None).unwrap();
        assert_eq!(
            b,
            json!({"from":"VK","text":"part one part two","port":"bank1.17","id":"IN1_00.txt"})
        );
    }

    #[test]
    fn plain_parts_are_concatenated_without_decoded_text() {
        let e = env(&[
            ("SMS_MESSAGES", "2"),
            ("SMS_1_NUMBER", "+7900"),
            ("SMS_1_TEXT", "a"),
            ("SMS_2_TEXT", "b"),
        ]);
        let m = message_from(&e, &[]).unwrap();
        assert_eq!(m.text, "ab");
        assert_eq!(
            body(&m, Some("79281234567")).unwrap()["number"],
            "79281234567"
        );
        assert!(body(&m, None).is_err());
    }

    #[test]
    fn missing_environment_is_explained() {
        assert!(message_from(&env(&[]), &[])
            .unwrap_err()
            .to_string()
            .contains("RunOnReceive"));
    }
}
