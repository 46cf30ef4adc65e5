//! Delivery: one bounded queue and one tokio task per receiver.
//!
//! The rules only enqueue (`Dispatcher::notify` never waits), so a slow or
//! dead receiver can hold up neither ingestion nor the other receivers.
//! Invariants:
//! - a full queue drops its oldest entry, with a warning;
//! - each HTTP attempt counts once in `creditwatch_notifications_total`:
//!   `sent` for a 2xx, `failed` for anything else (error status, refused
//!   connection, timeout). A notification answered 500, 500, 500, 200 counts
//!   `failed` 3 and `sent` 1;
//! - failed attempts are retried after an exponential backoff with jitter
//!   (half to all of `retry_base * 2^n`, at most `retry_max`), up to
//!   `max_attempts`; a 4xx other than 408 and 429 is not retried (the body
//!   will not get better).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use prometheus::{IntCounterVec, Opts};
use serde_json::Value;
use tokio::task::JoinHandle;

use super::alert::{Alert, Notification, Status};
use super::config::{AlertingConfig, DeliveryConfig, ReceiverConfig, ReceiverType, PAGERDUTY_EVENTS_URL};
use super::payload;
use super::queue::{Delivery, Queue};
use super::AlertingError;

/// `creditwatch_notifications_total{receiver,outcome}`; register `counter()`
/// in the metrics registry.
#[derive(Debug, Clone)]
pub struct NotificationCounts {
    counter: IntCounterVec,
}

impl NotificationCounts {
    fn new(receivers: &[ReceiverConfig]) -> NotificationCounts {
        let opts = Opts::new("creditwatch_notifications_total", "Alert notification attempts by receiver and outcome (sent, failed).");
        // The name and labels are constants: this cannot fail.
        let counter = IntCounterVec::new(opts, &["receiver", "outcome"]).unwrap_or_else(|e| unreachable!("{e}"));
        for r in receivers {
            for outcome in ["sent", "failed"] {
                counter.with_label_values(&[r.name.as_str(), outcome]);
            }
        }
        NotificationCounts { counter }
    }

    pub fn counter(&self) -> IntCounterVec {
        self.counter.clone()
    }

    pub fn sent(&self, receiver: &str) -> u64 {
        self.counter.with_label_values(&[receiver, "sent"]).get()
    }

    pub fn failed(&self, receiver: &str) -> u64 {
        self.counter.with_label_values(&[receiver, "failed"]).get()
    }
}

/// One configured receiver, ready to post.
struct Target {
    name: String,
    kind: ReceiverType,
    url: reqwest::Url,
    routing_key: String,
    client: reqwest::Client,
    external_url: String,
    source: String,
}

#[derive(Debug, thiserror::Error)]
enum SendError {
    #[error("{0}")]
    Http(#[from] reqwest::Error),
    #[error("answered HTTP {0}")]
    Status(u16),
}

impl SendError {
    fn permanent(&self) -> bool {
        matches!(self, SendError::Status(s) if (400..500).contains(s) && *s != 408 && *s != 429)
    }
}

impl Target {
    fn body(&self, d: &Delivery) -> Value {
        match (d, self.kind) {
            (Delivery::One(n), ReceiverType::Webhook) => payload::webhook(&self.name, &self.external_url, n),
            (Delivery::One(n), ReceiverType::Slack) => payload::slack(n),
            (Delivery::One(n), ReceiverType::Pagerduty) => payload::pagerduty(&self.routing_key, &self.source, &self.external_url, n),
            (Delivery::One(n), ReceiverType::Alertmanager) => {
                let ends_at = n.ends_at.unwrap_or(n.at + alertmanager_lifetime());
                payload::alertmanager(&self.external_url, &[(&n.alert, ends_at)])
            }
            (Delivery::Refresh { alerts, ends_at }, _) => {
                let pairs: Vec<(&Alert, DateTime<Utc>)> = alerts.iter().map(|a| (a, *ends_at)).collect();
                payload::alertmanager(&self.external_url, &pairs)
            }
        }
    }

    async fn post(&self, body: &Value) -> Result<(), SendError> {
        let response = self.client.post(self.url.clone()).json(body).send().await?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(SendError::Status(status.as_u16()))
        }
    }
}

/// How long Alertmanager keeps a firing alert we stop re-sending: four
/// refresh intervals, as Prometheus does.
pub(super) fn alertmanager_lifetime() -> chrono::Duration {
    chrono::Duration::seconds(4 * super::ALERTMANAGER_REFRESH_SECS)
}

#[derive(Debug, Clone, Copy)]
struct Retry {
    base: Duration,
    max: Duration,
    attempts: u32,
}

impl Retry {
    /// Half to all of `base * 2^(attempt-1)`, capped at `max`.
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(20);
        let full = self.base.saturating_mul(factor).min(self.max);
        let half = full / 2;
        half + Duration::from_nanos(fastrand::u64(0..=(full - half).as_nanos().min(u64::MAX as u128) as u64))
    }
}

struct Handle {
    name: String,
    kind: ReceiverType,
    send_resolved: bool,
    queue: Arc<Queue>,
}

/// The receivers' queues and tasks. Must be started inside a tokio runtime.
pub struct Dispatcher {
    handles: Vec<Handle>,
    tasks: Vec<JoinHandle<()>>,
    counts: NotificationCounts,
}

impl Dispatcher {
    /// Reads routing keys and starts one task per receiver.
    pub fn start(config: &AlertingConfig, external_url: &str, source: &str) -> Result<Dispatcher, AlertingError> {
        let counts = NotificationCounts::new(&config.receivers);
        let retry =
            Retry { base: config.delivery.retry_base, max: config.delivery.retry_max, attempts: config.delivery.max_attempts.max(1) };
        let mut dispatcher = Dispatcher { handles: Vec::new(), tasks: Vec::new(), counts: counts.clone() };
        for r in &config.receivers {
            let target = target(r, &config.delivery, external_url, source)?;
            let queue = Arc::new(Queue::new(config.delivery.queue_capacity));
            dispatcher.tasks.push(tokio::spawn(run(target, queue.clone(), counts.clone(), retry)));
            dispatcher.handles.push(Handle { name: r.name.clone(), kind: r.kind, send_resolved: r.send_resolved, queue });
        }
        Ok(dispatcher)
    }

    /// Queues `n` for every receiver that wants it; never waits.
    pub fn notify(&self, n: &Notification) {
        for h in &self.handles {
            let wanted = n.status == Status::Firing || h.send_resolved || h.kind == ReceiverType::Alertmanager;
            if wanted && !h.queue.push(Delivery::One(n.clone())) {
                tracing::warn!(receiver = %h.name, "notification queue full: dropped the oldest notification");
            }
        }
    }

    /// Re-sends the firing set to the alertmanager receivers.
    pub fn refresh_alertmanagers(&self, alerts: &[Alert], now: DateTime<Utc>) {
        let ends_at = now + alertmanager_lifetime();
        for h in self.handles.iter().filter(|h| h.kind == ReceiverType::Alertmanager) {
            if !h.queue.push(Delivery::Refresh { alerts: alerts.to_vec(), ends_at }) {
                tracing::warn!(receiver = %h.name, "notification queue full: dropped the oldest notification");
            }
        }
    }

    pub fn has_alertmanagers(&self) -> bool {
        self.handles.iter().any(|h| h.kind == ReceiverType::Alertmanager)
    }

    pub fn counts(&self) -> &NotificationCounts {
        &self.counts
    }

    /// Notifications dropped from `receiver`'s full queue.
    pub fn dropped(&self, receiver: &str) -> u64 {
        self.handles.iter().find(|h| h.name == receiver).map_or(0, |h| h.queue.dropped())
    }

    /// Lets the queues drain for up to `grace`, then stops the tasks.
    pub async fn shutdown(self, grace: Duration) {
        for h in &self.handles {
            h.queue.close();
        }
        let deadline = tokio::time::Instant::now() + grace;
        for task in self.tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout_at(deadline, task).await.is_err() {
                abort.abort();
            }
        }
    }
}

fn target(r: &ReceiverConfig, delivery: &DeliveryConfig, external_url: &str, source: &str) -> Result<Target, AlertingError> {
    let url_text = match (r.kind, &r.url) {
        (ReceiverType::Alertmanager, Some(u)) => format!("{}/api/v2/alerts", u.trim_end_matches('/')),
        (_, Some(u)) => u.clone(),
        (ReceiverType::Pagerduty, None) => PAGERDUTY_EVENTS_URL.to_string(),
        (_, None) => String::new(),
    };
    let url = reqwest::Url::parse(&url_text).map_err(|e| AlertingError::Url {
        receiver: r.name.clone(),
        url: url_text.clone(),
        message: e.to_string(),
    })?;
    let routing_key = match (&r.routing_key_file, r.kind) {
        (Some(path), ReceiverType::Pagerduty) => {
            let key = std::fs::read_to_string(path).map_err(|source| AlertingError::RoutingKey {
                receiver: r.name.clone(),
                path: path.clone(),
                source,
            })?;
            let key = key.trim().to_string();
            if key.is_empty() {
                return Err(AlertingError::EmptyRoutingKey { receiver: r.name.clone(), path: path.clone() });
            }
            key
        }
        _ => String::new(),
    };
    super::install_crypto_provider();
    let client = reqwest::Client::builder()
        .timeout(delivery.timeout)
        .user_agent(concat!("creditwatch/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|source| AlertingError::Client { receiver: r.name.clone(), source })?;
    Ok(Target {
        name: r.name.clone(),
        kind: r.kind,
        url,
        routing_key,
        client,
        external_url: external_url.to_string(),
        source: source.to_string(),
    })
}

/// A receiver's task: deliver each queued entry in order.
async fn run(target: Target, queue: Arc<Queue>, counts: NotificationCounts, retry: Retry) {
    while let Some(d) = queue.pop().await {
        let body = target.body(&d);
        deliver(&target, &body, &counts, retry).await;
    }
}

async fn deliver(target: &Target, body: &Value, counts: &NotificationCounts, retry: Retry) {
    let sent = counts.counter.with_label_values(&[target.name.as_str(), "sent"]);
    let failed = counts.counter.with_label_values(&[target.name.as_str(), "failed"]);
    for attempt in 1..=retry.attempts {
        let error = match target.post(body).await {
            Ok(()) => {
                sent.inc();
                return;
            }
            Err(e) => e,
        };
        failed.inc();
        if error.permanent() || attempt == retry.attempts {
            tracing::error!(receiver = %target.name, attempt, %error, "giving up on a notification");
            return;
        }
        let wait = retry.backoff(attempt);
        tracing::warn!(receiver = %target.name, attempt, %error, retry_in = ?wait, "notification failed; retrying");
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let retry = Retry { base: Duration::from_millis(100), max: Duration::from_secs(1), attempts: 10 };
        for _ in 0..200 {
            for (attempt, full) in [(1, 100), (2, 200), (3, 400), (4, 800), (5, 1000), (40, 1000)] {
                let d = retry.backoff(attempt);
                assert!(d >= Duration::from_millis(full / 2) && d <= Duration::from_millis(full), "attempt {attempt}: {d:?}");
            }
        }
    }

    #[test]
    fn only_client_errors_are_permanent() {
        assert!(SendError::Status(400).permanent());
        assert!(SendError::Status(404).permanent());
        assert!(!SendError::Status(429).permanent());
        assert!(!SendError::Status(408).permanent());
        assert!(!SendError::Status(500).permanent());
        assert!(!SendError::Status(503).permanent());
    }
}
