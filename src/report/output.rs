//! Writing a report: a table for people, JSON (money as decimal strings) for
//! programs.

use std::io::{self, Write};

use serde_json::json;

use super::{Report, Totals};
use crate::usage::money;
use crate::usage::Tokens;

fn tokens_json(t: &Tokens) -> serde_json::Value {
    json!({
        "input": t.input,
        "output": t.output,
        "cache_write_5m": t.cache_write_5m,
        "cache_write_1h": t.cache_write_1h,
        "cache_read": t.cache_read,
    })
}

fn totals_json(t: &Totals) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    m.insert("cost_usd".into(), money::format(t.cost).into());
    m.insert("requests".into(), t.requests.into());
    m.insert("tokens".into(), tokens_json(&t.tokens));
    m.insert("reasoning_tokens".into(), t.reasoning_tokens.into());
    m.insert("unpriced_requests".into(), t.unpriced_requests.into());
    m
}

/// `{"groups":[{"key",...,"models":[...]}],"totals":{...}}`.
pub fn print_json(report: &Report, out: &mut impl Write) -> io::Result<()> {
    let groups: Vec<_> = report
        .groups
        .iter()
        .map(|(key, g)| {
            let mut m = serde_json::Map::new();
            m.insert("key".into(), key.clone().into());
            m.extend(totals_json(&g.totals));
            m.insert("models".into(), g.models.iter().cloned().collect::<Vec<_>>().into());
            serde_json::Value::Object(m)
        })
        .collect();
    let doc = json!({ "groups": groups, "totals": totals_json(&report.totals) });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A fixed-width table, one row a group, totals last.
pub fn print_table(report: &Report, by: &str, out: &mut impl Write) -> io::Result<()> {
    let header = [by, "requests", "input", "output", "cache write", "cache read", "cost (USD)"];
    let row = |key: &str, t: &Totals| -> [String; 7] {
        [
            key.to_string(),
            thousands(t.requests),
            thousands(t.tokens.input),
            thousands(t.tokens.output),
            thousands(t.tokens.cache_write_5m + t.tokens.cache_write_1h),
            thousands(t.tokens.cache_read),
            format!("{:.4}", t.cost.round_dp(4)),
        ]
    };
    let mut rows: Vec<[String; 7]> = report.groups.iter().map(|(k, g)| row(k, &g.totals)).collect();
    rows.push(row("total", &report.totals));
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: &[String], out: &mut dyn Write| -> io::Result<()> {
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i == 0 {
                write!(out, "{cell:<w$}")?;
            } else {
                write!(out, "  {cell:>w$}")?;
            }
        }
        writeln!(out)
    };
    line(&header.map(String::from), out)?;
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    for (i, r) in rows.iter().enumerate() {
        if i == rows.len() - 1 {
            line(&rule, out)?;
        }
        line(r, out)?;
    }
    if !report.unpriced_models.is_empty() {
        let names: Vec<_> = report.unpriced_models.iter().cloned().collect();
        writeln!(out, "\nno price for: {} (booked at $0; add them under `prices:`)", names.join(", "))?;
    }
    Ok(())
}
