//! What the pollers know now, for the metrics, the alerts, the API and the
//! status line: per provider, when it last succeeded, how its requests
//! went, and its newest observation. Live, not journaled: the figures that
//! must survive a restart go through the ledger.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::client::Outcome;
use super::config::{Kind, ProviderConfig};
use super::observation::Observation;
use super::{Poll, PollError};

/// ProviderDown: no successful poll for this many intervals.
pub const DOWN_AFTER_INTERVALS: u32 = 3;

#[derive(Debug, Clone)]
pub struct ProviderStatus {
    pub name: String,
    pub kind: Kind,
    pub account: String,
    pub poll_every: Duration,
    /// When its poller started (the reference before a first success).
    pub started: DateTime<Utc>,
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    /// The last poll succeeded.
    pub up: bool,
    /// The login the secret comes from has expired (no request was made).
    pub expired: bool,
    /// The last poll's failure, as the log said it (never a secret).
    pub last_error: Option<String>,
    /// Requests by outcome since the start (`Outcome::ALL` order).
    pub requests: [u64; 4],
    pub observation: Option<Observation>,
}

impl ProviderStatus {
    pub fn new(config: &ProviderConfig, started: DateTime<Utc>) -> ProviderStatus {
        ProviderStatus {
            name: config.name.clone(),
            kind: config.kind,
            account: config.account.clone(),
            poll_every: config.poll_every,
            started,
            last_attempt: None,
            last_success: None,
            up: false,
            expired: false,
            last_error: None,
            requests: [0; 4],
            observation: None,
        }
    }

    /// Takes in one poll's result.
    pub fn record(&mut self, at: DateTime<Utc>, poll: &Poll) {
        for outcome in &poll.requests {
            if let Some(i) = Outcome::ALL.iter().position(|o| o == outcome) {
                self.requests[i] += 1;
            }
        }
        self.last_attempt = Some(at);
        match &poll.result {
            Ok(observation) => {
                self.up = true;
                self.expired = false;
                self.last_error = None;
                self.last_success = Some(at);
                self.observation = Some(observation.clone());
            }
            Err(e) => {
                self.up = false;
                self.expired = matches!(e, PollError::Secret(super::secret::SecretError::Expired { .. }));
                self.last_error = Some(e.to_string());
            }
        }
    }

    pub fn requests(&self, outcome: Outcome) -> u64 {
        Outcome::ALL.iter().position(|o| *o == outcome).map_or(0, |i| self.requests[i])
    }

    /// ProviderDown: an expired login, or no success for three intervals
    /// (counted from the start before the first one).
    pub fn down_at(&self, now: DateTime<Utc>) -> bool {
        let since = self.last_success.unwrap_or(self.started);
        let limit = chrono::Duration::from_std(self.poll_every * DOWN_AFTER_INTERVALS).unwrap_or(chrono::Duration::MAX);
        self.expired || now - since >= limit
    }
}

/// Every provider's status, by name.
#[derive(Debug, Default)]
pub struct Board(Mutex<BTreeMap<String, ProviderStatus>>);

impl Board {
    /// Sets the providers of a (re)loaded config: new ones start, gone ones
    /// leave, kept ones keep their counts (the counter must not go back) and
    /// their last result (a reload is not a failed poll).
    pub fn configure(&self, configs: &[ProviderConfig], now: DateTime<Utc>) {
        let mut map = self.lock();
        let old = std::mem::take(&mut *map);
        for c in configs {
            let mut status = ProviderStatus::new(c, now);
            if let Some(before) = old.get(&c.name) {
                status.requests = before.requests;
                status.last_attempt = before.last_attempt;
                status.last_success = before.last_success;
                status.up = before.up;
                status.expired = before.expired;
                status.last_error = before.last_error.clone();
                status.observation = before.observation.clone();
            }
            map.insert(c.name.clone(), status);
        }
    }

    pub fn update(&self, name: &str, change: impl FnOnce(&mut ProviderStatus)) {
        if let Some(s) = self.lock().get_mut(name) {
            change(s);
        }
    }

    pub fn snapshot(&self) -> Vec<ProviderStatus> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, ProviderStatus>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::client::Failure;

    fn config() -> ProviderConfig {
        serde_yaml_ng::from_str("{name: claude, kind: claude_oauth, account: personal, poll_every: 5m}").unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        format!("2026-12-03T{s}:00Z").parse().unwrap()
    }

    #[test]
    fn down_after_three_intervals_without_success_or_with_an_expired_login() {
        let mut s = ProviderStatus::new(&config(), t("10:00"));
        assert!(!s.down_at(t("10:14")));
        assert!(s.down_at(t("10:15")), "never succeeded for 15 minutes");
        s.record(t("10:16"), &Poll { requests: vec![Outcome::Ok], result: Ok(Observation::new(t("10:16"))) });
        assert!(s.up && !s.down_at(t("10:30")));
        assert!(s.down_at(t("10:31")));
        let failed = Poll { requests: vec![Outcome::Throttled], result: Err(PollError::Request(Failure::error("x", true))) };
        s.record(t("10:20"), &failed);
        assert!(!s.up && !s.down_at(t("10:21")));
        let expired = crate::providers::secret::SecretError::Expired { path: "p".into(), expired_at: t("09:00") };
        s.record(t("10:22"), &Poll { requests: vec![], result: Err(PollError::Secret(expired)) });
        assert!(s.down_at(t("10:22")), "an expired login is down at once");
        assert_eq!((s.requests(Outcome::Ok), s.requests(Outcome::Throttled), s.requests(Outcome::Error)), (1, 1, 0));
    }

    #[test]
    fn a_reload_keeps_the_counts_of_kept_providers() {
        let board = Board::default();
        board.configure(&[config()], t("10:00"));
        board.update("claude", |s| s.record(t("10:01"), &Poll { requests: vec![Outcome::Ok], result: Ok(Observation::new(t("10:01"))) }));
        board.configure(&[config()], t("11:00"));
        let s = &board.snapshot()[0];
        assert_eq!((s.requests(Outcome::Ok), s.last_success, s.started, s.up), (1, Some(t("10:01")), t("11:00"), true));
        board.configure(&[], t("11:01"));
        assert!(board.snapshot().is_empty());
    }
}
