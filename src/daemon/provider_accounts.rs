//! What an API account's cost report does to the ledger with `reconcile:
//! auto` (issue 22, kinds `anthropic_admin` and `openai_admin`): the unseen
//! spend of each closed day and model booked as app `unattributed`. (A
//! stated balance, `openrouter` and `deepseek`, is reconciled to by
//! `providers::follow_provider`, as every kind's is.) A failed poll never
//! gets here, so an outage moves nothing.

use anyhow::Result;

use crate::ledger::Entry;
use crate::providers::{spend, Kind, Observation, ProviderConfig};
use crate::state::labels::Limits;
use crate::state::provider_book::{self, UnseenSpend};
use crate::state::{Booked, State};
use crate::usage::money;

/// The usage an observation books (its ledger entries applied to
/// `state.ledger` and added to `entries`; the usage is the caller's to
/// apply). Nothing for kinds without a daily cost report.
pub fn unseen_spend(
    state: &mut State,
    config: &ProviderConfig,
    limits: &Limits,
    observation: &Observation,
    entries: &mut Vec<Entry>,
) -> Result<Vec<Booked>> {
    if !matches!(config.kind, Kind::AnthropicAdmin | Kind::OpenaiAdmin) {
        return Ok(Vec::new());
    }
    let (account, name, at) = (config.account.as_str(), config.name.as_str(), observation.at);
    let ours = state.log_days.of(account, spend::window_start_day(at));
    let audit = spend::compare(&spend::report_of(observation), &ours);
    let opened = state.ledger.view(account, at).map(|v| v.opening_as_of);
    let items: Vec<UnseenSpend> = spend::unseen_bookings(name, &audit, at, opened)
        .into_iter()
        .map(|b| UnseenSpend { id: b.id, at: b.at(), model: b.model, total: b.unseen })
        .collect();
    let batch = provider_book::book_unseen(state, name, account, &items, limits, at)?;
    for b in &batch.usage {
        tracing::info!(
            provider = name,
            account,
            model = %b.model,
            day = %b.at.date_naive(),
            "booked {} the logs did not show as app `unattributed` (reconcile: auto)",
            money::format(b.cost)
        );
    }
    entries.extend(batch.ledger);
    Ok(batch.usage)
}
