//! What an API account's provider does to the ledger with `reconcile: auto`
//! (issue 22): the unseen spend of each closed day booked as app
//! `unattributed` (spend kinds: `anthropic_admin`, `openai_admin`), or the
//! ledger's balance set to the provider's (balance kinds: `openrouter`,
//! `deepseek`, US dollars only). A failed poll never gets here, so an
//! outage moves nothing.

use anyhow::Result;
use rust_decimal::Decimal;

use crate::providers::{spend, Kind, Observation, ProviderConfig, Reconcile};
use crate::state::labels::Limits;
use crate::state::provider_book::{self, UnseenSpend};
use crate::state::{Batch, State};
use crate::usage::money;

/// The batch an observation books (already applied to `state`); empty with
/// `reconcile: off` or when nothing changed.
pub fn account_batch(state: &mut State, config: &ProviderConfig, limits: &Limits, observation: &Observation) -> Result<Batch> {
    if config.reconcile != Reconcile::Auto {
        return Ok(Batch::default());
    }
    let (account, name, at) = (config.account.as_str(), config.name.as_str(), observation.at);
    match config.kind {
        Kind::AnthropicAdmin | Kind::OpenaiAdmin => {
            let ours = state.daily.of(account, spend::window_start_day(at));
            let audit = spend::compare(&spend::report_of(observation), &ours);
            let opened = state.ledger.view(account, at).map(|v| v.opening_as_of);
            let items: Vec<UnseenSpend> = spend::unseen_bookings(name, &audit, at, opened)
                .into_iter()
                .map(|b| UnseenSpend { id: b.id, at: b.at(), model: b.model, total: b.unseen })
                .collect();
            let batch = provider_book::book_unseen(state, name, account, &items, limits, at)?;
            for b in &batch.usage {
                tracing::info!(provider = name, account, model = %b.model, day = %b.at.date_naive(), "booked {} the logs did not show as app `unattributed`", money::format(b.cost));
            }
            Ok(batch)
        }
        Kind::Openrouter | Kind::Deepseek => {
            let mut batch = Batch::default();
            let Some(balance) = observation.balance_usd() else {
                // A balance in another currency is shown, never set as dollars.
                return Ok(batch);
            };
            let current = state.ledger.view(account, at).map_or(Decimal::ZERO, |v| v.balance_usd);
            if current != balance {
                // The poll's time makes the id: the same observation taken in
                // twice books once, and a later one that differs books again.
                let id = format!("provider:{name}:{}", at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
                batch.ledger.extend(state.ledger.reconcile(account, &id, balance, at)?.entry);
            }
            Ok(batch)
        }
        Kind::ClaudeOauth => Ok(Batch::default()),
    }
}
