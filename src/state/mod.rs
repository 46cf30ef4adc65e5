//! The daemon's durable state: a fold of the journal.
//!
//! One journal `Record` holds everything one ingestion round changed — the
//! usage booked, the ledger entries it caused, the file checkpoints past the
//! lines it came from, the line counts — so a crash at any instant leaves
//! either all of it or none: nothing booked twice, nothing lost. The same
//! `apply` builds the state live and on replay; snapshots shorten the
//! replay and let the journal's older segments go (`store`). Records are
//! written in the compact encoding of `codec`.

mod book;
pub mod codec;
pub mod daily;
pub mod history;
pub mod labels;
pub mod log_days;
mod pairs;
pub mod people;
pub mod postgres;
pub mod prompt_sizes;
pub mod provider_book;
pub mod recent;
pub mod role;
pub mod seen;
mod snapshot;
pub mod store;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ledger::{Entry, Ledger, LedgerError};
use crate::sources::follow::database::RowCheckpoint;
use crate::sources::follow::fingerprint::FileId;
use crate::sources::follow::tail::Checkpoint;
use crate::sources::Outcome;
use crate::state::seen::{Seen, SeenIndex};
use crate::usage::{EventId, Tokens};

pub use book::Booking;
pub use labels::Labels;

/// What one ingestion round or one API call changed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Record {
    Batch(Batch),
    Ledger(Vec<Entry>),
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Batch {
    pub usage: Vec<Booked>,
    pub ledger: Vec<Entry>,
    pub checkpoints: Vec<Checkpoint>,
    pub dropped: Vec<FileId>,
    /// Line counts by source, in `Outcome` order.
    pub lines: Vec<(String, [u64; 4])>,
    /// Seen ids with event time before this (unix seconds) are forgotten.
    pub forget_before: Option<i64>,
    /// Where reading of each database stands (`follow::database`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub row_checkpoints: Vec<RowCheckpoint>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.usage.is_empty()
            && self.ledger.is_empty()
            && self.checkpoints.is_empty()
            && self.dropped.is_empty()
            && self.forget_before.is_none()
            && self.row_checkpoints.is_empty()
    }
}

/// One booking of usage: a new request, or the growth of a later copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Booked {
    pub source: String,
    pub account: String,
    pub app: String,
    pub model: String,
    pub id: EventId,
    pub at: DateTime<Utc>,
    pub tokens: Tokens,
    pub cost: Decimal,
    pub new_request: bool,
    pub unpriced: bool,
    /// The request's booked view after this booking.
    pub seen: Seen,
    /// The person it is booked to (bounded by `limits.max_users`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// What cache reads saved against the input price (growth of it, for a
    /// later copy); absent in journals written before it was booked.
    #[serde(default)]
    pub cache_savings: Decimal,
    /// GitHub Copilot premium requests this booking added.
    #[serde(default, skip_serializing_if = "Decimal::is_zero")]
    pub premium_requests: Decimal,
    /// What this booking adds to `user`'s spend when it is not `cost`: the
    /// whole request so far, when this copy is the first to name the
    /// request's person (`people`). Absent: `cost`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_cost: Option<Decimal>,
}

/// Spend of one person on one account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserKey {
    pub account: String,
    pub user: String,
}

/// Usage totals of one (account, app, model).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageTotals {
    pub cost: Decimal,
    pub tokens: Tokens,
    pub requests: u64,
    pub unpriced_requests: u64,
    #[serde(default)]
    pub cache_savings: Decimal,
    #[serde(default)]
    pub prompt_sizes: prompt_sizes::PromptSizes,
    /// GitHub Copilot premium requests (`creditwatch_premium_requests_total`).
    #[serde(default)]
    pub premium_requests: Decimal,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceTotals {
    pub lines: [u64; 4],
    /// Event time of the newest booked event.
    pub last_event: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UsageKey {
    pub account: String,
    pub app: String,
    pub model: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub ledger: Ledger,
    pub seen: SeenIndex,
    #[serde(with = "pairs")]
    pub usage: BTreeMap<UsageKey, UsageTotals>,
    pub sources: BTreeMap<String, SourceTotals>,
    #[serde(with = "pairs")]
    pub checkpoints: HashMap<FileId, Checkpoint>,
    pub labels: Labels,
    /// Records folded in, for `ledger verify` and snapshots.
    pub records: u64,
    /// Model labels with requests booked at $0 that the current price table
    /// still cannot price (`creditwatch_model_unpriced`): kept by the
    /// daemon, not journaled, rebuilt from `usage` when the table changes.
    #[serde(skip)]
    pub unpriced_models: BTreeSet<String>,
    /// Database checkpoints by `RowCheckpoint::key` (absent in older states).
    #[serde(default)]
    pub row_checkpoints: BTreeMap<String, RowCheckpoint>,
    /// Cost booked per person (`creditwatch_user_spend_usd_total`).
    #[serde(default, with = "pairs")]
    pub users: BTreeMap<UserKey, Decimal>,
    /// The person of each request that names one (spend per person
    /// follows the request).
    #[serde(default)]
    pub people: people::RequestPeople,
    /// Spend per day, for the page's 30-day chart.
    #[serde(default)]
    pub daily: daily::DailySpend,
    /// Cost from the logs per account, UTC day and model (providers compare
    /// their daily reports with it); absent in older states.
    #[serde(default)]
    pub log_days: log_days::LogDays,
}

impl State {
    pub fn new(ledger: Ledger) -> State {
        State {
            ledger,
            seen: SeenIndex::default(),
            usage: BTreeMap::new(),
            sources: BTreeMap::new(),
            checkpoints: HashMap::new(),
            labels: Labels::default(),
            records: 0,
            unpriced_models: BTreeSet::new(),
            row_checkpoints: BTreeMap::new(),
            users: BTreeMap::new(),
            people: people::RequestPeople::default(),
            daily: daily::DailySpend::default(),
            log_days: log_days::LogDays::default(),
        }
    }

    /// After the price table changed: the models with unpriced requests
    /// that `unpriced` says are still unpriced.
    pub fn recheck_unpriced(&mut self, unpriced: impl Fn(&str) -> bool) {
        self.unpriced_models =
            self.usage.iter().filter(|(_, t)| t.unpriced_requests > 0).map(|(k, _)| k.model.clone()).filter(|m| unpriced(m)).collect();
    }

    /// Folds one journal record in (replay). An entry the ledger refuses
    /// means the journal does not describe a possible history: an error.
    pub fn apply(&mut self, record: &Record) -> Result<(), LedgerError> {
        match record {
            Record::Batch(batch) => {
                for entry in &batch.ledger {
                    self.ledger.apply(entry)?;
                }
                self.apply_batch_usage(batch);
            }
            Record::Ledger(entries) => {
                for entry in entries {
                    self.ledger.apply(entry)?;
                }
            }
        }
        self.records += 1;
        Ok(())
    }

    /// The parts of a batch outside the ledger; live booking applies the
    /// ledger entries as it makes them, then calls this.
    pub fn apply_batch_usage(&mut self, batch: &Batch) {
        for b in &batch.usage {
            self.apply_booked(b);
        }
        for cp in &batch.checkpoints {
            self.checkpoints.insert(cp.id, cp.clone());
        }
        for id in &batch.dropped {
            self.checkpoints.remove(id);
        }
        for cp in &batch.row_checkpoints {
            self.row_checkpoints.insert(RowCheckpoint::key(&cp.source, &cp.path), cp.clone());
        }
        for (source, counts) in &batch.lines {
            let totals = self.sources.entry(source.clone()).or_default();
            for (t, c) in totals.lines.iter_mut().zip(counts) {
                *t += c;
            }
        }
        if let Some(cutoff) = batch.forget_before {
            self.seen.forget_before(cutoff);
            self.people.retain_seen(&self.seen);
        }
    }

    fn apply_booked(&mut self, b: &Booked) {
        self.seen.insert(b.id, b.seen);
        self.labels.note(&b.app, &b.model);
        let key = UsageKey { account: b.account.clone(), app: b.app.clone(), model: b.model.clone() };
        let totals = self.usage.entry(key).or_default();
        totals.cost += b.cost;
        totals.tokens.add(&b.tokens);
        totals.cache_savings += b.cache_savings;
        totals.premium_requests += b.premium_requests;
        if b.new_request {
            totals.prompt_sizes.observe(b.tokens.prompt_side());
            totals.requests += 1;
            if b.unpriced {
                totals.unpriced_requests += 1;
            }
        }
        self.daily.add(b.at, self.ledger.timezone(), &b.account, &b.app, &b.model, b.cost);
        self.log_days.add(&b.source, &b.account, b.at, &b.model, b.cost);
        // A provider's bookings (`provider_book`) come from no source.
        if !b.source.starts_with(log_days::PROVIDER_SOURCE_PREFIX) {
            let source = self.sources.entry(b.source.clone()).or_default();
            source.last_event = source.last_event.max(Some(b.at));
        }
        if let Some(user) = &b.user {
            self.labels.note_user(user);
            self.people.note(b.id, user);
            *self.users.entry(UserKey { account: b.account.clone(), user: user.clone() }).or_default() += b.user_cost.unwrap_or(b.cost);
        }
    }

    pub fn checkpoint(&self, id: &FileId) -> Option<Checkpoint> {
        self.checkpoints.get(id).cloned()
    }

    pub fn row_checkpoint(&self, key: &str) -> Option<RowCheckpoint> {
        self.row_checkpoints.get(key).cloned()
    }

    pub fn lines(&self, source: &str, outcome: Outcome) -> u64 {
        self.sources.get(source).map_or(0, |s| s.lines[outcome.index()])
    }
}
