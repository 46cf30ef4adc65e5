//! Ledger entries: the facts the journal stores and replays.
//!
//! Every change to a balance is one `Entry`, and `Ledger::apply` is the only
//! code that changes state, so a ledger rebuilt by applying the journaled
//! entries equals the one that produced them. Entries carry their own
//! decisions (the allowance/balance split, the month of a reload): replay
//! never re-decides, so a changed config or time zone cannot rewrite history.
//! Money is `Decimal`, serialized as a string.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::month::Month;
use super::view::AccountView;
use crate::usage::plan::PlanWindow;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Entry {
    /// An account starts with the balance the provider showed at `as_of`.
    Opened { account: String, balance: Decimal, as_of: DateTime<Utc> },
    /// Usage cost: `from_allowance + from_plan + from_balance == cost`.
    /// With `deducted: false` (usage before the opening time, already inside
    /// the opening balance) the balance part was not taken from the balance.
    /// `from_plan` is what a subscription with `plan_windows` covered (no
    /// window exhausted at `at`): spend, never taken from the balance.
    Debit {
        account: String,
        app: String,
        at: DateTime<Utc>,
        month: Month,
        cost: Decimal,
        from_allowance: Decimal,
        from_balance: Decimal,
        deducted: bool,
        #[serde(default, skip_serializing_if = "Decimal::is_zero")]
        from_plan: Decimal,
    },
    /// One auto-reload, counted against the cap of `month` (the month of the
    /// usage event that triggered it).
    AutoReload { account: String, at: DateTime<Utc>, amount: Decimal, month: Month },
    /// A reload was due but would have passed the month's cap; once per
    /// account and month.
    ReloadCapReached { account: String, at: DateTime<Utc>, month: Month },
    /// A manual top-up, idempotent by the client's `id`.
    TopUp { account: String, id: String, amount: Decimal, note: Option<String>, at: DateTime<Utc> },
    /// The balance set to what the provider shows: `adjustment` is
    /// `balance` minus the balance before, and may be negative.
    Reconcile { account: String, id: String, balance: Decimal, adjustment: Decimal, at: DateTime<Utc> },
    /// A status-line snapshot of the plan windows, journaled when it changed
    /// what the ledger knows (see `ledger::plan`). Moves no money.
    PlanWindows { account: String, session: String, at: DateTime<Utc>, windows: Vec<PlanWindow> },
    /// A provider's own extra-usage figures (USD), journaled when they
    /// changed (see `ledger::provider`). Moves no money.
    ProviderFigures {
        account: String,
        provider: String,
        at: DateTime<Utc>,
        spent: Decimal,
        limit: Option<Decimal>,
        balance: Option<Decimal>,
    },
}

impl Entry {
    pub fn account(&self) -> &str {
        match self {
            Entry::Opened { account, .. }
            | Entry::Debit { account, .. }
            | Entry::AutoReload { account, .. }
            | Entry::ReloadCapReached { account, .. }
            | Entry::TopUp { account, .. }
            | Entry::Reconcile { account, .. }
            | Entry::PlanWindows { account, .. }
            | Entry::ProviderFigures { account, .. } => account,
        }
    }

    /// The signed change this entry makes to the balance.
    pub fn balance_change(&self) -> Decimal {
        match self {
            Entry::Opened { balance, .. } => *balance,
            Entry::Debit { from_balance, deducted: true, .. } => -*from_balance,
            Entry::Debit { deducted: false, .. }
            | Entry::ReloadCapReached { .. }
            | Entry::PlanWindows { .. }
            | Entry::ProviderFigures { .. } => Decimal::ZERO,
            Entry::AutoReload { amount, .. } | Entry::TopUp { amount, .. } => *amount,
            Entry::Reconcile { adjustment, .. } => *adjustment,
        }
    }
}

/// What a client asked for under an idempotency id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    TopUp,
    Reconcile,
}

impl std::fmt::Display for RequestKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RequestKind::TopUp => "top-up",
            RequestKind::Reconcile => "reconcile",
        })
    }
}

/// The outcome of a top-up or reconcile, kept by id: a retry with the same
/// id and payload gets this same receipt back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub id: String,
    pub kind: RequestKind,
    pub account: String,
    /// The top-up amount, or the balance a reconcile set.
    pub amount_usd: Decimal,
    /// What the balance changed by.
    pub adjustment_usd: Decimal,
    pub balance_after_usd: Decimal,
    pub at: DateTime<Utc>,
}

impl Receipt {
    /// Same request: the id's kind, account and amount (compared as numbers,
    /// so `20` and `20.00` agree). Notes and times are not part of it, since
    /// a retry is sent later.
    pub fn same_request(&self, kind: RequestKind, account: &str, amount: Decimal) -> bool {
        self.kind == kind && self.account == account && self.amount_usd == amount
    }
}

/// The answer to a top-up or reconcile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Booked {
    /// The entry to journal; `None` when the id was already booked with the
    /// same payload (nothing new to write).
    pub entry: Option<Entry>,
    /// The original outcome (the same on a retry).
    pub receipt: Receipt,
    /// The account as it is now, after the request.
    pub view: AccountView,
}
