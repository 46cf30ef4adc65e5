//! The live view: burn rates, runway and daemon-side alerts — what changes
//! by the minute and is derived from the ledger rather than stored in it.
//!
//! Burn rates go by event time in time buckets (`crate::live::burn`), fed with
//! every booking once it is committed; at start they are seeded from the
//! last hour's spend the store keeps (`state::recent`) so a restart does not look like a sudden stop. The
//! runway counts the auto-reloads the cap still allows. The alert task
//! builds an `AlertInputs` snapshot every `evaluate_every` once the first
//! scan is done (a half-read history would page falsely).

pub mod burn;
mod progress;

pub use progress::Progress;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::ledger::config::AutoReloadConfig;
use crate::ledger::AccountView;
use crate::state::recent::RecentSpend;
use crate::state::Booked;
use burn::{runway_seconds, BurnConfig, BurnRates, BurnSnapshot, ReloadRunway, SeriesKey, WINDOW_1H};

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
    pub fn new(config: &BurnConfig) -> LiveView {
        LiveView { burn: BurnRates::new(config), firing: Vec::new() }
    }

    /// Feeds committed bookings to the burn rates.
    pub fn record(&mut self, now: DateTime<Utc>, bookings: &[Booked]) {
        for b in bookings {
            let key = SeriesKey { account: b.account.clone(), app: b.app.clone(), model: b.model.clone() };
            self.burn.record(now, &key, b.at, b.cost);
        }
    }

    /// Seeds the burn rates with the last hour's spend the store kept
    /// (older spend is ignored by `BurnRates`).
    pub fn seed(&mut self, recent: &RecentSpend) {
        let now = Utc::now();
        for (account, app, model, at, cost) in recent.iter() {
            let key = SeriesKey { account: account.to_string(), app: app.to_string(), model: model.to_string() };
            self.burn.record(now, &key, at, cost);
        }
    }
}

/// Seconds until `account`'s balance reaches zero at its 1h burn rate,
/// counting the auto-reloads the cap still allows (`reload`: the
/// account's auto-reload settings, if any).
pub fn runway(reload: Option<&AutoReloadConfig>, view: &AccountView, snapshot: &BurnSnapshot) -> f64 {
    let reload = reload.map(|r| ReloadRunway::from_config(r, view.reload_usd_this_month));
    runway_seconds(view.balance_usd, snapshot.account_rate(&view.account, WINDOW_1H), reload)
}
