//! The summary: every figure of the page (`GET /`) in one value, which
//! `GET /api/v1/summary` returns as JSON and the page renders, so the two
//! never disagree and no figure is computed twice.
//!
//! Built from one look at the ledger state (under its lock), the burn rates
//! and the alerts firing, at one `now`. Money is a decimal string (the
//! ledger's exact figure; burn rates, which are rates, rounded to the
//! cent); times are RFC 3339.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use super::App;
use crate::common::lock;
use crate::config::Config;
use crate::live::burn::{BurnSnapshot, WINDOW_1H, WINDOW_5M};
use crate::sources::Outcome;
use crate::state::State;

/// Rows of each spend table before the rest is summed.
pub const TOP: usize = 8;
/// Days in the chart.
pub const CHART_DAYS: i64 = 30;

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub as_of: DateTime<Utc>,
    pub version: &'static str,
    pub accounts: Vec<AccountSummary>,
    /// Spend booked since the ledger began, per app, model and person.
    pub spend: SpendTables,
    pub daily: Daily,
    pub sources: Vec<SourceSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AccountSummary {
    pub name: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub balance_usd: Decimal,
    /// Seconds until the balance reaches zero at the 1h burn, reloads the
    /// cap allows counted in; null when not burning.
    pub runway_seconds: Option<u64>,
    pub burn_usd_per_hour_5m: String,
    pub burn_usd_per_hour_1h: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub spend_this_month_usd: Decimal,
    pub reloads_this_month: u32,
    #[serde(with = "rust_decimal::serde::str")]
    pub reload_usd_this_month: Decimal,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub reload_cap_usd: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_reload: Option<AutoReload>,
    pub plan_windows: Vec<PlanWindow>,
    /// The provider's own figures and the gap to ours, where a provider is
    /// configured for the account (`providers:`); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderFigures>,
    /// What its API-account providers (cost reports, balances) say.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub provider_reports: Vec<super::provider_reports::ProviderReport>,
    /// Daemon-side alerts firing for this account.
    pub alerts_firing: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AutoReload {
    #[serde(with = "rust_decimal::serde::str")]
    pub threshold_usd: Decimal,
    #[serde(with = "rust_decimal::serde::str_option", skip_serializing_if = "Option::is_none")]
    pub amount_usd: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option", skip_serializing_if = "Option::is_none")]
    pub target_usd: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str")]
    pub monthly_cap_usd: Decimal,
    pub cap_reached_this_month: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlanWindow {
    pub name: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub used_percent: Decimal,
    pub resets_at: DateTime<Utc>,
}

/// What a provider states for an account beside our ledger (issue 21), as
/// the ledger keeps its newest observation.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderFigures {
    pub provider: String,
    /// The provider's extra-usage spend in its current period.
    #[serde(with = "rust_decimal::serde::str")]
    pub extra_usage_spent_usd: Decimal,
    /// Its monthly limit; absent when unlimited.
    #[serde(with = "rust_decimal::serde::str_option", skip_serializing_if = "Option::is_none")]
    pub extra_usage_limit_usd: Option<Decimal>,
    /// A balance the provider states.
    #[serde(with = "rust_decimal::serde::str_option", skip_serializing_if = "Option::is_none")]
    pub balance_usd: Option<Decimal>,
    /// The provider's spend minus ours for the same period; never negative.
    #[serde(with = "rust_decimal::serde::str")]
    pub unseen_usd: Decimal,
    pub observed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SpendTables {
    pub by_app: Vec<Row>,
    pub by_model: Vec<Row>,
    pub by_user: Vec<Row>,
}

/// One row of a spend table; the last may be "other (N more)".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub key: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub cost_usd: Decimal,
    /// How many names an "other" row sums (absent on a named row).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub others: Option<usize>,
}

/// Daily spend of the last `CHART_DAYS` days (in the configured zone),
/// both ways the chart can stack it.
#[derive(Debug, Clone, Serialize)]
pub struct Daily {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub by_app: Vec<DayRow>,
    pub by_model: Vec<DayRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DayRow {
    pub day: NaiveDate,
    pub key: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub cost_usd: Decimal,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceSummary {
    pub name: String,
    pub format: &'static str,
    pub files: u64,
    pub last_event: Option<DateTime<Utc>>,
    pub booked: u64,
    pub duplicates: u64,
    pub errors: u64,
}

/// The largest `TOP` by cost (ties by name), then the rest summed.
pub fn top(totals: BTreeMap<String, Decimal>) -> Vec<Row> {
    let mut rows: Vec<(String, Decimal)> = totals.into_iter().filter(|(_, c)| !c.is_zero()).collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let rest: Vec<(String, Decimal)> = if rows.len() > TOP + 1 { rows.split_off(TOP) } else { Vec::new() };
    let mut out: Vec<Row> = rows.into_iter().map(|(key, cost_usd)| Row { key, cost_usd: cost_usd.normalize(), others: None }).collect();
    if !rest.is_empty() {
        let sum: Decimal = rest.iter().map(|(_, c)| *c).sum();
        out.push(Row { key: "other".into(), cost_usd: sum.normalize(), others: Some(rest.len()) });
    }
    out
}

fn rate(usd_per_hour: f64) -> String {
    format!("{:.2}", if usd_per_hour.is_finite() { usd_per_hour.max(0.0) } else { 0.0 })
}

/// What `build` reads, taken under the locks by `of_app`.
pub struct Inputs<'a> {
    pub config: &'a Config,
    pub state: &'a State,
    pub burn: &'a BurnSnapshot,
    pub firing: &'a [(String, String)],
    pub files: &'a [u64],
    pub providers: &'a [crate::providers::status::ProviderStatus],
    pub now: DateTime<Utc>,
}

pub fn build(i: &Inputs) -> Summary {
    let ledger = &i.state.ledger;
    let accounts = ledger
        .accounts()
        .filter_map(|name| ledger.view(name, i.now).map(|v| (name, v)))
        .map(|(name, view)| {
            let reload = i.config.account(name).and_then(|a| a.auto_reload.as_ref());
            let runway = crate::live::runway(reload, &view, i.burn);
            let plan_windows = ledger
                .plan(name)
                .map(|p| {
                    p.current(i.now)
                        .map(|(w, s)| PlanWindow { name: w.to_string(), used_percent: s.used_percent.normalize(), resets_at: s.resets_at })
                        .collect()
                })
                .unwrap_or_default();
            AccountSummary {
                name: name.to_string(),
                balance_usd: view.balance_usd,
                runway_seconds: runway.is_finite().then(|| runway.max(0.0).round() as u64),
                burn_usd_per_hour_5m: rate(i.burn.account_rate(name, WINDOW_5M)),
                burn_usd_per_hour_1h: rate(i.burn.account_rate(name, WINDOW_1H)),
                spend_this_month_usd: view.spend_this_month_usd,
                reloads_this_month: view.reloads_this_month,
                reload_usd_this_month: view.reload_usd_this_month,
                reload_cap_usd: view.reload_cap_usd,
                auto_reload: view.reload_threshold_usd.zip(view.reload_cap_usd).map(|(threshold_usd, monthly_cap_usd)| AutoReload {
                    threshold_usd,
                    amount_usd: view.reload_amount_usd,
                    target_usd: view.reload_target_usd,
                    monthly_cap_usd,
                    cap_reached_this_month: view.reload_cap_reached_this_month,
                }),
                plan_windows,
                provider: ledger.provider_spend(name).map(|p| ProviderFigures {
                    provider: p.provider.clone(),
                    extra_usage_spent_usd: p.spent.normalize(),
                    extra_usage_limit_usd: p.limit.map(|l| l.normalize()),
                    balance_usd: p.balance.map(|b| b.normalize()),
                    unseen_usd: p.unseen(),
                    observed_at: p.observed_at,
                }),
                provider_reports: super::provider_reports::of_account(i.state, i.providers, name, i.now),
                alerts_firing: i.firing.iter().filter(|(_, a)| a == name).map(|(alert, _)| alert.clone()).collect(),
            }
        })
        .collect();
    Summary {
        as_of: i.now,
        version: crate::common::build_info::VERSION,
        accounts,
        spend: spend_tables(i.state),
        daily: daily(i.state, i.now),
        sources: sources(i),
    }
}

fn spend_tables(state: &State) -> SpendTables {
    let mut by_app: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut by_model: BTreeMap<String, Decimal> = BTreeMap::new();
    for (key, totals) in &state.usage {
        *by_app.entry(key.app.clone()).or_default() += totals.cost;
        *by_model.entry(key.model.clone()).or_default() += totals.cost;
    }
    let mut by_user: BTreeMap<String, Decimal> = BTreeMap::new();
    for (key, cost) in &state.users {
        *by_user.entry(key.user.clone()).or_default() += *cost;
    }
    SpendTables { by_app: top(by_app), by_model: top(by_model), by_user: top(by_user) }
}

fn daily(state: &State, now: DateTime<Utc>) -> Daily {
    let to = now.with_timezone(&state.ledger.timezone()).date_naive();
    let from = to - chrono::Duration::days(CHART_DAYS - 1);
    let mut by_app: BTreeMap<(NaiveDate, String), Decimal> = BTreeMap::new();
    let mut by_model: BTreeMap<(NaiveDate, String), Decimal> = BTreeMap::new();
    for (key, cost) in state.daily.since(from).filter(|(k, _)| k.day <= to) {
        *by_app.entry((key.day, key.app.clone())).or_default() += *cost;
        *by_model.entry((key.day, key.model.clone())).or_default() += *cost;
    }
    let rows = |m: BTreeMap<(NaiveDate, String), Decimal>| {
        m.into_iter().map(|((day, key), cost)| DayRow { day, key, cost_usd: cost.normalize() }).collect::<Vec<_>>()
    };
    Daily { from, to, by_app: rows(by_app), by_model: rows(by_model) }
}

fn sources(i: &Inputs) -> Vec<SourceSummary> {
    i.config
        .sources
        .iter()
        .enumerate()
        .map(|(n, s)| {
            let totals = i.state.sources.get(&s.name);
            let lines = |o: Outcome| totals.map_or(0, |t| t.lines[o.index()]);
            SourceSummary {
                name: s.name.clone(),
                format: s.format.as_str(),
                files: i.files.get(n).copied().unwrap_or(0),
                last_event: totals.and_then(|t| t.last_event),
                booked: lines(Outcome::Booked),
                duplicates: lines(Outcome::Duplicate),
                errors: lines(Outcome::Error),
            }
        })
        .collect()
}

/// The summary now: burn first, then the store (never both locks at once).
pub fn of_app(app: &App) -> Summary {
    let now = Utc::now();
    let (burn, firing) = {
        let mut live = crate::live::lock_live(&app.live);
        (live.burn.rates(now), live.firing.clone())
    };
    let files: Vec<u64> = app.progress.sources.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|s| s.files).collect();
    let config = app.config.load();
    let providers = app.providers.snapshot();
    let store = lock(&app.store);
    build(&Inputs { config: &config, state: &store.state, burn: &burn, firing: &firing, files: &files, providers: &providers, now })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(rows: &[(&str, i64)]) -> BTreeMap<String, Decimal> {
        rows.iter().map(|(k, c)| (k.to_string(), Decimal::new(*c, 2))).collect()
    }

    #[test]
    fn top_rows_then_the_rest_summed() {
        let many: Vec<(String, i64)> = (0..11).map(|i| (format!("m{i:02}"), 100 - i)).collect();
        let rows = top(many.iter().map(|(k, c)| (k.clone(), Decimal::new(*c, 2))).collect());
        assert_eq!(rows.len(), TOP + 1);
        assert_eq!(rows[0], Row { key: "m00".into(), cost_usd: Decimal::ONE, others: None });
        // m08, m09, m10: 0.92 + 0.91 + 0.90.
        assert_eq!(rows[TOP], Row { key: "other".into(), cost_usd: "2.73".parse().unwrap(), others: Some(3) });
        // One more than TOP: shown by name (an "other" of one hides a name for nothing).
        let nine: Vec<(&str, i64)> = vec![("a", 9), ("b", 8), ("c", 7), ("d", 6), ("e", 5), ("f", 4), ("g", 3), ("h", 2), ("i", 1)];
        assert!(top(totals(&nine)).iter().all(|r| r.others.is_none()));
        assert!(top(totals(&[("zero", 0)])).is_empty());
    }
}
