//! The providers' pollers: one tokio task per configured provider, apart
//! from the ingest thread, so a slow or failing provider never holds up
//! ingestion. Each poll: read the secret, ask, record the outcome on the
//! `Board` (the metrics and alerts read it), and take a good observation
//! into the ledger (journaled, so a restart replays to the same figures).
//! Then wait what the `Schedule` says, or stop.

use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use chrono::Utc;
use rust_decimal::Decimal;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::common::lock;
use crate::config::Config;
use crate::http::App;
use crate::providers::schedule::{jittered, Schedule};
use crate::providers::{Money, Observation, Provider, ProviderConfig, Reconcile};
use crate::state::labels::Limits;
use crate::state::log_days::PROVIDER_SOURCE_PREFIX;
use crate::state::seen::Seen;
use crate::state::store::Store;
use crate::state::{Batch, Record, State};
use crate::usage::money;
use crate::usage::plan::PlanObservation;
use crate::usage::{EventId, Tokens};

/// The app and model unseen spend is booked under (`reconcile: auto`).
pub use crate::state::provider_book::UNATTRIBUTED_APP;
pub const UNKNOWN_MODEL: &str = "unknown";

/// The running pollers of one configuration.
pub struct ProviderTasks {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl ProviderTasks {
    /// Starts a poller per provider; each polls at once, then on its schedule.
    pub fn start(config: &Config, app: &Arc<App>) -> Result<ProviderTasks> {
        let (stop, stop_rx) = watch::channel(false);
        let providers = config
            .providers
            .iter()
            .map(|c| Provider::new(c).with_context(|| format!("provider `{}`", c.name)))
            .collect::<Result<Vec<_>>>()?;
        app.providers.configure(&config.providers, Utc::now());
        let handles = providers.into_iter().map(|p| tokio::spawn(poll_loop(p, app.clone(), stop_rx.clone()))).collect();
        Ok(ProviderTasks { stop, handles })
    }

    pub fn none() -> ProviderTasks {
        ProviderTasks { stop: watch::channel(false).0, handles: Vec::new() }
    }

    /// Stops every poller (a poll in flight is dropped: it changed nothing yet).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for h in self.handles {
            let _ = h.await;
        }
    }
}

async fn poll_loop(provider: Provider, app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let name = provider.name().to_string();
    let mut schedule = Schedule::new(provider.config.poll_every);
    let mut last_error: Option<String> = None;
    // The provider's figures are compared with what the ledger booked: not
    // before the first scan has booked the logs' backlog, or all of it
    // would look unseen (and `reconcile: auto` would book it twice).
    while !app.progress.ready.load(std::sync::atomic::Ordering::Relaxed) {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(100)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
    loop {
        let now = Utc::now();
        let poll = tokio::select! {
            poll = provider.poll(now) => poll,
            _ = stop.wait_for(|s| *s) => return,
        };
        app.providers.update(&name, |s| s.record(now, &poll));
        let failure = match &poll.result {
            Ok(observation) => {
                if last_error.take().is_some() {
                    tracing::info!(provider = %name, "provider answers again");
                }
                let limits = app.config.load().limits.clone();
                take_in(&app.store, &provider.config, limits, observation.clone()).await;
                None
            }
            Err(e) => {
                let message = e.to_string();
                if last_error.as_deref() != Some(message.as_str()) {
                    tracing::warn!(provider = %name, "provider poll failed: {message}");
                }
                last_error = Some(message);
                Some(e.failure())
            }
        };
        let wait = jittered(schedule.after(failure.as_ref()));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// Books what an observation tells the ledger, off the async workers (the
/// commit writes and syncs the journal).
async fn take_in(store: &Arc<Mutex<Store>>, config: &ProviderConfig, limits: Limits, observation: Observation) {
    let (store, owned) = (store.clone(), config.clone());
    match tokio::task::spawn_blocking(move || book_observation(&mut lock(&store), &owned, &limits, &observation)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(provider = %config.name, "cannot book the provider's figures: {e:#}"),
        Err(e) => tracing::error!(provider = %config.name, "the provider booking task failed: {e}"),
    }
}

/// Takes an observation into the ledger and journals what changed in one
/// record; on an error the state is read back from disk (nothing half
/// booked).
pub fn book_observation(store: &mut Store, config: &ProviderConfig, limits: &Limits, observation: &Observation) -> Result<()> {
    store.writable()?;
    let batch = match observation_batch(&mut store.state, config, limits, observation) {
        Ok(batch) => batch,
        Err(e) => {
            store.reload().context("reading the state back after a refused booking")?;
            return Err(e);
        }
    };
    if batch.is_empty() {
        return Ok(());
    }
    store.state.apply_batch_usage(&batch);
    if let Err(e) = store.commit(&Record::Batch(batch)) {
        store.reload().context("reading the state back after a failed commit")?;
        return Err(e);
    }
    Ok(())
}

/// The record an observation makes; its ledger entries are already applied
/// to `state.ledger`, its usage is not.
fn observation_batch(state: &mut State, config: &ProviderConfig, limits: &Limits, observation: &Observation) -> Result<Batch> {
    let (ledger, account, name, at) = (&mut state.ledger, config.account.as_str(), config.name.as_str(), observation.at);
    let mut batch = Batch::default();
    if !observation.windows.is_empty() {
        let plan = PlanObservation { session: format!("provider:{name}"), at, windows: observation.windows.clone() };
        batch.ledger.extend(ledger.observe_plan(account, &plan)?);
    }
    let usd = |m: &Money| m.is_usd().then_some(m.amount);
    let spend = observation.extra_usage.as_ref().and_then(|e| Some((usd(&e.spent)?, e.limit.as_ref().and_then(usd))));
    if let Some((spent, limit)) = spend {
        let figures = ledger.observe_provider(account, name, at, spent, limit, observation.balance_usd())?;
        if figures.is_some() {
            if let Some(p) = ledger.provider_spend(account).filter(|p| p.gap() < Decimal::ZERO) {
                tracing::warn!(provider = name, account, "the ledger booked {} more than the provider's extra-usage spend this period: creditwatch over-counts, please report it", -p.gap());
            }
        }
        batch.ledger.extend(figures);
    }
    if config.reconcile == Reconcile::Auto {
        follow_provider(state, config, observation, &mut batch)?;
        // API accounts' cost reports: each closed day's unseen spend.
        batch.usage.extend(super::provider_accounts::unseen_spend(state, config, limits, observation, &mut batch.ledger)?);
    }
    Ok(batch)
}

/// `reconcile: auto`: a stated balance is reconciled to (the id names the
/// figures, so the same observation books once); else the unseen spend is
/// booked as app `unattributed`, model `unknown` (after which the gap is 0,
/// so it is booked once too).
fn follow_provider(state: &mut State, config: &ProviderConfig, observation: &Observation, batch: &mut Batch) -> Result<()> {
    let (account, name, at) = (config.account.as_str(), config.name.as_str(), observation.at);
    if let Some(balance) = observation.balance_usd() {
        let spent = observation.extra_usage.as_ref().map(|e| money::format(e.spent.amount)).unwrap_or_default();
        let id = format!("provider:{name}:balance:{}:spent:{spent}", money::format(balance));
        batch.ledger.extend(state.ledger.reconcile(account, &id, balance, at)?.entry);
        return Ok(());
    }
    let Some(p) = state.ledger.provider_spend(account).filter(|p| p.provider == name && p.unseen() > Decimal::ZERO) else { return Ok(()) };
    let (unseen, period, spent) = (p.unseen(), p.period_from.to_rfc3339(), money::format(p.spent));
    let entries = state.ledger.book_usage(account, UNATTRIBUTED_APP, at, unseen)?;
    batch.ledger.extend(entries);
    let id = EventId::from_parts("provider", &[name, &period, &spent]);
    batch.usage.push(crate::state::Booked {
        source: format!("{PROVIDER_SOURCE_PREFIX}{name}"),
        account: account.to_string(),
        app: UNATTRIBUTED_APP.into(),
        model: UNKNOWN_MODEL.into(),
        id,
        at,
        tokens: Tokens::default(),
        cost: unseen,
        new_request: false,
        unpriced: false,
        seen: Seen { tokens: Tokens::default(), web_searches: 0, cost: unseen, at: at.timestamp() },
        user: None,
        cache_savings: Decimal::ZERO,
        premium_requests: Decimal::ZERO,
        user_cost: None,
    });
    tracing::info!(
        provider = name,
        account,
        "booked {} of spend the logs did not show as app `{UNATTRIBUTED_APP}` (reconcile: auto)",
        money::format(unseen)
    );
    Ok(())
}
