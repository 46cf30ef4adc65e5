//! The daemon-side alert task: every `evaluate_every`, once the first scan
//! is done (a half-read history would page falsely), it builds an
//! `AlertInputs` snapshot from the ledger, the live burn rates and the
//! sources' progress, and hands it to `crate::alerting`.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::alerting::{AccountInput, AlertInputs, Alerting, ProviderInput, SeriesBurn, SourceInput};
use crate::common::lock;
use crate::config::Config;
use crate::live::burn::{BurnSnapshot, WINDOW_5M};
use crate::live::{lock_live, runway, Progress, Shared};
use crate::providers::status::{Board, ProviderStatus};
use crate::sources::Outcome;
use crate::state::store::Store;
use crate::state::State;

/// Line counts per source at the previous evaluation, for "recent" figures.
#[derive(Default)]
pub struct SourceHistory {
    lines: BTreeMap<String, [u64; 4]>,
    read_bytes: BTreeMap<String, u64>,
}

/// The snapshot the alert rules read.
pub fn alert_inputs(
    config: &Config,
    state: &State,
    snapshot: &BurnSnapshot,
    progress: &Progress,
    history: &mut SourceHistory,
    providers: &[ProviderStatus],
    now: DateTime<Utc>,
) -> AlertInputs {
    let accounts = state
        .ledger
        .accounts()
        .filter_map(|name| state.ledger.view(name, now))
        .map(|view| AccountInput {
            name: view.account.clone(),
            balance: view.balance_usd,
            runway_seconds: runway(config.account(&view.account).and_then(|a| a.auto_reload.as_ref()), &view, snapshot),
            account_burn_5m_usd_per_hour: snapshot.account_rate(&view.account, WINDOW_5M),
            reload_usd_this_month: view.reload_usd_this_month,
            reload_cap_usd: view.reload_cap_usd,
            cap_reached_this_month: view.reload_cap_reached_this_month,
        })
        .collect();
    let stats = progress.sources.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let sources = config
        .sources
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let totals = state.sources.get(&s.name);
            let lines = totals.map(|t| t.lines).unwrap_or_default();
            let before = history.lines.insert(s.name.clone(), lines).unwrap_or(lines);
            let recent = |o: Outcome| lines[o.index()].saturating_sub(before[o.index()]);
            let stat = stats.get(i).copied().unwrap_or_default();
            let read_before = history.read_bytes.insert(s.name.clone(), stat.read_bytes).unwrap_or(stat.read_bytes);
            SourceInput {
                name: s.name.clone(),
                account: s.account.clone(),
                last_event: totals.and_then(|t| t.last_event),
                files_growing: stat.lag_bytes > 0 || stat.read_bytes > read_before,
                error_lines_recent: recent(Outcome::Error),
                ok_lines_recent: recent(Outcome::Booked) + recent(Outcome::Duplicate) + recent(Outcome::Skipped),
            }
        })
        .collect();
    let providers = provider_inputs(state, providers, now);
    AlertInputs { now, accounts, burn: SeriesBurn::from_snapshot(snapshot), sources, plan_windows: plan_windows(state, now), providers }
}

/// Each provider's poller and the figures the ledger keeps for its account.
fn provider_inputs(state: &State, providers: &[ProviderStatus], now: DateTime<Utc>) -> Vec<ProviderInput> {
    providers
        .iter()
        .map(|p| {
            let figures = state.ledger.provider_spend(&p.account).filter(|f| f.provider == p.name);
            let down = p.down_at(now).then(|| match (&p.last_error, p.last_success) {
                (Some(e), _) if p.expired => e.clone(),
                (_, Some(at)) => format!("no successful poll since {}", at.format("%Y-%m-%d %H:%M UTC")),
                (_, None) => format!("no successful poll since creditwatch started at {}", p.started.format("%Y-%m-%d %H:%M UTC")),
            });
            ProviderInput {
                provider: p.name.clone(),
                account: p.account.clone(),
                down,
                extra_spent: figures.map(|f| f.spent),
                extra_limit: figures.and_then(|f| f.limit),
                // A subscription's figures, else an API account's cost report.
                unseen: figures.map(|f| f.unseen()).or_else(|| crate::metrics::provider_accounts::api_unseen(state, now, p)),
            }
        })
        .collect()
}

/// The plan windows of every account that have not reset at `now`.
fn plan_windows(state: &State, now: DateTime<Utc>) -> Vec<crate::alerting::PlanWindowInput> {
    let ledger = &state.ledger;
    let plans = ledger.accounts().filter_map(|a| ledger.plan(a).map(|p| (a, p)));
    plans
        .flat_map(|(account, plan)| {
            plan.current(now).map(move |(window, w)| crate::alerting::PlanWindowInput {
                account: account.to_string(),
                window: window.to_string(),
                used_percent: w.used_percent,
                resets_at: w.resets_at,
            })
        })
        .collect()
}

/// Evaluates the daemon-side rules every `evaluate_every` until `stop`.
pub async fn alert_task(
    mut alerting: Alerting,
    config: Arc<arc_swap::ArcSwap<Config>>,
    store: Arc<Mutex<Store>>,
    live: Shared,
    progress: Arc<Progress>,
    providers: Arc<Board>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Alerting {
    let mut history = SourceHistory::default();
    let mut tick = tokio::time::interval(alerting.evaluate_every());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return alerting,
        }
        if !progress.ready.load(Ordering::Relaxed) {
            continue;
        }
        let now = Utc::now();
        let snapshot = lock_live(&live).burn.rates(now);
        let inputs = {
            let store = lock(&store);
            alert_inputs(&config.load(), &store.state, &snapshot, &progress, &mut history, &providers.snapshot(), now)
        };
        alerting.evaluate(&inputs);
        lock_live(&live).firing = alerting.firing();
    }
}
