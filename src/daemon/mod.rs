//! `creditwatch run`: wires the pieces together and owns their lifetimes.
//!
//! One ingestion thread (follower -> booking -> journal), the HTTP server on
//! the tokio runtime, and signal handling: SIGTERM/SIGINT stop the follower
//! (its last round commits its checkpoints and a snapshot is written), drain
//! HTTP connections for a bounded time, and exit 0 well within 5 seconds.

mod advise;
mod alerts;
mod audit;
pub mod commands;
pub mod ingest;
pub mod ledger_cli;
mod provider_accounts;
pub mod providers;
mod providers_check;
mod replica;
pub mod state_cli;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::signal::unix::{signal, SignalKind};

use self::ingest::Ingest;
use crate::alerting::Alerting;
use crate::common::lock;
use crate::config::Config;
use crate::daemon::commands::{price_table, source_specs};
use crate::http::{self, App};
use crate::ledger::AccountSettings;
use crate::live::LiveView;
use crate::live::Progress;
use crate::metrics::Metrics;
use crate::sources::follow::tail::Follower;
use crate::state::postgres::PgLink;
use crate::state::store::Store;
use crate::state::Record;

/// Ledger settings of every configured account.
pub fn account_settings(config: &Config) -> Result<Vec<AccountSettings>> {
    config.accounts.iter().map(|a| AccountSettings::try_from(a).with_context(|| format!("account `{}`", a.name))).collect()
}

/// Opens the store (the state directory, or PostgreSQL as a replica that
/// does not write yet) and books the opening entries of accounts new to it.
pub fn open_store(config: &Config) -> Result<Store> {
    open_store_waiting(config, false)
}

/// `open_store`; with `wait`, a database that cannot be reached (down,
/// restarting) is tried again every few seconds until it answers, as a
/// running replica does: a replica started with its database is not
/// refused for being first. A wrong URL, password or schema still fails.
fn open_store_waiting(config: &Config, wait: bool) -> Result<Store> {
    let mut store = match &config.postgres {
        None => Store::open(&config.state_dir, config.timezone.0)?,
        Some(pg) => {
            let url = pg.url().with_context(|| format!("{}: postgres.url_file", config.path.display()))?;
            let mut logged = false;
            let link = loop {
                match PgLink::open(url.clone(), pg.lease()) {
                    Ok(link) => break link,
                    Err(e) if wait && e.is_unavailable() => {
                        if !std::mem::replace(&mut logged, true) {
                            tracing::warn!("cannot reach {url} ({e}); waiting for it, trying every {DB_RETRY:?}");
                        }
                        std::thread::sleep(DB_RETRY);
                    }
                    Err(e) => return Err(anyhow::Error::new(e).context(format!("{}: postgres: cannot open {url}", config.path.display()))),
                }
            };
            Store::open_postgres(link, config.timezone.0)?
        }
    };
    configure_accounts(&mut store, config)?;
    Ok(store)
}

/// How often a replica starting without its database tries it again.
const DB_RETRY: Duration = Duration::from_secs(2);

/// The state as it is kept (state directory or PostgreSQL), for commands
/// that only read it while a daemon may be writing.
pub fn read_state(config: &Config) -> Result<crate::state::State> {
    match &config.postgres {
        None => crate::state::store::read_state(&config.state_dir, config.timezone.0),
        Some(_) => Ok(open_store(config)?.state),
    }
}

/// Gives the ledger the configured accounts; the writer books opening
/// entries for accounts it does not have yet (a replica that does not write
/// only takes the settings: the writer opens them, and it replays that).
pub fn configure_accounts(store: &mut Store, config: &Config) -> Result<()> {
    let settings = account_settings(config)?;
    store.state.ledger.set_timezone(config.timezone.0);
    if !store.role().is_writer() {
        store.state.ledger.set_settings(settings);
        return Ok(());
    }
    let opened = store.state.ledger.configure(settings, chrono::Utc::now());
    if !opened.is_empty() {
        if let Err(e) = store.commit(&Record::Ledger(opened)) {
            let _ = store.reload();
            return Err(e.context("booking the opening balances"));
        }
    }
    Ok(())
}

fn read_admin_token(config: &Config) -> Result<Option<String>> {
    let Some(path) = &config.admin_token_file else { return Ok(None) };
    let token = std::fs::read_to_string(path).with_context(|| format!("admin_token_file {}", path.display()))?;
    let token = token.trim().to_string();
    if token.len() < 16 {
        bail!("admin_token_file {}: the token must be at least 16 characters", path.display());
    }
    Ok(Some(token))
}

/// The OTLP receiver of the `otlp` source, when there is one.
fn otlp_receiver(
    config: &Config,
    sources: &[crate::sources::SourceSpec],
    store: &Arc<Mutex<Store>>,
    prices: &Arc<crate::pricing::PriceTable>,
    live: &crate::live::Shared,
) -> Result<Option<Arc<crate::http::otlp::Receiver>>> {
    let Some(source) = sources.iter().find(|s| s.format == crate::sources::Format::Otlp) else { return Ok(None) };
    let token = config.otlp.token_file.as_deref().map(crate::http::otlp::read_token).transpose()?;
    if token.is_none() {
        tracing::warn!("no otlp.token_file: OTLP exports are accepted from anyone who can reach the listeners");
    }
    let receiver =
        crate::http::otlp::Receiver::new(token, source.clone(), store.clone(), prices.clone(), config.limits.clone(), Some(live.clone()))?;
    Ok(Some(Arc::new(receiver)))
}

/// A downloaded price list reaches the receiver as it reaches the ingest loop.
fn follow_price_refreshes(
    receiver: Arc<crate::http::otlp::Receiver>,
    config: Arc<Config>,
    mut refreshes: tokio::sync::watch::Receiver<u64>,
) {
    tokio::spawn(async move {
        while refreshes.changed().await.is_ok() {
            receiver.set_prices(Arc::new(price_table(&config)));
        }
    });
}

pub fn run(config: &Config) -> Result<()> {
    let config = Arc::new(config.clone());
    let prices = Arc::new(price_table(&config));
    let sources = source_specs(&config)?;
    let admin_token = read_admin_token(&config)?;
    let web = crate::http::web_config::WebConfigHandle::open(config.web_config_file.as_deref()).context("web_config_file")?;
    let store = Arc::new(Mutex::new(open_store_waiting(&config, true)?));
    let role = lock(&store).role().clone();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().context("starting the runtime")?;
    runtime.block_on(async move {
        let listener = http::bind(&config.listen).await?;
        match lock(&store).link() {
            Some(link) => tracing::info!(listen = %config.listen, postgres = %link.url(), sources = sources.len(), "creditwatch started as a replica"),
            None => tracing::info!(listen = %config.listen, state_dir = %config.state_dir.display(), sources = sources.len(), "creditwatch started"),
        }
        let progress = Arc::new(Progress::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (wake_tx, wake_rx) = std::sync::mpsc::channel();

        let live = Arc::new(Mutex::new(LiveView::new(&config.burn_rate)));
        crate::live::lock_live(&live).seed(store.lock().unwrap_or_else(|e| e.into_inner()).recent());
        let shared_config = Arc::new(arc_swap::ArcSwap::new(config.clone()));
        let (replica_stop, replica_stopped) = tokio::sync::watch::channel(false);
        let replica_tasks = start_replica(&shared_config, &store, &live, &replica_stopped);
        let (reload_tx, reload_rx) = std::sync::mpsc::channel();
        let (prices_refreshed, price_refreshes) = tokio::sync::watch::channel(0u64);
        let otlp = otlp_receiver(&config, &sources, &store, &prices, &live)?;
        if let Some(receiver) = &otlp {
            follow_price_refreshes(receiver.clone(), config.clone(), price_refreshes.clone());
        }
        let ingest = Ingest::new(config.clone(), prices.clone(), Follower::new(sources, config.limits.max_line_bytes))
            .with_notifications(wake_tx.clone())
            .with_reloads(reload_rx)
            .with_live(live.clone())
            .with_price_refreshes(price_refreshes);
        let ingest_thread = {
            let (store, progress, stop) = (store.clone(), progress.clone(), stop.clone());
            std::thread::Builder::new()
                .name("ingest".into())
                .spawn(move || ingest.run(store, progress, wake_rx, stop))
                .context("starting the ingest thread")?
        };

        let app = Arc::new(App {
            config: shared_config.clone(),
            live: live.clone(),
            store: store.clone(),
            progress: progress.clone(),
            metrics: Metrics::new(),
            admin_token,
            web,
            shutting_down: AtomicBool::new(false),
            exposition: arc_swap::ArcSwapOption::empty(),
            rendering: AtomicBool::new(false),
            otlp: otlp.clone(),
            providers: Arc::new(crate::providers::status::Board::default()),
        });
        let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
        let mut prices_stop = shutdown_rx.clone();
        let stopped = async move {
            let _ = prices_stop.wait_for(|stop| *stop).await;
        };
        tokio::spawn(crate::pricing::remote::refresh_loop(config.price_settings(), prices_refreshed, stopped));
        let grpc = match (&otlp, &config.otlp.grpc_listen) {
            (Some(receiver), Some(addr)) => {
                let listener = crate::http::otlp::grpc::bind(addr).await?;
                tracing::info!(grpc_listen = %addr, "OTLP/gRPC receiver listening");
                Some(tokio::spawn(crate::http::otlp::grpc::serve(listener, receiver.clone(), app.clone(), shutdown_rx.clone())))
            }
            (None, Some(_)) => {
                tracing::warn!("otlp.grpc_listen is set but no source has format `otlp`: the gRPC receiver is off");
                None
            }
            _ => None,
        };
        let server = tokio::spawn(http::serve(listener, app.clone(), shutdown_rx, Duration::from_secs(2)));
        // The writer's duties: notify and poll providers.
        let (mut alerts, mut pollers) = (AlertTask::none(), providers::ProviderTasks::none());
        if role.is_writer() {
            alerts = AlertTask::start(&config, &app, &store, &live, &progress)?;
            pollers = providers::ProviderTasks::start(&config, &app)?;
        }
        let mut duties = role.is_writer();
        let mut role_changes = role.subscribe();
        let mut signals = Signals::install();

        loop {
            let signal = tokio::select! {
                signal = signals.next() => signal,
                changed = role_changes.changed(), if changed_ok(&role_changes) => {
                    let _ = changed;
                    let writer = role.is_writer();
                    if writer && !duties {
                        let current = shared_config.load_full();
                        alerts = AlertTask::start(&current, &app, &store, &live, &progress).unwrap_or_else(|e| {
                            tracing::error!("alerting cannot start: {e:#}");
                            AlertTask::none()
                        });
                        pollers = providers::ProviderTasks::start(&current, &app).unwrap_or_else(|e| {
                            tracing::error!("providers cannot start: {e:#}");
                            providers::ProviderTasks::none()
                        });
                    } else if !writer && duties {
                        std::mem::replace(&mut alerts, AlertTask::none()).stop(&app).await;
                        std::mem::replace(&mut pollers, providers::ProviderTasks::none()).stop().await;
                    }
                    duties = writer;
                    let _ = wake_tx.send(());
                    continue;
                }
            };
            if let Signal::Stop = signal {
                break;
            }
            if let Err(e) = app.web.reload() {
                tracing::error!("SIGHUP: web config refused, keeping the old one: {e}");
            }
            let new = match Config::load(&config.path) {
                Ok(new) => Arc::new(new),
                Err(e) => {
                    tracing::error!("SIGHUP: new config refused, keeping the old one: {e}");
                    continue;
                }
            };
            if new.listen != config.listen || new.state_dir != config.state_dir {
                tracing::warn!("listen and state_dir changes take effect at the next restart");
            }
            if !duties {
                // A replica that does not write takes the new config for
                // its reads; the duties start with it when it writes.
                shared_config.store(new.clone());
                let _ = reload_tx.send(new);
                let _ = wake_tx.send(());
                continue;
            }
            // One alert task at a time (they share the counters' names).
            std::mem::replace(&mut alerts, AlertTask::none()).stop(&app).await;
            match AlertTask::start(&new, &app, &store, &live, &progress) {
                Ok(task) => alerts = task,
                Err(e) => {
                    tracing::error!("SIGHUP: new alerting config refused, keeping the old one: {e:#}");
                    alerts =
                        AlertTask::start(&shared_config.load_full(), &app, &store, &live, &progress).unwrap_or_else(|_| AlertTask::none());
                    continue;
                }
            }
            // The providers restart with the new config and poll at once.
            std::mem::replace(&mut pollers, providers::ProviderTasks::none()).stop().await;
            pollers = match providers::ProviderTasks::start(&new, &app) {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!("SIGHUP: providers refused, keeping the old ones: {e:#}");
                    providers::ProviderTasks::start(&shared_config.load_full(), &app).unwrap_or_else(|_| providers::ProviderTasks::none())
                }
            };
            shared_config.store(new.clone());
            let _ = reload_tx.send(new);
            let _ = wake_tx.send(());
        }
        tracing::info!("stopping: committing checkpoints");
        app.shutting_down.store(true, Ordering::Relaxed);
        stop.store(true, Ordering::Relaxed);
        let _ = wake_tx.send(());
        let _ = shutdown_tx.send(true);
        pollers.stop().await;
        let joined = tokio::task::spawn_blocking(move || ingest_thread.join());
        let alerts_stopped = alerts.stop(&app);
        match tokio::time::timeout(Duration::from_secs(4), async { tokio::join!(joined, alerts_stopped) }).await {
            Ok(_) => {}
            Err(_) => tracing::warn!("still busy after 4s; exiting (the journal holds everything committed)"),
        }
        // The last round is committed: the lease may go to another replica.
        let _ = replica_stop.send(true);
        for task in replica_tasks {
            let _ = tokio::time::timeout(Duration::from_millis(500), task).await;
        }
        let _ = tokio::time::timeout(Duration::from_millis(500), server).await;
        if let Some(grpc) = grpc {
            let _ = tokio::time::timeout(Duration::from_millis(500), grpc).await;
        }
        let records = lock(&store).state.records;
        tracing::info!(records, "stopped");
        Ok(())
    })
}

/// The daemon-side alert task of one configuration.
struct AlertTask {
    stop: tokio::sync::watch::Sender<bool>,
    handle: Option<tokio::task::JoinHandle<Alerting>>,
    counter: Option<prometheus::IntCounterVec>,
}

impl AlertTask {
    fn none() -> AlertTask {
        AlertTask { stop: tokio::sync::watch::channel(false).0, handle: None, counter: None }
    }

    fn start(
        config: &Arc<Config>,
        app: &Arc<App>,
        store: &Arc<Mutex<Store>>,
        live: &crate::live::Shared,
        progress: &Arc<Progress>,
    ) -> Result<AlertTask> {
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let Some(alerting_config) = &config.alerting else {
            return Ok(AlertTask { stop, handle: None, counter: None });
        };
        let external = format!("http://{}", config.listen);
        let shared = {
            let store = lock(store);
            store.link().map(|link| replica::DbFiring { link: link.clone(), role: store.role().clone() })
        };
        let firing = match shared {
            Some(db) => crate::alerting::AlertStore::shared(Arc::new(db)),
            None => crate::alerting::AlertStore::new(&config.state_dir),
        };
        let alerting = Alerting::start_with(alerting_config, config.timezone.0, firing, &external).context("alerting")?;
        let counter = alerting.counts().counter();
        app.metrics.register(Box::new(counter.clone()));
        let task =
            alerts::alert_task(alerting, app.config.clone(), store.clone(), live.clone(), progress.clone(), app.providers.clone(), stop_rx);
        Ok(AlertTask { stop, handle: Some(tokio::spawn(task)), counter: Some(counter) })
    }

    /// Stops evaluating, lets queued notifications go out for a moment, and
    /// unregisters the counters.
    async fn stop(self, app: &App) {
        let _ = self.stop.send(true);
        if let Some(handle) = self.handle {
            if let Ok(alerting) = handle.await {
                alerting.shutdown(Duration::from_secs(2)).await;
            }
        }
        if let Some(counter) = self.counter {
            let _ = app.metrics.registry().unregister(Box::new(counter));
        }
    }
}

enum Signal {
    Stop,
    Reload,
}

/// SIGTERM/SIGINT (stop) and SIGHUP (reload), installed once so that none
/// is lost between two waits.
struct Signals {
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn install() -> Signals {
        match (signal(SignalKind::terminate()), signal(SignalKind::interrupt()), signal(SignalKind::hangup())) {
            (Ok(term), Ok(int), Ok(hup)) => Signals { streams: Some((term, int, hup)) },
            _ => {
                tracing::warn!("cannot install signal handlers; stop with SIGKILL");
                Signals { streams: None }
            }
        }
    }

    /// The next signal.
    async fn next(&mut self) -> Signal {
        let Some((term, int, hup)) = &mut self.streams else {
            std::future::pending::<()>().await;
            return Signal::Stop;
        };
        tokio::select! {
            _ = term.recv() => Signal::Stop,
            _ = int.recv() => Signal::Stop,
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading the configuration");
                Signal::Reload
            }
        }
    }
}

/// Whether the role channel can still change (its sender lives in the store).
fn changed_ok(changes: &tokio::sync::watch::Receiver<i64>) -> bool {
    changes.has_changed().is_ok()
}

/// With PostgreSQL: the lease and the following of the writer's commits.
fn start_replica(
    config: &Arc<arc_swap::ArcSwap<Config>>,
    store: &Arc<Mutex<Store>>,
    live: &crate::live::Shared,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let current = config.load_full();
    let (Some(pg), Some(link)) = (&current.postgres, lock(store).link().cloned()) else { return Vec::new() };
    let holder = replica::holder_name(&current.listen.to_string());
    let lease = replica::lease_loop(store.clone(), config.clone(), link.url().clone(), pg.lease(), holder, stop.clone());
    let follow = replica::follow_loop(store.clone(), live.clone(), stop.clone());
    vec![tokio::spawn(lease), tokio::spawn(follow)]
}
