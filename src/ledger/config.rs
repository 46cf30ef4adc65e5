//! An account as `config.yaml` writes it (`accounts:`): the ledger's own
//! settings type, read by `crate::config` and turned into `AccountSettings`.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::usage::money;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    pub name: String,
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub opening_balance_usd: Option<Decimal>,
    #[serde(default)]
    pub opening_balance_as_of: Option<DateTime<Utc>>,
    #[serde(default)]
    pub auto_reload: Option<AutoReloadConfig>,
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub monthly_allowance_usd: Option<Decimal>,
    #[serde(default)]
    pub direct_apps: Vec<String>,
    /// A subscription whose plan windows (Claude Code's status line, the
    /// `claude_statusline` source) decide: `direct_apps` are covered by the
    /// plan until a window is exhausted, then draw on the balance.
    #[serde(default)]
    pub plan_windows: bool,
    /// GitHub Copilot: premium requests within the month's allowance are
    /// covered by the plan, the rest billed at `overage_usd` each.
    #[serde(default)]
    pub premium_requests: Option<PremiumRequestsConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PremiumRequestsConfig {
    #[serde(deserialize_with = "money::deserialize")]
    pub monthly_allowance: Decimal,
    #[serde(deserialize_with = "money::deserialize")]
    pub overage_usd: Decimal,
}

impl PremiumRequestsConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.monthly_allowance < Decimal::ZERO {
            return Err("premium_requests.monthly_allowance must not be negative".into());
        }
        if self.overage_usd < Decimal::ZERO {
            return Err("premium_requests.overage_usd must not be negative".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoReloadConfig {
    #[serde(deserialize_with = "money::deserialize")]
    pub threshold_usd: Decimal,
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub amount_usd: Option<Decimal>,
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub target_usd: Option<Decimal>,
    #[serde(deserialize_with = "money::deserialize")]
    pub monthly_cap_usd: Decimal,
}

impl AutoReloadConfig {
    /// One size (amount or target), each sensible.
    pub fn validate(&self) -> Result<(), String> {
        let r = self;
        match (r.amount_usd, r.target_usd) {
            (Some(_), Some(_)) => return Err("give amount_usd or target_usd, not both".into()),
            (None, None) => return Err("give amount_usd (add this much) or target_usd (reload to this balance)".into()),
            (Some(a), None) if a <= Decimal::ZERO => return Err("amount_usd must be more than 0".into()),
            (None, Some(t)) if t <= r.threshold_usd => return Err("target_usd must be above threshold_usd".into()),
            _ => {}
        }
        if r.monthly_cap_usd < Decimal::ZERO {
            return Err("monthly_cap_usd must not be negative".into());
        }
        Ok(())
    }
}
