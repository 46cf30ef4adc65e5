//! Plan windows in the ledger: what the subscription's rate limits said, and
//! when usage overflowed into extra usage.
//!
//! A subscriber's requests are covered by the plan until a window (five
//! hours, seven days, ...) is used up; from then until that window resets
//! they draw on the extra-usage balance. `PlanState` keeps, per account:
//! - the newest figures of each window (for the gauges and the forecast),
//!   changed only when a figure changes, so a snapshot rewritten with the
//!   same figures journals nothing;
//! - the spans during which a window was exhausted, from the first
//!   observation at or above 100% to the window's reset, so a request is
//!   judged by the windows *at its own time*, also when it is booked late.
//!
//! Pure: no clock, no I/O; every call is given its time.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::usage::plan::PlanWindow;

/// Exhaustion spans and windows that ended this long before the newest
/// observation are forgotten: Claude Code keeps transcripts for 30 days, so
/// no request older than that is booked late.
const KEEP_DAYS: i64 = 40;

/// Samples of one window kept for the forecast.
const MAX_SAMPLES: usize = 32;

/// The forecast looks at the burn over about this long...
const FORECAST_LOOKBACK_MINUTES: i64 = 60;
/// ...needs at least this much of it...
const FORECAST_MIN_SPAN_MINUTES: i64 = 10;
/// ...and no forecast is made from figures older than this.
const FORECAST_MAX_AGE_MINUTES: i64 = 30;

/// The newest figures of one window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowState {
    pub used_percent: Decimal,
    pub resets_at: DateTime<Utc>,
    /// When these figures were first seen.
    pub observed_at: DateTime<Utc>,
    /// (time, percent) of this window instance (same `resets_at`), oldest
    /// first, one per change.
    #[serde(default)]
    pub samples: Vec<(DateTime<Utc>, Decimal)>,
}

/// A window was exhausted from `from` until it reset at `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exhaustion {
    pub window: String,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanState {
    pub windows: BTreeMap<String, WindowState>,
    pub exhausted: Vec<Exhaustion>,
}

impl PlanState {
    /// Folds in the windows one snapshot saw at `at`. Returns whether
    /// anything changed (an unchanged snapshot need not be journaled).
    pub fn observe(&mut self, at: DateTime<Utc>, windows: &[PlanWindow]) -> bool {
        let before = self.clone();
        for w in windows {
            if w.exhausted_at(at) {
                match self.exhausted.iter_mut().find(|s| s.window == w.name && s.until == w.resets_at) {
                    Some(span) => span.from = span.from.min(at),
                    None => self.exhausted.push(Exhaustion { window: w.name.clone(), from: at, until: w.resets_at }),
                }
            }
            match self.windows.get_mut(&w.name) {
                None => {
                    self.windows.insert(w.name.clone(), WindowState::first(at, w));
                }
                Some(cur) if at < cur.observed_at => {} // an older snapshot read late: not the newest figures
                Some(cur) if cur.resets_at != w.resets_at => *cur = WindowState::first(at, w),
                Some(cur) if cur.used_percent != w.used_percent => {
                    cur.used_percent = w.used_percent;
                    cur.observed_at = at;
                    cur.samples.push((at, w.used_percent));
                    if cur.samples.len() > MAX_SAMPLES {
                        cur.samples.remove(0);
                    }
                }
                Some(_) => {}
            }
        }
        self.prune();
        *self != before
    }

    fn prune(&mut self) {
        let Some(newest) = self.windows.values().map(|w| w.observed_at).max() else { return };
        let horizon = newest - Duration::days(KEEP_DAYS);
        self.exhausted.retain(|s| s.until >= horizon);
        self.windows.retain(|_, w| w.resets_at >= horizon);
    }

    /// Whether some window was exhausted at `at` (a snapshot at or before
    /// `at` said 100% or more, and that window had not reset by `at`).
    pub fn exhausted_at(&self, at: DateTime<Utc>) -> bool {
        self.exhausted.iter().any(|s| s.from <= at && at < s.until)
    }

    /// The windows that have not reset at `now`, by name.
    pub fn current(&self, now: DateTime<Utc>) -> impl Iterator<Item = (&str, &WindowState)> {
        self.windows.iter().filter(move |(_, w)| w.resets_at > now).map(|(n, w)| (n.as_str(), w))
    }

    /// When `window` runs out at the burn of the last hour, if that is
    /// sound: recent figures that grew over at least ten minutes, and a
    /// time before the window resets (else it does not run out).
    pub fn forecast_exhausted_at(&self, window: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let w = self.windows.get(window).filter(|w| w.resets_at > now && w.used_percent < Decimal::ONE_HUNDRED)?;
        let &(last_at, last) = w.samples.last()?;
        if now - last_at > Duration::minutes(FORECAST_MAX_AGE_MINUTES) {
            return None;
        }
        let &(first_at, first) = w.samples.iter().find(|(t, _)| last_at - *t <= Duration::minutes(FORECAST_LOOKBACK_MINUTES))?;
        let span = (last_at - first_at).num_seconds();
        let grown = (last - first).to_f64()?;
        if span < FORECAST_MIN_SPAN_MINUTES * 60 || grown <= 0.0 {
            return None;
        }
        let per_second = grown / span as f64;
        let left = (Decimal::ONE_HUNDRED - last).to_f64()?;
        let at = last_at + Duration::milliseconds((left / per_second * 1000.0).min(1e15) as i64);
        (at < w.resets_at).then_some(at)
    }
}

impl WindowState {
    fn first(at: DateTime<Utc>, w: &PlanWindow) -> WindowState {
        WindowState { used_percent: w.used_percent, resets_at: w.resets_at, observed_at: at, samples: vec![(at, w.used_percent)] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        format!("2026-12-01T{s}:00Z").parse().unwrap()
    }

    fn w(name: &str, percent: &str, resets: &str) -> PlanWindow {
        PlanWindow { name: name.into(), used_percent: percent.parse().unwrap(), resets_at: t(resets) }
    }

    #[test]
    fn a_window_is_exhausted_from_the_first_snapshot_at_100_until_its_reset() {
        let mut plan = PlanState::default();
        assert!(plan.observe(t("10:00"), &[w("five_hour", "60", "14:00"), w("seven_day", "20", "23:00")]));
        assert!(plan.observe(t("12:00"), &[w("five_hour", "100", "14:00")]));
        assert!(plan.observe(t("11:30"), &[w("five_hour", "102", "14:00")]), "a late snapshot moves the start back");
        assert!(plan.observe(t("14:05"), &[w("five_hour", "3", "19:00")]));
        let cases = [("09:00", false), ("11:29", false), ("11:30", true), ("13:59", true), ("14:00", false), ("15:00", false)];
        for (at, want) in cases {
            assert_eq!(plan.exhausted_at(t(at)), want, "{at}");
        }
        let current: Vec<_> = plan.current(t("14:10")).map(|(n, s)| format!("{n} {}", s.used_percent)).collect();
        assert_eq!(current, ["five_hour 3", "seven_day 20"]);
        assert_eq!(plan.current(t("20:00")).map(|(n, _)| n).collect::<Vec<_>>(), ["seven_day"]);
    }

    #[test]
    fn unchanged_figures_change_nothing() {
        let mut plan = PlanState::default();
        assert!(plan.observe(t("10:00"), &[w("five_hour", "41", "14:00")]));
        assert!(!plan.observe(t("10:05"), &[w("five_hour", "41.0", "14:00")]));
        assert!(!plan.observe(t("09:00"), &[w("five_hour", "30", "14:00")]), "older figures are not the newest");
        assert!(!plan.observe(t("10:06"), &[]));
        assert_eq!(plan.windows["five_hour"].observed_at, t("10:00"));
        // Exhaustion seen twice is one span.
        assert!(plan.observe(t("11:00"), &[w("five_hour", "100", "14:00")]));
        assert!(!plan.observe(t("11:01"), &[w("five_hour", "100", "14:00")]));
        assert_eq!(plan.exhausted.len(), 1);
    }

    #[test]
    fn the_forecast_extrapolates_the_last_hour_when_sound() {
        let mut plan = PlanState::default();
        plan.observe(t("10:00"), &[w("five_hour", "40", "14:00")]);
        assert_eq!(plan.forecast_exhausted_at("five_hour", t("10:01")), None, "one sample");
        plan.observe(t("10:05"), &[w("five_hour", "45", "14:00")]);
        assert_eq!(plan.forecast_exhausted_at("five_hour", t("10:06")), None, "five minutes is too short");
        plan.observe(t("10:20"), &[w("five_hour", "60", "14:00")]);
        // 20 points in 20 minutes: 40 more take 40 minutes.
        assert_eq!(plan.forecast_exhausted_at("five_hour", t("10:21")), Some(t("11:00")));
        assert_eq!(plan.forecast_exhausted_at("five_hour", t("10:51")), None, "figures older than 30 minutes");
        assert_eq!(plan.forecast_exhausted_at("seven_day", t("10:21")), None);
        // Slow burn: runs out after the reset, so no forecast.
        let mut slow = PlanState::default();
        slow.observe(t("10:00"), &[w("five_hour", "10", "12:00")]);
        slow.observe(t("10:30"), &[w("five_hour", "11", "12:00")]);
        assert_eq!(slow.forecast_exhausted_at("five_hour", t("10:31")), None);
    }

    #[test]
    fn old_spans_and_windows_are_forgotten() {
        let mut plan = PlanState::default();
        plan.observe(t("10:00"), &[w("five_hour", "100", "14:00"), w("seven_day_opus", "5", "12:00")]);
        let later: DateTime<Utc> = "2027-01-20T10:00:00Z".parse().unwrap();
        plan.observe(later, &[PlanWindow { name: "five_hour".into(), used_percent: Decimal::ONE, resets_at: later + Duration::hours(2) }]);
        assert!(plan.exhausted.is_empty());
        assert_eq!(plan.windows.keys().collect::<Vec<_>>(), ["five_hour"]);
    }
}
