//! Limits: each account's month against its auto-reload cap, and where the
//! month is heading. The month is the calendar month (configured time zone)
//! of the account's newest request; while it is the current month the
//! projection is the spend so far at the same pace to the month's end,
//! after it the month is closed and the projection is what was spent.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::{Decimal, RoundingStrategy};

use super::{Names, Record, Settings};

/// The first hour of a month projects wildly: the pace is taken over at least this.
const MIN_ELAPSED_SECONDS: i64 = 60 * 60;

#[derive(Debug, Clone, PartialEq)]
pub struct AccountLimit {
    pub account: String,
    pub month: String,
    pub requests: u64,
    pub spend: Decimal,
    pub cap: Option<Decimal>,
    /// Spend at this pace by the month's end, to the cent.
    pub projected: Decimal,
    pub closed: bool,
}

fn month_start(tz: Tz, year: i32, month: u32) -> Option<DateTime<Utc>> {
    let day = NaiveDate::from_ymd_opt(year, month, 1)?;
    tz.from_local_datetime(&day.and_hms_opt(0, 0, 0)?).earliest().map(|t| t.with_timezone(&Utc))
}

/// Spend so far projected to the month's end: `spend * month / elapsed`.
pub fn project(spend: Decimal, start: DateTime<Utc>, end: DateTime<Utc>, now: DateTime<Utc>) -> (Decimal, bool) {
    if now >= end {
        return (spend, true);
    }
    let elapsed = (now - start).num_seconds().max(MIN_ELAPSED_SECONDS);
    let whole = (end - start).num_seconds();
    let projected = spend * Decimal::from(whole) / Decimal::from(elapsed);
    (projected.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero), false)
}

pub fn analyze(all: &[Record], names: &Names, settings: &Settings) -> Vec<AccountLimit> {
    let tz = settings.tz;
    let mut newest: BTreeMap<&str, DateTime<Utc>> = BTreeMap::new();
    for r in all {
        let t = newest.entry(names.get(r.account)).or_insert(r.at);
        *t = (*t).max(r.at);
    }
    let caps: BTreeMap<&str, Option<Decimal>> = settings.accounts.iter().map(|(a, c)| (a.as_str(), *c)).collect();
    let mut out = Vec::new();
    for (account, at) in newest {
        let local = at.with_timezone(&tz);
        let (year, month) = (local.year(), local.month());
        let (next_year, next_month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
        let (Some(start), Some(end)) = (month_start(tz, year, month), month_start(tz, next_year, next_month)) else { continue };
        let in_month = all.iter().filter(|r| names.get(r.account) == account && r.at >= start && r.at < end);
        let (requests, spend) = in_month.fold((0u64, Decimal::ZERO), |(n, s), r| (n + 1, s + r.cost));
        let (projected, closed) = project(spend, start, end, settings.now);
        out.push(AccountLimit {
            account: account.to_string(),
            month: format!("{year:04}-{month:02}"),
            requests,
            spend,
            cap: caps.get(account).copied().flatten(),
            projected,
            closed,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn projection_keeps_the_pace_to_the_months_end() {
        let (start, end) = (t("2026-11-01T00:00:00Z"), t("2026-12-01T00:00:00Z"));
        // Table: spend, now, projected, closed.
        let cases = [
            ("30", "2026-11-11T00:00:00Z", "90", false),
            ("10", "2026-11-16T00:00:00Z", "20", false),
            ("7", "2026-11-04T00:00:00Z", "70", false),
            ("1", "2026-11-01T00:10:00Z", "720", false),
            ("12.3456", "2026-12-01T00:00:00Z", "12.3456", true),
        ];
        for (spend, now, want, closed) in cases {
            let (p, c) = project(spend.parse().unwrap(), start, end, t(now));
            assert_eq!((crate::usage::money::format(p), c), (want.to_string(), closed), "{spend} at {now}");
        }
    }
}
