//! The store: the state folded from where it is kept — a state directory
//! on disk (journal segments + snapshots + lock, `disk`) or PostgreSQL
//! shared by replicas (`state::postgres`) — and the one way to change it:
//! change `state`, then `commit` the record; on an error, `reload`.
//!
//! With PostgreSQL the records are numbered: the writer commits each as the
//! one after the last it folded, under its lease's epoch (`Role`); the
//! other replicas only `catch_up`. A commit that fails leaves the store
//! stale: nothing is booked on it (`writable`) until a reload succeeds.
//!
//! `commit` appends one record (`codec`) and fsyncs before returning; only
//! then is the change durable and may be shown or answered. Every so often
//! a snapshot is written (state, money history, last hour's spend); once it
//! is durable the journal starts a new segment and the segments that end
//! before the *previous* snapshot are removed, so the directory holds about
//! one snapshot and what came after it, and a snapshot that turns out
//! unreadable still has its predecessor and the records after that. A
//! snapshot that cannot be written changes nothing and removes nothing.
//!
//! A state directory of a release before format 2 (one JSON journal, a JSON
//! snapshot) is upgraded on open: its journal becomes segment 0 and is
//! replayed as it was (nothing booked again: the checkpoints come with the
//! state), then a snapshot in this format is written at once.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use chrono::Utc;
use chrono_tz::Tz;

mod disk;

use disk::load;
pub use disk::{read_history, read_state};

use super::history::History;
use super::postgres::{Encoded, PgError, PgLink};
use super::recent::RecentSpend;
use super::role::Role;
use super::snapshot::{self, Image};
use super::{codec, Record, State};
use crate::ledger::journal::{self, Journal, StateLock};
use crate::ledger::snapshot::{save_snapshot, Snapshot};
use crate::ledger::Ledger;

const SNAPSHOT_EVERY_RECORDS: u64 = 10_000;
/// After this many journal bytes since the last trim (a catch-up), the
/// allocator is asked to give freed memory back; after this many, at the
/// first round that commits nothing (a catch-up just ended).
const TRIM_AFTER_BYTES: u64 = 1 << 20;
const TRIM_WHEN_IDLE_AFTER_BYTES: u64 = 64 << 10;
const SNAPSHOT_EVERY: Duration = Duration::from_secs(300);
/// Records read from the database per query while catching up.
pub const READ_BATCH: i64 = 2_000;

/// `CREDITWATCH_SNAPSHOT_EVERY_RECORDS`: snapshot after this many records
/// (default 10,000). For tests and benchmarks that want compaction to
/// happen within a few bookings.
fn snapshot_every_records() -> u64 {
    std::env::var("CREDITWATCH_SNAPSHOT_EVERY_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(SNAPSHOT_EVERY_RECORDS)
}

pub struct Store {
    pub state: State,
    history: History,
    recent: RecentSpend,
    tz: Tz,
    records_since_snapshot: u64,
    snapshot_every_records: u64,
    last_snapshot: Instant,
    bytes_since_trim: u64,
    committed_since_check: bool,
    /// A commit failed and no reload has succeeded since: the state may
    /// hold bookings the disk does not, so nothing is booked on top of it.
    stale: bool,
    role: Arc<Role>,
    place: Place,
}

/// Where the records go.
enum Place {
    Dir(DirPlace),
    Db(DbPlace),
}

struct DirPlace {
    dir: PathBuf,
    journal: Journal,
    /// The offset of the newest durable snapshot (None: none yet). After the
    /// next snapshot it is the previous one: segments before it may go.
    snapshot_offset: Option<u64>,
    _lock: StateLock,
}

struct DbPlace {
    link: PgLink,
    /// The last record folded in (0: none).
    seq: i64,
}

/// Why nothing may be booked now.
#[derive(Debug, thiserror::Error)]
pub enum NotWritable {
    #[error("this replica does not take writes: the writer is {writer}")]
    NotWriter { writer: String },
    #[error("the state cannot be read back after a failed commit: {0}")]
    Stale(String),
}

impl Store {
    fn with(state: State, history: History, recent: RecentSpend, tz: Tz, role: Arc<Role>, place: Place) -> Store {
        Store {
            state,
            history,
            recent,
            tz,
            records_since_snapshot: 0,
            snapshot_every_records: snapshot_every_records(),
            last_snapshot: Instant::now(),
            bytes_since_trim: 0,
            committed_since_check: false,
            stale: false,
            role,
            place,
        }
    }

    /// Opens (or creates, or upgrades) the state directory, takes its lock,
    /// and folds the snapshot and the journal after it into the state.
    pub fn open(dir: &Path, tz: Tz) -> Result<Store> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create state directory {}", dir.display()))?;
        let lock =
            StateLock::acquire(dir).with_context(|| format!("state directory {} is in use by another creditwatch", dir.display()))?;
        let loaded = load(dir, tz)?;
        let upgrade = !loaded.current_format && loaded.journal.end() > 0;
        let place =
            Place::Dir(DirPlace { dir: dir.to_path_buf(), journal: loaded.journal, snapshot_offset: loaded.snapshot_offset, _lock: lock });
        let mut store = Store::with(loaded.state, loaded.history, loaded.recent, tz, Arc::new(Role::local()), place);
        crate::common::release_free_memory();
        if upgrade {
            // The first snapshot of this format: from here on the history
            // travels in snapshots and old segments can go.
            match store.snapshot() {
                Ok(()) => tracing::info!(dir = %dir.display(), "state directory upgraded to format {}", journal::FORMAT_VERSION),
                Err(e) => tracing::warn!("cannot write the first snapshot of the upgraded state directory (will retry): {e:#}"),
            }
        }
        Ok(store)
    }

    /// Connects to the shared database and folds its newest snapshot and
    /// the records after it, as a replica that does not write (until the
    /// lease is taken: `Role::promote`).
    pub fn open_postgres(link: PgLink, tz: Tz) -> Result<Store> {
        let empty = Image::empty(State::new(Ledger::new(tz)));
        let place = Place::Db(DbPlace { link, seq: 0 });
        let mut store = Store::with(empty.state, empty.history, empty.recent, tz, Arc::new(Role::replica()), place);
        store.reload()?;
        Ok(store)
    }

    pub fn role(&self) -> &Arc<Role> {
        &self.role
    }

    /// Whether a booking may be made now: this process writes and its state
    /// is what the disk holds (read back first after a failed commit).
    pub fn writable(&mut self) -> Result<(), NotWritable> {
        if !self.role.is_writer() {
            return Err(NotWritable::NotWriter { writer: self.role.writer_name() });
        }
        self.reload_if_stale().map_err(|e| NotWritable::Stale(format!("{e:#}")))
    }

    /// Reads the state back if a commit failed since the last reload (a
    /// replica that just lost the lease holds a booking the database
    /// refused).
    pub fn reload_if_stale(&mut self) -> Result<()> {
        if self.stale {
            self.reload()?;
        }
        Ok(())
    }

    /// Makes a record durable. On error the in-memory state may be ahead of
    /// the disk: call `reload` (until it succeeds, `writable` refuses).
    pub fn commit(&mut self, record: &Record) -> Result<()> {
        self.stale = true;
        self.committed_since_check = true;
        match &mut self.place {
            Place::Dir(d) => {
                let payload = codec::encode(record);
                self.bytes_since_trim += payload.len() as u64;
                let written = d.journal.append(&[payload]).with_context(|| format!("writing the journal in {}", d.dir.display()));
                self.role.set_backend_up(written.is_ok());
                written?;
            }
            Place::Db(d) => {
                let epoch = self.role.epoch();
                if epoch == 0 {
                    bail!(NotWritable::NotWriter { writer: self.role.writer_name() });
                }
                let encoded = Encoded::of(record);
                self.bytes_since_trim += encoded.len() as u64;
                if let Err(e) = d.link.commit(epoch, d.seq + 1, encoded) {
                    self.role.set_backend_up(!e.is_unavailable());
                    if matches!(e, PgError::LeaseLost { .. } | PgError::Behind { .. }) {
                        tracing::error!("{e}: stepping down to replica");
                        self.role.demote();
                    }
                    return Err(anyhow!(e).context(format!("committing to {}", d.link.url())));
                }
                self.role.set_backend_up(true);
                d.seq += 1;
            }
        }
        self.stale = false;
        note(&mut self.history, &mut self.recent, record);
        self.records_since_snapshot += 1;
        self.state.records += 1;
        Ok(())
    }

    /// Throws away what is not on disk and reads the state again.
    pub fn reload(&mut self) -> Result<()> {
        match &mut self.place {
            Place::Dir(d) => {
                let mut loaded = load(&d.dir, self.tz)?;
                loaded.state.ledger.keep_configuration_of(&self.state.ledger);
                d.journal = loaded.journal;
                d.snapshot_offset = loaded.snapshot_offset;
                (self.state, self.history, self.recent) = (loaded.state, loaded.history, loaded.recent);
            }
            Place::Db(d) => {
                let (seq, image) = match d.link.newest_snapshot().map_err(|e| self.backend_error(e))? {
                    Some(stored) => {
                        let seq = stored.seq;
                        let snap =
                            Snapshot { format: stored.format as u32, offset: seq as u64, bytes: stored.image, path: Default::default() };
                        (seq, snapshot::decode(&snap).with_context(|| format!("the snapshot at record {seq} cannot be read"))?)
                    }
                    None => (0, Image::empty(State::new(Ledger::new(self.tz)))),
                };
                let Image { mut state, history, recent, .. } = image;
                state.ledger.keep_configuration_of(&self.state.ledger);
                (self.state, self.history, self.recent) = (state, history, recent);
                if let Place::Db(d) = &mut self.place {
                    d.seq = seq;
                }
                self.catch_up()?;
            }
        }
        self.stale = false;
        Ok(())
    }

    fn backend_error(&self, e: PgError) -> anyhow::Error {
        self.role.set_backend_up(!e.is_unavailable());
        anyhow!(e)
    }

    /// Folds in what the writer committed since the last call (a replica
    /// that does not write calls this every so often); returns how many
    /// records. A state directory has no other writer: always 0.
    pub fn catch_up(&mut self) -> Result<usize> {
        let mut folded = 0;
        loop {
            let Place::Db(d) = &self.place else { return Ok(0) };
            let records = d.link.read_after(d.seq, READ_BATCH).map_err(|e| self.backend_error(e))?;
            self.role.set_backend_up(true);
            let n = records.len();
            self.fold(records)?;
            folded += n;
            if (n as i64) < READ_BATCH {
                return Ok(folded);
            }
        }
    }

    /// Where a replica reads on from: the database and the last record
    /// folded (`None` for a state directory).
    pub fn follow_point(&self) -> Option<(PgLink, i64)> {
        match &self.place {
            Place::Dir(_) => None,
            Place::Db(d) => Some((d.link.clone(), d.seq)),
        }
    }

    /// Folds records read after `seq` without holding the store; nothing
    /// when the store has moved since (another fold, a reload). Returns the
    /// bookings folded, for the burn rates.
    pub fn fold_after(&mut self, seq: i64, records: Vec<(i64, Record)>) -> Result<Vec<super::Booked>> {
        match &self.place {
            Place::Db(d) if d.seq == seq => self.fold(records),
            _ => Ok(Vec::new()),
        }
    }

    /// Applies records read from the database, in order; returns their
    /// bookings.
    fn fold(&mut self, records: Vec<(i64, Record)>) -> Result<Vec<super::Booked>> {
        let mut usage = Vec::new();
        for (seq, record) in records {
            self.state.apply(&record).with_context(|| format!("record {seq} in the database"))?;
            note(&mut self.history, &mut self.recent, &record);
            self.records_since_snapshot += 1;
            if let Place::Db(d) = &mut self.place {
                d.seq = seq;
            }
            if let Record::Batch(b) = record {
                usage.extend(b.usage);
            }
        }
        Ok(usage)
    }

    /// Writes a snapshot when enough has changed since the last one. Called
    /// after each round; after a large one (a catch-up) it also returns the
    /// memory the round freed.
    pub fn maybe_snapshot(&mut self) {
        let idle = !std::mem::take(&mut self.committed_since_check);
        if self.bytes_since_trim >= TRIM_AFTER_BYTES || (idle && self.bytes_since_trim >= TRIM_WHEN_IDLE_AFTER_BYTES) {
            self.bytes_since_trim = 0;
            crate::common::release_free_memory();
        }
        let due = self.records_since_snapshot >= self.snapshot_every_records
            || (self.records_since_snapshot > 0 && self.last_snapshot.elapsed() >= SNAPSHOT_EVERY);
        if due {
            if let Err(e) = self.snapshot() {
                tracing::warn!("cannot write a snapshot (will retry; no journal segment is removed until one is written): {e:#}");
            }
        }
    }

    /// Writes a snapshot, then compacts the journal behind it. With
    /// PostgreSQL only the writer stores snapshots (of what it committed).
    pub fn snapshot(&mut self) -> Result<()> {
        self.recent.prune(Utc::now());
        let bytes = snapshot::encode(&self.state, &self.history, &self.recent).context("encoding the snapshot")?;
        match &mut self.place {
            Place::Dir(d) => {
                let end = d.journal.end();
                save_snapshot(&d.dir, end, &bytes).with_context(|| format!("writing a snapshot in {}", d.dir.display()))?;
                let previous = d.snapshot_offset.replace(end);
                d.compact(previous);
            }
            Place::Db(d) => {
                if !self.role.is_writer() || self.stale {
                    return Ok(());
                }
                d.link
                    .save_snapshot(d.seq, snapshot::FORMAT as i32, bytes)
                    .with_context(|| format!("storing a snapshot in {}", d.link.url()))?;
            }
        }
        self.records_since_snapshot = 0;
        self.last_snapshot = Instant::now();
        Ok(())
    }

    /// The last hour's spend, for seeding the burn rates at a start.
    pub fn recent(&self) -> &RecentSpend {
        &self.recent
    }

    /// The state directory; `None` when the state is in PostgreSQL.
    pub fn dir(&self) -> Option<&Path> {
        match &self.place {
            Place::Dir(d) => Some(&d.dir),
            Place::Db(_) => None,
        }
    }

    /// The database, when the state is in PostgreSQL.
    pub fn link(&self) -> Option<&PgLink> {
        match &self.place {
            Place::Dir(_) => None,
            Place::Db(d) => Some(&d.link),
        }
    }

    /// The money history of `account` (or all), oldest first: from the
    /// state directory whole, or as the database's replicas keep it.
    pub fn history_rows(&self, account: Option<&str>) -> Result<Vec<super::history::Row>> {
        match &self.place {
            Place::Dir(d) => super::history::read(&d.dir, account),
            Place::Db(_) => super::history::rows(&self.history, account),
        }
    }
}

impl DirPlace {
    /// After a durable snapshot: a new segment, and the segments before the
    /// previous snapshot removed. A failure here loses nothing (the
    /// segments stay until the next snapshot), so it is only logged.
    fn compact(&mut self, previous: Option<u64>) {
        if let Err(e) = self.journal.roll() {
            tracing::warn!("cannot start a new journal segment (will retry at the next snapshot): {e}");
        }
        if let Some(previous) = previous {
            match self.journal.remove_before(previous) {
                Ok(0) => {}
                Ok(n) => tracing::debug!(removed = n, before = previous, "journal segments removed behind the snapshots"),
                Err(e) => tracing::warn!("cannot remove old journal segments (will retry at the next snapshot): {e}"),
            }
        }
    }
}

/// What a committed record adds to the history and the last hour's spend.
pub(crate) fn note(history: &mut History, recent: &mut RecentSpend, record: &Record) {
    let entries = match record {
        Record::Batch(b) => {
            recent.note(&b.usage, Utc::now());
            &b.ledger
        }
        Record::Ledger(entries) => entries,
    };
    entries.iter().for_each(|e| history.push(e));
}
