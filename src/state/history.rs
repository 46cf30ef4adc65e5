//! `ledger history`: every ledger entry of the journal with the balance
//! after it — the balance at any time is a fold of the journal.

use std::path::Path;

use anyhow::{Context, Result};
use chrono::Utc;
use serde::Serialize;

use super::Record;
use crate::ledger::journal;
use crate::ledger::{Entry, Ledger};

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub account: String,
    pub entry: Entry,
    #[serde(with = "rust_decimal::serde::str")]
    pub balance_after_usd: rust_decimal::Decimal,
}

/// The ledger entries of `account` (or all), oldest first, read-only.
pub fn read(dir: &Path, account: Option<&str>) -> Result<Vec<Row>> {
    let records = journal::read_all(dir).with_context(|| format!("reading the journal in {}", dir.display()))?;
    let mut ledger = Ledger::new(chrono_tz::UTC);
    let mut rows = Vec::new();
    for r in records {
        let record: Record =
            serde_json::from_slice(&r.payload).with_context(|| format!("journal record at offset {} cannot be decoded", r.offset))?;
        let entries = match &record {
            Record::Batch(b) => &b.ledger,
            Record::Ledger(entries) => entries,
        };
        for entry in entries {
            ledger.apply(entry).with_context(|| format!("journal record at offset {}", r.offset))?;
            let name = entry.account();
            // Plan-window snapshots and provider figures move no money:
            // history is about the balance.
            if account.is_some_and(|a| a != name) || matches!(entry, Entry::PlanWindows { .. } | Entry::ProviderFigures { .. }) {
                continue;
            }
            let balance = ledger.view(name, Utc::now()).map(|v| v.balance_usd).unwrap_or_default();
            rows.push(Row { account: name.to_string(), entry: entry.clone(), balance_after_usd: balance });
        }
    }
    Ok(rows)
}
