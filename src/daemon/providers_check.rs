//! `creditwatch providers check`: polls each provider once and prints what
//! it says beside the ledger's view (windows, extra usage, balance, the
//! gap). Exit 1 when one fails. Prints figures and file paths, never a
//! token: the secret stays inside the request header.

use anyhow::{bail, Result};
use chrono::Utc;

use crate::cli::ConfigArg;
use crate::daemon::commands::load_config;
use crate::providers::{Money, Observation, Provider, ProviderConfig};
use crate::state::State;
use crate::usage::money;

pub fn run(arg: &ConfigArg) -> Result<()> {
    let config = load_config(arg);
    if config.providers.is_empty() {
        bail!("no providers in {}", config.path.display());
    }
    let state = crate::daemon::read_state(&config).ok();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut failed = 0;
    for c in &config.providers {
        let result = runtime.block_on(async { Provider::new(c)?.poll(Utc::now()).await.result.map_err(|e| anyhow::anyhow!("{e}")) });
        match result {
            Ok(observation) => print!("{}", describe(c, &observation, state.as_ref())),
            Err(e) => {
                failed += 1;
                println!("provider {} ({}, account {}): FAILED: {e:#}", c.name, c.kind.as_str(), c.account);
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} providers failed", config.providers.len());
    }
    Ok(())
}

fn usd(m: &Money) -> String {
    if m.is_usd() {
        format!("${}", money::format(m.amount))
    } else {
        format!("{} {}", money::format(m.amount), m.currency)
    }
}

/// The figures of one good poll, beside the ledger's.
pub fn describe(c: &ProviderConfig, o: &Observation, state: Option<&State>) -> String {
    let mut out = format!("provider {} ({}, account {}): ok\n", c.name, c.kind.as_str(), c.account);
    let windows: Vec<String> = o
        .windows
        .iter()
        .map(|w| format!("{} {}% (resets {})", w.name, money::format(w.used_percent), w.resets_at.format("%Y-%m-%d %H:%M UTC")))
        .collect();
    out += &format!("  windows      {}\n", if windows.is_empty() { "none stated".into() } else { windows.join(", ") });
    match &o.extra_usage {
        Some(e) => {
            let limit = e.limit.as_ref().map(usd).unwrap_or_else(|| "no limit".into());
            out += &format!("  extra usage  {} spent of {limit}{}\n", usd(&e.spent), if e.enabled { "" } else { " (off)" });
        }
        None => out += "  extra usage  none stated\n",
    }
    let ledger = state.map(|s| &s.ledger);
    let view = ledger.and_then(|l| l.view(&c.account, Utc::now()));
    let provider_balance =
        if o.balances.is_empty() { "none stated".to_string() } else { o.balances.iter().map(usd).collect::<Vec<_>>().join(", ") };
    let ledger_balance = view.map(|v| format!("${}", money::format(v.balance_usd))).unwrap_or_else(|| "not readable".into());
    out += &format!("  balance      provider {provider_balance}; ledger {ledger_balance}\n");
    if let (Some(first), Some(last)) = (o.spend_days.first(), o.spend_days.last()) {
        let total: rust_decimal::Decimal = o.daily_spend.iter().filter(|s| s.amount.is_usd()).map(|s| s.amount.amount).sum();
        let days = o.spend_days.len();
        out += &format!(
            "  daily spend  ${} over {days} closed days ({first} to {last}); per day and model: creditwatch audit\n",
            money::format(total)
        );
    }
    let spent = o.extra_usage.as_ref().filter(|e| e.spent.is_usd()).map(|e| e.spent.amount);
    let gap = match (spent, ledger.and_then(|l| l.provider_spend(&c.account))) {
        (Some(spent), Some(p)) => {
            let gap = spent - p.baseline - p.booked;
            format!(
                "${} unseen (provider ${} since the baseline ${}, ledger ${} booked since {})",
                money::format(gap.max(rust_decimal::Decimal::ZERO)),
                money::format(spent - p.baseline),
                money::format(p.baseline),
                money::format(p.booked),
                p.period_from.format("%Y-%m-%d %H:%M UTC")
            )
        }
        (Some(_), None) => "no baseline yet (the daemon's first poll sets it)".into(),
        (None, _) => "no spend stated".into(),
    };
    out += &format!("  gap          {gap}\n");
    out
}
