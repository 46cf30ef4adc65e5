//! A spend provider's report, gathered over its pages and compared with what
//! creditwatch booked: the window of closed days, the filters that map one
//! account to what it pays for, the month's figures and the unseen spend
//! that `reconcile: auto` books. Pure: no I/O, no clock (the caller passes
//! `now`).
//!
//! Closed days: a UTC day is closed once it has ended; today is never asked
//! for (Anthropic may refuse or half-fill it). Every poll re-reads the closed
//! days of the current and the previous month, so a day the provider revises
//! is seen again for 28 to 62 days after it. `reconcile: auto` books a day's
//! unseen spend, and later its revisions, for `RECONCILE_DAYS` after the day:
//! the booking's id must still be in the seen-id index
//! (`follow.dedup_retention`, 45 days by default) when a revision comes, or
//! the revision would be booked whole.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::api::{SpendLine, SpendPage};
use super::audit::{self, Audit};
use super::Observation;
use crate::usage::EventId;

/// Days after its end during which a day's unseen spend is booked.
pub const RECONCILE_DAYS: i64 = 35;

/// Which of the provider's costs belong to the account. Empty: all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    /// Anthropic workspaces (`wrkspc_...`); `default` is the default
    /// workspace, which the cost report gives no id.
    #[serde(default)]
    pub workspace_ids: Vec<String>,
    /// OpenAI projects (`proj_...`).
    #[serde(default)]
    pub project_ids: Vec<String>,
    /// OpenAI API keys (`key_...`).
    #[serde(default)]
    pub api_key_ids: Vec<String>,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        self.workspace_ids.is_empty() && self.project_ids.is_empty() && self.api_key_ids.is_empty()
    }

    fn admits(&self, line: &SpendLine) -> bool {
        let scope_ok = match (&line.scope_id, self.workspace_ids.is_empty() && self.project_ids.is_empty()) {
            (_, true) => true,
            (Some(id), false) => self.workspace_ids.contains(id) || self.project_ids.contains(id),
            (None, false) => self.workspace_ids.iter().any(|w| w == "default"),
        };
        let key_ok = self.api_key_ids.is_empty() || line.api_key_id.as_ref().is_some_and(|k| self.api_key_ids.contains(k));
        scope_ok && key_ok
    }
}

/// The days a poll asks for: from the first of the previous month (UTC) to
/// the start of today, exclusive.
pub fn window(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let today = now.date_naive();
    let this_month = first_of_month(today);
    let previous = first_of_month(this_month - Duration::days(1));
    (midnight(previous), midnight(today))
}

/// `window`, or from `since` (a UTC day) when given: `creditwatch audit
/// --since` asks for more (or fewer) days than the daemon compares.
pub fn window_since(now: DateTime<Utc>, since: Option<NaiveDate>) -> (DateTime<Utc>, DateTime<Utc>) {
    let (start, end) = window(now);
    (since.map_or(start, midnight).min(end), end)
}

fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// A provider's report over all its pages, filtered to the account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpendReport {
    pub lines: Vec<SpendLine>,
    /// Every day the provider answered for (empty buckets included).
    pub days: BTreeSet<NaiveDate>,
}

impl SpendReport {
    pub fn add_page(&mut self, page: SpendPage, filters: &Filters) {
        self.days.extend(page.days);
        self.lines.extend(page.lines.into_iter().filter(|l| filters.admits(l)));
    }

    /// (day, model, dollars), one entry per line.
    pub fn by_day_model(&self) -> Vec<(NaiveDate, String, Decimal)> {
        self.lines.iter().map(|l| (l.day, l.model.clone(), l.usd)).collect()
    }

    /// The provider's spend on the days it reported in `now`'s UTC month.
    pub fn month_to_date(&self, now: DateTime<Utc>) -> Decimal {
        let start = first_of_month(now.date_naive());
        self.lines.iter().filter(|l| l.day >= start).map(|l| l.usd).sum()
    }
}

/// The provider's figures beside ours on the closed days it reported:
/// `ours` is (day, model, dollars) booked from the logs, not counting what
/// reconcile booked.
pub fn compare(report: &SpendReport, ours: &[(NaiveDate, String, Decimal)]) -> Audit {
    audit::compare(ours, &report.by_day_model(), &report.days)
}

/// An observation's daily spend as a report (US dollars only: a spend
/// report in another currency is not compared with dollars).
pub fn report_of(observation: &Observation) -> SpendReport {
    let lines = observation
        .daily_spend
        .iter()
        .filter(|s| s.amount.is_usd())
        .map(|s| SpendLine {
            day: s.day,
            model: s.model.clone().unwrap_or_default(),
            usd: s.amount.amount,
            kind: String::new(),
            scope_id: None,
            api_key_id: None,
        })
        .collect();
    SpendReport { lines, days: observation.spend_days.iter().copied().collect() }
}

/// The first day `window` asks for, for the "ours" side.
pub fn window_start_day(now: DateTime<Utc>) -> NaiveDate {
    window(now).0.date_naive()
}

/// The last closed day: yesterday, UTC.
pub fn last_closed_day(now: DateTime<Utc>) -> NaiveDate {
    now.date_naive() - Duration::days(1)
}

/// The unseen spend of the month: the provider's minus creditwatch's over
/// this month's closed days from the ledger's opening on, creditwatch's
/// being the logs' cost plus what `reconcile: auto` already booked for the
/// day and model (`booked`); never negative.
pub fn unseen_this_month(
    audit: &Audit,
    now: DateTime<Utc>,
    opened: Option<DateTime<Utc>>,
    booked: impl Fn(NaiveDate, &str) -> Decimal,
) -> Decimal {
    let from = first_of_month(now.date_naive()).max(opened.map_or(NaiveDate::MIN, first_whole_day));
    let gap: Decimal = audit.rows.iter().filter(|r| r.day >= from).map(|r| r.difference - booked(r.day, &r.model)).sum();
    gap.max(Decimal::ZERO)
}

/// The first day wholly after `opened`: a day the ledger opened during is
/// partly inside the opening balance.
fn first_whole_day(opened: DateTime<Utc>) -> NaiveDate {
    opened.date_naive() + Duration::days(i64::from(opened.time() != chrono::NaiveTime::MIN))
}

/// The id `reconcile: auto` books a day and model's unseen spend under.
pub fn unseen_id(provider: &str, day: NaiveDate, model: &str) -> EventId {
    EventId::from_parts("provider-unseen", &[provider, &day.to_string(), model])
}

/// What `reconcile: auto` books for one day and model: its unseen spend so
/// far, under an id of the provider, day and model. Booked as a stated cost
/// through the seen-id index, a later, larger figure books only its growth
/// and a smaller one nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnseenBooking {
    pub id: EventId,
    pub day: NaiveDate,
    /// The model as both sides are matched (`audit::model_key`).
    pub model: String,
    /// The day's unseen spend for the model, cumulative.
    pub unseen: Decimal,
}

impl UnseenBooking {
    /// Noon UTC of the day: inside the same calendar day in any time zone
    /// from UTC-12 to UTC+11, so "this month" is the day's month.
    pub fn at(&self) -> DateTime<Utc> {
        midnight(self.day) + Duration::hours(12)
    }
}

/// The bookings for the closed days still within `RECONCILE_DAYS` and on or
/// after the ledger's opening day.
pub fn unseen_bookings(provider: &str, audit: &Audit, now: DateTime<Utc>, opened: Option<DateTime<Utc>>) -> Vec<UnseenBooking> {
    let today = now.date_naive();
    let oldest = today - Duration::days(RECONCILE_DAYS);
    let opened_day = opened.map(first_whole_day);
    let mut out: Vec<UnseenBooking> = audit
        .rows
        .iter()
        .filter(|r| r.day < today && r.day >= oldest && opened_day.is_none_or(|o| r.day >= o) && r.difference > Decimal::ZERO)
        .map(|r| UnseenBooking { id: unseen_id(provider, r.day, &r.model), day: r.day, model: r.model.clone(), unseen: r.difference })
        .collect();
    out.sort_by(|a, b| (a.day, &a.model).cmp(&(b.day, &b.model)));
    out
}

#[cfg(test)]
#[path = "spend_tests.rs"]
mod tests;
