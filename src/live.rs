//! The live view: burn rates, runway and daemon-side alerts — what changes
//! by the minute and is derived from the ledger rather than stored in it.
//!
//! Burn rates go by event time in time buckets (`crate::burn`), fed with
//! every booking once it is committed; at start they are seeded from the
//! journal's last hour so a restart does not look like a sudden stop. The
//! runway counts the auto-reloads the cap still allows. The alert task
//! builds an `AlertInputs` snapshot every `evaluate_every` once the first
//! scan is done (a half-read history would page falsely).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::alerting::{AccountInput, AlertInputs, Alerting, SeriesBurn, SourceInput};
use crate::burn::{runway_seconds, BurnRates, BurnSnapshot, ReloadRunway, SeriesKey, WINDOW_1H, WINDOW_5M};
use crate::config::Config;
use crate::ingest::{lock, Progress};
use crate::ledger::AccountView;
use crate::sources::Outcome;
use crate::state::store::Store;
use crate::state::{Booked, Record, State};

/// Shared between ingestion (writes burn), scrapes and the alert task.
pub struct LiveView {
    pub burn: BurnRates,
    /// (alertname, account) of the daemon-side alerts firing now.
    pub firing: Vec<(String, String)>,
}

pub type Shared = Arc<Mutex<LiveView>>;

pub fn lock_live(live: &Mutex<LiveView>) -> std::sync::MutexGuard<'_, LiveView> {
    live.lock().unwrap_or_else(|e| e.into_inner())
}

impl LiveView {
    pub fn new(config: &Config) -> LiveView {
        LiveView { burn: BurnRates::new(&config.burn_rate), firing: Vec::new() }
    }

    /// Feeds committed bookings to the burn rates.
    pub fn record(&mut self, now: DateTime<Utc>, bookings: &[Booked]) {
        for b in bookings {
            let key = SeriesKey { account: b.account.clone(), app: b.app.clone(), model: b.model.clone() };
            self.burn.record(now, &key, b.at, b.cost);
        }
    }

    /// Seeds the burn rates with the journal's bookings (only the last hour
    /// counts; older ones are ignored by `BurnRates`).
    pub fn seed(&mut self, state_dir: &Path) {
        let now = Utc::now();
        let records = match crate::ledger::journal::read_all(state_dir) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("cannot seed burn rates from the journal: {e}");
                return;
            }
        };
        for r in records {
            if let Ok(Record::Batch(batch)) = serde_json::from_slice::<Record>(&r.payload) {
                self.record(now, &batch.usage);
            }
        }
    }
}

/// Seconds until `account`'s balance reaches zero at its 1h burn rate,
/// counting the auto-reloads the cap still allows.
pub fn runway(config: &Config, view: &AccountView, snapshot: &BurnSnapshot) -> f64 {
    let reload = config
        .account(&view.account)
        .and_then(|a| a.auto_reload.as_ref())
        .map(|r| ReloadRunway::from_config(r, view.reload_usd_this_month));
    runway_seconds(view.balance_usd, snapshot.account_rate(&view.account, WINDOW_1H), reload)
}

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
    now: DateTime<Utc>,
) -> AlertInputs {
    let accounts = state
        .ledger
        .accounts()
        .filter_map(|name| state.ledger.view(name, now))
        .map(|view| AccountInput {
            name: view.account.clone(),
            balance: view.balance_usd,
            runway_seconds: runway(config, &view, snapshot),
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
    AlertInputs { now, accounts, burn: SeriesBurn::from_snapshot(snapshot), sources }
}

/// Evaluates the daemon-side rules every `evaluate_every` until `stop`.
pub async fn alert_task(
    mut alerting: Alerting,
    config: Arc<arc_swap::ArcSwap<Config>>,
    store: Arc<Mutex<Store>>,
    live: Shared,
    progress: Arc<Progress>,
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
            alert_inputs(&config.load(), &store.state, &snapshot, &progress, &mut history, now)
        };
        alerting.evaluate(&inputs);
        lock_live(&live).firing = alerting.firing();
    }
}
