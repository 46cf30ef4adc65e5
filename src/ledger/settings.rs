//! What the config says about an account, in the ledger's terms.
//!
//! Settings are not part of the ledger's persisted state: they come from the
//! config at every start (`Ledger::configure`), so a changed threshold or cap
//! applies from then on. The opening balance is the exception: it is booked
//! once, as an `Opened` entry, when the account first appears.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use super::LedgerError;
use crate::config::{AccountConfig, AutoReloadConfig};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSettings {
    pub name: String,
    pub opening_balance: Decimal,
    /// Usage before this time is inside the opening balance: reported, not
    /// deducted.
    pub opening_as_of: DateTime<Utc>,
    pub auto_reload: Option<AutoReload>,
    pub monthly_allowance: Option<Decimal>,
    /// Apps whose usage draws on the plan allowance first.
    pub direct_apps: Vec<String>,
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

impl AccountSettings {
    /// The account's settings; `created` is the opening time when the config
    /// gives none (the ledger's creation time).
    pub fn from_config(c: &AccountConfig, created: DateTime<Utc>) -> Result<AccountSettings, LedgerError> {
        let auto_reload = c
            .auto_reload
            .as_ref()
            .map(AutoReload::try_from)
            .transpose()
            .map_err(|e| LedgerError::BadSettings(format!("account `{}`: {e}", c.name)))?;
        Ok(AccountSettings {
            name: c.name.clone(),
            opening_balance: c.opening_balance_usd.unwrap_or(Decimal::ZERO),
            opening_as_of: c.opening_balance_as_of.unwrap_or(created),
            auto_reload,
            monthly_allowance: c.monthly_allowance_usd,
            direct_apps: c.direct_apps.clone(),
        })
    }

    pub fn is_direct(&self, app: &str) -> bool {
        self.direct_apps.iter().any(|a| a == app)
    }
}
