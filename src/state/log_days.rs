//! Cost booked from the logs per account, UTC day and model: what a
//! provider's daily cost report is compared with (`providers::spend`).
//!
//! Part of the state, so a restart replays to the same sums. What a
//! provider's `reconcile: auto` booked (source `provider:NAME`) is left out:
//! it is the provider's figure, not ours. Days older than `KEEP_DAYS` before
//! the newest day booked are dropped, which depends on the journal alone, so
//! replay and live booking agree.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The source name prefix of bookings made from a provider's figures.
pub const PROVIDER_SOURCE_PREFIX: &str = "provider:";

/// Longer than the comparison window (this month and the last: 62 days).
const KEEP_DAYS: i64 = 70;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogDays {
    #[serde(with = "super::pairs")]
    days: BTreeMap<(NaiveDate, String, String), Decimal>,
    newest: Option<NaiveDate>,
}

impl LogDays {
    /// Adds one booking of `source`; provider bookings are not ours.
    pub fn add(&mut self, source: &str, account: &str, at: DateTime<Utc>, model: &str, cost: Decimal) {
        if source.starts_with(PROVIDER_SOURCE_PREFIX) || cost.is_zero() {
            return;
        }
        let day = at.date_naive();
        let oldest = self.newest.map(|n| n - Duration::days(KEEP_DAYS));
        if oldest.is_some_and(|o| day < o) {
            return;
        }
        *self.days.entry((day, account.to_string(), model.to_string())).or_default() += cost;
        if self.newest.is_none_or(|n| day > n) {
            self.newest = Some(day);
            let oldest = day - Duration::days(KEEP_DAYS);
            self.days.retain(|(d, _, _), _| *d >= oldest);
        }
    }

    /// The account's (day, model, cost) from `since` on.
    pub fn of(&self, account: &str, since: NaiveDate) -> Vec<(NaiveDate, String, Decimal)> {
        self.days
            .range((since, String::new(), String::new())..)
            .filter(|((_, a, _), _)| a == account)
            .map(|((d, _, m), c)| (*d, m.clone(), *c))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn sums_per_utc_day_and_model_without_provider_bookings() {
        let mut daily = LogDays::default();
        let c = |s: &str| s.parse::<Decimal>().unwrap();
        daily.add("logs", "team", t("2026-11-01T23:59:59Z"), "claude-opus-4-6", c("1.25"));
        daily.add("logs", "team", t("2026-11-01T00:00:00Z"), "claude-opus-4-6", c("0.000001"));
        daily.add("otlp", "team", t("2026-11-02T00:00:00Z"), "claude-opus-4-6", c("2"));
        daily.add("logs", "solo", t("2026-11-02T10:00:00Z"), "claude-opus-4-6", c("9"));
        daily.add("provider:anthropic", "team", t("2026-11-01T12:00:00Z"), "claude-opus-4-6", c("100"));
        let got: Vec<_> =
            daily.of("team", "2026-11-01".parse().unwrap()).into_iter().map(|(d, m, c)| (d.to_string(), m, c.to_string())).collect();
        assert_eq!(
            got,
            [
                ("2026-11-01".into(), "claude-opus-4-6".into(), "1.250001".into()),
                ("2026-11-02".into(), "claude-opus-4-6".into(), "2".into())
            ]
        );
        assert_eq!(daily.of("team", "2026-11-02".parse().unwrap()).len(), 1);
        // A day 71 days after drops the old ones, and an old booking after that is not kept.
        daily.add("logs", "team", t("2027-01-12T00:00:00Z"), "m", c("1"));
        daily.add("logs", "team", t("2026-11-01T00:00:00Z"), "m", c("1"));
        assert_eq!(daily.of("team", "2026-01-01".parse().unwrap()).len(), 1);
    }
}
