//! A replica on PostgreSQL: who writes, and how the others keep up.
//!
//! `lease_loop` competes for the writer's lease (`state::postgres::lease`).
//! Taking it, the replica first folds everything committed before (the
//! previous writer can commit nothing after the epoch moved), then is
//! promoted: from that moment it ingests, books, polls providers and
//! notifies. It renews the lease a few times per `lease_seconds`; a renewal
//! that fails (the database gone, the session ended while paused) demotes
//! it at once, and a commit the database refuses for a newer epoch does too
//! (`Store::commit`).
//!
//! `follow_loop` is what a replica that does not write does: every
//! `FOLLOW_EVERY` it folds the writer's new records into its state (and its
//! burn rates), so `/metrics`, the API and the page agree with the writer's
//! within about a second.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::alerting::SharedFiring;
use crate::common::lock;
use crate::config::Config;
use crate::state::postgres::lease::Candidate;
use crate::state::postgres::{DbUrl, Lease, PgError, PgLink};
use crate::state::role::Role;
use crate::state::store::Store;

/// How often a replica that does not write reads the writer's commits, and
/// tries to take the lease.
const FOLLOW_EVERY: Duration = Duration::from_millis(500);

/// This replica's name in the lease row and in readiness: host, process and
/// listen address, enough to find it.
pub fn holder_name(listen: &str) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "localhost".into());
    format!("{host}:{} ({listen})", std::process::id())
}

/// Competes for the lease until `stop`; gives it up on the way out.
pub async fn lease_loop(
    store: Arc<Mutex<Store>>,
    config: Arc<arc_swap::ArcSwap<Config>>,
    url: DbUrl,
    lease_for: Duration,
    holder: String,
    mut stop: watch::Receiver<bool>,
) {
    let role = lock(&store).role().clone();
    let mut held: Option<Lease> = None;
    let mut candidate: Option<Candidate> = None;
    let mut unreachable_logged = false;
    loop {
        let wait = if held.is_some() { Lease::renew_every(lease_for) } else { FOLLOW_EVERY };
        if *stop.borrow() {
            break;
        }
        match held.take() {
            Some(lease) => match lease.renew().await {
                Ok(()) => {
                    role.set_backend_up(true);
                    held = Some(lease);
                }
                Err(e) => {
                    role.set_backend_up(!e.is_unavailable());
                    tracing::error!("renewing the writer's lease failed ({e}): this replica stops writing and follows");
                    role.demote();
                }
            },
            None => match compete(candidate.take(), &url, &holder, lease_for).await {
                Ok(Ok(lease)) => {
                    unreachable_logged = false;
                    held = take_over(&store, &config.load_full(), &role, lease, &holder).await;
                }
                Ok(Err(waiting)) => {
                    candidate = Some(waiting);
                    role.set_backend_up(true);
                    unreachable_logged = false;
                }
                Err(e) => {
                    role.set_backend_up(false);
                    if !std::mem::replace(&mut unreachable_logged, true) {
                        tracing::warn!("cannot reach {url} to compete for the writer's lease ({e}); retrying every {FOLLOW_EVERY:?}");
                    }
                }
            },
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
    role.demote();
    if let Some(lease) = held {
        lease.release().await;
        tracing::info!("gave up the writer's lease");
    }
}

/// One try for the lease, on the candidate's connection (a new one first
/// time, or after an error).
async fn compete(
    candidate: Option<Candidate>,
    url: &DbUrl,
    holder: &str,
    lease_for: Duration,
) -> Result<Result<Lease, Candidate>, PgError> {
    let candidate = match candidate {
        Some(c) => c,
        None => Candidate::connect(url, lease_for).await?,
    };
    candidate.try_take(holder).await
}

/// With the lease in hand: fold what the previous writer committed, then
/// write (opening the configured accounts the database lacks first).
/// `None` (the lease given back) when the state cannot be read.
async fn take_over(store: &Arc<Mutex<Store>>, config: &Arc<Config>, role: &Arc<Role>, lease: Lease, holder: &str) -> Option<Lease> {
    let caught_up = {
        let (store, config, role, epoch, holder) = (store.clone(), config.clone(), role.clone(), lease.epoch(), holder.to_string());
        tokio::task::spawn_blocking(move || {
            let mut store = lock(&store);
            let folded = store.catch_up()?;
            role.set_writer_name(&holder);
            role.promote(epoch);
            if let Err(e) = crate::daemon::configure_accounts(&mut store, &config) {
                role.demote();
                return Err(e);
            }
            Ok((folded, store.state.records))
        })
        .await
    };
    match caught_up {
        Ok(Ok((folded, records))) => {
            tracing::info!(epoch = lease.epoch(), folded, records, "this replica writes now");
            Some(lease)
        }
        Ok(Err(e)) => {
            tracing::error!("took the writer's lease but cannot read the state ({e:#}); giving it back");
            lease.release().await;
            None
        }
        Err(e) => {
            tracing::error!("took the writer's lease but the catch-up failed ({e}); giving it back");
            lease.release().await;
            None
        }
    }
}

/// Folds the writer's commits into a replica that does not write, until
/// `stop`. The burn rates see the replayed bookings as the writer's saw them.
pub async fn follow_loop(store: Arc<Mutex<Store>>, live: crate::live::Shared, mut stop: watch::Receiver<bool>) {
    let role = lock(&store).role().clone();
    let mut failing = false;
    while !*stop.borrow() {
        if !role.is_writer() {
            let (store, live, shown) = (store.clone(), live.clone(), role.clone());
            let folded = tokio::task::spawn_blocking(move || {
                let folded = follow_once(&store, &live);
                if let Some((_, holder)) = writer_of(&shown, &store_link(&store)) {
                    shown.set_writer_name(&holder);
                }
                folded
            })
            .await;
            match folded {
                Ok(Ok(())) => {
                    role.set_backend_up(true);
                    failing = false;
                }
                Ok(Err(e)) => {
                    role.set_backend_up(false);
                    if !std::mem::replace(&mut failing, true) {
                        tracing::warn!("cannot read the writer's commits ({e:#}); retrying every {FOLLOW_EVERY:?}");
                    }
                }
                Err(_) => {}
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(FOLLOW_EVERY) => {}
            _ = stop.changed() => {}
        }
    }
}

fn store_link(store: &Mutex<Store>) -> Option<PgLink> {
    lock(store).link().cloned()
}

/// The lease row, for readiness ("who writes"), read on the database thread.
fn writer_of(role: &Role, link: &Option<PgLink>) -> Option<(i64, String)> {
    if role.is_writer() {
        return None;
    }
    link.as_ref()?.lease_holder().ok()
}

/// One catch-up: the records are read without holding the store, then
/// folded under it (and dropped if the store moved meanwhile).
fn follow_once(store: &Mutex<Store>, live: &crate::live::Shared) -> anyhow::Result<()> {
    lock(store).reload_if_stale()?;
    loop {
        let Some((link, seq)) = lock(store).follow_point() else { return Ok(()) };
        let records = link.read_after(seq, crate::state::store::READ_BATCH)?;
        let n = records.len();
        let usage: Vec<_> = {
            let mut store = lock(store);
            if store.role().is_writer() {
                return Ok(());
            }
            store.fold_after(seq, records)?
        };
        if !usage.is_empty() {
            crate::live::lock_live(live).record(chrono::Utc::now(), &usage);
        }
        if (n as i64) < crate::state::store::READ_BATCH {
            return Ok(());
        }
    }
}

/// The firing set of the daemon's alerts in the database, saved under the
/// writer's epoch.
pub struct DbFiring {
    pub link: PgLink,
    pub role: Arc<Role>,
}

impl SharedFiring for DbFiring {
    fn name(&self) -> String {
        format!("{} (creditwatch_alerts)", self.link.url())
    }

    fn load(&self) -> Result<Option<Vec<u8>>, String> {
        self.link.load_alerts().map_err(|e| e.to_string())
    }

    fn save(&self, body: Vec<u8>) -> Result<(), String> {
        let epoch = self.role.epoch();
        if epoch == 0 {
            return Err("this replica no longer writes".into());
        }
        self.link.save_alerts(epoch, body).map_err(|e| {
            if matches!(e, crate::state::postgres::PgError::LeaseLost { .. }) {
                self.role.demote();
            }
            e.to_string()
        })
    }
}
