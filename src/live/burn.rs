//! Burn rate and runway: how fast each account spends, and how long its
//! credit lasts at that pace.
//!
//! `BurnRates` keeps, per (account, app, model), the cost booked in fixed
//! time buckets of event time (10 s by default), only as far back as the
//! longest window. Memory and work per event are bounded by the number of
//! buckets in that window, never by the number of events. Invariants:
//! - an event older than the longest window (a backfill, a re-read) is not
//!   recorded, so old usage never shows as a burn now;
//! - an event stamped in the future (clock skew) counts in the bucket of now;
//! - a series with no spend left in the longest window is dropped.
//!
//! A window of length W at time `now` is the W / bucket buckets ending with
//! the bucket that holds `now` (that one is partly elapsed). The rate is the
//! sum of those buckets divided by W. Sums are `Decimal`; only the final rate
//! is an `f64`, for the exposition and the rules.
//!
//! `runway_seconds` is pure arithmetic on a balance, the 1h rate and the
//! auto-reloads the month's cap still allows.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};

use crate::usage::money;

/// The windows the alert rules and the runway rely on; always computed.
pub const WINDOW_5M: Duration = Duration::from_secs(300);
pub const WINDOW_1H: Duration = Duration::from_secs(3600);

/// `burn_rate:` in config.yaml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BurnConfig {
    /// Trailing windows exported as `window="5m"` etc.
    pub windows: Vec<BurnWindow>,
    /// Width of one time bucket; every window must be a whole number of them.
    #[serde(deserialize_with = "crate::common::duration")]
    pub bucket: Duration,
}

impl Default for BurnConfig {
    fn default() -> BurnConfig {
        BurnConfig { windows: vec![BurnWindow::new("5m", WINDOW_5M), BurnWindow::new("1h", WINDOW_1H)], bucket: Duration::from_secs(10) }
    }
}

impl BurnConfig {
    /// Cross-field checks, as `(field path, message)` like `Config::validate`.
    pub fn validate(&self, field: &str) -> Result<(), (String, String)> {
        let bucket = self.bucket.as_secs();
        if bucket == 0 || self.bucket.subsec_nanos() != 0 {
            return Err((format!("{field}.bucket"), "must be a whole number of seconds, at least 1s".into()));
        }
        for (i, w) in self.windows.iter().enumerate() {
            let secs = w.length.as_secs();
            if secs == 0 || w.length.subsec_nanos() != 0 || secs % bucket != 0 {
                return Err((format!("{field}.windows[{i}]"), format!("`{}` is not a whole number of {bucket}s buckets", w.label)));
            }
        }
        Ok(())
    }
}

/// A trailing window: its label as written (`5m`) and its length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BurnWindow {
    pub label: String,
    pub length: Duration,
}

impl BurnWindow {
    pub fn new(label: &str, length: Duration) -> BurnWindow {
        BurnWindow { label: label.to_string(), length }
    }
}

impl<'de> Deserialize<'de> for BurnWindow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<BurnWindow, D::Error> {
        let label = String::deserialize(d)?;
        let length = humantime::parse_duration(&label)
            .map_err(|e| serde::de::Error::custom(format!("`{label}` is not a duration like 5m, 1h: {e}")))?;
        Ok(BurnWindow { label, length })
    }
}

/// One burn series: where the spend went.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesKey {
    pub account: String,
    pub app: String,
    pub model: String,
}

/// Spend per hour over each window, in the order of `BurnSnapshot::windows`.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRate {
    pub key: SeriesKey,
    pub usd_per_hour: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccountRate {
    pub account: String,
    pub usd_per_hour: Vec<f64>,
}

/// Rates at one instant, sorted by key.
#[derive(Debug, Clone, PartialEq)]
pub struct BurnSnapshot {
    /// The configured windows first (to export), then 5m and 1h if missing.
    pub windows: Vec<BurnWindow>,
    /// How many of `windows` were configured (the ones to export).
    pub exported: usize,
    pub series: Vec<SeriesRate>,
    pub accounts: Vec<AccountRate>,
}

impl BurnSnapshot {
    fn index(&self, window: Duration) -> Option<usize> {
        self.windows.iter().position(|w| w.length == window)
    }

    /// A series' rate over `window`; 0 when it has no spend.
    pub fn series_rate(&self, key: &SeriesKey, window: Duration) -> f64 {
        let (Some(i), Ok(s)) = (self.index(window), self.series.binary_search_by(|s| s.key.cmp(key))) else { return 0.0 };
        self.series[s].usd_per_hour[i]
    }

    /// An account's rate over `window`; 0 when it has no spend.
    pub fn account_rate(&self, account: &str, window: Duration) -> f64 {
        let (Some(i), Ok(a)) = (self.index(window), self.accounts.binary_search_by(|a| a.account.as_str().cmp(account))) else {
            return 0.0;
        };
        self.accounts[a].usd_per_hour[i]
    }
}

/// Cost per time bucket, per series, over the longest window.
#[derive(Debug)]
pub struct BurnRates {
    windows: Vec<BurnWindow>,
    exported: usize,
    bucket_secs: i64,
    /// Buckets in the longest window.
    span: i64,
    series: BTreeMap<SeriesKey, VecDeque<(i64, Decimal)>>,
}

impl BurnRates {
    /// `config` must have passed `BurnConfig::validate`; a zero bucket is
    /// read as 1 s rather than divided by.
    pub fn new(config: &BurnConfig) -> BurnRates {
        let mut windows = config.windows.clone();
        let exported = windows.len();
        for (label, length) in [("5m", WINDOW_5M), ("1h", WINDOW_1H)] {
            if !windows.iter().any(|w| w.length == length) {
                windows.push(BurnWindow::new(label, length));
            }
        }
        let bucket_secs = (config.bucket.as_secs() as i64).max(1);
        let longest = windows.iter().map(|w| w.length.as_secs() as i64).max().unwrap_or(3600);
        BurnRates { windows, exported, bucket_secs, span: (longest / bucket_secs).max(1), series: BTreeMap::new() }
    }

    fn bucket_of(&self, t: DateTime<Utc>) -> i64 {
        t.timestamp().div_euclid(self.bucket_secs)
    }

    /// Books `cost` at `event_time`; false when it is too old to count (or
    /// zero) and was not recorded.
    pub fn record(&mut self, now: DateTime<Utc>, key: &SeriesKey, event_time: DateTime<Utc>, cost: Decimal) -> bool {
        let newest = self.bucket_of(now);
        let bucket = self.bucket_of(event_time.min(now));
        if cost.is_zero() || bucket <= newest - self.span {
            return false;
        }
        let buckets = match self.series.get_mut(key) {
            Some(b) => b,
            None => self.series.entry(key.clone()).or_default(),
        };
        match buckets.binary_search_by_key(&bucket, |&(b, _)| b) {
            Ok(i) => buckets[i].1 += cost,
            Err(i) => buckets.insert(i, (bucket, cost)),
        }
        while buckets.front().is_some_and(|&(b, _)| b <= newest - self.span) {
            buckets.pop_front();
        }
        true
    }

    /// Series with spend in the longest window (after the last `rates`).
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// Rates at `now`; drops buckets and series that fell out of every window.
    pub fn rates(&mut self, now: DateTime<Utc>) -> BurnSnapshot {
        let newest = self.bucket_of(now);
        let oldest_kept = newest - self.span;
        self.series.retain(|_, buckets| {
            while buckets.front().is_some_and(|&(b, _)| b <= oldest_kept) {
                buckets.pop_front();
            }
            !buckets.is_empty()
        });
        let mut series = Vec::with_capacity(self.series.len());
        let mut by_account: BTreeMap<&str, Vec<Decimal>> = BTreeMap::new();
        for (key, buckets) in &self.series {
            let sums: Vec<Decimal> =
                self.windows.iter().map(|w| window_sum(buckets, newest, w.length.as_secs() as i64 / self.bucket_secs)).collect();
            let totals = by_account.entry(&key.account).or_insert_with(|| vec![Decimal::ZERO; sums.len()]);
            for (t, s) in totals.iter_mut().zip(&sums) {
                *t += s;
            }
            series.push(SeriesRate { key: key.clone(), usd_per_hour: self.per_hour(&sums) });
        }
        let accounts = by_account
            .into_iter()
            .map(|(account, sums)| AccountRate { account: account.to_string(), usd_per_hour: self.per_hour(&sums) })
            .collect();
        BurnSnapshot { windows: self.windows.clone(), exported: self.exported, series, accounts }
    }

    fn per_hour(&self, sums: &[Decimal]) -> Vec<f64> {
        sums.iter().zip(&self.windows).map(|(sum, w)| per_hour(*sum, w.length)).collect()
    }
}

/// Sum of the `count` buckets ending with bucket `newest`.
fn window_sum(buckets: &VecDeque<(i64, Decimal)>, newest: i64, count: i64) -> Decimal {
    buckets.iter().rev().take_while(|&&(b, _)| b > newest - count).filter(|&&(b, _)| b <= newest).map(|&(_, c)| c).sum()
}

/// Dollars over `window` as dollars per hour, divided in Decimal first.
fn per_hour(sum: Decimal, window: Duration) -> f64 {
    let secs = Decimal::from(window.as_secs().max(1));
    money::to_f64(sum * Decimal::from(3600) / secs)
}

/// How an auto-reload refills the balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refill {
    /// Add this much.
    Amount(Decimal),
    /// Bring the balance up to this.
    Target(Decimal),
}

/// The auto-reload still open this month, for the runway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReloadRunway {
    pub threshold: Decimal,
    pub refill: Refill,
    /// Monthly cap minus what was reloaded this month.
    pub remaining_cap: Decimal,
}

impl ReloadRunway {
    /// The reload of an account's `auto_reload:` with `reloaded` dollars
    /// already reloaded this month.
    pub fn from_config(config: &crate::ledger::config::AutoReloadConfig, reloaded: Decimal) -> ReloadRunway {
        let refill = match (config.amount_usd, config.target_usd) {
            (_, Some(target)) => Refill::Target(target),
            (amount, None) => Refill::Amount(amount.unwrap_or_default()),
        };
        ReloadRunway { threshold: config.threshold_usd, refill, remaining_cap: (config.monthly_cap_usd - reloaded).max(Decimal::ZERO) }
    }
}

/// Dollars the remaining reloads add before the balance reaches zero:
/// whole reloads only, each fired when the balance falls to the threshold.
pub fn reload_dollars(balance: Decimal, reload: &ReloadRunway) -> Decimal {
    // A negative threshold is crossed only after zero: no reload counts.
    if reload.threshold < Decimal::ZERO && balance > reload.threshold {
        return Decimal::ZERO;
    }
    let first_at = balance.min(reload.threshold);
    let (first, each) = match reload.refill {
        Refill::Amount(a) => (a, a),
        Refill::Target(t) => (t - first_at, t - reload.threshold),
    };
    if first <= Decimal::ZERO || first > reload.remaining_cap {
        return Decimal::ZERO;
    }
    if each <= Decimal::ZERO {
        return first;
    }
    let more = ((reload.remaining_cap - first) / each).floor();
    first + more * each
}

/// Seconds until the balance reaches zero at `usd_per_hour`, counting the
/// reloads the cap still allows; 0 when nothing is left, infinity when
/// nothing burns.
pub fn runway_seconds(balance: Decimal, usd_per_hour: f64, reload: Option<ReloadRunway>) -> f64 {
    let left = balance + reload.map(|r| reload_dollars(balance, &r)).unwrap_or_default();
    if left <= Decimal::ZERO {
        return 0.0;
    }
    if !(usd_per_hour.is_finite() && usd_per_hour > 0.0) {
        return f64::INFINITY;
    }
    money::to_f64(left) / usd_per_hour * 3600.0
}

#[cfg(test)]
#[path = "burn_tests.rs"]
mod tests;
