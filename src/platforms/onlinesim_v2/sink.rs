//! SMS forwarding for v2: each SMS of a listed SIM goes out by addMessage, or, with
//! `onlinesim.v2_batch`, joins a batch that one addMessages call sends every few seconds.
//!
//! The outbox (durable, retried, bounded) drives it exactly as it drives PUSH_SMS; this sink
//! only speaks the wire format and reads the answers: network errors, timeouts, 5xx and
//! account errors are retried with exponential back-off; 400 `NO_NUMBER` asks the list task
//! for a resync and is retried once; `ERROR_PARAMS` / `NUMBER_FORMAT_ERROR` are final. An
//! unexpected 200 (a proxy's page, say) is retried: an SMS is never dropped on a guess.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use parking_lot::Mutex;
use simrelay_actors::domain::{ActivationRecord, SmsRecord};
use simrelay_actors::{DeliveryOutcome, SmsSink};
use tokio::sync::{oneshot, Notify};

use super::client::{V2Client, V2Error, V2Message};
use super::Health;
use crate::metrics::Metrics;

/// The platform does not list the number: resync, then one more try.
const NO_NUMBER: &str = "NO_NUMBER";
/// Longest back-off between retries of one SMS.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Sends SMS to the v2 API.
pub struct V2Sink {
    client: V2Client,
    retry_interval: Duration,
    resync: Arc<Notify>,
    health: Health,
    metrics: Metrics,
    batch: Option<Arc<Batcher>>,
}

type Waiter = oneshot::Sender<Result<(), V2Error>>;

/// Collects messages and flushes them as one addMessages every `every`.
struct Batcher {
    queue: Mutex<Vec<(V2Message, Waiter)>>,
}

impl V2Sink {
    /// A sink; with `batch_every` SMS are batched into addMessages calls.
    pub fn new(
        client: V2Client,
        retry_interval: Duration,
        resync: Arc<Notify>,
        health: Health,
        metrics: Metrics,
        batch_every: Option<Duration>,
    ) -> V2Sink {
        let batch = batch_every.map(|every| {
            let batcher = Arc::new(Batcher {
                queue: Mutex::new(Vec::new()),
            });
            actix::spawn(flush_loop(
                Arc::downgrade(&batcher),
                client.clone(),
                every,
                metrics.clone(),
            ));
            batcher
        });
        V2Sink {
            client,
            retry_interval,
            resync,
            health,
            metrics,
            batch,
        }
    }

    /// The addMessage fields of one SMS.
    pub fn message(sms: &SmsRecord) -> V2Message {
        V2Message {
            date: sms.received_at.timestamp().to_string(),
            number: format!("+{}", sms.number),
            from: sms.from.clone(),
            message: sms.text.clone(),
        }
    }
}

async fn flush_loop(
    batcher: std::sync::Weak<Batcher>,
    client: V2Client,
    every: Duration,
    metrics: Metrics,
) {
    loop {
        tokio::time::sleep(every).await;
        let Some(batcher) = batcher.upgrade() else {
            return;
        };
        let batch = std::mem::take(&mut *batcher.queue.lock());
        drop(batcher);
        if batch.is_empty() {
            continue;
        }
        let (messages, waiters): (Vec<V2Message>, Vec<Waiter>) = batch.into_iter().unzip();
        let started = Instant::now();
        let answer = client.add_messages(&messages).await;
        metrics.v2_request(
            client.platform(),
            "addMessages",
            &outcome_label(&answer),
            started.elapsed().as_secs_f64(),
        );
        for waiter in waiters {
            let _ = waiter.send(answer.clone());
        }
    }
}

fn outcome_label(answer: &Result<(), V2Error>) -> String {
    match answer {
        Ok(()) => "ok".into(),
        Err(e) => e.label(),
    }
}

impl SmsSink for V2Sink {
    fn deliver(
        &self,
        sms: &SmsRecord,
        _activation: Option<&ActivationRecord>,
    ) -> BoxFuture<'static, DeliveryOutcome> {
        let message = V2Sink::message(sms);
        let attempts = sms.attempts;
        let resynced_before = sms.last_error.as_deref() == Some(NO_NUMBER);
        let client = self.client.clone();
        let batch = self.batch.clone();
        let resync = Arc::clone(&self.resync);
        let health = self.health.clone();
        let metrics = self.metrics.clone();
        let backoff = (self.retry_interval
            * 2u32.saturating_pow(attempts.saturating_sub(1).min(16)))
        .min(MAX_BACKOFF);
        Box::pin(async move {
            let answer = match batch {
                Some(batcher) => {
                    let (tx, rx) = oneshot::channel();
                    batcher.queue.lock().push((message, tx));
                    rx.await
                        .unwrap_or_else(|_| Err(V2Error::Network("the batcher stopped".into())))
                }
                None => {
                    let started = Instant::now();
                    let answer = client.add_message(&message).await;
                    metrics.v2_request(
                        client.platform(),
                        "addMessage",
                        &outcome_label(&answer),
                        started.elapsed().as_secs_f64(),
                    );
                    answer
                }
            };
            match answer {
                Ok(()) => {
                    health.clear();
                    DeliveryOutcome::Delivered
                }
                Err(V2Error::Refused(code)) if code == NO_NUMBER && !resynced_before => {
                    // Our list and theirs disagree: resync, then one more try.
                    resync.notify_one();
                    DeliveryOutcome::Retry {
                        reason: code,
                        after: Some(Duration::from_secs(5)),
                    }
                }
                Err(V2Error::Refused(code)) => DeliveryOutcome::Terminal { reason: code },
                Err(e) => {
                    if let V2Error::Account { code, .. } = &e {
                        health.account_problem(code);
                    }
                    DeliveryOutcome::Retry {
                        reason: e.to_string(),
                        after: Some(backoff),
                    }
                }
            }
        })
    }
}
