//! The ingestion loop: poll the follower, book what it read, commit the
//! bookings and the checkpoints past them in one journal record.
//!
//! It runs on its own thread (file I/O and fsync block). inotify tells the
//! follower which files changed and wakes this loop
//! (`sources::follow::watch`); a round runs at least every `poll_interval`,
//! and the globs are re-listed every `rescan_interval` anyway, because
//! inotify misses NFS and writes through hard links and its watches run
//! out. A failed commit (disk full) throws the unsaved round away — the state
//! is read back from disk and the follower restarts from the committed
//! checkpoints — and is retried after a pause: nothing booked is lost, and
//! nothing is booked twice.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::lock;
use crate::config::Config;
use crate::live::Progress;
use crate::pricing::PriceTable;
use crate::sources::follow::database::{DatabaseFollower, RowPoll};
use crate::sources::follow::tail::Follower;
use crate::sources::{ErrorLog, LineResult, Outcome};
use crate::state::store::Store;
use crate::state::{Booking, Record};

pub struct Ingest {
    follower: Follower,
    /// The sources' SQLite databases (OpenCode), beside their files.
    databases: DatabaseFollower,
    prices: Arc<PriceTable>,
    config: Arc<Config>,
    unpriced_warned: HashSet<String>,
    errors: std::collections::HashMap<std::path::PathBuf, ErrorLog>,
    problems_logged: HashSet<String>,
    last_retention: Option<Instant>,
    reloads: Option<Receiver<Arc<Config>>>,
    live: Option<crate::live::Shared>,
    /// Bumped by `pricing::remote::refresh_loop` after each downloaded list.
    price_refreshes: Option<tokio::sync::watch::Receiver<u64>>,
    /// The price table changed (or the daemon started): recompute which
    /// booked models are still unpriced.
    recheck_unpriced: bool,
    /// Where file-change notifications wake the loop (kept for the
    /// follower a reload makes).
    wake: Option<std::sync::mpsc::Sender<()>>,
    /// Lines read since memory was last given back (`common::release_free_memory`).
    lines_since_trim: usize,
}

impl Ingest {
    pub fn new(config: Arc<Config>, prices: Arc<PriceTable>, follower: Follower) -> Ingest {
        Ingest {
            databases: DatabaseFollower::new(follower.sources().to_vec()),
            follower,
            prices,
            config,
            unpriced_warned: HashSet::new(),
            errors: Default::default(),
            problems_logged: HashSet::new(),
            last_retention: None,
            reloads: None,
            live: None,
            price_refreshes: None,
            recheck_unpriced: true,
            wake: None,
            lines_since_trim: 0,
        }
    }

    /// The follower reads what inotify says changed, and wakes the loop
    /// through `wake`.
    pub fn with_notifications(mut self, wake: std::sync::mpsc::Sender<()>) -> Ingest {
        self.follower.follow_changes(wake.clone(), self.config.follow.rescan_interval);
        self.wake = Some(wake);
        self
    }

    /// A downloaded price list takes effect between rounds, rebuilt with the
    /// current config so its overrides still win.
    pub fn with_price_refreshes(mut self, refreshes: tokio::sync::watch::Receiver<u64>) -> Ingest {
        self.price_refreshes = Some(refreshes);
        self
    }

    fn take_price_refresh(&mut self) {
        let Some(refreshes) = &mut self.price_refreshes else { return };
        if refreshes.has_changed().unwrap_or(false) {
            refreshes.mark_unchanged();
            self.prices = Arc::new(crate::daemon::commands::price_table(&self.config));
            self.recheck_unpriced = true;
        }
    }

    /// Committed bookings are fed to the live view's burn rates.
    pub fn with_live(mut self, live: crate::live::Shared) -> Ingest {
        self.live = Some(live);
        self
    }

    /// New configurations (SIGHUP) arrive here and take effect between rounds.
    pub fn with_reloads(mut self, reloads: Receiver<Arc<Config>>) -> Ingest {
        self.reloads = Some(reloads);
        self
    }

    /// Switches to a new configuration: sources, prices, limits, accounts.
    /// Files are picked up again from the committed checkpoints, so nothing is
    /// read twice or skipped.
    fn reconfigure(&mut self, config: Arc<Config>, store: &Mutex<Store>) {
        let sources = match crate::daemon::commands::source_specs(&config) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("new config refused, keeping the old one: {e:#}");
                return;
            }
        };
        let mut guard = lock(store);
        if let Err(e) = crate::daemon::configure_accounts(&mut guard, &config) {
            tracing::error!("new config refused, keeping the old one: {e:#}");
            return;
        }
        drop(guard);
        self.prices = Arc::new(crate::daemon::commands::price_table(&config));
        self.recheck_unpriced = true;
        self.databases = DatabaseFollower::new(sources.clone());
        self.follower = Follower::new(sources, config.limits.max_line_bytes);
        if let Some(wake) = &self.wake {
            self.follower.follow_changes(wake.clone(), config.follow.rescan_interval);
        }
        self.config = config;
        tracing::info!("configuration reloaded");
    }

    /// Polls once and commits what was read. Returns true when more is
    /// waiting (a backlog larger than one round).
    pub fn round(&mut self, store: &Mutex<Store>, progress: &Progress) -> bool {
        self.take_price_refresh();
        if let Err(e) = lock(store).writable() {
            // Not the writer (any more), or the state not read back after a
            // failed commit: read nothing, so nothing is booked on it.
            if self.problems_logged.insert(format!("not writable: {e}")) {
                tracing::warn!("not reading the sources: {e}");
            }
            return false;
        }
        let poll = self.follower.poll(&|id| lock(store).state.checkpoint(id));
        self.lines_since_trim += poll.batches.iter().map(|b| b.lines.len()).sum::<usize>();
        for p in &poll.problems {
            let key = format!("{}:{}", p.path.display(), p.message);
            if self.problems_logged.insert(key) {
                tracing::warn!(source = %self.follower.sources()[p.source].name, file = %p.path.display(), "{} (retrying every poll)", p.message);
            }
        }
        let rows = self.databases.poll(&|key| lock(store).state.row_checkpoint(key));
        self.log_problems(&rows);
        let mut stats = self.follower.stats().to_vec();
        self.databases.add_stats(&mut stats);
        *progress.sources.lock().unwrap_or_else(|e| e.into_inner()) = stats;

        let mut guard = lock(store);
        let store_ref = &mut *guard;
        if std::mem::take(&mut self.recheck_unpriced) {
            // A model priced since (config reload, downloaded list) stops being unpriced.
            store_ref.state.recheck_unpriced(|model| self.prices.lookup(model).is_none());
        }
        let mut booking = Booking::new(&mut store_ref.state, &self.prices, &self.config.limits, &mut self.unpriced_warned);
        // Plan windows first: a request read in the same round is judged by
        // every snapshot taken up to its time.
        for batch in &poll.batches {
            let source = &self.follower.sources()[batch.source];
            for (_, result) in &batch.lines {
                if let LineResult::PlanWindows(observation) = result {
                    booking.plan_windows(source, &batch.path, observation);
                }
            }
        }
        for batch in &poll.batches {
            let source = &self.follower.sources()[batch.source];
            for (line, result) in &batch.lines {
                match result {
                    LineResult::PlanWindows(_) => {} // booked above
                    LineResult::Event(event) => {
                        booking.event(source, &batch.path, event);
                    }
                    LineResult::Skipped => booking.count(&source.name, Outcome::Skipped),
                    LineResult::NotBooked(reason) => {
                        booking.count(&source.name, Outcome::Skipped);
                        self.errors.entry(batch.path.clone()).or_default().not_booked(&batch.path, *line, reason);
                    }
                    LineResult::Error(e) => {
                        booking.count(&source.name, Outcome::Error);
                        self.errors.entry(batch.path.clone()).or_default().record(&batch.path, *line, e);
                    }
                }
            }
            booking.batch_mut().checkpoints.push(batch.checkpoint.clone());
        }
        for batch in &rows.batches {
            let source = &self.databases.sources()[batch.source];
            for row in &batch.rows {
                match &row.result {
                    LineResult::Event(event) => {
                        booking.event(source, &batch.path, event);
                    }
                    LineResult::Skipped | LineResult::PlanWindows(_) => booking.count(&source.name, Outcome::Skipped),
                    LineResult::NotBooked(reason) => {
                        booking.count(&source.name, Outcome::Skipped);
                        let rowid = u64::try_from(row.rowid).unwrap_or(0);
                        self.errors.entry(batch.path.clone()).or_default().not_booked(&batch.path, rowid, reason);
                    }
                    LineResult::Error(e) => {
                        booking.count(&source.name, Outcome::Error);
                        let rowid = u64::try_from(row.rowid).unwrap_or(0);
                        self.errors.entry(batch.path.clone()).or_default().record(&batch.path, rowid, e);
                    }
                }
            }
            booking.batch_mut().row_checkpoints.push(batch.checkpoint.clone());
        }
        booking.batch_mut().dropped.extend(poll.dropped.iter().copied());
        if self.last_retention.is_none_or(|t| t.elapsed() > Duration::from_secs(3600)) {
            let cutoff =
                chrono::Utc::now() - chrono::Duration::from_std(self.config.follow.dedup_retention).unwrap_or(chrono::Duration::days(45));
            booking.batch_mut().forget_before = Some(cutoff.timestamp());
            self.last_retention = Some(Instant::now());
        }
        let record = Record::Batch(booking.finish());
        let Record::Batch(batch) = &record else { return false };
        if !batch.is_empty() {
            if let Err(e) = store_ref.commit(&record) {
                progress.commit_failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!("cannot commit what was read ({e:#}); throwing the round away and retrying");
                if let Err(e) = store_ref.reload() {
                    tracing::error!("cannot read the state back: {e:#}");
                }
                self.follower.reset();
                self.databases.reset();
                self.last_retention = None;
                drop(guard);
                std::thread::sleep(Duration::from_millis(500));
                return false;
            }
        }
        store_ref.maybe_snapshot();
        drop(guard);
        if let (Some(live), Record::Batch(batch)) = (&self.live, &record) {
            crate::live::lock_live(live).record(chrono::Utc::now(), &batch.usage);
        }
        progress.polls.fetch_add(1, Ordering::Relaxed);
        poll.more || rows.more
    }

    fn log_problems(&mut self, rows: &RowPoll) {
        for p in &rows.problems {
            if self.problems_logged.insert(format!("{}:{}", p.path.display(), p.message)) {
                let source = &self.databases.sources()[p.source].name;
                tracing::warn!(source = %source, file = %p.path.display(), "{} (retrying every poll)", p.message);
            }
        }
    }

    fn book_held(&mut self, store: &Mutex<Store>) {
        let held = self.follower.drain_all_pending();
        if held.is_empty() {
            return;
        }
        let mut guard = lock(store);
        let store_ref = &mut *guard;
        let mut booking = Booking::new(&mut store_ref.state, &self.prices, &self.config.limits, &mut self.unpriced_warned);
        for (source, path, event) in &held {
            booking.held_event(&self.follower.sources()[*source], path, event);
        }
        let record = Record::Batch(booking.finish());
        if let Err(e) = store_ref.commit(&record) {
            tracing::error!("cannot book {} held-back events at shutdown: {e:#}", held.len());
        }
    }

    /// Runs until `stop` is set: a round, then a wait for a wake-up or the
    /// poll interval.
    pub fn run(mut self, store: Arc<Mutex<Store>>, progress: Arc<Progress>, wake: Receiver<()>, stop: Arc<AtomicBool>) {
        let interval = self.config.follow.poll_interval;
        let role = lock(&store).role().clone();
        let mut was_writer = role.is_writer();
        while !stop.load(Ordering::Relaxed) {
            if let Some(config) = self.reloads.as_ref().and_then(|r| r.try_iter().last()) {
                self.reconfigure(config, &store);
            }
            // A replica that starts writing reads on from the checkpoints the
            // database holds, not from where it stopped when it last wrote.
            match (was_writer, role.is_writer()) {
                (false, true) => {
                    self.follower.reset();
                    self.databases.reset();
                    self.last_retention = None;
                    self.problems_logged.clear();
                    was_writer = true;
                }
                (true, false) => was_writer = false,
                _ => {}
            }
            if !role.is_writer() {
                wait(&wake, interval);
                continue;
            }
            let mut more = self.round(&store, &progress);
            while more && !stop.load(Ordering::Relaxed) {
                more = self.round(&store, &progress);
            }
            if !progress.ready.swap(true, Ordering::Relaxed) {
                tracing::info!("first scan done; following");
            }
            if self.lines_since_trim >= TRIM_AFTER_LINES {
                self.lines_since_trim = 0;
                crate::common::release_free_memory();
            }
            wait(&wake, interval);
        }
        if !role.is_writer() {
            return;
        }
        // Final round so the checkpoints cover everything read, then the
        // events parsers still hold (a stream whose final delta has not come):
        // the checkpoints are past their lines, so book them now rather than
        // lose them.
        self.round(&store, &progress);
        self.book_held(&store);
        let mut guard = lock(&store);
        if let Err(e) = guard.snapshot() {
            tracing::warn!("cannot write the final snapshot: {e:#}");
        }
    }
}

/// Waits for a file-change wake-up or the poll interval.
fn wait(wake: &Receiver<()>, interval: Duration) {
    match wake.recv_timeout(interval) {
        Ok(()) => while wake.try_recv().is_ok() {},
        Err(RecvTimeoutError::Timeout) => {}
        Err(RecvTimeoutError::Disconnected) => std::thread::sleep(interval),
    }
}

/// After this many lines read (a catch-up), freed memory is given back.
const TRIM_AFTER_LINES: usize = 5_000;
