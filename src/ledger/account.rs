//! The ledger's pure state machine: balances, auto-reloads against a monthly
//! cap, plan allowances and idempotent top-ups. No I/O and no clock: every
//! call is given its time, so tests and replays are exact.
//!
//! Invariants:
//! - State changes only through `Ledger::apply`; the booking methods decide
//!   entries and apply them one by one, so applying the returned entries to a
//!   ledger in the same state gives the same ledger (replay).
//! - A booking is all or nothing: on an error no entry is applied.
//! - balance = opening + top-ups + auto-reloads + reconcile adjustments
//!   minus deducted usage, exactly, in `Decimal` (checked: an overflow is
//!   an error, never a panic). The balance may go negative.
//! - Month figures live in a map Month -> figures, so a backfilled event is
//!   counted in its own month; a view at a month with no bookings shows
//!   zeros. Only the last 13 months (counted from the newest month booked)
//!   are kept.
//! - `topups.reconcile_usd` is the signed sum of reconcile adjustments: it
//!   goes down when a reconcile lowers the balance.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use super::entry::{Booked, Entry, Receipt, RequestKind};
pub use super::error::LedgerError;
use super::month::{tz_name, Month};
use super::plan::PlanState;
use super::settings::{AccountSettings, AutoReload};
use super::view::AccountView;
use crate::usage::plan::PlanObservation;

/// Months of figures kept per account.
const MONTHS_KEPT: i64 = 13;

/// A bound on the reload loop for one booking, so a settings mistake (a tiny
/// amount, a huge cap) cannot make one event emit millions of entries.
const MAX_RELOADS_PER_BOOKING: usize = 1000;

/// Credits by kind, all time (`creditwatch_topups_usd_total{kind}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopupTotals {
    pub manual_usd: Decimal,
    pub auto_usd: Decimal,
    /// Signed: a reconcile that lowers the balance subtracts.
    pub reconcile_usd: Decimal,
    /// Only the reconciles that raised the balance: never goes down, so it
    /// can be the `kind="reconcile"` counter.
    #[serde(default)]
    pub reconcile_added_usd: Decimal,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct MonthFigures {
    /// All usage cost of the month, deducted or not, allowance or balance.
    pub(super) spend: Decimal,
    pub(super) reloads: u32,
    pub(super) reload_usd: Decimal,
    pub(super) allowance_used: Decimal,
    pub(super) cap_reached: bool,
    /// Spend a subscription's plan covered (`plan_windows`).
    #[serde(default)]
    pub(super) plan_covered: Decimal,
    /// GitHub Copilot premium requests counted this month.
    #[serde(default)]
    pub(super) premium_requests: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct AccountState {
    pub(super) opening_balance: Decimal,
    pub(super) opening_as_of: DateTime<Utc>,
    pub(super) balance: Decimal,
    pub(super) topups: TopupTotals,
    pub(super) months: BTreeMap<Month, MonthFigures>,
    #[serde(default)]
    pub(super) plan: PlanState,
    /// The provider's extra-usage figures and the unseen gap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) provider: Option<super::provider::ProviderSpend>,
}

/// Balances and month figures of every account; `Clone` and serde so the
/// daemon can snapshot it and book a batch on a copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    #[serde(with = "tz_name")]
    pub(super) tz: Tz,
    pub(super) accounts: BTreeMap<String, AccountState>,
    /// Top-ups and reconciles by client id, for idempotency.
    receipts: BTreeMap<String, Receipt>,
    /// From the config at each start; not persisted.
    #[serde(skip)]
    pub(super) settings: BTreeMap<String, AccountSettings>,
}

fn add(account: &str, a: Decimal, b: Decimal) -> Result<Decimal, LedgerError> {
    a.checked_add(b).ok_or_else(|| LedgerError::Overflow(account.to_string()))
}

impl AccountState {
    pub(super) fn figures(&self, month: Month) -> MonthFigures {
        self.months.get(&month).cloned().unwrap_or_default()
    }

    fn month_mut(&mut self, month: Month) -> &mut MonthFigures {
        self.months.entry(month).or_default()
    }

    /// Applies a non-`Opened` entry; on an error `self` may be half changed,
    /// so callers apply to a copy.
    fn apply(&mut self, entry: &Entry) -> Result<(), LedgerError> {
        let name = entry.account();
        match entry {
            Entry::Opened { .. } => return Err(LedgerError::BadEntry(format!("account `{name}` is opened twice"))),
            Entry::Debit { at, month, cost, from_allowance, from_balance, deducted, from_plan, premium_requests, .. } => {
                let split_ok = *from_allowance >= Decimal::ZERO
                    && *from_balance >= Decimal::ZERO
                    && *from_plan >= Decimal::ZERO
                    && from_allowance.checked_add(*from_balance).and_then(|s| s.checked_add(*from_plan)) == Some(*cost);
                if !split_ok {
                    return Err(LedgerError::BadEntry(format!(
                        "debit on `{name}`: allowance {from_allowance} + plan {from_plan} + balance {from_balance} is not the cost {cost}"
                    )));
                }
                if *deducted {
                    self.balance = self.balance.checked_sub(*from_balance).ok_or_else(|| LedgerError::Overflow(name.into()))?;
                    if let Some(p) = &mut self.provider {
                        p.count_debit(*at, *from_balance);
                    }
                }
                let f = self.month_mut(*month);
                f.spend = add(name, f.spend, *cost)?;
                f.allowance_used = add(name, f.allowance_used, *from_allowance)?;
                f.plan_covered = add(name, f.plan_covered, *from_plan)?;
                f.premium_requests = add(name, f.premium_requests, *premium_requests)?;
                self.prune();
            }
            Entry::PlanWindows { at, windows, .. } => {
                self.plan.observe(*at, windows);
            }
            Entry::ProviderFigures { .. } => super::provider::apply_figures(self, entry),
            Entry::AutoReload { amount, month, .. } => {
                self.balance = add(name, self.balance, *amount)?;
                self.topups.auto_usd = add(name, self.topups.auto_usd, *amount)?;
                let f = self.month_mut(*month);
                f.reloads = f.reloads.saturating_add(1);
                f.reload_usd = add(name, f.reload_usd, *amount)?;
                self.prune();
            }
            Entry::ReloadCapReached { month, .. } => {
                self.month_mut(*month).cap_reached = true;
                self.prune();
            }
            Entry::TopUp { amount, .. } => {
                self.balance = add(name, self.balance, *amount)?;
                self.topups.manual_usd = add(name, self.topups.manual_usd, *amount)?;
            }
            Entry::Reconcile { adjustment, .. } => {
                self.balance = add(name, self.balance, *adjustment)?;
                self.topups.reconcile_usd = add(name, self.topups.reconcile_usd, *adjustment)?;
                if *adjustment > Decimal::ZERO {
                    self.topups.reconcile_added_usd = add(name, self.topups.reconcile_added_usd, *adjustment)?;
                }
            }
        }
        Ok(())
    }

    fn prune(&mut self) {
        if let Some(&newest) = self.months.keys().next_back() {
            self.months.retain(|m, _| !m.is_months_before(newest, MONTHS_KEPT));
        }
    }
}

impl Ledger {
    pub fn new(tz: Tz) -> Ledger {
        Ledger { tz, accounts: BTreeMap::new(), receipts: BTreeMap::new(), settings: BTreeMap::new() }
    }

    /// The zone whose calendar months new bookings fall in; booked entries
    /// keep their month.
    /// Takes the settings of the configured accounts without opening any
    /// (a replica that does not write: the writer opens them).
    pub fn set_settings(&mut self, settings: Vec<AccountSettings>) {
        self.settings = settings.into_iter().map(|s| (s.name.clone(), s)).collect();
    }

    /// The configuration a ledger read back from disk lacks (settings and
    /// timezone are not persisted), taken from the ledger it replaces.
    pub fn keep_configuration_of(&mut self, old: &Ledger) {
        self.settings = old.settings.clone();
        self.tz = old.tz;
    }

    pub fn set_timezone(&mut self, tz: Tz) {
        self.tz = tz;
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// Takes the settings of every configured account and opens (applies and
    /// returns `Opened` for) those the ledger does not have yet, as of their
    /// `opening_as_of` or else `now`. Call it after replaying the journal, so
    /// accounts already opened are not opened again; a changed opening
    /// balance of an existing account is ignored (use a reconcile). Accounts
    /// dropped from the config keep their state.
    pub fn configure(&mut self, settings: Vec<AccountSettings>, now: DateTime<Utc>) -> Vec<Entry> {
        let mut opened = Vec::new();
        self.settings.clear();
        for s in settings {
            if !self.accounts.contains_key(&s.name) {
                let as_of = s.opening_as_of.unwrap_or(now);
                let entry = Entry::Opened { account: s.name.clone(), balance: s.opening_balance, as_of };
                // Cannot fail: the account is new.
                if self.apply(&entry).is_ok() {
                    opened.push(entry);
                }
            }
            self.settings.insert(s.name.clone(), s);
        }
        opened
    }

    pub fn accounts(&self) -> impl Iterator<Item = &str> {
        self.accounts.keys().map(String::as_str)
    }

    pub fn settings(&self, account: &str) -> Option<&AccountSettings> {
        self.settings.get(account)
    }

    /// The receipt booked under a client id, if any.
    pub fn receipt(&self, id: &str) -> Option<&Receipt> {
        self.receipts.get(id)
    }

    /// What the plan windows of `account` said, if it exists.
    pub fn plan(&self, account: &str) -> Option<&PlanState> {
        self.accounts.get(account).map(|s| &s.plan)
    }

    /// Takes in a status-line snapshot of `account`'s plan windows. Returns
    /// the entry to journal (already applied), or `None` when the snapshot
    /// tells the ledger nothing new.
    pub fn observe_plan(&mut self, account: &str, observation: &PlanObservation) -> Result<Option<Entry>, LedgerError> {
        let state = self.accounts.get(account).ok_or_else(|| LedgerError::UnknownAccount(account.to_string()))?;
        if !state.plan.clone().observe(observation.at, &observation.windows) {
            return Ok(None);
        }
        let entry = Entry::PlanWindows {
            account: account.to_string(),
            session: observation.session.clone(),
            at: observation.at,
            windows: observation.windows.clone(),
        };
        self.apply(&entry)?;
        Ok(Some(entry))
    }

    /// Applies one entry: the only way state changes, used both when booking
    /// and when replaying the journal. All or nothing.
    pub fn apply(&mut self, entry: &Entry) -> Result<(), LedgerError> {
        let name = entry.account();
        if let Entry::Opened { balance, as_of, .. } = entry {
            if self.accounts.contains_key(name) {
                return Err(LedgerError::BadEntry(format!("account `{name}` is opened twice")));
            }
            let state = AccountState {
                opening_balance: *balance,
                opening_as_of: *as_of,
                balance: *balance,
                topups: TopupTotals::default(),
                months: BTreeMap::new(),
                plan: PlanState::default(),
                provider: None,
            };
            self.accounts.insert(name.to_string(), state);
            return Ok(());
        }
        let state = self.accounts.get(name).ok_or_else(|| LedgerError::UnknownAccount(name.to_string()))?;
        let mut next = state.clone();
        next.apply(entry)?;
        let receipt = match entry {
            Entry::TopUp { id, amount, at, .. } => Some((RequestKind::TopUp, id, *amount, *amount, *at)),
            Entry::Reconcile { id, balance, adjustment, at, .. } => Some((RequestKind::Reconcile, id, *balance, *adjustment, *at)),
            _ => None,
        };
        if let Some((kind, id, amount_usd, adjustment_usd, at)) = receipt {
            if self.receipts.contains_key(id) {
                return Err(LedgerError::BadEntry(format!("request id `{id}` is booked twice")));
            }
            let receipt =
                Receipt { id: id.clone(), kind, account: name.into(), amount_usd, adjustment_usd, balance_after_usd: next.balance, at };
            self.receipts.insert(id.clone(), receipt);
        }
        self.accounts.insert(name.to_string(), next);
        Ok(())
    }

    /// Books the cost of one usage event at `at`: a `Debit`, then the
    /// auto-reloads it triggers (or one `ReloadCapReached` per month). The
    /// returned entries are already applied.
    pub fn book_usage(&mut self, account: &str, app: &str, at: DateTime<Utc>, cost: Decimal) -> Result<Vec<Entry>, LedgerError> {
        if cost < Decimal::ZERO {
            return Err(LedgerError::BadAmount { amount: cost, reason: "a usage cost cannot be negative" });
        }
        let before = self.accounts.get(account).cloned().ok_or_else(|| LedgerError::UnknownAccount(account.to_string()))?;
        let booked = self.book_usage_steps(account, app, at, cost, &before);
        if booked.is_err() {
            self.accounts.insert(account.to_string(), before);
        }
        booked
    }

    fn book_usage_steps(
        &mut self,
        account: &str,
        app: &str,
        at: DateTime<Utc>,
        cost: Decimal,
        state: &AccountState,
    ) -> Result<Vec<Entry>, LedgerError> {
        let month = Month::of(at, self.tz);
        let settings = self.settings.get(account);
        // Plan allowance first, then extra usage: a subscriber's direct app is
        // covered while no plan window is exhausted at the request's time.
        let covered = settings.is_some_and(|s| s.plan_windows && s.is_direct(app)) && !state.plan.exhausted_at(at);
        let from_plan = if covered { cost } else { Decimal::ZERO };
        // Pre-opening usage still draws on the allowance: the opening figure
        // is a balance, and the month's allowance was being used all along.
        let from_allowance = match settings.and_then(|s| s.monthly_allowance.filter(|_| s.is_direct(app))) {
            Some(_) if covered => Decimal::ZERO,
            Some(allowance) => {
                let used = state.figures(month).allowance_used;
                cost.min(allowance.checked_sub(used).unwrap_or(Decimal::ZERO).max(Decimal::ZERO))
            }
            None => Decimal::ZERO,
        };
        let deducted = at >= state.opening_as_of;
        let reload = settings.and_then(|s| s.auto_reload).filter(|_| deducted && !covered);
        let debit = Entry::Debit {
            account: account.to_string(),
            app: app.to_string(),
            at,
            month,
            cost,
            from_allowance,
            from_balance: cost - from_allowance - from_plan,
            deducted,
            from_plan,
            premium_requests: Decimal::ZERO,
        };
        self.apply(&debit)?;
        let mut entries = vec![debit];
        if let Some(reload) = reload {
            self.auto_reload(account, at, month, reload, &mut entries)?;
        }
        Ok(entries)
    }

    /// While the balance is at or below the threshold and the month's cap
    /// allows a whole reload, reload; no partial reload past the cap.
    pub(super) fn auto_reload(
        &mut self,
        account: &str,
        at: DateTime<Utc>,
        month: Month,
        reload: AutoReload,
        entries: &mut Vec<Entry>,
    ) -> Result<(), LedgerError> {
        for _ in 0..MAX_RELOADS_PER_BOOKING {
            let state = self.accounts.get(account).ok_or_else(|| LedgerError::UnknownAccount(account.to_string()))?;
            let amount = reload.amount_at(state.balance);
            if state.balance > reload.threshold || amount <= Decimal::ZERO {
                return Ok(());
            }
            let figures = state.figures(month);
            let entry = if add(account, figures.reload_usd, amount)? <= reload.monthly_cap {
                Entry::AutoReload { account: account.to_string(), at, amount, month }
            } else if figures.cap_reached {
                return Ok(());
            } else {
                Entry::ReloadCapReached { account: account.to_string(), at, month }
            };
            self.apply(&entry)?;
            let stop = matches!(entry, Entry::ReloadCapReached { .. });
            entries.push(entry);
            if stop {
                return Ok(());
            }
        }
        tracing::warn!(account, "one usage event triggered {MAX_RELOADS_PER_BOOKING} auto-reloads; check auto_reload amount_usd");
        Ok(())
    }

    /// A manual top-up of `amount` (> 0), idempotent by `id`.
    pub fn topup(
        &mut self,
        account: &str,
        id: &str,
        amount: Decimal,
        note: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<Booked, LedgerError> {
        if let Some(replay) = self.replay(RequestKind::TopUp, account, id, amount, at)? {
            return Ok(replay);
        }
        if amount <= Decimal::ZERO {
            return Err(LedgerError::BadAmount { amount, reason: "a top-up must be more than 0" });
        }
        let entry = Entry::TopUp { account: account.to_string(), id: id.to_string(), amount, note, at };
        self.book_request(entry, id, account, at)
    }

    /// Sets the balance to `balance` (what the provider shows), booked as an
    /// adjustment of `balance` minus the current balance; idempotent by `id`.
    pub fn reconcile(&mut self, account: &str, id: &str, balance: Decimal, at: DateTime<Utc>) -> Result<Booked, LedgerError> {
        if let Some(replay) = self.replay(RequestKind::Reconcile, account, id, balance, at)? {
            return Ok(replay);
        }
        let current = self.accounts.get(account).map(|s| s.balance).unwrap_or_default();
        let adjustment = balance.checked_sub(current).ok_or_else(|| LedgerError::Overflow(account.to_string()))?;
        let entry = Entry::Reconcile { account: account.to_string(), id: id.to_string(), balance, adjustment, at };
        self.book_request(entry, id, account, at)
    }

    /// The earlier result for an id already booked with this payload; a
    /// conflict for one booked with another.
    fn replay(
        &self,
        kind: RequestKind,
        account: &str,
        id: &str,
        amount: Decimal,
        at: DateTime<Utc>,
    ) -> Result<Option<Booked>, LedgerError> {
        if id.is_empty() {
            return Err(LedgerError::MissingId);
        }
        if !self.accounts.contains_key(account) {
            return Err(LedgerError::UnknownAccount(account.to_string()));
        }
        match self.receipts.get(id) {
            None => Ok(None),
            Some(r) if r.same_request(kind, account, amount) => {
                Ok(Some(Booked { entry: None, receipt: r.clone(), view: self.view_at(account, at)? }))
            }
            Some(r) => Err(LedgerError::Conflict { id: id.to_string(), existing: Box::new(r.clone()) }),
        }
    }

    fn book_request(&mut self, entry: Entry, id: &str, account: &str, at: DateTime<Utc>) -> Result<Booked, LedgerError> {
        self.apply(&entry)?;
        let receipt = self.receipts.get(id).cloned().ok_or_else(|| LedgerError::BadEntry(format!("no receipt for `{id}`")))?;
        Ok(Booked { entry: Some(entry), receipt, view: self.view_at(account, at)? })
    }

    fn view_at(&self, account: &str, at: DateTime<Utc>) -> Result<AccountView, LedgerError> {
        self.view(account, at).ok_or_else(|| LedgerError::UnknownAccount(account.to_string()))
    }
}

#[cfg(test)]
mod tests;
