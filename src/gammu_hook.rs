//! `simrelay gammu-hook`: gammu-smsd's RunOnReceive program. gammu-smsd runs it once per
//! received message with the message in its environment; it posts the message to simrelay's
//! gateway API (`POST /gateway/sms`).
//!
//! Environment read (gammu-smsd documentation, RunOnReceive): `SMS_MESSAGES` (physical parts),
//! `SMS_<n>_NUMBER`, `SMS_<n>_TEXT`, `SMS_<n>_CLASS` (127 marks a USSD reply gammu-smsd stored as
//! a message), `SMS_<n>_REFERENCE` (the TP-MR of our own message in a delivery report, 0 in a
//! received SMS), `DECODED_PARTS` and `DECODED_<n>_TEXT` (the joined text of a multipart
//! message), `PHONE_ID` (the modem's PhoneID). The arguments are the inbox ids of the parts; the
//! first is the gateway id simrelay de-duplicates on.
//!
//! What is not an SMS a client waits for (a USSD reply, a delivery report, a message without any
//! text: 8-bit data, an MMS notice) is skipped: nothing is posted and the hook exits 0 with one
//! line on stderr, so gammu-smsd neither retries it nor logs it as a failure.

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

/// What gammu-smsd handed the hook.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// An SMS to post.
    Sms(HookMessage),
    /// Not an SMS a client waits for: nothing is posted. One line saying what and why, for
    /// gammu-smsd's log.
    Skipped(String),
}

/// The texts gammu puts in a delivery (status) report instead of message text.
const STATUS_REPORT_TEXTS: [&str; 4] = ["Delivered", "Failed", "Pending", "Unknown"];

/// Reads the message from gammu-smsd's environment and the hook's arguments.
///
/// Skipped ([`Received::Skipped`]): a USSD reply (any part with `SMS_<n>_CLASS=127`); a delivery
/// report (every part's text is one of gammu's status words and its `SMS_<n>_REFERENCE` is not 0,
/// which a received SMS never has); a message without any text (none in `DECODED_<n>_TEXT` nor
/// `SMS_<n>_TEXT`, or only blanks).
pub fn message_from(
    env: &HashMap<String, String>,
    inbox_ids: &[String],
) -> anyhow::Result<Received> {
    let get = |k: &str| env.get(k).map(String::as_str);
    let parts: usize = get("SMS_MESSAGES")
        .context("SMS_MESSAGES is not set: run this from gammu-smsd's RunOnReceive")?
        .trim()
        .parse()
        .context("SMS_MESSAGES is not a number")?;
    if parts == 0 {
        bail!("SMS_MESSAGES is 0: nothing to post");
    }
    let which = match inbox_ids.first() {
        Some(id) => format!("{id} "),
        None => String::new(),
    };
    let number = get("SMS_1_NUMBER").unwrap_or("?");
    let int = |k: String| get(&k).and_then(|v| v.trim().parse::<i64>().ok());

    if let Some(i) = (1..=parts).find(|&i| int(format!("SMS_{i}_CLASS")) == Some(127)) {
        return Ok(Received::Skipped(format!(
            "skipped {which}from {number}: a USSD reply (SMS_{i}_CLASS=127), not an SMS; \
             nothing posted"
        )));
    }
    let status_report = (1..=parts).all(|i| {
        int(format!("SMS_{i}_REFERENCE")).is_some_and(|r| r != 0)
            && get(&format!("SMS_{i}_TEXT"))
                .is_some_and(|t| STATUS_REPORT_TEXTS.contains(&t.trim()))
    });
    if status_report {
        return Ok(Received::Skipped(format!(
            "skipped {which}for {number}: a delivery report ({:?}, message reference {}), not an \
             SMS; nothing posted",
            get("SMS_1_TEXT").unwrap_or_default().trim(),
            get("SMS_1_REFERENCE").unwrap_or_default().trim(),
        )));
    }

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
    if text.trim().is_empty() {
        return Ok(Received::Skipped(format!(
            "skipped {which}from {number}: no text (8-bit data, an MMS notice or an empty \
             message), not an SMS a client waits for; nothing posted"
        )));
    }
    let from = get("SMS_1_NUMBER")
        .context("SMS_1_NUMBER is not set")?
        .to_owned();
    Ok(Received::Sms(HookMessage {
        from,
        text,
        id: inbox_ids.first().cloned(),
        phone_id: get("PHONE_ID").map(str::to_owned),
    }))
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

    fn sms(received: Received) -> HookMessage {
        match received {
            Received::Sms(m) => m,
            Received::Skipped(why) => panic!("skipped: {why}"),
        }
    }

    fn skipped(received: Received) -> String {
        match received {
            Received::Skipped(why) => why,
            Received::Sms(m) => panic!("posted: {m:?}"),
        }
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
        let m = sms(message_from(&e, &["IN1_00.txt".into(), "IN2_00.txt".into()]).unwrap());
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
        let m = sms(message_from(&e, &[]).unwrap());
        assert_eq!(m.text, "ab");
        assert_eq!(
            body(&m, Some("79281234567")).unwrap()["number"],
            "79281234567"
        );
        assert!(body(&m, None).is_err());
    }

    #[test]
    fn a_ussd_reply_is_skipped() {
        let e = env(&[
            ("SMS_MESSAGES", "1"),
            ("SMS_1_CLASS", "127"),
            ("SMS_1_NUMBER", ""),
            ("SMS_1_TEXT", "Balance: 12.50 RUB"),
            ("SMS_1_REFERENCE", "0"),
            ("DECODED_PARTS", "0"),
            ("PHONE_ID", "bank1.17"),
        ]);
        let why = skipped(message_from(&e, &["IN1_00.txt".into()]).unwrap());
        assert!(
            why.contains("USSD") && why.contains("SMS_1_CLASS=127"),
            "{why}"
        );
        assert!(why.contains("IN1_00.txt") && !why.contains('\n'), "{why}");
    }

    #[test]
    fn ordinary_classes_are_kept() {
        for class in ["-1", "0", "1"] {
            let e = env(&[
                ("SMS_MESSAGES", "1"),
                ("SMS_1_CLASS", class),
                ("SMS_1_NUMBER", "VK"),
                ("SMS_1_TEXT", "VK: 33708"),
                ("SMS_1_REFERENCE", "0"),
            ]);
            let m = sms(message_from(&e, &[]).unwrap());
            assert_eq!(m.text, "VK: 33708", "class {class}");
        }
    }

    #[test]
    fn a_message_without_text_is_skipped() {
        // 8-bit data: gammu sets no SMS_n_TEXT and no DECODED_n_TEXT.
        let e = env(&[
            ("SMS_MESSAGES", "1"),
            ("SMS_1_CLASS", "-1"),
            ("SMS_1_NUMBER", "+79001234567"),
            ("SMS_1_REFERENCE", "0"),
            ("DECODED_PARTS", "0"),
        ]);
        let why = skipped(message_from(&e, &[]).unwrap());
        assert!(
            why.contains("no text") && why.contains("+79001234567"),
            "{why}"
        );
        // Empty (or blank) text in every part.
        let e = env(&[
            ("SMS_MESSAGES", "2"),
            ("SMS_1_NUMBER", "VK"),
            ("SMS_1_TEXT", ""),
            ("SMS_2_TEXT", " "),
        ]);
        assert!(skipped(message_from(&e, &[]).unwrap()).contains("no text"));
    }

    #[test]
    fn a_delivery_report_is_skipped_but_a_received_delivered_is_kept() {
        let e = env(&[
            ("SMS_MESSAGES", "1"),
            ("SMS_1_CLASS", "-1"),
            ("SMS_1_NUMBER", "+79001234567"),
            ("SMS_1_TEXT", "Delivered"),
            ("SMS_1_REFERENCE", "42"),
            ("DECODED_PARTS", "1"),
            ("DECODED_1_TEXT", "Delivered"),
        ]);
        let why = skipped(message_from(&e, &[]).unwrap());
        assert!(
            why.contains("delivery report") && why.contains("42"),
            "{why}"
        );
        // A received SMS has no message reference (0): its text is posted whatever it says.
        let mut e = e;
        e.insert("SMS_1_REFERENCE".into(), "0".into());
        assert_eq!(sms(message_from(&e, &[]).unwrap()).text, "Delivered");
    }

    #[test]
    fn missing_environment_is_explained() {
        assert!(message_from(&env(&[]), &[])
            .unwrap_err()
            .to_string()
            .contains("RunOnReceive"));
    }
}
