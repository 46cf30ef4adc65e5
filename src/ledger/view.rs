//! What the HTTP API and the metrics show of an account at a given time.
//!
//! Month figures are those of the month `now` falls in (configured zone),
//! so they read zero in a month with no bookings yet: the month rolls over
//! by time alone. Money is normalized (`25`, not `25.000000`) for JSON.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use super::account::{Ledger, TopupTotals};
use super::month::Month;

/// One account as the API and the metrics show it at a given time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountView {
    pub account: String,
    /// The month the `_this_month` figures are of.
    pub month: Month,
    pub balance_usd: Decimal,
    pub opening_balance_usd: Decimal,
    pub opening_as_of: DateTime<Utc>,
    pub spend_this_month_usd: Decimal,
    pub reloads_this_month: u32,
    pub reload_usd_this_month: Decimal,
    pub reload_cap_reached_this_month: bool,
    pub reload_threshold_usd: Option<Decimal>,
    pub reload_amount_usd: Option<Decimal>,
    pub reload_target_usd: Option<Decimal>,
    pub reload_cap_usd: Option<Decimal>,
    /// Auto-reload dollars the cap still allows this month.
    pub remaining_reload_usd: Option<Decimal>,
    pub monthly_allowance_usd: Option<Decimal>,
    pub allowance_remaining_usd: Option<Decimal>,
    pub topups: TopupTotals,
    /// Spend the plan covered this month (accounts with `plan_windows`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_covered_this_month_usd: Option<Decimal>,
}

impl Ledger {
    /// The account at `now`: month figures are those of `now`'s month, so
    /// they read zero in a month with no bookings yet.
    pub fn view(&self, account: &str, now: DateTime<Utc>) -> Option<AccountView> {
        let state = self.accounts.get(account)?;
        let settings = self.settings.get(account);
        let month = Month::of(now, self.tz);
        let f = state.figures(month);
        let reload = settings.and_then(|s| s.auto_reload);
        let allowance = settings.and_then(|s| s.monthly_allowance);
        let n = Decimal::normalize;
        let left = |limit: Decimal, used: Decimal| n(&limit.saturating_sub(used).max(Decimal::ZERO));
        Some(AccountView {
            account: account.to_string(),
            month,
            balance_usd: n(&state.balance),
            opening_balance_usd: n(&state.opening_balance),
            opening_as_of: state.opening_as_of,
            spend_this_month_usd: n(&f.spend),
            reloads_this_month: f.reloads,
            reload_usd_this_month: n(&f.reload_usd),
            reload_cap_reached_this_month: f.cap_reached,
            reload_threshold_usd: reload.map(|r| n(&r.threshold)),
            reload_amount_usd: reload.and_then(|r| r.amount()).map(|a| n(&a)),
            reload_target_usd: reload.and_then(|r| r.target()).map(|t| n(&t)),
            reload_cap_usd: reload.map(|r| n(&r.monthly_cap)),
            remaining_reload_usd: reload.map(|r| left(r.monthly_cap, f.reload_usd)),
            monthly_allowance_usd: allowance.map(|a| n(&a)),
            allowance_remaining_usd: allowance.map(|a| left(a, f.allowance_used)),
            plan_covered_this_month_usd: settings.filter(|s| s.plan_windows).map(|_| n(&f.plan_covered)),
            topups: TopupTotals {
                manual_usd: n(&state.topups.manual_usd),
                auto_usd: n(&state.topups.auto_usd),
                reconcile_usd: n(&state.topups.reconcile_usd),
                reconcile_added_usd: n(&state.topups.reconcile_added_usd),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::ledger::settings::{AccountSettings, AutoReload, ReloadSize};
    use crate::ledger::Ledger;
    use crate::usage::money::parse;

    #[test]
    fn the_view_is_plain_json_with_normalized_money() {
        let mut ledger = Ledger::new(chrono_tz::UTC);
        ledger.configure(
            vec![AccountSettings {
                name: "personal".into(),
                opening_balance: parse("10.00").unwrap(),
                opening_as_of: Some("2026-11-01T00:00:00Z".parse().unwrap()),
                auto_reload: Some(AutoReload {
                    threshold: parse("5").unwrap(),
                    size: ReloadSize::Amount(parse("20.00").unwrap()),
                    monthly_cap: parse("100").unwrap(),
                }),
                monthly_allowance: None,
                direct_apps: vec![],
                plan_windows: false,
                premium_requests: None,
            }],
            chrono::Utc::now(),
        );
        let at = "2026-11-02T00:00:00Z".parse().unwrap();
        ledger.book_usage("personal", "claude-code", at, parse("5.000000").unwrap()).unwrap();
        let json = serde_json::to_string(&ledger.view("personal", at).unwrap()).unwrap();
        assert_eq!(
            json,
            r#"{"account":"personal","month":"2026-11","balance_usd":"25","opening_balance_usd":"10","opening_as_of":"2026-11-01T00:00:00Z","spend_this_month_usd":"5","reloads_this_month":1,"reload_usd_this_month":"20","reload_cap_reached_this_month":false,"reload_threshold_usd":"5","reload_amount_usd":"20","reload_target_usd":null,"reload_cap_usd":"100","remaining_reload_usd":"80","monthly_allowance_usd":null,"allowance_remaining_usd":null,"topups":{"manual_usd":"0","auto_usd":"20","reconcile_usd":"0","reconcile_added_usd":"0"}}"#
        );
    }
}
