//! The spend of the last hour by event time, per (account, app, model) and
//! second: what the live view's burn rates are seeded with at a start.
//!
//! Burn rates used to be seeded by reading the whole journal; the journal
//! now loses its older segments behind snapshots, so the store keeps this
//! small aggregate instead and saves it in each snapshot. Summing per second
//! changes no burn bucket (buckets are whole seconds). Bounded by one hour
//! of seconds per series, whatever the traffic.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{pairs, Booked};

/// How far back the spend is kept: the longest window the alert rules and
/// the runway rely on (`live::burn::WINDOW_1H`).
pub const KEEP_SECONDS: i64 = 3600;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RecentSpend {
    /// (account, app, model, unix second) -> cost booked.
    #[serde(with = "pairs")]
    spend: BTreeMap<(String, String, String, i64), Decimal>,
}

impl RecentSpend {
    /// Notes committed bookings whose event time is within the hour before `now`.
    pub fn note(&mut self, bookings: &[Booked], now: DateTime<Utc>) {
        let since = now.timestamp() - KEEP_SECONDS;
        for b in bookings.iter().filter(|b| b.at.timestamp() >= since && !b.cost.is_zero()) {
            let key = (b.account.clone(), b.app.clone(), b.model.clone(), b.at.timestamp());
            let sum = self.spend.entry(key).or_default();
            *sum = sum.checked_add(b.cost).unwrap_or(*sum);
        }
    }

    /// Forgets what is older than the hour before `now`.
    pub fn prune(&mut self, now: DateTime<Utc>) {
        let since = now.timestamp() - KEEP_SECONDS;
        self.spend.retain(|(.., at), _| *at >= since);
    }

    /// `(account, app, model, event time, cost)`, oldest second first per series.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &str, DateTime<Utc>, Decimal)> {
        self.spend.iter().filter_map(|((account, app, model, at), cost)| {
            DateTime::from_timestamp(*at, 0).map(|at| (account.as_str(), app.as_str(), model.as_str(), at, *cost))
        })
    }

    pub fn len(&self) -> usize {
        self.spend.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spend.is_empty()
    }
}
