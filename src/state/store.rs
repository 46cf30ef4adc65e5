//! The store: the state directory on disk (journal + snapshot + lock) and the
//! state folded from it.
//!
//! `commit` appends one record and fsyncs before returning; only then is the
//! change durable and may be shown or answered. Snapshots are written every
//! so often so start-up does not replay years.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono_tz::Tz;

use super::{Record, State};
use crate::ledger::journal::{self, Journal, StateLock};
use crate::ledger::Ledger;

const SNAPSHOT_EVERY_RECORDS: u64 = 10_000;
const SNAPSHOT_EVERY: Duration = Duration::from_secs(300);

pub struct Store {
    dir: PathBuf,
    journal: Journal,
    pub state: State,
    tz: Tz,
    journal_end: u64,
    records_since_snapshot: u64,
    last_snapshot: Instant,
    _lock: StateLock,
}

impl Store {
    /// Opens (or creates) the state directory, takes its lock, and folds the
    /// snapshot and the journal after it into the state.
    pub fn open(dir: &Path, tz: Tz) -> Result<Store> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create state directory {}", dir.display()))?;
        let lock =
            StateLock::acquire(dir).with_context(|| format!("state directory {} is in use by another creditwatch", dir.display()))?;
        let (journal, state, journal_end) = load(dir, tz)?;
        Ok(Store {
            dir: dir.to_path_buf(),
            journal,
            state,
            tz,
            journal_end,
            records_since_snapshot: 0,
            last_snapshot: Instant::now(),
            _lock: lock,
        })
    }

    /// Makes a record durable. On error the in-memory state may be ahead of
    /// the disk: call `reload`.
    pub fn commit(&mut self, record: &Record) -> Result<()> {
        let payload = serde_json::to_vec(record).context("encoding a journal record")?;
        self.journal_end = self.journal.append(&[payload]).with_context(|| format!("writing the journal in {}", self.dir.display()))?;
        self.records_since_snapshot += 1;
        self.state.records += 1;
        Ok(())
    }

    /// Throws away what is not on disk and reads the state again.
    pub fn reload(&mut self) -> Result<()> {
        let (journal, state, end) = load(&self.dir, self.tz)?;
        self.journal = journal;
        self.state = state;
        self.journal_end = end;
        Ok(())
    }

    /// Writes a snapshot when enough has changed since the last one.
    pub fn maybe_snapshot(&mut self) {
        let due = self.records_since_snapshot >= SNAPSHOT_EVERY_RECORDS
            || (self.records_since_snapshot > 0 && self.last_snapshot.elapsed() >= SNAPSHOT_EVERY);
        if due {
            if let Err(e) = self.snapshot() {
                tracing::warn!("cannot write a snapshot (will retry): {e:#}");
            }
        }
    }

    pub fn snapshot(&mut self) -> Result<()> {
        let bytes = serde_json::to_vec(&self.state).context("encoding the snapshot")?;
        journal::save_snapshot(&self.dir, self.journal_end, &bytes)
            .with_context(|| format!("writing a snapshot in {}", self.dir.display()))?;
        self.records_since_snapshot = 0;
        self.last_snapshot = Instant::now();
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The state as the disk has it, read-only and without the lock (for
/// `ledger show` and `history` while a daemon may be writing).
pub fn read_state(dir: &Path, tz: Tz) -> Result<State> {
    let (mut state, from) = snapshot_state(dir, tz)?;
    let (records, _) = journal::read(dir, from).with_context(|| format!("reading the journal in {}", dir.display()))?;
    for r in records {
        let record: Record = serde_json::from_slice(&r.payload)
            .with_context(|| format!("journal {} record at offset {} cannot be decoded", dir.join("journal.cwj").display(), r.offset))?;
        state.apply(&record).with_context(|| format!("journal {} record at offset {}", dir.join("journal.cwj").display(), r.offset))?;
    }
    Ok(state)
}

fn snapshot_state(dir: &Path, tz: Tz) -> Result<(State, u64)> {
    Ok(match journal::load_snapshot(dir).with_context(|| format!("reading the snapshot in {}", dir.display()))? {
        Some((offset, bytes)) => match serde_json::from_slice::<State>(&bytes) {
            Ok(state) => (state, offset),
            Err(e) => {
                tracing::warn!("snapshot in {} cannot be read ({e}); replaying the whole journal", dir.display());
                (State::new(Ledger::new(tz)), 0)
            }
        },
        None => (State::new(Ledger::new(tz)), 0),
    })
}

fn load(dir: &Path, tz: Tz) -> Result<(Journal, State, u64)> {
    let (mut state, from) = snapshot_state(dir, tz)?;
    let (journal, records) = Journal::open(dir, from).with_context(|| format!("opening the journal in {}", dir.display()))?;
    let mut end = from;
    for r in records {
        let record: Record = serde_json::from_slice(&r.payload)
            .with_context(|| format!("journal {} record at offset {} cannot be decoded", dir.join("journal.cwj").display(), r.offset))?;
        state.apply(&record).with_context(|| format!("journal {} record at offset {}", dir.join("journal.cwj").display(), r.offset))?;
        end = r.end();
    }
    Ok((journal, state, end))
}
