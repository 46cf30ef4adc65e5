//! Live booking: turns parsed lines into one `Batch`, changing the state as
//! it goes exactly as replaying the batch would.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use rust_decimal::Decimal;

use super::{Batch, Booked, State};
use crate::pricing::savings::cache_savings;
use crate::pricing::PriceTable;
use crate::sources::{Outcome, SourceSpec};
use crate::state::labels::Limits;
use crate::usage::plan::PlanObservation;
use crate::usage::UsageEvent;

/// No single request costs a million dollars or uses a trillion tokens; a
/// line claiming so is damaged, and its figures must not reach the sums
/// (Decimal addition of such figures could overflow).
const MAX_REQUEST_COST: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);
const MAX_REQUEST_TOKENS: u64 = 1_000_000_000_000;

fn plausible(event: &UsageEvent) -> Result<(), String> {
    if event.stated_cost.is_some_and(|c| c.abs() > MAX_REQUEST_COST) {
        return Err(format!("a stated cost over ${MAX_REQUEST_COST} for one request"));
    }
    if event.tokens.by_kind().iter().any(|n| *n > MAX_REQUEST_TOKENS) || event.web_searches > MAX_REQUEST_TOKENS {
        return Err(format!("over {MAX_REQUEST_TOKENS} tokens in one request"));
    }
    Ok(())
}

/// The cost of the debit among a booking's entries.
fn debit_cost(entries: &[crate::ledger::Entry]) -> Decimal {
    entries
        .iter()
        .find_map(|e| match e {
            crate::ledger::Entry::Debit { cost, .. } => Some(*cost),
            _ => None,
        })
        .unwrap_or_default()
}

/// Collects one round's bookings. Dropping it without `finish` leaves the
/// state half-changed: the caller then reloads the state from disk.
pub struct Booking<'a> {
    state: &'a mut State,
    prices: &'a PriceTable,
    limits: &'a Limits,
    unpriced_warned: &'a mut HashSet<String>,
    batch: Batch,
    lines: BTreeMap<String, [u64; 4]>,
    now: i64,
}

impl<'a> Booking<'a> {
    pub fn new(state: &'a mut State, prices: &'a PriceTable, limits: &'a Limits, unpriced_warned: &'a mut HashSet<String>) -> Booking<'a> {
        let now = chrono::Utc::now().timestamp();
        Booking { state, prices, limits, unpriced_warned, batch: Batch::default(), lines: BTreeMap::new(), now }
    }

    /// Counts a line that booked nothing.
    pub fn count(&mut self, source: &str, outcome: Outcome) {
        match self.lines.get_mut(source) {
            Some(counts) => counts[outcome.index()] += 1,
            None => self.lines.entry(source.to_string()).or_default()[outcome.index()] += 1,
        }
    }

    /// Books one usage event of `source`; returns what became of its line.
    pub fn event(&mut self, source: &SourceSpec, path: &Path, event: &UsageEvent) -> Outcome {
        let outcome = self.book(source, path, event);
        self.count(&source.name, outcome);
        outcome
    }

    /// Books an event that was held back by its parser (its line was
    /// counted when it was read).
    pub fn held_event(&mut self, source: &SourceSpec, path: &Path, event: &UsageEvent) -> Outcome {
        self.book(source, path, event)
    }

    fn book(&mut self, source: &SourceSpec, path: &Path, event: &UsageEvent) -> Outcome {
        if let Err(why) = plausible(event) {
            tracing::warn!(file = %path.display(), source = %source.name, "line refused: {why}");
            return Outcome::Error;
        }
        // Known only under the id an earlier release gave it: the copy adds
        // nothing, but the request is written down under today's id, so the
        // other source's copy (the OTLP event) finds it too.
        let before = self.state.seen.get(&event.id).map(|s| s.tokens);
        let rekey = match before {
            None => event.earlier_id.and_then(|id| self.state.seen.get(&id).copied()),
            Some(_) => None,
        };
        let Some(added) = self.state.seen.admit(event, self.prices, self.now) else {
            if let Some(seen) = rekey {
                self.rekey(source, path, event, seen);
            }
            return Outcome::Duplicate;
        };
        let account = source.account_of(event);
        let (app, model) = self.state.labels.bound(&source.app_of(event, path), &event.model, self.limits.max_apps, self.limits.max_models);
        self.state.labels.note(&app, &model);
        if !added.priced {
            self.state.unpriced_models.insert(model.clone());
        }
        if !added.priced && self.unpriced_warned.insert(event.model.clone()) {
            tracing::warn!(model = %event.model, source = %source.name, "no price for this model: booked at $0 (add it under `prices:`)");
        }
        // GitHub Copilot bills premium requests, not tokens: on an account
        // with `premium_requests`, a Copilot request costs its premium
        // requests past the month's allowance (`Ledger::book_premium`).
        let premium = match source.format {
            crate::sources::Format::CopilotCli => self.state.ledger.book_premium(&account, &app, event.timestamp, event.premium_requests),
            _ => None,
        };
        let by_premium = premium.is_some();
        let booked = premium.unwrap_or_else(|| self.state.ledger.book_usage(&account, &app, event.timestamp, added.cost));
        let cost = match booked {
            Ok(entries) => {
                let cost = if by_premium { debit_cost(&entries) } else { added.cost };
                self.batch.ledger.extend(entries);
                cost
            }
            Err(e) => {
                tracing::warn!(file = %path.display(), account = %account, "cannot book: {e}");
                return Outcome::Error;
            }
        };
        let seen = added.seen;
        let user = source.user_name(event).map(|u| self.state.labels.bound_user(u, self.limits.max_users));
        let savings = |t: &crate::usage::Tokens| cache_savings(self.prices, &event.model, t, &event.modifiers, event.timestamp);
        let cache_savings = (savings(&seen.tokens) - before.as_ref().map(savings).unwrap_or_default()).max(Decimal::ZERO);
        self.batch.usage.push(Booked {
            source: source.name.clone(),
            account,
            app,
            model,
            id: event.id,
            at: event.timestamp,
            tokens: added.tokens,
            cost,
            new_request: added.new_request,
            unpriced: !added.priced,
            seen,
            user,
            cache_savings,
            premium_requests: event.premium_requests,
        });
        Outcome::Booked
    }

    /// Takes in a plan-window snapshot of `source`'s account and counts its
    /// line: booked when it told the ledger something new, a duplicate when
    /// it repeated what was known, skipped when it had no windows.
    pub fn plan_windows(&mut self, source: &SourceSpec, path: &Path, observation: &PlanObservation) -> Outcome {
        let outcome = if observation.windows.is_empty() {
            Outcome::Skipped
        } else {
            match self.state.ledger.observe_plan(&source.account, observation) {
                Ok(Some(entry)) => {
                    self.batch.ledger.push(entry);
                    Outcome::Booked
                }
                Ok(None) => Outcome::Duplicate,
                Err(e) => {
                    tracing::warn!(file = %path.display(), account = %source.account, "cannot take in the plan windows: {e}");
                    Outcome::Error
                }
            }
        };
        self.count(&source.name, outcome);
        outcome
    }

    fn rekey(&mut self, source: &SourceSpec, path: &Path, event: &UsageEvent, seen: crate::state::seen::Seen) {
        let (app, model) = self.state.labels.bound(&source.app_of(event, path), &event.model, self.limits.max_apps, self.limits.max_models);
        self.batch.usage.push(Booked {
            source: source.name.clone(),
            account: source.account_of(event),
            app,
            model,
            id: event.id,
            at: event.timestamp,
            tokens: crate::usage::Tokens::default(),
            cost: Decimal::ZERO,
            new_request: false,
            unpriced: false,
            seen,
            user: None,
            cache_savings: Decimal::ZERO,
            premium_requests: Decimal::ZERO,
        });
    }

    pub fn batch_mut(&mut self) -> &mut Batch {
        &mut self.batch
    }

    /// Applies the rest of the batch to the state and returns it for the
    /// journal.
    pub fn finish(mut self) -> Batch {
        self.batch.lines = std::mem::take(&mut self.lines).into_iter().collect();
        self.state.apply_batch_usage(&self.batch);
        self.batch
    }
}
