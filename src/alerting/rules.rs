//! The alert rules: a pure state machine from snapshots to notifications.
//!
//! Each `evaluate` gets a plain `AlertInputs` snapshot (the daemon fills it
//! every `evaluate_every`) and the time in it; nothing here reads a clock or
//! does I/O. An alert instance is identified by its labels. Invariants:
//! - an instance fires once when its condition starts to hold (AgentRunaway
//!   only after `runaway_for`), repeats every `repeat_every` while it holds,
//!   and resolves once when it stops; a firing instance whose subject
//!   vanished from the inputs resolves too;
//! - a firing instance keeps firing while its condition holds, even when its
//!   pending time was lost (a restart), so a restart never flaps it;
//! - `since` and `last_sent` come back from `state.rs` after a restart, so a
//!   still-firing alert is not re-sent before `repeat_every`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use super::alert::{AccountInput, Alert, AlertInputs, FiringAlert, Labels, Notification, Severity, Status};
use super::config::AlertingConfig;
use super::hours::WorkingHours;
use crate::usage::money;

/// Thresholds in the forms the rules compare against.
#[derive(Debug, Clone)]
struct Rules {
    repeat_every: chrono::Duration,
    low_balance: Option<Decimal>,
    runway_short: Option<Duration>,
    runaway: Option<f64>,
    runaway_for: chrono::Duration,
    working_hours: Option<WorkingHours>,
    outside_hours: Option<f64>,
    cap_warning_percent: Decimal,
    plan_window_warning_percent: Decimal,
    source_stale_after: chrono::Duration,
    providers: provider_rules::ProviderRules,
    tz: Tz,
}

fn span(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

#[derive(Debug)]
pub struct AlertEngine {
    rules: Rules,
    firing: BTreeMap<Labels, FiringAlert>,
    /// AgentRunaway instances above the limit but not yet for `runaway_for`.
    pending: BTreeMap<Labels, DateTime<Utc>>,
    /// SpendUnseenByLogs instances above the threshold, not yet for long enough.
    unseen_pending: BTreeMap<Labels, DateTime<Utc>>,
    /// When each source was first seen, the staleness reference before its
    /// first booked event.
    first_seen: BTreeMap<String, DateTime<Utc>>,
    changed: bool,
}

impl AlertEngine {
    /// `tz` is the top-level `timezone`, where working hours are read.
    pub fn new(config: &AlertingConfig, tz: Tz) -> AlertEngine {
        let rules = Rules {
            repeat_every: span(config.repeat_every),
            low_balance: config.low_balance_usd,
            runway_short: config.runway_short,
            runaway: config.runaway_usd_per_hour.map(money::to_f64),
            runaway_for: span(config.runaway_for),
            working_hours: config.working_hours.clone(),
            outside_hours: config.outside_hours_usd_per_hour.map(money::to_f64),
            cap_warning_percent: Decimal::from(config.reload_cap_warning_percent),
            plan_window_warning_percent: Decimal::from(config.plan_window_warning_percent),
            source_stale_after: span(config.source_stale_after),
            providers: provider_rules::ProviderRules {
                warning_percent: Decimal::from(config.extra_usage_warning_percent),
                unseen_above: config.unseen_spend_usd,
                unseen_for: span(config.unseen_spend_for),
            },
            tz,
        };
        AlertEngine {
            rules,
            firing: BTreeMap::new(),
            pending: BTreeMap::new(),
            unseen_pending: BTreeMap::new(),
            first_seen: BTreeMap::new(),
            changed: false,
        }
    }

    /// Starts from a firing set saved before a restart.
    pub fn with_firing(mut self, firing: Vec<FiringAlert>) -> AlertEngine {
        self.firing = firing.into_iter().map(|f| (f.alert.labels.clone(), f)).collect();
        self
    }

    /// Puts the firing set back as it was before an evaluation whose
    /// notifications were not sent: the next evaluation makes them again.
    pub fn restore(&mut self, firing: Vec<FiringAlert>) {
        self.firing = firing.into_iter().map(|f| (f.alert.labels.clone(), f)).collect();
        self.changed = false;
    }

    /// Evaluates every rule at `inputs.now`: firing, repeated and resolved
    /// notifications, in that order.
    pub fn evaluate(&mut self, inputs: &AlertInputs) -> Vec<Notification> {
        let now = inputs.now;
        let active = self.conditions(inputs);
        let mut out = Vec::new();
        for (labels, alert) in &active {
            match self.firing.get_mut(labels) {
                Some(f) => {
                    f.alert = Alert { starts_at: f.alert.starts_at, ..alert.clone() };
                    if now - f.last_sent >= self.rules.repeat_every {
                        f.last_sent = now;
                        self.changed = true;
                        out.push(Notification { status: Status::Firing, alert: f.alert.clone(), at: now, ends_at: None, repeat: true });
                    }
                }
                None => {
                    self.firing.insert(labels.clone(), FiringAlert { alert: alert.clone(), since: now, last_sent: now });
                    self.changed = true;
                    out.push(Notification { status: Status::Firing, alert: alert.clone(), at: now, ends_at: None, repeat: false });
                }
            }
        }
        let cleared: Vec<Labels> = self.firing.keys().filter(|l| !active.contains_key(*l)).cloned().collect();
        for labels in cleared {
            if let Some(f) = self.firing.remove(&labels) {
                self.changed = true;
                out.push(Notification { status: Status::Resolved, alert: f.alert, at: now, ends_at: Some(now), repeat: false });
            }
        }
        // Firing first, then repeats, then resolves: a stable order for receivers.
        out.sort_by_key(|n| (n.status == Status::Resolved, n.repeat));
        out
    }

    /// (alertname, account) of every firing instance, for
    /// `creditwatch_alert_firing`.
    pub fn firing(&self) -> Vec<(String, String)> {
        let set: BTreeSet<(String, String)> =
            self.firing.values().map(|f| (f.alert.name().to_string(), f.alert.label("account").to_string())).collect();
        set.into_iter().collect()
    }

    /// The firing set, for the state file and Alertmanager refreshes.
    pub fn firing_alerts(&self) -> Vec<FiringAlert> {
        self.firing.values().cloned().collect()
    }

    /// Whether the firing set changed since the last call (save it then).
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// Every instance whose condition holds now.
    fn conditions(&mut self, inputs: &AlertInputs) -> BTreeMap<Labels, Alert> {
        let mut active = Vec::new();
        for a in &inputs.accounts {
            self.account_alerts(a, inputs.now, &mut active);
        }
        self.runaway_alerts(inputs, &mut active);
        self.source_alerts(inputs, &mut active);
        plan_rules::plan_window_alerts(self.rules.plan_window_warning_percent, &inputs.plan_windows, inputs.now, &mut active);
        let firing = |labels: &Labels| self.firing.contains_key(labels);
        provider_rules::provider_alerts(
            &self.rules.providers,
            &inputs.providers,
            inputs.now,
            &firing,
            &mut self.unseen_pending,
            &mut active,
        );
        active.into_iter().map(|a| (a.labels.clone(), a)).collect()
    }

    fn account_alerts(&self, a: &AccountInput, now: DateTime<Utc>, out: &mut Vec<Alert>) {
        let r = &self.rules;
        let new = |name, severity, summary: String, value: String, threshold: String| {
            alert(name, severity, &[("account", &a.name)], summary, value, threshold, now)
        };
        if let Some(low) = r.low_balance.filter(|low| a.balance < *low) {
            let summary = format!("Credit balance of {} is low", a.name);
            out.push(new("CreditBalanceLow", Severity::Warning, summary, dollars(a.balance), dollars(low)));
        }
        if a.balance <= Decimal::ZERO {
            let summary = format!("Credit balance of {} is exhausted: third-party requests are being rejected", a.name);
            out.push(new("CreditBalanceExhausted", Severity::Critical, summary, dollars(a.balance), dollars(Decimal::ZERO)));
        }
        if let Some(short) = r.runway_short.filter(|s| a.runway_seconds < s.as_secs_f64()) {
            let summary = format!("Credit of {} runs out in {} at the 1h burn rate", a.name, human_secs(a.runway_seconds));
            out.push(new("CreditRunwayShort", Severity::Critical, summary, human_secs(a.runway_seconds), human_secs(short.as_secs_f64())));
        }
        if let Some(limit) = r.outside_hours {
            let outside = r.working_hours.as_ref().is_some_and(|w| !w.contains(now, r.tz));
            if outside && a.account_burn_5m_usd_per_hour > limit {
                let summary = format!("{} is spending outside working hours", a.name);
                out.push(new(
                    "AgentSpendOutsideWorkingHours",
                    Severity::Warning,
                    summary,
                    per_hour(a.account_burn_5m_usd_per_hour),
                    per_hour(limit),
                ));
            }
        }
        if let Some(cap) = a.reload_cap_usd.filter(|c| *c > Decimal::ZERO) {
            let used = format!("{} of {}", dollars(a.reload_usd_this_month), dollars(cap));
            if a.cap_reached_this_month {
                let summary = format!("Auto-reload cap of {} reached: no more reloads this month", a.name);
                out.push(new("AutoReloadCapReached", Severity::Critical, summary, used, dollars(cap)));
            } else if a.reload_usd_this_month * Decimal::from(100) >= cap * r.cap_warning_percent {
                let summary = format!("Auto-reload cap of {} nearly reached", a.name);
                out.push(new(
                    "AutoReloadCapNearlyReached",
                    Severity::Warning,
                    summary,
                    used,
                    format!("{}% of {}", r.cap_warning_percent, dollars(cap)),
                ));
            }
        }
    }

    fn runaway_alerts(&mut self, inputs: &AlertInputs, out: &mut Vec<Alert>) {
        let Some(limit) = self.rules.runaway else {
            self.pending.clear();
            return;
        };
        let mut still_pending = BTreeMap::new();
        for s in inputs.burn.iter().filter(|s| s.usd_per_hour_5m > limit) {
            let summary = format!("{} ({}) on {} is burning {} over 5m", s.app, s.model, s.account, per_hour(s.usd_per_hour_5m));
            let labels = [("account", s.account.as_str()), ("app", s.app.as_str()), ("model", s.model.as_str())];
            let a = alert("AgentRunaway", Severity::Critical, &labels, summary, per_hour(s.usd_per_hour_5m), per_hour(limit), inputs.now);
            let since = self.pending.get(&a.labels).copied().unwrap_or(inputs.now);
            if self.firing.contains_key(&a.labels) || inputs.now - since >= self.rules.runaway_for {
                out.push(a);
            } else {
                still_pending.insert(a.labels, since);
            }
        }
        self.pending = still_pending;
    }

    fn source_alerts(&mut self, inputs: &AlertInputs, out: &mut Vec<Alert>) {
        let now = inputs.now;
        self.first_seen.retain(|name, _| inputs.sources.iter().any(|s| &s.name == name));
        for s in &inputs.sources {
            let first_seen = *self.first_seen.entry(s.name.clone()).or_insert(now);
            let labels = [("account", s.account.as_str()), ("source", s.name.as_str())];
            if s.error_lines_recent > 0 && s.ok_lines_recent == 0 {
                let summary = format!("Source {} reads only lines it cannot parse", s.name);
                let value = format!("{} error lines, 0 read", s.error_lines_recent);
                out.push(alert("CreditwatchSourceStale", Severity::Warning, &labels, summary, value, "1 line read".into(), now));
                continue;
            }
            let age = now - s.last_event.unwrap_or(first_seen);
            if s.files_growing && age >= self.rules.source_stale_after {
                let summary = format!("Source {} books no events while its files grow", s.name);
                let (value, threshold) =
                    (human_secs(age.num_seconds() as f64), human_secs(self.rules.source_stale_after.num_seconds() as f64));
                out.push(alert(
                    "CreditwatchSourceStale",
                    Severity::Warning,
                    &labels,
                    summary,
                    format!("{value} without an event"),
                    threshold,
                    now,
                ));
            }
        }
    }
}

fn alert(
    name: &str,
    severity: Severity,
    labels: &[(&str, &str)],
    summary: String,
    value: String,
    threshold: String,
    now: DateTime<Utc>,
) -> Alert {
    let mut all: Labels = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    all.insert("alertname".into(), name.into());
    all.insert("severity".into(), severity.as_str().into());
    let subject: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let description = format!("{name} ({}): {value}, threshold {threshold}", subject.join(", "));
    Alert { labels: all, severity, summary, description, value, threshold, starts_at: now }
}

fn dollars(v: Decimal) -> String {
    if v < Decimal::ZERO {
        format!("-${}", money::cents(-v))
    } else {
        format!("${}", money::cents(v))
    }
}

fn per_hour(v: f64) -> String {
    format!("${v:.2}/h")
}

/// Seconds as `5h 30m`, to the minute (seconds under a minute); `never` for
/// infinity.
fn human_secs(secs: f64) -> String {
    if !secs.is_finite() {
        return "never".into();
    }
    let s = secs.max(0.0) as u64;
    let rounded = if s >= 60 { s - s % 60 } else { s };
    humantime::format_duration(Duration::from_secs(rounded)).to_string()
}

#[path = "plan_rules.rs"]
mod plan_rules;

#[path = "provider_rules.rs"]
mod provider_rules;

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
