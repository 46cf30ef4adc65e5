//! The API-account providers of an account on the page and in the summary
//! (issue 22's kinds): what the provider's cost report says this month and
//! the part of it the logs did not show, or the balance it states, each as
//! `/metrics` has it (the same functions compute both).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::providers::status::ProviderStatus;
use crate::providers::{spend, Kind};
use crate::state::State;

/// What one API-account provider says of an account, from its newest
/// successful poll.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderReport {
    pub provider: String,
    pub kind: &'static str,
    /// The cost report's spend this month (UTC), as the provider reports it.
    #[serde(with = "rust_decimal::serde::str_option", skip_serializing_if = "Option::is_none")]
    pub spend_this_month_usd: Option<Decimal>,
    /// Its spend this month minus ours; never negative.
    #[serde(with = "rust_decimal::serde::str_option", skip_serializing_if = "Option::is_none")]
    pub unseen_usd: Option<Decimal>,
    /// Balances it states, each in its own currency (never converted).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub balances: Vec<Balance>,
    pub observed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Balance {
    pub currency: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
}

/// The reports of `account`'s API-account providers that have answered.
pub fn of_account(state: &State, providers: &[ProviderStatus], account: &str, now: DateTime<Utc>) -> Vec<ProviderReport> {
    providers
        .iter()
        .filter(|p| p.account == account && !matches!(p.kind, Kind::ClaudeOauth))
        .filter_map(|p| {
            let observation = p.observation.as_ref()?;
            let cost_report = matches!(p.kind, Kind::AnthropicAdmin | Kind::OpenaiAdmin);
            Some(ProviderReport {
                provider: p.name.clone(),
                kind: p.kind.as_str(),
                spend_this_month_usd: cost_report.then(|| spend::report_of(observation).month_to_date(now).normalize()),
                unseen_usd: crate::metrics::provider_accounts::api_unseen(state, now, p).map(|d| d.normalize()),
                balances: observation
                    .balances
                    .iter()
                    .map(|m| Balance { currency: m.currency.clone(), amount: m.amount.normalize() })
                    .collect(),
                observed_at: observation.at,
            })
        })
        .collect()
}
