//! The providers' gauges and counters: whether each poller's last poll
//! succeeded, when one last did, and its requests by outcome (from the
//! pollers' `Board`); the provider's extra-usage figures and the unseen gap
//! (from the ledger, so they survive a restart). Filled at each scrape.

use prometheus::{CounterVec, GaugeVec, Registry};

use super::{counter, gauge};
use crate::ledger::Ledger;
use crate::providers::status::ProviderStatus;
use crate::providers::Outcome;
use crate::usage::money::to_f64;

pub struct ProviderMetrics {
    up: GaugeVec,
    last_success: GaugeVec,
    requests: CounterVec,
    extra_spent: GaugeVec,
    extra_limit: GaugeVec,
    balance: GaugeVec,
    unseen: GaugeVec,
}

impl ProviderMetrics {
    pub fn new(r: &Registry) -> ProviderMetrics {
        ProviderMetrics {
            up: gauge(
                r,
                "creditwatch_provider_up",
                "1 after a successful poll of the provider's API, 0 after a failed one or with an expired token.",
                &["provider"],
            ),
            last_success: gauge(
                r,
                "creditwatch_provider_last_success_timestamp_seconds",
                "When the provider was last polled successfully.",
                &["provider"],
            ),
            requests: counter(
                r,
                "creditwatch_provider_requests_total",
                "Requests to the provider's API, by outcome: ok, error, unauthorized, throttled.",
                &["provider", "outcome"],
            ),
            extra_spent: gauge(
                r,
                "creditwatch_provider_extra_usage_spent_usd",
                "The provider's extra-usage spend in its current period, as it states it.",
                &["account"],
            ),
            extra_limit: gauge(
                r,
                "creditwatch_provider_extra_usage_limit_usd",
                "The provider's monthly extra-usage limit; absent when unlimited.",
                &["account"],
            ),
            balance: gauge(r, "creditwatch_provider_balance_usd", "A balance the provider states, in US dollars.", &["account"]),
            unseen: gauge(
                r,
                "creditwatch_unseen_spend_usd",
                "The provider's extra-usage spend this period minus what creditwatch booked against the balance in it; never negative.",
                &["account"],
            ),
        }
    }

    /// The gauges the API accounts' figures (`provider_accounts`) set too,
    /// after `refresh_ledger` has reset them.
    pub(super) fn balance_and_unseen(&self) -> (&GaugeVec, &GaugeVec) {
        (&self.balance, &self.unseen)
    }

    /// The provider figures the ledger keeps, per account.
    pub fn refresh_ledger(&self, ledger: &Ledger) {
        for g in [&self.extra_spent, &self.extra_limit, &self.balance, &self.unseen] {
            g.reset();
        }
        for account in ledger.accounts() {
            let Some(p) = ledger.provider_spend(account) else { continue };
            self.extra_spent.with_label_values(&[account]).set(to_f64(p.spent));
            self.unseen.with_label_values(&[account]).set(to_f64(p.unseen()));
            if let Some(limit) = p.limit {
                self.extra_limit.with_label_values(&[account]).set(to_f64(limit));
            }
            if let Some(balance) = p.balance {
                self.balance.with_label_values(&[account]).set(to_f64(balance));
            }
        }
    }

    pub fn refresh(&self, providers: &[ProviderStatus]) {
        self.up.reset();
        self.last_success.reset();
        self.requests.reset();
        for p in providers {
            let name = p.name.as_str();
            self.up.with_label_values(&[name]).set(if p.up { 1.0 } else { 0.0 });
            if let Some(at) = p.last_success {
                self.last_success.with_label_values(&[name]).set(at.timestamp_millis() as f64 / 1000.0);
            }
            for outcome in Outcome::ALL {
                self.requests.with_label_values(&[name, outcome.as_str()]).inc_by(p.requests(outcome) as f64);
            }
        }
    }
}
