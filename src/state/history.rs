//! `ledger history`: the money entries from the ledger's beginning with the
//! balance after each — the balance at any time is a fold of them.
//!
//! The journal's older segments are removed behind snapshots, so the
//! entries before a snapshot travel in it as a `History`: every top-up,
//! reload, cap, reconcile and opening as journaled, and the debits (one per
//! booked copy) summed per account, app, UTC day, month and `deducted` over
//! each run not broken by another entry of that account. Summing debits
//! changes no balance (a debit only adds its parts), so every row that is
//! not a debit shows the same balance after it as the full journal gives.
//! Plan-window snapshots move no money and are left out, as history always
//! left them out. The journal after the newest snapshot is shown whole.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::store;
use crate::ledger::{Entry, Ledger};

/// Open runs kept at most (each is a few names and a date).
const MAX_OPEN_RUNS: usize = 4096;

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub account: String,
    pub entry: Entry,
    #[serde(with = "rust_decimal::serde::str")]
    pub balance_after_usd: rust_decimal::Decimal,
}

/// The money entries, debits summed into runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct History {
    entries: Vec<Entry>,
    /// The open run of each (account, app, day, month, deducted): the index
    /// of its summed debit. Not saved: after a restart new runs start.
    #[serde(skip)]
    runs: HashMap<(String, String, NaiveDate, String, bool), usize>,
}

impl History {
    pub fn push(&mut self, entry: &Entry) {
        match entry {
            // Plan-window snapshots and provider figures move no money:
            // history is about the balance.
            Entry::PlanWindows { .. } | Entry::ProviderFigures { .. } => {}
            Entry::Debit { account, app, at, month, cost, from_allowance, from_balance, deducted, from_plan, premium_requests } => {
                let key = (account.clone(), app.clone(), at.date_naive(), month.to_string(), *deducted);
                if let Some(Entry::Debit {
                    at: run_at,
                    cost: c,
                    from_allowance: a,
                    from_balance: b,
                    from_plan: p,
                    premium_requests: q,
                    ..
                }) = self.runs.get(&key).and_then(|&i| self.entries.get_mut(i))
                {
                    // Debits are capped far below Decimal's range (see
                    // `state::book`); a sum that would overflow starts a new row.
                    if let (Some(c2), Some(a2), Some(b2), Some(p2), Some(q2)) = (
                        c.checked_add(*cost),
                        a.checked_add(*from_allowance),
                        b.checked_add(*from_balance),
                        p.checked_add(*from_plan),
                        q.checked_add(*premium_requests),
                    ) {
                        (*c, *a, *b, *p, *q) = (c2, a2, b2, p2, q2);
                        *run_at = (*run_at).max(*at);
                        return;
                    }
                }
                if self.runs.len() >= MAX_OPEN_RUNS {
                    // Old days' runs stay open forever otherwise; closing
                    // them only means a later debit of that day starts a row.
                    self.runs.clear();
                }
                self.runs.insert(key, self.entries.len());
                self.entries.push(entry.clone());
            }
            other => {
                let account = other.account();
                self.runs.retain(|(a, ..), _| a != account);
                self.entries.push(other.clone());
            }
        }
    }

    /// Adds an entry as it is, debits too (`ledger history` adds the
    /// journal after the snapshot so: its debits are shown one by one).
    pub fn push_whole(&mut self, entry: &Entry) {
        if !matches!(entry, Entry::PlanWindows { .. } | Entry::ProviderFigures { .. }) {
            self.runs.retain(|(a, ..), _| a != entry.account());
            self.entries.push(entry.clone());
        }
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
}

/// The ledger entries of `account` (or all), oldest first, read-only: the
/// snapshot's history, then the journal after it.
pub fn read(dir: &Path, account: Option<&str>) -> Result<Vec<Row>> {
    let history = store::read_history(dir).with_context(|| format!("reading the ledger history in {}", dir.display()))?;
    rows(&history, account)
}

/// The rows of `account` (or all) of a history, each with the balance
/// after it.
pub fn rows(history: &History, account: Option<&str>) -> Result<Vec<Row>> {
    let mut ledger = Ledger::new(chrono_tz::UTC);
    let mut rows = Vec::new();
    for entry in history.entries() {
        ledger.apply(entry).context("a history entry the ledger refuses")?;
        let name = entry.account();
        if account.is_some_and(|a| a != name) {
            continue;
        }
        let balance = ledger.view(name, Utc::now()).map(|v| v.balance_usd).unwrap_or_default();
        rows.push(Row { account: name.to_string(), entry: entry.clone(), balance_after_usd: balance });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Month;

    fn debit(account: &str, at: &str, cost: &str) -> Entry {
        Entry::Debit {
            account: account.into(),
            app: "cli".into(),
            at: at.parse().unwrap(),
            month: Month::new(2026, 11).unwrap(),
            cost: cost.parse().unwrap(),
            from_allowance: "0".parse().unwrap(),
            from_balance: cost.parse().unwrap(),
            deducted: true,
            from_plan: "0".parse().unwrap(),
            premium_requests: "0".parse().unwrap(),
        }
    }

    fn topup(account: &str, amount: &str) -> Entry {
        Entry::TopUp {
            account: account.into(),
            id: amount.into(),
            amount: amount.parse().unwrap(),
            note: None,
            at: "2026-11-20T12:00:00Z".parse().unwrap(),
        }
    }

    /// Debits of one day sum into one row until another entry of the same
    /// account comes; the balance after every row of the full sequence that
    /// is not a debit is the same in the summed one.
    #[test]
    fn debits_sum_per_day_and_run_and_every_other_row_keeps_its_balance() {
        let opened = Entry::Opened { account: "a".into(), balance: "100".parse().unwrap(), as_of: "2026-11-01T00:00:00Z".parse().unwrap() };
        let opened_b =
            Entry::Opened { account: "b".into(), balance: "10".parse().unwrap(), as_of: "2026-11-01T00:00:00Z".parse().unwrap() };
        let entries = vec![
            opened,
            opened_b,
            debit("a", "2026-11-20T10:00:00Z", "1.25"),
            debit("b", "2026-11-20T10:00:01Z", "7"),
            debit("a", "2026-11-20T11:00:00Z", "0.75"),
            topup("a", "20"),
            debit("a", "2026-11-20T13:00:00Z", "3"),
            debit("a", "2026-11-21T00:00:00Z", "4"),
            debit("a", "2026-11-21T01:00:00Z", "1"),
            topup("b", "5"),
            debit("a", "2026-11-21T02:00:00Z", "1"),
        ];
        let mut history = History::default();
        entries.iter().for_each(|e| history.push(e));
        let costs: Vec<String> = history
            .entries()
            .iter()
            .map(|e| match e {
                Entry::Debit { account, cost, .. } => format!("{account} debit {cost}"),
                other => format!("{} {}", other.account(), other.balance_change()),
            })
            .collect();
        assert_eq!(costs, ["a 100", "b 10", "a debit 2.00", "b debit 7", "a 20", "a debit 3", "a debit 6", "b 5"]);
        let balances = |list: &[Entry]| -> Vec<String> {
            let mut ledger = Ledger::new(chrono_tz::UTC);
            let now = Utc::now();
            list.iter()
                .filter_map(|e| {
                    ledger.apply(e).unwrap();
                    (!matches!(e, Entry::Debit { .. })).then(|| format!("{}", ledger.view(e.account(), now).unwrap().balance_usd))
                })
                .collect()
        };
        assert_eq!(balances(history.entries()), balances(&entries));
        assert_eq!(balances(history.entries()), ["100", "10", "118", "8"]);
    }
}
