//! The plan-window gauges: how much of each subscription window is used,
//! when it resets, and when the five-hour window runs out at the current
//! burn (only when that forecast is sound, see `ledger::plan`).
//!
//! Each figure comes from the newest snapshot of the account whose window
//! has not reset yet: a window past its reset is not shown (its figure is
//! stale, the new window's is not known until Claude Code reports it).

use chrono::{DateTime, Utc};
use prometheus::{GaugeVec, Registry};

use super::gauge;
use crate::ledger::Ledger;
use crate::usage::money::to_f64;

pub struct PlanWindowMetrics {
    used: GaugeVec,
    resets_at: GaugeVec,
    forecast: GaugeVec,
}

impl PlanWindowMetrics {
    pub fn new(r: &Registry) -> PlanWindowMetrics {
        PlanWindowMetrics {
            used: gauge(
                r,
                "creditwatch_plan_window_used_ratio",
                "Share of a plan window used (0 to 1; 1 when exhausted), from the newest status-line snapshot.",
                &["account", "window"],
            ),
            resets_at: gauge(
                r,
                "creditwatch_plan_window_resets_at_timestamp_seconds",
                "When the plan window resets.",
                &["account", "window"],
            ),
            forecast: gauge(
                r,
                "creditwatch_plan_window_exhausted_forecast_timestamp_seconds",
                "When the plan window runs out at the burn of the last hour; only while that happens before its reset.",
                &["account", "window"],
            ),
        }
    }

    pub fn refresh(&self, ledger: &Ledger, now: DateTime<Utc>) {
        for g in [&self.used, &self.resets_at, &self.forecast] {
            g.reset();
        }
        for account in ledger.accounts() {
            let Some(plan) = ledger.plan(account) else { continue };
            for (window, w) in plan.current(now) {
                let ratio = (to_f64(w.used_percent) / 100.0).clamp(0.0, 1.0);
                self.used.with_label_values(&[account, window]).set(ratio);
                self.resets_at.with_label_values(&[account, window]).set(w.resets_at.timestamp() as f64);
                if let Some(at) = plan.forecast_exhausted_at(window, now) {
                    self.forecast.with_label_values(&[account, window]).set(at.timestamp() as f64);
                }
            }
        }
    }
}
