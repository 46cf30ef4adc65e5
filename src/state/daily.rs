//! Spend per day, account, app and model for the page's 30-day chart: the
//! smallest aggregate that gives it, folded from the same `Booked` records
//! as the counters, so a replay of the journal rebuilds it.
//!
//! Days are calendar days in the ledger's timezone. Only the last
//! `KEEP_DAYS` days before the newest booked day are kept: the trim goes by
//! event time, never by the clock, so live booking and replay agree.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Days kept (the page shows 30; a few more cover a timezone change and
/// a late backfill).
pub const KEEP_DAYS: i64 = 40;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DayKey {
    pub day: NaiveDate,
    pub account: String,
    pub app: String,
    pub model: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DailySpend {
    #[serde(with = "super::pairs")]
    spend: BTreeMap<DayKey, Decimal>,
}

impl DailySpend {
    /// Adds a booking's cost to its day; trims days that fell out of the
    /// window behind the newest one.
    pub fn add(&mut self, at: DateTime<Utc>, tz: Tz, account: &str, app: &str, model: &str, cost: Decimal) {
        if cost.is_zero() {
            return;
        }
        let day = at.with_timezone(&tz).date_naive();
        let newest = self.spend.keys().next_back().map(|k| k.day);
        if newest.is_some_and(|n| day < n - chrono::Duration::days(KEEP_DAYS)) {
            return;
        }
        let key = DayKey { day, account: account.to_string(), app: app.to_string(), model: model.to_string() };
        *self.spend.entry(key).or_default() += cost;
        if newest.is_none_or(|n| day > n) {
            let cutoff = day - chrono::Duration::days(KEEP_DAYS);
            self.spend.retain(|k, _| k.day >= cutoff);
        }
    }

    /// Spend of the days from `from` on, oldest first.
    pub fn since(&self, from: NaiveDate) -> impl Iterator<Item = (&DayKey, &Decimal)> {
        self.spend.iter().filter(move |(k, _)| k.day >= from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn days_follow_the_timezone_and_old_days_go() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let mut daily = DailySpend::default();
        daily.add(at("2026-11-01T23:30:00Z"), tz, "a", "claude-code", "opus", Decimal::new(150, 2));
        daily.add(at("2026-11-01T12:00:00Z"), tz, "a", "claude-code", "opus", Decimal::new(25, 2));
        let days: Vec<(String, String)> = daily.since(NaiveDate::MIN).map(|(k, v)| (k.day.to_string(), v.to_string())).collect();
        assert_eq!(days, [("2026-11-01".to_string(), "0.25".to_string()), ("2026-11-02".to_string(), "1.50".to_string())]);
        // 41 days later the first day is out; a backfill that old is not kept.
        daily.add(at("2026-12-12T12:00:00Z"), tz, "a", "claude-code", "opus", Decimal::ONE);
        let days: Vec<String> = daily.since(NaiveDate::MIN).map(|(k, _)| k.day.to_string()).collect();
        assert_eq!(days, ["2026-11-02", "2026-12-12"]);
        daily.add(at("2026-10-01T12:00:00Z"), tz, "a", "claude-code", "opus", Decimal::ONE);
        assert_eq!(daily.since(NaiveDate::MIN).count(), 2);
    }
}
