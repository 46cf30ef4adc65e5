//! `creditwatch advise`: where the money goes and what would save it.
//!
//! The four levers of prepaid extra usage, measured in dollars over the same
//! merged requests `report` reads: context growth (sessions that kept
//! re-sending an ever larger prompt), model mix (the same tokens one tier
//! down, or on any priced model), caching (what the cache saved, writes never
//! read back), idle and unexpected apps (spend while its person was away,
//! outside working hours, apps new in the window) and limits (the month
//! against the auto-reload cap).
//!
//! Every analysis is a pure function over `Record`s (one per distinct
//! request, priced once), table-driven tested; figures are exact decimals and
//! each finding keeps the requests behind it. Reading and printing are the
//! thin shells around them.

mod apps;
mod cache;
mod context;
mod html;
mod limits;
mod models;
mod output;
mod records;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use crate::alerting::hours::WorkingHours;
use crate::pricing::PriceTable;
use crate::usage::{EventId, Tokens};

pub use apps::{AppFindings, AppUse};
pub use cache::{CacheFindings, CacheUse, UnreadWrites};
pub use context::{ContextFindings, SessionGrowth};
pub use html::write_html;
pub use limits::AccountLimit;
pub use models::{tier_down, ModelFindings, WhatIf};
pub use output::{print_json, print_text};
pub use records::from_requests;

/// One distinct request, priced. Names are numbers into `Names`.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: EventId,
    pub at: DateTime<Utc>,
    pub account: u32,
    pub app: u32,
    pub model: u32,
    pub session: u32,
    /// One context: the session's main transcript, or one of its subagents.
    pub conversation: u32,
    /// The folder the transcript is in (Claude Code: the project).
    pub project: u32,
    /// The person, or "" when the line names none.
    pub user: u32,
    pub file: u32,
    /// The line named its session (an interactive agent), rather than the
    /// file standing in for it (a proxy log).
    pub has_session: bool,
    pub tokens: Tokens,
    pub web_searches: u64,
    pub modifiers: crate::usage::Modifiers,
    pub cost: Decimal,
    pub priced: bool,
}

impl Record {
    /// Input + cache writes + cache reads: what the request sent.
    pub fn prompt(&self) -> u64 {
        self.tokens.prompt_side()
    }
}

/// Names the records' numbers point to.
#[derive(Debug, Clone, Default)]
pub struct Names(pub Vec<String>);

impl Names {
    pub fn get(&self, n: u32) -> &str {
        self.0.get(n as usize).map(String::as_str).unwrap_or("")
    }

    /// The number of a name, adding it when new (linear: for the few names
    /// derived after reading, such as projects).
    pub fn intern(&mut self, name: &str) -> u32 {
        match self.0.iter().position(|n| n == name) {
            Some(i) => i as u32,
            None => {
                self.0.push(name.to_string());
                (self.0.len() - 1) as u32
            }
        }
    }
}

/// What advise needs beside the records: settings from the config.
#[derive(Debug, Clone)]
pub struct Settings {
    pub tz: Tz,
    /// First day of the window (in `tz`); the whole history when absent.
    pub since: Option<NaiveDate>,
    /// A model to price every request on, beside the default one tier down.
    pub what_if: Option<String>,
    pub working_hours: Option<WorkingHours>,
    /// Accounts and their monthly auto-reload cap, if any.
    pub accounts: Vec<(String, Option<Decimal>)>,
    /// "Now", for the month's projection.
    pub now: DateTime<Utc>,
    /// How many sessions each finding lists.
    pub top: usize,
}

/// Everything advise found, ready to print.
#[derive(Debug, Clone, Default)]
pub struct Advice {
    pub files: usize,
    pub lines: u64,
    pub error_lines: u64,
    pub requests: u64,
    pub cost: Decimal,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
    pub unpriced_models: Vec<String>,
    pub context: ContextFindings,
    pub models: ModelFindings,
    pub cache: CacheFindings,
    pub apps: AppFindings,
    pub limits: Vec<AccountLimit>,
    /// Spend per day (in `tz`) and model, for the charts.
    pub daily: Vec<(String, BTreeMap<String, Decimal>)>,
}

/// Every lever over the records of the window (all records: first-seen
/// dates and the month's spend look past the window).
pub fn analyze(all: &[Record], names: &Names, prices: &PriceTable, settings: &Settings) -> Advice {
    let window: Vec<&Record> =
        all.iter().filter(|r| settings.since.is_none_or(|since| r.at.with_timezone(&settings.tz).date_naive() >= since)).collect();
    let mut unpriced: Vec<String> = window.iter().filter(|r| !r.priced).map(|r| names.get(r.model).to_string()).collect();
    unpriced.sort();
    unpriced.dedup();
    let mut daily: BTreeMap<String, BTreeMap<String, Decimal>> = BTreeMap::new();
    for r in &window {
        let day = r.at.with_timezone(&settings.tz).format("%Y-%m-%d").to_string();
        *daily.entry(day).or_default().entry(names.get(r.model).to_string()).or_default() += r.cost;
    }
    Advice {
        daily: daily.into_iter().collect(),
        requests: window.len() as u64,
        cost: window.iter().map(|r| r.cost).sum(),
        first: window.iter().map(|r| r.at).min(),
        last: window.iter().map(|r| r.at).max(),
        unpriced_models: unpriced,
        context: context::analyze(&window, names, prices, settings.top),
        models: models::analyze(&window, names, prices, settings.what_if.as_deref()),
        cache: cache::analyze(&window, names, prices, settings.top),
        apps: apps::analyze(all, &window, names, settings),
        limits: limits::analyze(all, names, settings),
        ..Advice::default()
    }
}

/// The price of a request's tokens on `model` (its own, or a what-if), by the
/// table: the one place advise asks pricing. `None` when `model` has no price.
fn price_on(prices: &PriceTable, model: &str, r: &Record, tokens: &Tokens) -> Option<Decimal> {
    let priced = prices.price_tokens(model, tokens, r.web_searches, &r.modifiers, r.at);
    priced.priced.then_some(priced.cost)
}
