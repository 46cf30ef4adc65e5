//! `/metrics`: the Prometheus view of the state.
//!
//! Every metric name is defined here and only here. Values are not
//! accumulated in floats: at each scrape the families are filled from the
//! exact decimal totals in the state (money turns into f64 only for the
//! exposition format), so a counter shows exactly what the ledger booked,
//! and after a restart it goes on from the same total.

use prometheus::{CounterVec, Encoder, GaugeVec, Opts, Registry, TextEncoder};

use crate::event::TOKEN_KINDS;
use crate::money::to_f64;
use crate::sources::tail::SourceStats;
use crate::sources::Outcome;
use crate::state::State;

pub struct Metrics {
    registry: Registry,
    balance: GaugeVec,
    spend: CounterVec,
    tokens: CounterVec,
    requests: CounterVec,
    unpriced: CounterVec,
    lines: CounterVec,
    last_event: GaugeVec,
    files: GaugeVec,
    lag: GaugeVec,
    build_info: GaugeVec,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> CounterVec {
    let c = CounterVec::new(Opts::new(name, help), labels).expect("metric definitions are static and valid");
    registry.register(Box::new(c.clone())).expect("each metric is registered once");
    c
}

fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    let g = GaugeVec::new(Opts::new(name, help), labels).expect("metric definitions are static and valid");
    registry.register(Box::new(g.clone())).expect("each metric is registered once");
    g
}

/// What a scrape shows besides the state.
pub struct Live<'a> {
    pub sources: &'a [(String, SourceStats)],
}

impl Metrics {
    pub fn new() -> Metrics {
        let r = Registry::new();
        #[cfg(target_os = "linux")]
        {
            let _ = r.register(Box::new(prometheus::process_collector::ProcessCollector::for_self()));
        }
        let m = Metrics {
            balance: gauge(&r, "creditwatch_balance_usd", "Extra-usage balance now, in US dollars; may be negative.", &["account"]),
            spend: counter(&r, "creditwatch_spend_usd_total", "Cost booked, in US dollars.", &["account", "app", "model"]),
            tokens: counter(&r, "creditwatch_tokens_total", "Tokens booked, by kind.", &["account", "app", "model", "kind"]),
            requests: counter(&r, "creditwatch_requests_total", "Billed requests, after de-duplication.", &["account", "app", "model"]),
            unpriced: counter(
                &r,
                "creditwatch_unpriced_requests_total",
                "Requests whose model has no price (booked at 0).",
                &["account", "app", "model"],
            ),
            lines: counter(&r, "creditwatch_source_lines_total", "Log lines read, by outcome.", &["source", "outcome"]),
            last_event: gauge(&r, "creditwatch_source_last_event_timestamp_seconds", "Event time of the newest booked event.", &["source"]),
            files: gauge(&r, "creditwatch_source_files", "Files being followed.", &["source"]),
            lag: gauge(&r, "creditwatch_source_lag_bytes", "Bytes written to the source's files and not read yet.", &["source"]),
            build_info: gauge(&r, "creditwatch_build_info", "Version and git revision; value 1.", &["version", "revision"]),
            registry: r,
        };
        m.build_info.with_label_values(&[crate::build_info::VERSION, crate::build_info::REVISION]).set(1.0);
        m
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Fills the families from the state and live figures.
    pub fn refresh(&self, state: &State, now: chrono::DateTime<chrono::Utc>, live: &Live) {
        for v in [&self.spend, &self.tokens, &self.requests, &self.unpriced, &self.lines] {
            v.reset();
        }
        for v in [&self.balance, &self.last_event, &self.files, &self.lag] {
            v.reset();
        }
        for (key, t) in &state.usage {
            let labels = [key.account.as_str(), key.app.as_str(), key.model.as_str()];
            self.spend.with_label_values(&labels).inc_by(to_f64(t.cost).max(0.0));
            self.requests.with_label_values(&labels).inc_by(t.requests as f64);
            self.unpriced.with_label_values(&labels).inc_by(t.unpriced_requests as f64);
            for (kind, n) in TOKEN_KINDS.iter().zip(t.tokens.by_kind()) {
                self.tokens.with_label_values(&[labels[0], labels[1], labels[2], kind]).inc_by(n as f64);
            }
        }
        for account in state.ledger.accounts() {
            if let Some(view) = state.ledger.view(account, now) {
                self.balance.with_label_values(&[account]).set(to_f64(view.balance));
            }
        }
        for (name, stats) in live.sources {
            let totals = state.sources.get(name);
            for outcome in Outcome::ALL {
                let n = totals.map_or(0, |t| t.lines[outcome.index()]);
                self.lines.with_label_values(&[name.as_str(), outcome.as_str()]).inc_by(n as f64);
            }
            if let Some(at) = totals.and_then(|t| t.last_event) {
                self.last_event.with_label_values(&[name.as_str()]).set(at.timestamp_millis() as f64 / 1000.0);
            }
            self.files.with_label_values(&[name.as_str()]).set(stats.files as f64);
            self.lag.with_label_values(&[name.as_str()]).set(stats.lag_bytes as f64);
        }
    }

    /// The text exposition of everything registered.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 * 1024);
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!("cannot encode metrics: {e}");
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}
