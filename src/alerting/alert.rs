//! What an alert is: the snapshot the rules read, the alert instances they
//! produce, and the notifications receivers get. Plain data, no behaviour
//! beyond naming and fingerprinting.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One account as the ledger sees it now.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountInput {
    pub name: String,
    pub balance: Decimal,
    pub runway_seconds: f64,
    pub account_burn_5m_usd_per_hour: f64,
    pub reload_usd_this_month: Decimal,
    pub reload_cap_usd: Option<Decimal>,
    /// A reload was refused this month because it would pass the cap.
    pub cap_reached_this_month: bool,
}

/// One (account, app, model) burn series.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesBurn {
    pub account: String,
    pub app: String,
    pub model: String,
    pub usd_per_hour_5m: f64,
}

impl SeriesBurn {
    /// Every series of a burn snapshot with its 5m rate.
    pub fn from_snapshot(snapshot: &crate::live::burn::BurnSnapshot) -> Vec<SeriesBurn> {
        snapshot
            .series
            .iter()
            .map(|s| SeriesBurn {
                account: s.key.account.clone(),
                app: s.key.app.clone(),
                model: s.key.model.clone(),
                usd_per_hour_5m: snapshot.series_rate(&s.key, crate::live::burn::WINDOW_5M),
            })
            .collect()
    }
}

/// One configured source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInput {
    pub name: String,
    /// The account the source books to (the `account` label).
    pub account: String,
    /// Time of the newest booked event.
    pub last_event: Option<DateTime<Utc>>,
    /// Its files grew during the last interval.
    pub files_growing: bool,
    /// Lines read during the last interval, by outcome.
    pub error_lines_recent: u64,
    pub ok_lines_recent: u64,
}

/// One plan window of an account, from its newest status-line snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanWindowInput {
    pub account: String,
    /// `five_hour`, `seven_day`, ...
    pub window: String,
    pub used_percent: Decimal,
    pub resets_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertInputs {
    pub now: DateTime<Utc>,
    pub accounts: Vec<AccountInput>,
    pub burn: Vec<SeriesBurn>,
    pub sources: Vec<SourceInput>,
    pub plan_windows: Vec<PlanWindowInput>,
    pub providers: Vec<ProviderInput>,
}

/// One provider's poller and the figures it gave its account
/// (`crate::providers`).
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderInput {
    pub provider: String,
    pub account: String,
    /// Why it counts as down (expired login, no success for three
    /// intervals), or `None` while it is up.
    pub down: Option<String>,
    /// The provider's extra-usage spend this period and its monthly limit.
    pub extra_spent: Option<Decimal>,
    pub extra_limit: Option<Decimal>,
    /// Spend the provider saw and the logs did not.
    pub unseen: Option<Decimal>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Firing,
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Firing => "firing",
            Status::Resolved => "resolved",
        }
    }
}

/// Labels identify an alert instance: `alertname`, `severity`, and
/// `account`, `app`, `model`, `source` where they apply.
pub type Labels = BTreeMap<String, String>;

/// One alert instance with the figures that made it fire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub labels: Labels,
    pub severity: Severity,
    pub summary: String,
    pub description: String,
    /// The figure that crossed, with its unit (`$18.40/h`).
    pub value: String,
    pub threshold: String,
    /// When it started firing.
    pub starts_at: DateTime<Utc>,
}

impl Alert {
    pub fn name(&self) -> &str {
        self.label("alertname")
    }

    /// A label's value, "" when absent.
    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).map(String::as_str).unwrap_or("")
    }

    /// Stable id of the instance, computed as Alertmanager computes its
    /// fingerprints (FNV-1a 64 over the sorted labels, each name and value
    /// followed by 0xff), so both name the same alert the same way.
    pub fn fingerprint(&self) -> String {
        const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let mut hash = OFFSET;
        for (name, value) in &self.labels {
            for byte in name.bytes().chain([0xff]).chain(value.bytes()).chain([0xff]) {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(PRIME);
            }
        }
        format!("{hash:016x}")
    }
}

/// What the receivers are told.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub status: Status,
    pub alert: Alert,
    /// When this was decided.
    pub at: DateTime<Utc>,
    /// Set when resolved.
    pub ends_at: Option<DateTime<Utc>>,
    /// A re-send of a still-firing alert.
    pub repeat: bool,
}

/// A firing instance as remembered across evaluations and restarts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FiringAlert {
    pub alert: Alert,
    pub since: DateTime<Utc>,
    pub last_sent: DateTime<Utc>,
}
