//! What the config says about an account, in the ledger's terms.
//!
//! Settings are not part of the ledger's persisted state: they come from the
//! config at every start (`Ledger::configure`), so a changed threshold or cap
//! applies from then on. The opening balance is the exception: it is booked
//! once, as an `Opened` entry, when the account first appears.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use super::config::{AccountConfig, AutoReloadConfig};
use super::LedgerError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSettings {
    pub name: String,
    pub opening_balance: Decimal,
    /// Usage before this time is inside the opening balance: reported, not
    /// deducted. `None`: when the account is opened (`Ledger::configure`).
    pub opening_as_of: Option<DateTime<Utc>>,
    pub auto_reload: Option<AutoReload>,
    pub monthly_allowance: Option<Decimal>,
    /// Apps whose usage draws on the plan allowance first.
    pub direct_apps: Vec<String>,
    /// `direct_apps` are covered by the plan while no plan window is
    /// exhausted (see `ledger::plan`).
    pub plan_windows: bool,
    /// GitHub Copilot's premium requests (see `Ledger::book_premium`).
    pub premium_requests: Option<PremiumRequests>,
}

/// A month's premium requests covered by the plan, and the price of each
/// one past them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PremiumRequests {
    pub monthly_allowance: Decimal,
    pub overage_usd: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoReload {
    /// Reload while the balance is at or below this.
    pub threshold: Decimal,
    pub size: ReloadSize,
    /// Most auto-reload dollars per calendar month.
    pub monthly_cap: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReloadSize {
    /// Add this much.
    Amount(Decimal),
    /// Reload to this balance.
    Target(Decimal),
}

impl AutoReload {
    /// The dollars one reload adds at `balance` (not positive: none is due).
    pub fn amount_at(&self, balance: Decimal) -> Decimal {
        match self.size {
            ReloadSize::Amount(amount) => amount,
            ReloadSize::Target(target) => target.checked_sub(balance).unwrap_or(Decimal::ZERO),
        }
    }

    pub fn amount(&self) -> Option<Decimal> {
        match self.size {
            ReloadSize::Amount(a) => Some(a),
            ReloadSize::Target(_) => None,
        }
    }

    pub fn target(&self) -> Option<Decimal> {
        match self.size {
            ReloadSize::Target(t) => Some(t),
            ReloadSize::Amount(_) => None,
        }
    }
}

impl TryFrom<&AutoReloadConfig> for AutoReload {
    type Error = LedgerError;
    fn try_from(c: &AutoReloadConfig) -> Result<AutoReload, LedgerError> {
        let size = match (c.amount_usd, c.target_usd) {
            (Some(a), None) if a > Decimal::ZERO => ReloadSize::Amount(a),
            (None, Some(t)) if t > c.threshold_usd => ReloadSize::Target(t),
            _ => {
                return Err(LedgerError::BadSettings(
                    "auto_reload needs amount_usd above 0 or target_usd above threshold_usd, not both".into(),
                ))
            }
        };
        Ok(AutoReload { threshold: c.threshold_usd, size, monthly_cap: c.monthly_cap_usd })
    }
}

impl TryFrom<&AccountConfig> for AccountSettings {
    type Error = LedgerError;
    fn try_from(c: &AccountConfig) -> Result<AccountSettings, LedgerError> {
        let auto_reload = c.auto_reload.as_ref().map(AutoReload::try_from).transpose().map_err(|e| match e {
            LedgerError::BadSettings(m) => LedgerError::BadSettings(format!("account `{}`: {m}", c.name)),
            other => other,
        })?;
        Ok(AccountSettings {
            name: c.name.clone(),
            opening_balance: c.opening_balance_usd.unwrap_or(Decimal::ZERO),
            opening_as_of: c.opening_balance_as_of,
            auto_reload,
            monthly_allowance: c.monthly_allowance_usd,
            direct_apps: c.direct_apps.clone(),
            plan_windows: c.plan_windows,
            premium_requests: match &c.premium_requests {
                Some(p) => {
                    p.validate().map_err(|m| LedgerError::BadSettings(format!("account `{}`: {m}", c.name)))?;
                    Some(PremiumRequests { monthly_allowance: p.monthly_allowance, overage_usd: p.overage_usd })
                }
                None => None,
            },
        })
    }
}

impl AccountSettings {
    pub fn is_direct(&self, app: &str) -> bool {
        self.direct_apps.iter().any(|a| a == app)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Config {
        accounts: Vec<AccountConfig>,
    }

    const CONFIG: &str = r#"
accounts:
  - name: personal
    opening_balance_usd: "50.00"
    opening_balance_as_of: "2026-11-01T00:00:00Z"
    auto_reload: { threshold_usd: "5", amount_usd: 20, monthly_cap_usd: "100" }
  - name: work
    auto_reload: { threshold_usd: "10", target_usd: "60.5", monthly_cap_usd: "300" }
    monthly_allowance_usd: 200
    direct_apps: [claude.ai]
"#;

    #[test]
    fn settings_come_from_the_config() {
        let config = serde_yaml_ng::from_str::<Config>(CONFIG).unwrap();
        let personal = AccountSettings::try_from(&config.accounts[0]).unwrap();
        let work = AccountSettings::try_from(&config.accounts[1]).unwrap();
        assert_eq!(personal.opening_as_of, Some("2026-11-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap()));
        assert_eq!(crate::usage::money::format(personal.opening_balance), "50");
        assert_eq!(personal.auto_reload.map(|r| (r.amount(), r.target())), Some((Some(Decimal::from(20)), None)));
        assert_eq!((work.opening_as_of, work.opening_balance), (None, Decimal::ZERO));
        let reload = work.auto_reload.unwrap();
        assert_eq!(reload.target().map(crate::usage::money::format).as_deref(), Some("60.5"));
        assert_eq!(crate::usage::money::format(reload.amount_at(Decimal::from(-4))), "64.5");
        assert!(work.is_direct("claude.ai") && !work.is_direct("claude-code"));
        assert_eq!(work.monthly_allowance, Some(Decimal::from(200)));
    }

    #[test]
    fn a_reload_without_exactly_one_size_is_refused() {
        let mut config = serde_yaml_ng::from_str::<Config>(CONFIG).unwrap();
        let reload = config.accounts[0].auto_reload.as_mut().unwrap();
        reload.target_usd = Some(Decimal::from(50));
        let err = AccountSettings::try_from(&config.accounts[0]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "bad account settings: account `personal`: auto_reload needs amount_usd above 0 or target_usd \
             above threshold_usd, not both"
        );
    }
}
