//! The store: the state directory on disk (journal segments + snapshots +
//! lock) and the state folded from it.
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
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use chrono::Utc;
use chrono_tz::Tz;

use super::history::History;
use super::recent::RecentSpend;
use super::snapshot::{self, Image};
use super::{codec, Record, State};
use crate::ledger::journal::{self, Journal, StateLock};
use crate::ledger::snapshot::{load_snapshots, save_snapshot};
use crate::ledger::Ledger;

const SNAPSHOT_EVERY_RECORDS: u64 = 10_000;
/// After this many journal bytes since the last trim (a catch-up), the
/// allocator is asked to give freed memory back; after this many, at the
/// first round that commits nothing (a catch-up just ended).
const TRIM_AFTER_BYTES: u64 = 1 << 20;
const TRIM_WHEN_IDLE_AFTER_BYTES: u64 = 64 << 10;
const SNAPSHOT_EVERY: Duration = Duration::from_secs(300);

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
    dir: PathBuf,
    journal: Journal,
    pub state: State,
    history: History,
    recent: RecentSpend,
    tz: Tz,
    /// The offset of the newest durable snapshot (None: none yet). After the
    /// next snapshot it is the previous one: segments before it may go.
    snapshot_offset: Option<u64>,
    records_since_snapshot: u64,
    snapshot_every_records: u64,
    last_snapshot: Instant,
    bytes_since_trim: u64,
    committed_since_check: bool,
    _lock: StateLock,
}

/// What the disk holds, folded.
struct Loaded {
    journal: Journal,
    state: State,
    history: History,
    recent: RecentSpend,
    snapshot_offset: Option<u64>,
    /// Whether the newest readable snapshot is of this format.
    current_format: bool,
}

impl Store {
    /// Opens (or creates, or upgrades) the state directory, takes its lock,
    /// and folds the snapshot and the journal after it into the state.
    pub fn open(dir: &Path, tz: Tz) -> Result<Store> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create state directory {}", dir.display()))?;
        let lock =
            StateLock::acquire(dir).with_context(|| format!("state directory {} is in use by another creditwatch", dir.display()))?;
        let loaded = load(dir, tz)?;
        let upgrade = !loaded.current_format && loaded.journal.end() > 0;
        let mut store = Store {
            dir: dir.to_path_buf(),
            journal: loaded.journal,
            state: loaded.state,
            history: loaded.history,
            recent: loaded.recent,
            tz,
            snapshot_offset: loaded.snapshot_offset,
            records_since_snapshot: 0,
            snapshot_every_records: snapshot_every_records(),
            last_snapshot: Instant::now(),
            bytes_since_trim: 0,
            committed_since_check: false,
            _lock: lock,
        };
        release_free_memory();
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

    /// Makes a record durable. On error the in-memory state may be ahead of
    /// the disk: call `reload`.
    pub fn commit(&mut self, record: &Record) -> Result<()> {
        let payload = codec::encode(record);
        self.bytes_since_trim += payload.len() as u64;
        self.committed_since_check = true;
        self.journal.append(&[payload]).with_context(|| format!("writing the journal in {}", self.dir.display()))?;
        note(&mut self.history, &mut self.recent, record);
        self.records_since_snapshot += 1;
        self.state.records += 1;
        Ok(())
    }

    /// Throws away what is not on disk and reads the state again.
    pub fn reload(&mut self) -> Result<()> {
        let loaded = load(&self.dir, self.tz)?;
        self.journal = loaded.journal;
        self.state = loaded.state;
        self.history = loaded.history;
        self.recent = loaded.recent;
        self.snapshot_offset = loaded.snapshot_offset;
        Ok(())
    }

    /// Writes a snapshot when enough has changed since the last one. Called
    /// after each round; after a large one (a catch-up) it also returns the
    /// memory the round freed.
    pub fn maybe_snapshot(&mut self) {
        let idle = !std::mem::take(&mut self.committed_since_check);
        if self.bytes_since_trim >= TRIM_AFTER_BYTES || (idle && self.bytes_since_trim >= TRIM_WHEN_IDLE_AFTER_BYTES) {
            self.bytes_since_trim = 0;
            release_free_memory();
        }
        let due = self.records_since_snapshot >= self.snapshot_every_records
            || (self.records_since_snapshot > 0 && self.last_snapshot.elapsed() >= SNAPSHOT_EVERY);
        if due {
            if let Err(e) = self.snapshot() {
                tracing::warn!("cannot write a snapshot (will retry; no journal segment is removed until one is written): {e:#}");
            }
        }
    }

    /// Writes a snapshot, then compacts the journal behind it.
    pub fn snapshot(&mut self) -> Result<()> {
        self.recent.prune(Utc::now());
        let bytes = snapshot::encode(&self.state, &self.history, &self.recent).context("encoding the snapshot")?;
        let end = self.journal.end();
        save_snapshot(&self.dir, end, &bytes).with_context(|| format!("writing a snapshot in {}", self.dir.display()))?;
        let previous = self.snapshot_offset.replace(end);
        self.records_since_snapshot = 0;
        self.last_snapshot = Instant::now();
        self.compact(previous);
        Ok(())
    }

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

    /// The last hour's spend, for seeding the burn rates at a start.
    pub fn recent(&self) -> &RecentSpend {
        &self.recent
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Hands the pages the allocator holds free back to the system: reading a
/// backlog or a snapshot allocates and frees far more than the state keeps,
/// and glibc keeps the freed pages resident in its arenas otherwise.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
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

/// The newest snapshot that can be read, decoded: `(journal offset, image,
/// whether it is of this format)`.
fn newest_image(dir: &Path) -> Result<Option<(u64, Image, bool)>> {
    for snap in load_snapshots(dir).with_context(|| format!("reading the snapshots in {}", dir.display()))? {
        match snapshot::decode(&snap) {
            Ok(image) => return Ok(Some((snap.offset, image, snap.format == snapshot::FORMAT))),
            Err(e) => tracing::warn!(file = %snap.path.display(), "ignoring a snapshot that cannot be read: {e}"),
        }
    }
    Ok(None)
}

fn decode_at(dir: &Path, r: &journal::Record) -> Result<Record> {
    codec::decode(&r.payload).map_err(|e| anyhow!("journal in {}: the record at offset {} cannot be decoded: {e}", dir.display(), r.offset))
}

fn load(dir: &Path, tz: Tz) -> Result<Loaded> {
    let (image, snapshot_offset, current_format) = match newest_image(dir)? {
        Some((offset, image, current)) => (image, Some(offset), current),
        None => (Image::empty(State::new(Ledger::new(tz))), None, false),
    };
    let Image { mut state, mut history, mut recent, history_from } = image;
    let state_from = snapshot_offset.unwrap_or(0);
    let now = Utc::now();
    let journal = Journal::open_with(dir, state_from.min(history_from), |r| -> Result<()> {
        let record = decode_at(dir, &r)?;
        if r.offset >= history_from {
            match &record {
                Record::Batch(b) => b.ledger.iter().for_each(|e| history.push(e)),
                Record::Ledger(entries) => entries.iter().for_each(|e| history.push(e)),
            }
        }
        if r.offset >= state_from {
            state.apply(&record).with_context(|| format!("journal in {}: the record at offset {}", dir.display(), r.offset))?;
            if let Record::Batch(b) = &record {
                recent.note(&b.usage, now);
            }
        }
        Ok(())
    })
    .with_context(|| format!("opening the journal in {}", dir.display()))?;
    Ok(Loaded { journal, state, history, recent, snapshot_offset, current_format })
}

/// Reads the disk without the lock, retrying when a running daemon removes
/// a segment between the snapshot read and the journal read.
fn read_unlocked<T>(dir: &Path, read: impl Fn() -> Result<T>) -> Result<T> {
    let mut attempt = 0;
    loop {
        match read() {
            Err(e) if attempt < 3 && is_not_found(&e) => attempt += 1,
            other => return other.with_context(|| format!("reading the state in {}", dir.display())),
        }
    }
}

fn is_not_found(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound))
}

/// The state as the disk has it, read-only and without the lock (for
/// `ledger show` and `verify` while a daemon may be writing).
pub fn read_state(dir: &Path, tz: Tz) -> Result<State> {
    read_unlocked(dir, || {
        let (mut state, from) = match newest_image(dir)? {
            Some((offset, image, _)) => (image.state, offset),
            None => (State::new(Ledger::new(tz)), 0),
        };
        journal::read_with(dir, from, |r| -> Result<()> {
            let record = decode_at(dir, &r)?;
            state.apply(&record).with_context(|| format!("journal in {}: the record at offset {}", dir.display(), r.offset))?;
            Ok(())
        })?;
        Ok(state)
    })
}

/// The money history from the beginning, read-only (for `ledger history`).
pub fn read_history(dir: &Path) -> Result<History> {
    read_unlocked(dir, || {
        let (mut history, from) = snapshot::newest_history(dir)?.unwrap_or_default();
        journal::read_with(dir, from, |r| -> Result<()> {
            match decode_at(dir, &r)? {
                Record::Batch(b) => b.ledger.iter().for_each(|e| history.push_whole(e)),
                Record::Ledger(entries) => entries.iter().for_each(|e| history.push_whole(e)),
            }
            Ok(())
        })?;
        Ok(history)
    })
}
