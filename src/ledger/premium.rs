//! GitHub Copilot premium requests in the ledger.
//!
//! Copilot bills premium requests, not tokens
//! (https://docs.github.com/en/copilot/concepts/billing/copilot-requests:
//! a plan includes a monthly allowance of premium requests; past it, each
//! one is billed at the overage price, $0.04). An account with
//! `premium_requests: { monthly_allowance, overage_usd }` books a Copilot
//! request's premium requests the way plan windows book a subscription's
//! usage: those within the calendar month's allowance are covered by the
//! plan (`from_plan`: spend, never taken from the balance), the rest are
//! drawn from the balance at the overage price, then auto-reload runs as
//! after any debit. The debit carries the premium requests it counted, so
//! a replay rebuilds the month's figure without re-deciding.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::account::{Ledger, LedgerError};
use super::entry::Entry;
use super::month::Month;

impl Ledger {
    /// Books `premium` premium requests of one Copilot request at `at`
    /// against `account`'s allowance; `None` when the account has no
    /// `premium_requests` (its requests are priced by their tokens).
    pub fn book_premium(
        &mut self,
        account: &str,
        app: &str,
        at: DateTime<Utc>,
        premium: Decimal,
    ) -> Option<Result<Vec<Entry>, LedgerError>> {
        let rule = self.settings(account).and_then(|s| s.premium_requests)?;
        Some(self.book_premium_steps(account, app, at, premium, rule.monthly_allowance, rule.overage_usd))
    }

    fn book_premium_steps(
        &mut self,
        account: &str,
        app: &str,
        at: DateTime<Utc>,
        premium: Decimal,
        allowance: Decimal,
        overage: Decimal,
    ) -> Result<Vec<Entry>, LedgerError> {
        if premium < Decimal::ZERO {
            return Err(LedgerError::BadAmount { amount: premium, reason: "premium requests cannot be negative" });
        }
        let before = self.accounts.get(account).cloned().ok_or_else(|| LedgerError::UnknownAccount(account.to_string()))?;
        let month = Month::of(at, self.tz);
        let used = before.figures(month).premium_requests;
        let covered = premium.min((allowance - used).max(Decimal::ZERO));
        let price = |n: Decimal| n.checked_mul(overage).ok_or_else(|| LedgerError::Overflow(account.to_string()));
        let (cost, from_plan) = (price(premium)?, price(covered)?);
        let deducted = at >= before.opening_as_of;
        let debit = Entry::Debit {
            account: account.to_string(),
            app: app.to_string(),
            at,
            month,
            cost,
            from_allowance: Decimal::ZERO,
            from_balance: cost - from_plan,
            deducted,
            from_plan,
            premium_requests: premium,
        };
        self.apply(&debit)?;
        let mut entries = vec![debit];
        let reload = self.settings(account).and_then(|s| s.auto_reload).filter(|_| deducted && cost > from_plan);
        if let Some(reload) = reload {
            if let Err(e) = self.auto_reload(account, at, month, reload, &mut entries) {
                self.accounts.insert(account.to_string(), before);
                return Err(e);
            }
        }
        Ok(entries)
    }

    /// Premium requests counted in `account`'s calendar month of `at`.
    pub fn premium_requests_in_month(&self, account: &str, at: DateTime<Utc>) -> Decimal {
        let month = Month::of(at, self.tz);
        self.accounts.get(account).map_or(Decimal::ZERO, |s| s.figures(month).premium_requests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::settings::{AccountSettings, PremiumRequests};
    use crate::usage::money;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn ledger() -> Ledger {
        let mut ledger = Ledger::new(chrono_tz::UTC);
        let settings = AccountSettings {
            name: "dev".into(),
            opening_balance: Decimal::from(10),
            opening_as_of: Some(t("2026-11-01T00:00:00Z")),
            auto_reload: None,
            monthly_allowance: None,
            direct_apps: Vec::new(),
            plan_windows: false,
            premium_requests: Some(PremiumRequests { monthly_allowance: Decimal::from(300), overage_usd: "0.04".parse().unwrap() }),
        };
        ledger.configure(vec![settings], t("2026-11-01T00:00:00Z"));
        ledger
    }

    /// 290 then 15.33 premium requests in November: 10 covered, 5.33 at
    /// $0.04 from the balance; December starts a new allowance.
    #[test]
    fn the_allowance_covers_then_the_overage_is_drawn_from_the_balance() {
        let mut ledger = ledger();
        let split = |entries: &[Entry]| match &entries[0] {
            Entry::Debit { cost, from_plan, from_balance, .. } => {
                (money::format(*cost), money::format(*from_plan), money::format(*from_balance))
            }
            other => panic!("{other:?}"),
        };
        let a = ledger.book_premium("dev", "copilot-cli", t("2026-11-10T10:00:00Z"), Decimal::from(290)).unwrap().unwrap();
        assert_eq!(split(&a), ("11.6".into(), "11.6".into(), "0".into()));
        let b = ledger.book_premium("dev", "copilot-cli", t("2026-11-20T10:00:00Z"), "15.33".parse().unwrap()).unwrap().unwrap();
        assert_eq!(split(&b), ("0.6132".into(), "0.4".into(), "0.2132".into()));
        let view = ledger.view("dev", t("2026-11-30T00:00:00Z")).unwrap();
        assert_eq!(money::format(view.balance_usd), "9.7868");
        assert_eq!(money::format(ledger.premium_requests_in_month("dev", t("2026-11-30T00:00:00Z"))), "305.33");
        let c = ledger.book_premium("dev", "copilot-cli", t("2026-12-01T00:00:01Z"), Decimal::ONE).unwrap().unwrap();
        assert_eq!(split(&c), ("0.04".into(), "0.04".into(), "0".into()));
        // Replaying the entries rebuilds the same figures.
        let mut replay = Ledger::new(chrono_tz::UTC);
        replay.apply(&Entry::Opened { account: "dev".into(), balance: Decimal::from(10), as_of: t("2026-11-01T00:00:00Z") }).unwrap();
        for e in a.iter().chain(&b).chain(&c) {
            replay.apply(e).unwrap();
        }
        assert_eq!(
            replay.premium_requests_in_month("dev", t("2026-11-30T00:00:00Z")),
            ledger.premium_requests_in_month("dev", t("2026-11-30T00:00:00Z"))
        );
        assert_eq!(replay.view("dev", t("2026-11-30T00:00:00Z")).unwrap().balance_usd, view.balance_usd);
        // An account without the rule is not booked here.
        assert!(ledger.book_premium("other", "copilot-cli", t("2026-11-10T10:00:00Z"), Decimal::ONE).is_none());
        assert!(ledger.book_premium("dev", "copilot-cli", t("2026-11-10T10:00:00Z"), Decimal::NEGATIVE_ONE).unwrap().is_err());
    }
}
