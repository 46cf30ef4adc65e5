//! `alerting:` in config.yaml: thresholds, delivery and receivers.
//!
//! A threshold left out switches its alert off (CreditBalanceExhausted, the
//! reload-cap alerts and CreditwatchSourceStale need none and are always on).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};

use super::hours::WorkingHours;
use crate::common::duration;
use crate::usage::money;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingConfig {
    /// How often the daemon evaluates the rules.
    #[serde(default = "default_evaluate_every", deserialize_with = "duration")]
    pub evaluate_every: Duration,
    /// Re-send a still-firing alert this long after the last send.
    #[serde(default = "default_repeat_every", deserialize_with = "duration")]
    pub repeat_every: Duration,
    /// CreditBalanceLow while the balance is below this.
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub low_balance_usd: Option<Decimal>,
    /// CreditRunwayShort while the runway is shorter than this.
    #[serde(default, deserialize_with = "duration_opt")]
    pub runway_short: Option<Duration>,
    /// AgentRunaway: one app/model above this over 5m...
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub runaway_usd_per_hour: Option<Decimal>,
    /// ...for this long.
    #[serde(default = "default_runaway_for", deserialize_with = "duration")]
    pub runaway_for: Duration,
    /// In the top-level `timezone`.
    #[serde(default)]
    pub working_hours: Option<WorkingHours>,
    /// AgentSpendOutsideWorkingHours: account spend over 5m above this.
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub outside_hours_usd_per_hour: Option<Decimal>,
    /// AutoReloadCapNearlyReached once this share of the cap is reloaded.
    #[serde(default = "default_cap_warning_percent")]
    pub reload_cap_warning_percent: u8,
    /// PlanWindowNearlyUsed once a plan window is used this far (percent).
    #[serde(default = "default_plan_window_warning_percent")]
    pub plan_window_warning_percent: u8,
    /// SpendUnseenByLogs: the provider's spend the logs did not show above
    /// this for `unseen_spend_for`.
    #[serde(default = "default_unseen_spend_usd", deserialize_with = "money::deserialize")]
    pub unseen_spend_usd: Decimal,
    #[serde(default = "default_unseen_spend_for", deserialize_with = "duration")]
    pub unseen_spend_for: Duration,
    /// ExtraUsageLimitNear once the provider's extra-usage spend is this share of its limit.
    #[serde(default = "default_extra_usage_warning_percent")]
    pub extra_usage_warning_percent: u8,
    /// CreditwatchSourceStale: no booked event this long while files grow.
    #[serde(default = "default_source_stale_after", deserialize_with = "duration")]
    pub source_stale_after: Duration,
    /// Link put in notifications (`externalURL`, `generatorURL`); default
    /// `http://<listen>`.
    #[serde(default)]
    pub external_url: Option<String>,
    #[serde(default)]
    pub delivery: DeliveryConfig,
    #[serde(default)]
    pub receivers: Vec<ReceiverConfig>,
}

fn default_evaluate_every() -> Duration {
    Duration::from_secs(15)
}
fn default_repeat_every() -> Duration {
    Duration::from_secs(4 * 3600)
}
fn default_runaway_for() -> Duration {
    Duration::from_secs(600)
}
fn default_cap_warning_percent() -> u8 {
    80
}
fn default_plan_window_warning_percent() -> u8 {
    90
}
fn default_unseen_spend_usd() -> Decimal {
    Decimal::ONE
}
fn default_unseen_spend_for() -> Duration {
    Duration::from_secs(1800)
}
fn default_extra_usage_warning_percent() -> u8 {
    90
}
fn default_source_stale_after() -> Duration {
    Duration::from_secs(1800)
}

/// How notifications are sent, for every receiver.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Notifications waiting per receiver; past this the oldest is dropped.
    pub queue_capacity: usize,
    /// One HTTP attempt may take this long.
    #[serde(deserialize_with = "duration")]
    pub timeout: Duration,
    /// First retry after about this long, doubling up to `retry_max`.
    #[serde(deserialize_with = "duration")]
    pub retry_base: Duration,
    #[serde(deserialize_with = "duration")]
    pub retry_max: Duration,
    /// Attempts per notification before it is given up.
    pub max_attempts: u32,
}

impl Default for DeliveryConfig {
    fn default() -> DeliveryConfig {
        DeliveryConfig {
            queue_capacity: 256,
            timeout: Duration::from_secs(10),
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(300),
            max_attempts: 10,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReceiverType {
    Webhook,
    Slack,
    Pagerduty,
    Alertmanager,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverConfig {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ReceiverType,
    /// Required except for pagerduty (default: the Events API v2 endpoint).
    /// For alertmanager, its base URL: `/api/v2/alerts` is appended.
    #[serde(default)]
    pub url: Option<String>,
    /// pagerduty: a file holding the integration's routing key.
    #[serde(default)]
    pub routing_key_file: Option<PathBuf>,
    /// Also notify when an alert resolves (alertmanager always is).
    #[serde(default = "yes")]
    pub send_resolved: bool,
}

fn yes() -> bool {
    true
}

pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

fn duration_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    #[derive(Deserialize)]
    struct Wrap(#[serde(deserialize_with = "duration")] Duration);
    Option::<Wrap>::deserialize(d).map(|w| w.map(|Wrap(d)| d))
}

impl AlertingConfig {
    /// Cross-field checks as `(field path, message)`; relative
    /// `routing_key_file`s are looked up from `base` (the config's folder).
    pub fn validate(&self, base: &Path) -> Result<(), (String, String)> {
        let field = |f: &str| format!("alerting.{f}");
        for (name, d) in [("evaluate_every", self.evaluate_every), ("repeat_every", self.repeat_every)] {
            if d.is_zero() {
                return Err((field(name), "must be more than 0s".into()));
            }
        }
        for (name, v) in [
            ("low_balance_usd", self.low_balance_usd),
            ("runaway_usd_per_hour", self.runaway_usd_per_hour),
            ("outside_hours_usd_per_hour", self.outside_hours_usd_per_hour),
        ] {
            if v.is_some_and(|v| v < Decimal::ZERO) {
                return Err((field(name), "must not be negative".into()));
            }
        }
        if self.outside_hours_usd_per_hour.is_some() && self.working_hours.is_none() {
            return Err((field("outside_hours_usd_per_hour"), "needs working_hours: { days, start, end }".into()));
        }
        if !(1..=100).contains(&self.reload_cap_warning_percent) {
            return Err((field("reload_cap_warning_percent"), "must be between 1 and 100".into()));
        }
        if !(1..=100).contains(&self.extra_usage_warning_percent) {
            return Err((field("extra_usage_warning_percent"), "must be between 1 and 100".into()));
        }
        if self.unseen_spend_usd < Decimal::ZERO {
            return Err((field("unseen_spend_usd"), "must not be negative".into()));
        }
        if !(1..=99).contains(&self.plan_window_warning_percent) {
            return Err((field("plan_window_warning_percent"), "must be between 1 and 99 (100 is PlanWindowExhausted)".into()));
        }
        if let Some(url) = &self.external_url {
            check_url(url).map_err(|m| (field("external_url"), m))?;
        }
        self.validate_delivery()?;
        let mut names = HashSet::new();
        for (i, r) in self.receivers.iter().enumerate() {
            let at = |f: &str| field(&format!("receivers[{i}].{f}"));
            if r.name.trim().is_empty() {
                return Err((at("name"), "receiver name is empty".into()));
            }
            if !names.insert(r.name.as_str()) {
                return Err((at("name"), format!("receiver `{}` is defined twice", r.name)));
            }
            match (&r.url, r.kind) {
                (Some(url), _) => check_url(url).map_err(|m| (at("url"), m))?,
                (None, ReceiverType::Pagerduty) => {}
                (None, _) => return Err((at("url"), "this receiver type needs a url".into())),
            }
            match (&r.routing_key_file, r.kind) {
                (Some(file), ReceiverType::Pagerduty) => {
                    let path = crate::common::resolve_path(base, file);
                    if !path.is_file() {
                        return Err((at("routing_key_file"), format!("{} does not exist or is not a file", path.display())));
                    }
                }
                (None, ReceiverType::Pagerduty) => return Err((at("routing_key_file"), "pagerduty needs routing_key_file".into())),
                (Some(_), _) => return Err((at("routing_key_file"), "only pagerduty receivers take a routing_key_file".into())),
                (None, _) => {}
            }
        }
        Ok(())
    }

    fn validate_delivery(&self) -> Result<(), (String, String)> {
        let d = &self.delivery;
        let field = |f: &str| format!("alerting.delivery.{f}");
        if d.queue_capacity == 0 {
            return Err((field("queue_capacity"), "must be at least 1".into()));
        }
        if d.max_attempts == 0 {
            return Err((field("max_attempts"), "must be at least 1".into()));
        }
        if d.timeout.is_zero() {
            return Err((field("timeout"), "must be more than 0s".into()));
        }
        if d.retry_base > d.retry_max {
            return Err((field("retry_base"), "must not be longer than retry_max".into()));
        }
        Ok(())
    }

    /// Makes relative `routing_key_file`s absolute from `base`.
    pub fn resolve_paths(&mut self, base: &Path) {
        for r in &mut self.receivers {
            if let Some(file) = &r.routing_key_file {
                r.routing_key_file = Some(crate::common::resolve_path(base, file));
            }
        }
    }
}

fn check_url(text: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("`{text}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{text}` is not an http or https URL"));
    }
    Ok(())
}
