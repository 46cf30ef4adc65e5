//! `creditwatch audit`: the table a finance lead asks for. Per UTC day and
//! model, our cost (the configured sources read read-only, exactly as
//! `report` reads them) beside the provider's own (each API-account
//! provider polled once), the difference and its share, largest gaps
//! first, with totals. Balance providers show their balance. Exit 1 when a
//! provider cannot be read; nothing is written anywhere.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{bail, Context, Result};
use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::json;

use super::commands::{load_config, parse_day, price_table, progress_bar, source_specs};
use crate::cli::AuditArgs;
use crate::providers::audit::{Audit, AuditRow};
use crate::providers::{spend, Kind, Money, Observation, Provider, ProviderConfig};
use crate::usage::money;

/// One provider's part of the audit.
enum Section {
    Spend { first: Option<NaiveDate>, last: Option<NaiveDate>, audit: Audit },
    Balances(Vec<Money>),
}

pub fn run(args: AuditArgs) -> Result<()> {
    let config = load_config(&args.config);
    let since = args.since.as_deref().map(|s| parse_day(s, "--since")).transpose()?;
    let providers: Vec<&ProviderConfig> = config.providers.iter().filter(|p| p.kind != Kind::ClaudeOauth).collect();
    if providers.is_empty() {
        bail!("no API-account providers (anthropic_admin, openai_admin, openrouter, deepseek) in {}", config.path.display());
    }
    let sources = source_specs(&config)?;
    let prices = price_table(&config);
    let progress = progress_bar(&sources);
    let ours = crate::report::daily_costs(&sources, &prices, since, config.limits.max_line_bytes, &progress);
    progress.finish_and_clear();
    if ours.error_lines > 0 {
        eprintln!("creditwatch: {} of {} lines could not be read (see the warnings above)", ours.error_lines, ours.lines);
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let now = Utc::now();
    let mut sections = Vec::new();
    let mut failed = Vec::new();
    for c in providers {
        let poll = runtime.block_on(async { Provider::since(c, since)?.poll(now).await.result.map_err(|e| anyhow::anyhow!("{e}")) });
        match poll {
            Ok(observation) => sections.push((c, section(c, &observation, &ours.costs))),
            Err(e) => {
                eprintln!("creditwatch: provider `{}` ({}, account {}) cannot be read: {e:#}", c.name, c.kind.as_str(), c.account);
                failed.push(c.name.as_str());
            }
        }
    }
    let mut out = std::io::stdout().lock();
    if args.json { print_json(&sections, &mut out) } else { print_table(&sections, &mut out) }.context("writing the audit")?;
    if !failed.is_empty() {
        bail!("{} of {} providers could not be read: {}", failed.len(), failed.len() + sections.len(), failed.join(", "));
    }
    Ok(())
}

fn section(c: &ProviderConfig, observation: &Observation, ours: &BTreeMap<(String, NaiveDate, String), Decimal>) -> Section {
    if !matches!(c.kind, Kind::AnthropicAdmin | Kind::OpenaiAdmin) {
        return Section::Balances(observation.balances.clone());
    }
    let report = spend::report_of(observation);
    let ours: Vec<(NaiveDate, String, Decimal)> =
        ours.iter().filter(|((a, _, _), _)| *a == c.account).map(|((_, day, model), cost)| (*day, model.clone(), *cost)).collect();
    let (first, last) = (report.days.first().copied(), report.days.last().copied());
    Section::Spend { first, last, audit: spend::compare(&report, &ours) }
}

fn share_text(share: Option<Decimal>) -> String {
    share.map_or_else(|| "-".into(), |s| format!("{}%", (s * Decimal::ONE_HUNDRED).round_dp(2).normalize()))
}

fn usd4(d: Decimal) -> String {
    format!("{:.4}", d.round_dp(4))
}

fn print_table(sections: &[(&ProviderConfig, Section)], out: &mut impl Write) -> std::io::Result<()> {
    for (c, section) in sections {
        write!(out, "provider {} ({}, account {})", c.name, c.kind.as_str(), c.account)?;
        match section {
            Section::Balances(balances) => {
                writeln!(out)?;
                for b in balances {
                    writeln!(out, "  balance: {} {}", money::format(b.amount), b.currency)?;
                }
                if balances.is_empty() {
                    writeln!(out, "  no balance stated")?;
                }
            }
            Section::Spend { first, last, audit } => {
                match (first, last) {
                    (Some(f), Some(l)) => writeln!(out, ": closed UTC days {f} to {l}")?,
                    _ => writeln!(out, ": no closed days reported")?,
                }
                let header = ["day", "model", "ours (USD)", "theirs (USD)", "difference", "share"].map(String::from);
                let mut rows: Vec<[String; 6]> = audit
                    .rows
                    .iter()
                    .map(|r: &AuditRow| {
                        [r.day.to_string(), r.model.clone(), usd4(r.ours), usd4(r.theirs), usd4(r.difference), share_text(r.share)]
                    })
                    .collect();
                rows.push([
                    "total".into(),
                    String::new(),
                    usd4(audit.ours),
                    usd4(audit.theirs),
                    usd4(audit.difference),
                    share_text(audit.share),
                ]);
                let mut widths = header.clone().map(|h| h.len());
                for r in &rows {
                    for (w, cell) in widths.iter_mut().zip(r) {
                        *w = (*w).max(cell.len());
                    }
                }
                for r in std::iter::once(&header).chain(&rows) {
                    let line = format!(
                        "  {:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}  {:>w4$}  {:>w5$}",
                        r[0],
                        r[1],
                        r[2],
                        r[3],
                        r[4],
                        r[5],
                        w0 = widths[0],
                        w1 = widths[1],
                        w2 = widths[2],
                        w3 = widths[3],
                        w4 = widths[4],
                        w5 = widths[5]
                    );
                    writeln!(out, "{}", line.trim_end())?;
                }
            }
        }
    }
    Ok(())
}

fn decimal_json(d: Decimal) -> serde_json::Value {
    money::format(d).into()
}

fn print_json(sections: &[(&ProviderConfig, Section)], out: &mut impl Write) -> std::io::Result<()> {
    let providers: Vec<serde_json::Value> = sections
        .iter()
        .map(|(c, section)| {
            let mut m = json!({ "provider": c.name, "kind": c.kind.as_str(), "account": c.account });
            match section {
                Section::Balances(balances) => {
                    m["balances"] = balances.iter().map(|b| json!({ "currency": b.currency, "amount": money::format(b.amount) })).collect();
                }
                Section::Spend { first, last, audit } => {
                    let row = |r: &AuditRow| {
                        json!({
                            "day": r.day.to_string(),
                            "model": r.model,
                            "ours_usd": decimal_json(r.ours),
                            "theirs_usd": decimal_json(r.theirs),
                            "difference_usd": decimal_json(r.difference),
                            "share": r.share.map(decimal_json),
                        })
                    };
                    m["first_day"] = first.map(|d| d.to_string()).into();
                    m["last_day"] = last.map(|d| d.to_string()).into();
                    m["rows"] = audit.rows.iter().map(row).collect();
                    m["totals"] = json!({
                        "ours_usd": decimal_json(audit.ours),
                        "theirs_usd": decimal_json(audit.theirs),
                        "difference_usd": decimal_json(audit.difference),
                        "share": audit.share.map(decimal_json),
                    });
                }
            }
            m
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &json!({ "providers": providers }))?;
    writeln!(out)
}
