//! The outbox's one sink: sends each SMS to its own platform's sink (PUSH_SMS webhook, v2 API),
//! in that platform's shape.
//!
//! An SMS names its platform (its activation's, or the v2 platform that lists its SIM); records
//! written before platforms had names go to their activation's platform, or (v2, no activation)
//! to `onlinesim`, the only platform there was. An SMS whose platform has no sink here (no
//! `push_url`, or a platform gone from the config) stays pending and is tried again every retry
//! interval, its `last_error` saying why, so that setting the webhook (or restoring the
//! platform) delivers it.

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use simrelay_actors::domain::{ActivationRecord, PlatformName, SmsRecord};
use simrelay_actors::{DeliveryOutcome, SmsSink};

/// See the module documentation.
#[derive(Default)]
pub struct Router {
    sinks: HashMap<PlatformName, Arc<dyn SmsSink>>,
}

impl Router {
    /// Sends the SMS of `platform` through `sink`.
    pub fn add(&mut self, platform: PlatformName, sink: Arc<dyn SmsSink>) {
        self.sinks.insert(platform, sink);
    }

    /// Whether no platform has a sink.
    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }
}

impl SmsSink for Router {
    fn deliver(
        &self,
        sms: &SmsRecord,
        activation: Option<&ActivationRecord>,
    ) -> BoxFuture<'static, DeliveryOutcome> {
        let onlinesim = PlatformName::onlinesim();
        let platform = sms
            .platform
            .as_ref()
            .or(activation.map(|a| &a.platform))
            .unwrap_or(&onlinesim);
        match self.sinks.get(platform) {
            Some(sink) => sink.deliver(sms, activation),
            None => {
                let reason = format!("platform {platform} has no SMS webhook configured here");
                Box::pin(async move {
                    DeliveryOutcome::Retry {
                        reason,
                        after: None,
                    }
                })
            }
        }
    }
}
