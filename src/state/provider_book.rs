//! Bookings made from a provider's own figures (`reconcile: auto`): the
//! spend a provider billed that no log showed, booked as app `unattributed`.
//!
//! Each booking carries the id of its provider, day and model and states the
//! day's unseen spend so far; the seen-id index books only what that adds to
//! what the id already booked, so a poll that repeats itself books nothing
//! and a revised day books its difference. Nothing is ever taken back: a
//! smaller figure later books nothing. The bookings are journaled like any
//! usage (source `provider:NAME`, no tokens, not a request), so a restart
//! replays to the same balance.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::log_days::PROVIDER_SOURCE_PREFIX;
use super::seen::Seen;
use super::{Batch, Booked, State};
use crate::ledger::LedgerError;
use crate::state::labels::Limits;
use crate::usage::{EventId, Tokens};

/// The app unseen spend is booked under.
pub const UNATTRIBUTED_APP: &str = "unattributed";

/// One day and model's unseen spend, cumulative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnseenSpend {
    pub id: EventId,
    pub at: DateTime<Utc>,
    pub model: String,
    pub total: Decimal,
}

/// Books what each item adds to the ledger and returns the batch to journal:
/// its ledger entries are applied to `state.ledger`, its usage is not (the
/// caller applies the whole batch's with `State::apply_batch_usage`). On an
/// error the ledger may be half changed: the caller reads the state back
/// from disk.
pub fn book_unseen(
    state: &mut State,
    provider: &str,
    account: &str,
    items: &[UnseenSpend],
    limits: &Limits,
    now: DateTime<Utc>,
) -> Result<Batch, LedgerError> {
    let mut batch = Batch::default();
    for item in items {
        let already = state.seen.get(&item.id).map_or(Decimal::ZERO, |s| s.cost);
        let add = item.total - already;
        if add <= Decimal::ZERO {
            continue;
        }
        let (app, model) = state.labels.bound(UNATTRIBUTED_APP, &item.model, limits.max_apps, limits.max_models);
        batch.ledger.extend(state.ledger.book_usage(account, &app, item.at, add)?);
        let seen = Seen { tokens: Tokens::default(), web_searches: 0, cost: item.total, at: item.at.timestamp().max(now.timestamp()) };
        batch.usage.push(Booked {
            source: format!("{PROVIDER_SOURCE_PREFIX}{provider}"),
            account: account.to_string(),
            app,
            model,
            id: item.id,
            at: item.at,
            tokens: Tokens::default(),
            cost: add,
            new_request: false,
            unpriced: false,
            seen,
            user: None,
            cache_savings: Decimal::ZERO,
            premium_requests: Decimal::ZERO,
            user_cost: None,
        });
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Ledger;

    fn state() -> State {
        let mut ledger = Ledger::new(chrono_tz::UTC);
        let settings = crate::ledger::AccountSettings {
            name: "team".into(),
            opening_balance: "100".parse().unwrap(),
            opening_as_of: Some("2026-10-01T00:00:00Z".parse().unwrap()),
            auto_reload: None,
            monthly_allowance: None,
            direct_apps: vec![],
            plan_windows: false,
            premium_requests: None,
        };
        ledger.configure(vec![settings], "2026-10-01T00:00:00Z".parse().unwrap());
        State::new(ledger)
    }

    fn item(day: &str, model: &str, total: &str) -> UnseenSpend {
        UnseenSpend {
            id: EventId::from_parts("provider-unseen", &["anthropic", day, model]),
            at: format!("{day}T12:00:00Z").parse().unwrap(),
            model: model.into(),
            total: total.parse().unwrap(),
        }
    }

    #[test]
    fn a_revision_books_only_its_difference_and_a_repeat_nothing() {
        let mut s = state();
        let now: DateTime<Utc> = "2026-11-03T08:00:00Z".parse().unwrap();
        let limits = Limits::default();
        let balance = |s: &State| s.ledger.view("team", now).unwrap().balance_usd.to_string();
        let book = |s: &mut State, total: &str| {
            let batch = book_unseen(s, "anthropic", "team", &[item("2026-11-01", "claude-opus-4-6", total)], &limits, now).unwrap();
            s.apply_batch_usage(&batch);
            batch
        };
        let first = book(&mut s, "33.9152823");
        assert_eq!(
            (first.usage.len(), first.usage[0].cost.to_string(), first.usage[0].app.as_str()),
            (1, "33.9152823".into(), "unattributed")
        );
        assert_eq!(balance(&s), "66.0847177");
        let repeat =
            book_unseen(&mut s, "anthropic", "team", &[item("2026-11-01", "claude-opus-4-6", "33.9152823")], &limits, now).unwrap();
        assert!(repeat.usage.is_empty() && repeat.ledger.is_empty());
        let revised = book(&mut s, "35");
        assert_eq!(revised.usage[0].cost.to_string(), "1.0847177");
        let lower = book(&mut s, "30");
        assert!(lower.usage.is_empty(), "nothing is taken back");
        assert_eq!(balance(&s), "65");
        // Replaying the journaled batches on a fresh state gives the same balance.
        let mut replayed = state();
        for b in [first, revised] {
            replayed.apply(&super::super::Record::Batch(b)).unwrap();
        }
        assert_eq!(balance(&replayed), "65");
        assert!(replayed.sources.is_empty(), "a provider is not a source");
        assert!(replayed.log_days.of("team", "2026-01-01".parse().unwrap()).is_empty(), "nor is its spend ours");
    }
}
