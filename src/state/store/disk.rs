//! The state directory as the store reads it: the newest readable snapshot
//! and the journal after it, locked (the daemon) or not (read-only
//! commands while a daemon may be writing).

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use chrono::Utc;
use chrono_tz::Tz;

use crate::ledger::journal::{self, Journal};
use crate::ledger::snapshot::load_snapshots;
use crate::ledger::Ledger;
use crate::state::history::History;
use crate::state::recent::RecentSpend;
use crate::state::snapshot::{self, Image};
use crate::state::{codec, Record, State};

/// What the disk holds, folded.
pub(super) struct Loaded {
    pub journal: Journal,
    pub state: State,
    pub history: History,
    pub recent: RecentSpend,
    pub snapshot_offset: Option<u64>,
    /// Whether the newest readable snapshot is of this format.
    pub current_format: bool,
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

pub(super) fn load(dir: &Path, tz: Tz) -> Result<Loaded> {
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
