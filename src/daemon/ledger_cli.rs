//! `creditwatch ledger show | history | topup | reconcile | verify`.
//!
//! Changes go through the running daemon's API when one is up (it holds the
//! state directory's lock and is the one writer); otherwise the command
//! takes the lock itself and books on the state directory. Reading commands
//! read the disk read-only, so they work beside a running daemon too.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use chrono::Utc;
use serde_json::{json, Value};

use crate::cli::{LedgerArgs, LedgerCommand};
use crate::config::Config;
use crate::daemon::commands::load_config;
use crate::state::store::Store;
use crate::state::Record;
use crate::usage::money;

pub fn run(cmd: LedgerCommand) -> Result<()> {
    match cmd {
        LedgerCommand::Show(args) => show(&args),
        LedgerCommand::History { args, account, last } => history(&args, account.as_deref(), last),
        LedgerCommand::Topup { args, account, amount, id, note } => {
            let amount = money::parse(&amount).map_err(|e| anyhow!("amount: {e}"))?;
            let id = id.unwrap_or_else(|| format!("cli-{}", Utc::now().format("%Y%m%dT%H%M%S%.6fZ")));
            let body = json!({ "id": id, "amount_usd": money::format(amount), "note": note });
            change(&args, &account, "topups", body)
        }
        LedgerCommand::Reconcile { args, account, balance, id } => {
            let balance = money::parse(&balance).map_err(|e| anyhow!("balance: {e}"))?;
            let id = id.unwrap_or_else(|| format!("cli-{}", Utc::now().format("%Y%m%dT%H%M%S%.6fZ")));
            change(&args, &account, "reconcile", json!({ "id": id, "balance_usd": money::format(balance) }))
        }
        LedgerCommand::Verify(args) => verify(&args),
    }
}

fn accounts_json(config: &Config) -> Result<Value> {
    let state = crate::daemon::read_state(config)?;
    let now = Utc::now();
    let accounts: Vec<Value> =
        state.ledger.accounts().filter_map(|a| state.ledger.view(a, now)).map(|v| serde_json::to_value(v).unwrap_or_default()).collect();
    Ok(json!({ "accounts": accounts, "as_of": now.to_rfc3339() }))
}

fn show(args: &LedgerArgs) -> Result<()> {
    let config = load_config(&args.config);
    let doc = accounts_json(&config)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    let text = |v: &Value| v.as_str().map(str::to_string).unwrap_or_else(|| "-".into());
    println!("{:<16} {:>12} {:>14} {:>22} {:>16}", "account", "balance", "month spend", "auto-reloads (cap)", "allowance left");
    for a in doc["accounts"].as_array().into_iter().flatten() {
        let reloads = format!("{} = ${} ({})", a["reloads_this_month"], text(&a["reload_usd_this_month"]), text(&a["reload_cap_usd"]));
        println!(
            "{:<16} {:>12} {:>14} {:>22} {:>16}",
            text(&a["account"]),
            format!("${}", text(&a["balance_usd"])),
            format!("${}", text(&a["spend_this_month_usd"])),
            reloads,
            text(&a["allowance_remaining_usd"])
        );
    }
    Ok(())
}

fn history(args: &LedgerArgs, account: Option<&str>, last: Option<usize>) -> Result<()> {
    let config = load_config(&args.config);
    let rows = match &config.postgres {
        None => crate::state::history::read(&config.state_dir, account)?,
        Some(_) => crate::daemon::open_store(&config)?.history_rows(account)?,
    };
    let skip = last.map_or(0, |n| rows.len().saturating_sub(n));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows[skip..])?);
        return Ok(());
    }
    for row in &rows[skip..] {
        let entry = serde_json::to_value(&row.entry)?;
        let (kind, fields) = entry.as_object().and_then(|o| o.iter().next()).map(|(k, v)| (k.clone(), v.clone())).unwrap_or_default();
        let at = fields["at"].as_str().or(fields["as_of"].as_str()).unwrap_or("").to_string();
        let amount = ["cost", "amount", "adjustment", "balance"].iter().find_map(|k| fields[*k].as_str()).unwrap_or("");
        println!("{at:<25} {:<10} {kind:<16} {amount:>14}  balance after ${}", row.account, money::format(row.balance_after_usd));
    }
    Ok(())
}

fn verify(args: &LedgerArgs) -> Result<()> {
    let config = load_config(&args.config);
    let summary = crate::ledger::journal::verify(&config.state_dir).map_err(|e| anyhow!("{e}"))?;
    let segments = crate::ledger::journal::segments(&config.state_dir).map_err(|e| anyhow!("{e}"))?;
    let state = crate::daemon::read_state(&config)?;
    let first = segments.first().map_or(0, |s| s.base);
    println!(
        "journal {}: {} segments from offset {first} to {}, {} records, all checksums good",
        config.state_dir.join(crate::ledger::journal::SEGMENTS_DIR).display(),
        segments.len(),
        summary.bytes,
        summary.records,
    );
    if let Some(at) = summary.torn_tail {
        println!("a torn last record at offset {at} (a write cut off by a crash) will be cut at the next start");
    }
    for account in state.ledger.accounts() {
        if let Some(v) = state.ledger.view(account, Utc::now()) {
            println!("  {account}: balance ${}", money::format(v.balance_usd));
        }
    }
    Ok(())
}

/// A top-up or reconcile: through the daemon when it is up, else directly.
fn change(args: &LedgerArgs, account: &str, action: &str, body: Value) -> Result<()> {
    let config = load_config(&args.config);
    let result = match daemon_post(&config, account, action, &body)? {
        Some(result) => result,
        None => book_directly(&config, account, action, &body)?,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        let balance = result["balance_usd"].as_str().unwrap_or("?");
        println!("{account}: {action} booked (id {}); balance now ${balance}", body["id"].as_str().unwrap_or(""));
    }
    Ok(())
}

/// POSTs to a running daemon; `None` when none listens.
fn daemon_post(config: &Config, account: &str, action: &str, body: &Value) -> Result<Option<Value>> {
    let Ok(addr) = config.listen.parse::<std::net::SocketAddr>() else { return Ok(None) };
    if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_err() {
        return Ok(None);
    }
    let token_file = config
        .admin_token_file
        .as_ref()
        .ok_or_else(|| anyhow!("a daemon is running on {addr} and admin_token_file is not set: its POST routes are off"))?;
    let token = std::fs::read_to_string(token_file).with_context(|| format!("admin_token_file {}", token_file.display()))?;
    let url = format!("http://{addr}/api/v1/accounts/{account}/{action}");
    crate::common::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let resp = reqwest::Client::new()
            .post(&url)
            .bearer_auth(token.trim())
            .json(body)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        let status = resp.status();
        let value: Value = resp.json().await.unwrap_or_default();
        if !status.is_success() {
            bail!("the daemon refused ({status}): {}", value["error"].as_str().unwrap_or("no reason given"));
        }
        Ok(Some(value))
    })
}

/// Books on the state directory under its lock (no daemon running).
fn book_directly(config: &Config, account: &str, action: &str, body: &Value) -> Result<Value> {
    if config.postgres.is_some() {
        bail!("{}: the state is in PostgreSQL: top-ups and reconciles are booked by the writer replica's API (POST /api/v1/accounts/{account}/{action} there)", config.path.display());
    }
    let mut store = crate::daemon::open_store(config)?;
    let id = body["id"].as_str().unwrap_or_default();
    let now = Utc::now();
    let booked = if action == "topups" {
        let amount = money::parse(body["amount_usd"].as_str().unwrap_or_default()).map_err(|e| anyhow!(e))?;
        store.state.ledger.topup(account, id, amount, body["note"].as_str().map(str::to_string), now)
    } else {
        let balance = money::parse(body["balance_usd"].as_str().unwrap_or_default()).map_err(|e| anyhow!(e))?;
        store.state.ledger.reconcile(account, id, balance, now)
    }
    .map_err(|e| anyhow!("{e}"))?;
    if let Some(entry) = &booked.entry {
        store.commit(&Record::Ledger(vec![entry.clone()]))?;
    }
    let _ = store.snapshot();
    drop::<Store>(store);
    Ok(serde_json::to_value(&booked.view)?)
}
