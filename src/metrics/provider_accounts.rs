//! The API accounts' provider figures (issue 22), filled at each scrape from
//! the pollers' newest observation and the ledger's state: the balance a
//! provider states (per currency, never converted), the provider's spend
//! this month, the unseen spend, and the last closed day side by side.
//!
//! One spend provider per account is assumed: a second one for the same
//! account would set the account's `creditwatch_unseen_spend_usd` again.

use chrono::{DateTime, Utc};
use prometheus::{GaugeVec, Registry};
use rust_decimal::Decimal;

use super::gauge;
use crate::providers::status::ProviderStatus;
use crate::providers::{spend, Kind};
use crate::state::State;
use crate::usage::money::to_f64;

pub struct AccountFigures {
    balance_cny: GaugeVec,
    spend_this_month: GaugeVec,
    last_day_theirs: GaugeVec,
    last_day_ours: GaugeVec,
    last_day_difference: GaugeVec,
}

impl AccountFigures {
    pub fn new(r: &Registry) -> AccountFigures {
        AccountFigures {
            balance_cny: gauge(
                r,
                "creditwatch_provider_balance_cny",
                "A balance the provider states in Chinese yuan (never converted to dollars).",
                &["account"],
            ),
            spend_this_month: gauge(
                r,
                "creditwatch_provider_spend_this_month_usd",
                "The provider's spend on the closed UTC days of this month, as its cost report states it.",
                &["account", "provider"],
            ),
            last_day_theirs: gauge(
                r,
                "creditwatch_provider_last_day_spend_usd",
                "The provider's spend on the last closed UTC day (yesterday), as its cost report states it.",
                &["account", "provider"],
            ),
            last_day_ours: gauge(
                r,
                "creditwatch_provider_last_day_booked_usd",
                "What creditwatch booked from the logs on the last closed UTC day, for the account the provider reports on.",
                &["account", "provider"],
            ),
            last_day_difference: gauge(
                r,
                "creditwatch_provider_last_day_difference_usd",
                "The provider's spend minus creditwatch's on the last closed UTC day, per model (positive: spend the logs did not show).",
                &["account", "provider", "model"],
            ),
        }
    }

    /// Sets this family's gauges, and `balance` (`creditwatch_provider_balance_usd`)
    /// and `unseen` (`creditwatch_unseen_spend_usd`), which the ledger's
    /// provider figures share and reset before.
    pub fn refresh(&self, state: &State, now: DateTime<Utc>, providers: &[ProviderStatus], balance: &GaugeVec, unseen: &GaugeVec) {
        for g in [&self.balance_cny, &self.spend_this_month, &self.last_day_theirs, &self.last_day_ours, &self.last_day_difference] {
            g.reset();
        }
        for p in providers {
            let Some(observation) = &p.observation else { continue };
            let account = p.account.as_str();
            if matches!(p.kind, Kind::Openrouter | Kind::Deepseek) {
                for money in &observation.balances {
                    match money.currency.as_str() {
                        "USD" => balance.with_label_values(&[account]).set(to_f64(money.amount)),
                        "CNY" => self.balance_cny.with_label_values(&[account]).set(to_f64(money.amount)),
                        _ => {}
                    }
                }
            }
            if matches!(p.kind, Kind::AnthropicAdmin | Kind::OpenaiAdmin) {
                let gap = self.spend(state, now, p, observation);
                unseen.with_label_values(&[account]).set(to_f64(gap));
            }
        }
    }

    /// Sets the spend gauges of one provider; returns the account's unseen spend.
    fn spend(&self, state: &State, now: DateTime<Utc>, p: &ProviderStatus, observation: &crate::providers::Observation) -> Decimal {
        let (account, name) = (p.account.as_str(), p.name.as_str());
        let MonthGap { report, audit, unseen } = month_gap(state, now, p, observation);
        self.spend_this_month.with_label_values(&[account, name]).set(to_f64(report.month_to_date(now)));
        let last = spend::last_closed_day(now);
        if !report.days.contains(&last) {
            return unseen;
        }
        let (mut theirs, mut ours) = (Decimal::ZERO, Decimal::ZERO);
        for row in audit.rows.iter().filter(|r| r.day == last) {
            theirs += row.theirs;
            ours += row.ours;
            self.last_day_difference.with_label_values(&[account, name, &row.model]).set(to_f64(row.difference));
        }
        self.last_day_theirs.with_label_values(&[account, name]).set(to_f64(theirs));
        self.last_day_ours.with_label_values(&[account, name]).set(to_f64(ours));
        unseen
    }
}

/// An API account's cost report beside the logs this month.
struct MonthGap {
    report: spend::SpendReport,
    audit: crate::providers::audit::Audit,
    unseen: Decimal,
}

fn month_gap(state: &State, now: DateTime<Utc>, p: &ProviderStatus, observation: &crate::providers::Observation) -> MonthGap {
    let (account, name) = (p.account.as_str(), p.name.as_str());
    let report = spend::report_of(observation);
    let ours = state.log_days.of(account, spend::window_start_day(now));
    let audit = spend::compare(&report, &ours);
    let opened = state.ledger.view(account, now).map(|v| v.opening_as_of);
    let booked = |day, model: &str| state.seen.get(&spend::unseen_id(name, day, model)).map_or(Decimal::ZERO, |s| s.cost);
    let unseen = spend::unseen_this_month(&audit, now, opened, booked);
    MonthGap { report, audit, unseen }
}

/// The unseen spend this month by the newest cost report of an API-account
/// provider (`anthropic_admin`, `openai_admin`), as `creditwatch_unseen_spend_usd`
/// shows it; `None` for the other kinds or before a successful poll. The
/// daemon-side `SpendUnseenByLogs` reads it.
pub fn api_unseen(state: &State, now: DateTime<Utc>, p: &ProviderStatus) -> Option<Decimal> {
    if !matches!(p.kind, Kind::AnthropicAdmin | Kind::OpenaiAdmin) {
        return None;
    }
    Some(month_gap(state, now, p, p.observation.as_ref()?).unseen)
}
