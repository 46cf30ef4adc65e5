//! `/metrics`: the Prometheus view of the state.
//!
//! Every metric name is defined here and only here. Values are not
//! accumulated in floats: at each scrape the families are filled from the
//! exact decimal totals in the state (money turns into f64 only for the
//! exposition format), so a counter shows exactly what the ledger booked,
//! and after a restart it goes on from the same total.

mod plan_windows;
pub mod provider_accounts;
mod providers;

use prometheus::{CounterVec, Encoder, GaugeVec, Opts, Registry, TextEncoder};

use crate::sources::follow::tail::SourceStats;
use crate::sources::Outcome;
use crate::state::State;
use crate::usage::money::to_f64;
use crate::usage::TOKEN_KINDS;

pub struct Metrics {
    registry: Registry,
    balance: GaugeVec,
    spend_month: GaugeVec,
    reloads_month: GaugeVec,
    reload_usd_month: GaugeVec,
    reload_cap: GaugeVec,
    reload_threshold: GaugeVec,
    reload_amount: GaugeVec,
    topups: CounterVec,
    allowance: GaugeVec,
    spend: CounterVec,
    user_spend: CounterVec,
    tokens: CounterVec,
    requests: CounterVec,
    unpriced: CounterVec,
    model_unpriced: GaugeVec,
    lines: CounterVec,
    last_event: GaugeVec,
    files: GaugeVec,
    lag: GaugeVec,
    build_info: GaugeVec,
    burn: GaugeVec,
    account_burn: GaugeVec,
    runway: GaugeVec,
    alert_firing: GaugeVec,
    plan_windows: plan_windows::PlanWindowMetrics,
    providers: providers::ProviderMetrics,
    provider_accounts: provider_accounts::AccountFigures,
    cache_savings: CounterVec,
    premium_requests: CounterVec,
    prompt_sizes: std::sync::Arc<PromptSizesCollector>,
    leader: GaugeVec,
    backend_up: GaugeVec,
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
    pub config: &'a crate::config::Config,
    pub burn: &'a crate::live::burn::BurnSnapshot,
    pub firing: &'a [(String, String)],
    /// The providers' pollers (`providers::status`).
    pub providers: &'a [crate::providers::status::ProviderStatus],
    /// Whether this process writes, and whether its backend takes commits.
    pub role: &'a crate::state::role::Role,
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
            spend_month: gauge(
                &r,
                "creditwatch_spend_this_month_usd",
                "Spend booked against the account in the current calendar month (configured timezone).",
                &["account"],
            ),
            reloads_month: gauge(&r, "creditwatch_reloads_this_month", "Auto-reloads in the current calendar month.", &["account"]),
            reload_usd_month: gauge(
                &r,
                "creditwatch_reload_usd_this_month",
                "Dollars auto-reloaded in the current calendar month.",
                &["account"],
            ),
            reload_cap: gauge(&r, "creditwatch_reload_cap_usd", "The monthly auto-reload cap.", &["account"]),
            reload_threshold: gauge(&r, "creditwatch_reload_threshold_usd", "Auto-reload happens at or below this balance.", &["account"]),
            reload_amount: gauge(
                &r,
                "creditwatch_reload_amount_usd",
                "Dollars added by one auto-reload (to the target, for target reloads: the target).",
                &["account"],
            ),
            topups: counter(
                &r,
                "creditwatch_topups_usd_total",
                "Credits added, by kind: manual, auto, reconcile (reconciles that raised the balance).",
                &["account", "kind"],
            ),
            allowance: gauge(&r, "creditwatch_allowance_remaining_usd", "Plan allowance left this month.", &["account"]),
            spend: counter(&r, "creditwatch_spend_usd_total", "Cost booked, in US dollars.", &["account", "app", "model"]),
            user_spend: counter(
                &r,
                "creditwatch_user_spend_usd_total",
                "Cost booked per person (OTLP user.email or a source's user), bounded by limits.max_users.",
                &["account", "user"],
            ),
            tokens: counter(&r, "creditwatch_tokens_total", "Tokens booked, by kind.", &["account", "app", "model", "kind"]),
            requests: counter(&r, "creditwatch_requests_total", "Billed requests, after de-duplication.", &["account", "app", "model"]),
            unpriced: counter(
                &r,
                "creditwatch_unpriced_requests_total",
                "Requests whose model has no price (booked at 0).",
                &["account", "app", "model"],
            ),
            model_unpriced: gauge(
                &r,
                "creditwatch_model_unpriced",
                "1 while a model with requests booked at 0 still has no price in the current price table.",
                &["model"],
            ),
            lines: counter(&r, "creditwatch_source_lines_total", "Log lines read, by outcome.", &["source", "outcome"]),
            last_event: gauge(&r, "creditwatch_source_last_event_timestamp_seconds", "Event time of the newest booked event.", &["source"]),
            files: gauge(&r, "creditwatch_source_files", "Files being followed.", &["source"]),
            lag: gauge(&r, "creditwatch_source_lag_bytes", "Bytes written to the source's files and not read yet.", &["source"]),
            build_info: gauge(&r, "creditwatch_build_info", "Version and git revision; value 1.", &["version", "revision"]),
            burn: gauge(&r, "creditwatch_burn_rate_usd_per_hour", "Spend per hour over the trailing window, by event time.", &["account", "app", "model", "window"]),
            account_burn: gauge(&r, "creditwatch_account_burn_rate_usd_per_hour", "Account spend per hour over the trailing window, by event time.", &["account", "window"]),
            runway: gauge(&r, "creditwatch_runway_seconds", "Time until the balance reaches zero at the 1h burn rate, counting the auto-reloads the cap still allows (+Inf when not burning).", &["account"]),
            alert_firing: gauge(&r, "creditwatch_alert_firing", "1 while a daemon-side alert fires.", &["alert", "account"]),
            plan_windows: plan_windows::PlanWindowMetrics::new(&r),
            providers: providers::ProviderMetrics::new(&r),
            provider_accounts: provider_accounts::AccountFigures::new(&r),
            cache_savings: counter(
                &r,
                "creditwatch_cache_savings_usd_total",
                "What cache reads saved against the input price, in US dollars.",
                &["account", "app", "model"],
            ),
            premium_requests: counter(
                &r,
                "creditwatch_premium_requests_total",
                "GitHub Copilot premium requests booked (fractional: a 0.33x model counts 0.33).",
                &["account", "app", "model"],
            ),
            prompt_sizes: PromptSizesCollector::register(&r),
            leader: gauge(
                &r,
                "creditwatch_leader",
                "1 on the replica that writes (the lease holder with PostgreSQL state; always, with a state directory), 0 on the others.",
                &[],
            ),
            backend_up: gauge(&r, "creditwatch_state_backend_up", "1 while the state backend accepts commits.", &[]),
            registry: r,
        };
        m.build_info.with_label_values(&[crate::common::build_info::VERSION, crate::common::build_info::REVISION]).set(1.0);
        m
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Registers a collector owned elsewhere (the notification counters).
    pub fn register(&self, collector: Box<dyn prometheus::core::Collector>) {
        if let Err(e) = self.registry.register(collector) {
            tracing::warn!("cannot register a collector: {e}");
        }
    }

    /// Fills the families from the state and live figures.
    pub fn refresh(&self, state: &State, now: chrono::DateTime<chrono::Utc>, live: &Live) {
        self.leader.with_label_values::<&str>(&[]).set(if live.role.is_writer() { 1.0 } else { 0.0 });
        self.backend_up.with_label_values::<&str>(&[]).set(if live.role.backend_up() { 1.0 } else { 0.0 });
        for v in [
            &self.spend,
            &self.user_spend,
            &self.tokens,
            &self.requests,
            &self.unpriced,
            &self.lines,
            &self.topups,
            &self.cache_savings,
            &self.premium_requests,
        ] {
            v.reset();
        }
        for v in [
            &self.balance,
            &self.spend_month,
            &self.reloads_month,
            &self.reload_usd_month,
            &self.reload_cap,
            &self.reload_threshold,
            &self.reload_amount,
            &self.allowance,
            &self.last_event,
            &self.files,
            &self.lag,
            &self.burn,
            &self.account_burn,
            &self.runway,
            &self.alert_firing,
            &self.model_unpriced,
        ] {
            v.reset();
        }
        for model in &state.unpriced_models {
            self.model_unpriced.with_label_values(&[model.as_str()]).set(1.0);
        }
        for (key, cost) in &state.users {
            self.user_spend.with_label_values(&[key.account.as_str(), key.user.as_str()]).inc_by(to_f64(*cost).max(0.0));
        }
        for (key, t) in &state.usage {
            let labels = [key.account.as_str(), key.app.as_str(), key.model.as_str()];
            self.spend.with_label_values(&labels).inc_by(to_f64(t.cost).max(0.0));
            self.requests.with_label_values(&labels).inc_by(t.requests as f64);
            self.unpriced.with_label_values(&labels).inc_by(t.unpriced_requests as f64);
            self.cache_savings.with_label_values(&labels).inc_by(to_f64(t.cache_savings).max(0.0));
            if !t.premium_requests.is_zero() {
                self.premium_requests.with_label_values(&labels).inc_by(to_f64(t.premium_requests).max(0.0));
            }
            for (kind, n) in TOKEN_KINDS.iter().zip(t.tokens.by_kind()) {
                self.tokens.with_label_values(&[labels[0], labels[1], labels[2], kind]).inc_by(n as f64);
            }
        }
        for account in state.ledger.accounts() {
            if let Some(view) = state.ledger.view(account, now) {
                self.account(&view);
                self.runway.with_label_values(&[account]).set(crate::live::runway(
                    live.config.account(account).and_then(|a| a.auto_reload.as_ref()),
                    &view,
                    live.burn,
                ));
                for window in live.burn.windows.iter().take(live.burn.exported) {
                    self.account_burn.with_label_values(&[account, &window.label]).set(live.burn.account_rate(account, window.length));
                }
            }
        }
        self.prompt_sizes.fill(state);
        self.burn(live.burn);
        self.plan_windows.refresh(&state.ledger, now);
        self.providers.refresh(live.providers);
        self.providers.refresh_ledger(&state.ledger);
        let (balance, unseen) = self.providers.balance_and_unseen();
        self.provider_accounts.refresh(state, now, live.providers, balance, unseen);
        for (alert, account) in live.firing {
            self.alert_firing.with_label_values(&[alert.as_str(), account.as_str()]).set(1.0);
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

    fn burn(&self, burn: &crate::live::burn::BurnSnapshot) {
        for (i, window) in burn.windows.iter().enumerate().take(burn.exported) {
            for s in &burn.series {
                let k = &s.key;
                self.burn.with_label_values(&[&k.account, &k.app, &k.model, &window.label]).set(s.usd_per_hour[i]);
            }
        }
    }

    fn account(&self, v: &crate::ledger::AccountView) {
        let a = [v.account.as_str()];
        self.balance.with_label_values(&a).set(to_f64(v.balance_usd));
        self.spend_month.with_label_values(&a).set(to_f64(v.spend_this_month_usd));
        self.reloads_month.with_label_values(&a).set(f64::from(v.reloads_this_month));
        self.reload_usd_month.with_label_values(&a).set(to_f64(v.reload_usd_this_month));
        let optional = [
            (&self.reload_cap, v.reload_cap_usd),
            (&self.reload_threshold, v.reload_threshold_usd),
            (&self.reload_amount, v.reload_amount_usd.or(v.reload_target_usd)),
            (&self.allowance, v.allowance_remaining_usd),
        ];
        for (gauge, value) in optional {
            if let Some(value) = value {
                gauge.with_label_values(&a).set(to_f64(value));
            }
        }
        for (kind, total) in [("manual", v.topups.manual_usd), ("auto", v.topups.auto_usd), ("reconcile", v.topups.reconcile_added_usd)] {
            self.topups.with_label_values(&[a[0], kind]).inc_by(to_f64(total).max(0.0));
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

/// `creditwatch_request_prompt_tokens`: a histogram filled from the state's
/// bucket counts at each scrape (the prometheus crate's `Histogram` only
/// observes values one by one, and these are a durable fold of the journal).
struct PromptSizesCollector {
    desc: prometheus::core::Desc,
    family: std::sync::Mutex<prometheus::proto::MetricFamily>,
}

impl PromptSizesCollector {
    const NAME: &'static str = "creditwatch_request_prompt_tokens";
    const HELP: &'static str = "Prompt size per billed request (input + cache writes + cache reads), in tokens.";

    fn register(registry: &Registry) -> std::sync::Arc<PromptSizesCollector> {
        let labels = ["account", "app", "model"].map(String::from).to_vec();
        let desc = prometheus::core::Desc::new(Self::NAME.into(), Self::HELP.into(), labels, Default::default())
            .expect("metric definitions are static and valid");
        let c = std::sync::Arc::new(PromptSizesCollector { desc, family: std::sync::Mutex::new(Self::empty()) });
        registry.register(Box::new(SharedCollector(c.clone()))).expect("each metric is registered once");
        c
    }

    fn empty() -> prometheus::proto::MetricFamily {
        let mut family = prometheus::proto::MetricFamily::new();
        family.set_name(Self::NAME.into());
        family.set_help(Self::HELP.into());
        family.set_field_type(prometheus::proto::MetricType::HISTOGRAM);
        family
    }

    fn fill(&self, state: &State) {
        use prometheus::proto::{Bucket, Histogram, LabelPair, Metric};
        let mut family = Self::empty();
        for (key, t) in &state.usage {
            if t.prompt_sizes.count() == 0 {
                continue;
            }
            let mut h = Histogram::new();
            h.set_sample_count(t.prompt_sizes.count());
            h.set_sample_sum(t.prompt_sizes.sum as f64);
            for (bound, n) in t.prompt_sizes.cumulative() {
                let mut b = Bucket::new();
                b.set_upper_bound(bound as f64);
                b.set_cumulative_count(n);
                h.bucket.push(b);
            }
            let labels = [("account", &key.account), ("app", &key.app), ("model", &key.model)].map(|(name, value)| {
                let mut l = LabelPair::new();
                l.set_name(name.into());
                l.set_value(value.clone());
                l
            });
            let mut m = Metric::from_label(labels.to_vec());
            m.set_histogram(h);
            family.mut_metric().push(m);
        }
        *self.family.lock().unwrap_or_else(|e| e.into_inner()) = family;
    }
}

struct SharedCollector(std::sync::Arc<PromptSizesCollector>);

impl prometheus::core::Collector for SharedCollector {
    fn desc(&self) -> Vec<&prometheus::core::Desc> {
        vec![&self.0.desc]
    }

    fn collect(&self) -> Vec<prometheus::proto::MetricFamily> {
        let family = self.0.family.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if family.get_metric().is_empty() {
            Vec::new()
        } else {
            vec![family]
        }
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}
