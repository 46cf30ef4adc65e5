//! Daemon-side alerting: for teams without Alertmanager, and a second path
//! when Prometheus itself is down.
//!
//! The pieces, pure core first:
//! - `alert`: the data: inputs snapshot, alert instances, notifications;
//! - `rules`: `AlertEngine`, snapshot in, firing/repeat/resolved out;
//! - `hours`: working days and hours in the configured time zone;
//! - `payload`: the JSON each receiver type expects;
//! - `notify` and `queue`: a bounded queue and a task per receiver,
//!   retries, counters;
//! - `state`: the firing set in `STATE_DIR/alerts.json`;
//! - `config`: `alerting:` in config.yaml.
//!
//! `Alerting` ties them together for the daemon, which calls `evaluate`
//! every `evaluate_every` with a fresh `AlertInputs`. `evaluate` never waits
//! on the network: it only enqueues.

pub mod alert;
pub mod config;
pub mod hours;
pub mod notify;
pub mod payload;
mod queue;
pub mod rules;
pub mod state;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

pub use alert::{
    AccountInput, Alert, AlertInputs, FiringAlert, Notification, PlanWindowInput, ProviderInput, SeriesBurn, Severity, SourceInput, Status,
};
pub use config::AlertingConfig;
pub use notify::{Dispatcher, NotificationCounts};
pub use rules::AlertEngine;
pub use state::{AlertStore, SharedFiring, StateError};

/// Firing alerts are re-posted to Alertmanager receivers this often (as
/// Prometheus does), so Alertmanager does not resolve them on its own.
pub const ALERTMANAGER_REFRESH_SECS: i64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum AlertingError {
    #[error("receiver {receiver}: cannot read routing_key_file {}: {source}", path.display())]
    RoutingKey { receiver: String, path: PathBuf, source: std::io::Error },
    #[error("receiver {receiver}: routing_key_file {} is empty", path.display())]
    EmptyRoutingKey { receiver: String, path: PathBuf },
    #[error("receiver {receiver}: url `{url}`: {message}")]
    Url { receiver: String, url: String, message: String },
    #[error("receiver {receiver}: cannot build an HTTP client: {source}")]
    Client { receiver: String, source: reqwest::Error },
}

/// rustls 0.23 panics when it must pick between two compiled-in crypto
/// providers; installing one up front makes the choice. Another part of the
/// process may have installed one already, which is just as good.
pub fn install_crypto_provider() {
    crate::common::install_crypto_provider();
}

/// Rules, state file and receivers, as the daemon runs them.
pub struct Alerting {
    engine: AlertEngine,
    store: AlertStore,
    dispatcher: Dispatcher,
    evaluate_every: Duration,
    last_refresh: Option<DateTime<Utc>>,
}

impl Alerting {
    /// Loads the saved firing set and starts one task per receiver; call it
    /// inside the tokio runtime. `external_url` is the default link in
    /// notifications (`http://<listen>`) when the config sets none.
    pub fn start(config: &AlertingConfig, tz: Tz, state_dir: &Path, external_url: &str) -> Result<Alerting, AlertingError> {
        Alerting::start_with(config, tz, AlertStore::new(state_dir), external_url)
    }

    /// `start` with the firing set kept in `store` (shared by replicas).
    pub fn start_with(config: &AlertingConfig, tz: Tz, store: AlertStore, external_url: &str) -> Result<Alerting, AlertingError> {
        let firing = store.load().unwrap_or_else(|e| {
            // Losing the set costs at worst one repeated page; refusing to
            // start would cost every page.
            tracing::warn!(error = %e, "alert state unreadable; starting with no firing alerts");
            Vec::new()
        });
        let external_url = config.external_url.as_deref().unwrap_or(external_url);
        let dispatcher = Dispatcher::start(config, external_url, &hostname())?;
        Ok(Alerting {
            engine: AlertEngine::new(config, tz).with_firing(firing),
            store,
            dispatcher,
            evaluate_every: config.evaluate_every,
            last_refresh: None,
        })
    }

    pub fn evaluate_every(&self) -> Duration {
        self.evaluate_every
    }

    /// Evaluates the rules, saves the firing set when it changed and queues
    /// the notifications; returns them (for logs and tests).
    pub fn evaluate(&mut self, inputs: &AlertInputs) -> Vec<Notification> {
        let before = self.store.is_shared().then(|| self.engine.firing_alerts());
        let notifications = self.engine.evaluate(inputs);
        if self.engine.take_changed() {
            if let Err(e) = self.store.save(&self.engine.firing_alerts()) {
                tracing::error!(error = %e, "cannot save the alert state");
                if let Some(before) = before {
                    // Another replica may be the writer now: it decides
                    // what is sent, from the set it can read. If this one
                    // still is, the next evaluation makes them again.
                    tracing::warn!(held = notifications.len(), "notifications held back: the shared alert state is not saved");
                    self.engine.restore(before);
                    return Vec::new();
                }
            }
        }
        for n in &notifications {
            tracing::info!(alert = n.alert.name(), status = n.status.as_str(), repeat = n.repeat, labels = ?n.alert.labels, value = %n.alert.value, threshold = %n.alert.threshold, "alert");
            self.dispatcher.notify(n);
        }
        self.refresh_alertmanagers(inputs.now, &notifications);
        notifications
    }

    /// Every `ALERTMANAGER_REFRESH_SECS`, re-posts the firing alerts that
    /// this evaluation did not just send.
    fn refresh_alertmanagers(&mut self, now: DateTime<Utc>, just_sent: &[Notification]) {
        let due = self.last_refresh.is_none_or(|last| now - last >= chrono::Duration::seconds(ALERTMANAGER_REFRESH_SECS));
        if !due || !self.dispatcher.has_alertmanagers() {
            return;
        }
        self.last_refresh = Some(now);
        let alerts: Vec<_> = self
            .engine
            .firing_alerts()
            .into_iter()
            .map(|f| f.alert)
            .filter(|a| !just_sent.iter().any(|n| n.alert.labels == a.labels))
            .collect();
        if !alerts.is_empty() {
            self.dispatcher.refresh_alertmanagers(&alerts, now);
        }
    }

    /// (alertname, account) pairs for `creditwatch_alert_firing`.
    pub fn firing(&self) -> Vec<(String, String)> {
        self.engine.firing()
    }

    /// `creditwatch_notifications_total`; register `counts().counter()`.
    pub fn counts(&self) -> &NotificationCounts {
        self.dispatcher.counts()
    }

    /// Notifications dropped from `receiver`'s full queue (logged as warnings).
    pub fn dropped(&self, receiver: &str) -> u64 {
        self.dispatcher.dropped(receiver)
    }

    /// Lets queued notifications go out for up to `grace`, then stops.
    pub async fn shutdown(self, grace: Duration) {
        self.dispatcher.shutdown(grace).await;
    }
}

/// The PagerDuty `source`: this machine's name.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "creditwatch".into())
}
