//! The providers' gauges and counters: whether each poller's last poll
//! succeeded, when one last did, and its requests by outcome. Filled at
//! each scrape from the pollers' `Board`, like every other family.

use prometheus::{CounterVec, GaugeVec, Registry};

use super::{counter, gauge};
use crate::providers::status::ProviderStatus;
use crate::providers::Outcome;

pub struct ProviderMetrics {
    up: GaugeVec,
    last_success: GaugeVec,
    requests: CounterVec,
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
