//! The providers' pollers: one tokio task per configured provider, apart
//! from the ingest thread, so a slow or failing provider never holds up
//! ingestion. Each poll: read the secret, ask, record the outcome on the
//! `Board` (the metrics and alerts read it), and take a good observation
//! into the ledger (journaled, so a restart replays to the same figures).
//! Then wait what the `Schedule` says, or stop.

use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use chrono::Utc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::common::lock;
use crate::config::Config;
use crate::http::App;
use crate::providers::schedule::{jittered, Schedule};
use crate::providers::{Observation, Poll, Provider, ProviderConfig};
use crate::state::labels::Limits;
use crate::state::store::Store;
use crate::state::Record;

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

/// Takes an observation into the ledger and journals what changed; on a
/// failed commit the state is read back from disk (nothing half booked).
pub fn book_observation(store: &mut Store, config: &ProviderConfig, limits: &Limits, observation: &Observation) -> Result<()> {
    let booked = observation_entries(&mut store.state.ledger, config, observation)
        .and_then(|entries| Ok((entries, super::provider_accounts::account_batch(&mut store.state, config, limits, observation)?)));
    let (entries, mut batch) = match booked {
        Ok(b) => b,
        Err(e) => {
            store.reload().context("reading the state back after a refused booking")?;
            return Err(e);
        }
    };
    if entries.is_empty() && batch.is_empty() {
        return Ok(());
    }
    // The plan windows' entries were applied before the batch's.
    batch.ledger.splice(0..0, entries);
    let record = if batch.usage.is_empty() { Record::Ledger(batch.ledger) } else { Record::Batch(batch) };
    if let Err(e) = store.commit(&record) {
        store.reload().context("reading the state back after a failed commit")?;
        return Err(e);
    }
    Ok(())
}

/// The ledger entries an observation makes (already applied to `ledger`).
fn observation_entries(
    ledger: &mut crate::ledger::Ledger,
    config: &ProviderConfig,
    observation: &Observation,
) -> Result<Vec<crate::ledger::Entry>> {
    let mut entries = Vec::new();
    if !observation.windows.is_empty() {
        let plan = crate::usage::plan::PlanObservation {
            session: format!("provider:{}", config.name),
            at: observation.at,
            windows: observation.windows.clone(),
        };
        entries.extend(ledger.observe_plan(&config.account, &plan)?);
    }
    Ok(entries)
}

/// Polls each provider once (`creditwatch providers check`).
pub async fn poll_each_once(config: &Config) -> Vec<(ProviderConfig, Result<Poll>)> {
    let mut out = Vec::new();
    for c in &config.providers {
        let poll = match Provider::new(c) {
            Ok(p) => Ok(p.poll(Utc::now()).await),
            Err(e) => Err(e),
        };
        out.push((c.clone(), poll));
    }
    out
}
