//! The provider's own extra-usage figures in the ledger, and the gap
//! between them and what the ledger booked: spend the logs never showed
//! (claude.ai in a browser, another laptop, background calls).
//!
//! Per account, the newest `ProviderFigures` and a period:
//! - the provider's period is its own: a drop in its figure starts a new
//!   one, counted from the observation before the drop (the reset lies
//!   between the two; counting from the later one would book the ledger's
//!   spend in between twice under `reconcile: auto`);
//! - the first observation is the baseline: the opening balance (or the
//!   history before this provider was configured) already paid for what the
//!   provider had counted by then, and nobody knows which part of it the
//!   ledger saw;
//! - the ledger's side is every debit taken from the balance whose event
//!   time is in the period.
//!
//! unseen = (provider's figure - baseline) - ledger's side, never below 0.
//! Pure and journaled: the same entries replay to the same gap.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::account::{AccountState, Ledger, LedgerError};
use super::entry::Entry;

/// The provider figures of one account and the period the gap counts in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderSpend {
    pub provider: String,
    /// The provider's extra-usage spend in its current period (USD).
    pub spent: Decimal,
    pub limit: Option<Decimal>,
    pub balance: Option<Decimal>,
    /// When these figures were observed.
    pub observed_at: DateTime<Utc>,
    /// The period's counting starts here (event time of the ledger's debits).
    pub period_from: DateTime<Utc>,
    /// The provider's figure already paid for before counting started.
    pub baseline: Decimal,
    /// The ledger's balance debits with event time at or after `period_from`.
    pub booked: Decimal,
    /// The same, at or after `observed_at` (becomes `booked` when a drop
    /// starts a new period from `observed_at`).
    pub booked_since_observed: Decimal,
}

impl ProviderSpend {
    /// The provider's spend minus the ledger's in the period; negative when
    /// the ledger counted more (a bug to report). See `unseen`.
    pub fn gap(&self) -> Decimal {
        self.spent - self.baseline - self.booked
    }

    /// Spend the provider saw and the logs did not; never negative.
    pub fn unseen(&self) -> Decimal {
        self.gap().max(Decimal::ZERO).normalize()
    }

    /// Counts one debit taken from the balance.
    pub(super) fn count_debit(&mut self, at: DateTime<Utc>, from_balance: Decimal) {
        if at >= self.period_from {
            self.booked += from_balance;
        }
        if at >= self.observed_at {
            self.booked_since_observed += from_balance;
        }
    }
}

/// Applies a `ProviderFigures` entry to an account.
pub(super) fn apply_figures(state: &mut AccountState, entry: &Entry) {
    let Entry::ProviderFigures { provider, at, spent, limit, balance, .. } = entry else { return };
    let next = match state.provider.take() {
        // Same provider, same period.
        Some(p) if p.provider == *provider && *spent >= p.spent => {
            ProviderSpend { spent: *spent, limit: *limit, balance: *balance, observed_at: *at, booked_since_observed: Decimal::ZERO, ..p }
        }
        // A drop: a new period from the observation before it.
        Some(p) if p.provider == *provider => ProviderSpend {
            spent: *spent,
            limit: *limit,
            balance: *balance,
            observed_at: *at,
            period_from: p.observed_at,
            baseline: Decimal::ZERO,
            booked: p.booked_since_observed,
            booked_since_observed: Decimal::ZERO,
            provider: p.provider,
        },
        // The first figures (or another provider now): the baseline.
        _ => ProviderSpend {
            provider: provider.clone(),
            spent: *spent,
            limit: *limit,
            balance: *balance,
            observed_at: *at,
            period_from: *at,
            baseline: *spent,
            booked: Decimal::ZERO,
            booked_since_observed: Decimal::ZERO,
        },
    };
    state.provider = Some(next);
}

impl Ledger {
    /// The provider figures of `account`, if any were observed.
    pub fn provider_spend(&self, account: &str) -> Option<&ProviderSpend> {
        self.accounts.get(account).and_then(|s| s.provider.as_ref())
    }

    /// Takes in the provider's extra-usage figures. Returns the entry to
    /// journal (already applied), or `None` when nothing changed.
    pub fn observe_provider(
        &mut self,
        account: &str,
        provider: &str,
        at: DateTime<Utc>,
        spent: Decimal,
        limit: Option<Decimal>,
        balance: Option<Decimal>,
    ) -> Result<Option<Entry>, LedgerError> {
        let state = self.accounts.get(account).ok_or_else(|| LedgerError::UnknownAccount(account.to_string()))?;
        if let Some(p) = &state.provider {
            let same = p.provider == provider && p.spent == spent && p.limit == limit && p.balance == balance;
            if same || at < p.observed_at {
                return Ok(None);
            }
        }
        let entry = Entry::ProviderFigures { account: account.into(), provider: provider.into(), at, spent, limit, balance };
        self.apply(&entry)?;
        Ok(Some(entry))
    }
}

#[cfg(test)]
mod tests;
