//! The append-only journal: the durable record of every ledger change, as
//! opaque payloads (it knows nothing of entries), kept in segments under
//! `STATE_DIR/journal/` (see `layout`).
//!
//! A record is `[u32 LE payload length][u32 LE crc32c of payload][payload]`.
//! One writer (see `lock::StateLock`); `append` returns only after
//! `sync_data`, so a returned offset is on disk. Offsets are journal-wide.
//!
//! Appends go to the last segment. `roll` starts a new one (the store does
//! it after each snapshot, and the journal when a segment passes
//! `SEGMENT_BYTES`); `remove_before` deletes the segments that end at or
//! before an offset the caller has made durable in a snapshot, never the
//! one being written.
//!
//! Opening tells a crash from damage:
//! - a bad **last** record of the **last** segment (cut short, or a checksum
//!   that does not match, or the zeros some file systems leave after a
//!   crash) is a write the crash interrupted and nobody was told succeeded:
//!   it is cut off with a warning;
//! - a bad record with a valid record anywhere after it, or anywhere in a
//!   segment that has a successor, is damage: opening refuses with the file
//!   and its byte offset. The scan for a later valid record does not trust
//!   the bad record's length field, so a corrupted length cannot pass good
//!   records off as a torn tail.
//!
//! Payloads are never empty: an all-zero region would otherwise read as
//! valid empty records (the crc32c of nothing is 0). Write one record per
//! append where you can: a crash in a multi-record write can leave a later
//! record whole behind a torn one, which reads as damage.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

mod frame;
pub mod layout;

use frame::HEADER_LEN;
pub use frame::{decode, encode, Damage, Decoded};
pub use layout::{segments, Segment, FORMAT_VERSION, JOURNAL_FILE, SEGMENTS_DIR};

pub use super::lock::StateLock;
pub use super::snapshot::{load_snapshot, save_snapshot, write_atomic};

/// A segment past this size is closed and a new one started, so that no
/// read holds more than one segment's records at once.
pub const SEGMENT_BYTES: u64 = 8 << 20;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{}: cannot {action}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: io::Error,
    },
    #[error(
        "{}: damaged at byte offset {offset}: {reason}. creditwatch will not book on a damaged journal: stop every \
         creditwatch using this state directory, copy the directory aside, then restore {} from a backup (or move the \
         state directory away to start a fresh ledger and reconcile each account)",
        file.display(), file.display()
    )]
    Corrupt { file: PathBuf, offset: u64, reason: String },
    #[error("{}: the state directory is locked by another creditwatch ({holder}); stop it, or go through its HTTP API", dir.display())]
    Locked { dir: PathBuf, holder: String },
    #[error(
        "{}: the state directory is in format {found}, written by a newer creditwatch; this one reads format {reads} and \
         older. Upgrade creditwatch (or restore a backup of the directory made by this version)",
        dir.display()
    )]
    Newer { dir: PathBuf, found: u32, reads: u32 },
    #[error(
        "{}: the state resumes at journal offset {from} but the oldest segment left starts at {first}: the segments \
         between were removed after a snapshot that is now missing or unreadable. Restore snapshot.cws (or the state \
         directory) from a backup",
        dir.display()
    )]
    Compacted { dir: PathBuf, from: u64, first: u64 },
}

pub(crate) fn io_error<'a>(path: &'a Path, action: &'static str) -> impl FnOnce(io::Error) -> JournalError + 'a {
    move |source| JournalError::Io { path: path.to_path_buf(), action, source }
}

/// One record read back: its journal offset and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub offset: u64,
    pub payload: Vec<u8>,
}

impl Record {
    /// The offset just past this record: where replay resumes after it.
    pub fn end(&self) -> u64 {
        self.offset + HEADER_LEN + self.payload.len() as u64
    }
}

/// What `verify` found, without changing anything. Offsets are journal-wide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifySummary {
    pub records: u64,
    /// The end of the whole, valid records (where the next append goes).
    pub bytes: u64,
    /// Where a torn last record starts, if there is one (`open` would cut it).
    pub torn_tail: Option<u64>,
}

/// The journal, open for appending.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    /// Bases of the segments on disk, oldest first; the last is `file`.
    bases: Vec<u64>,
    file: File,
    path: PathBuf,
    end: u64,
    /// Set when a failed write could not be undone: the file's tail is
    /// unknown, and appending after it could bury good records behind junk.
    poisoned: bool,
}

impl Journal {
    /// Opens the journal in `dir` (creating or upgrading the layout) and
    /// returns every record from `from_offset` (a snapshot's position, or
    /// 0). A torn last record is cut off; damage is `JournalError::Corrupt`.
    pub fn open(dir: &Path, from_offset: u64) -> Result<(Journal, Vec<Record>), JournalError> {
        let mut records = Vec::new();
        let journal = Journal::open_with(dir, from_offset, |r| {
            records.push(r);
            Ok::<_, JournalError>(())
        })?;
        Ok((journal, records))
    }

    /// `open`, handing the records to `visit` one segment at a time instead
    /// of collecting them.
    pub fn open_with<E: From<JournalError>>(dir: &Path, from: u64, visit: impl FnMut(Record) -> Result<(), E>) -> Result<Journal, E> {
        std::fs::create_dir_all(dir).map_err(io_error(dir, "create the state directory"))?;
        let segments = layout::prepare(dir)?;
        let summary = scan_segments(dir, &segments, from, visit)?;
        let last = segments.last().ok_or_else(|| io_error(dir, "find a journal segment")(io::ErrorKind::NotFound.into()))?;
        let file = OpenOptions::new().read(true).write(true).open(&last.path).map_err(io_error(&last.path, "open"))?;
        if let Some(offset) = summary.torn_tail {
            let local = offset - last.base;
            tracing::warn!(file = %last.path.display(), offset = local, "cutting a torn last record (a write interrupted by a crash; it was never acknowledged)");
            file.set_len(local).map_err(io_error(&last.path, "cut the torn last record"))?;
            file.sync_all().map_err(io_error(&last.path, "sync after cutting the torn last record"))?;
        }
        let end = summary.bytes.max(last.base);
        Ok(Journal {
            dir: dir.to_path_buf(),
            bases: segments.iter().map(|s| s.base).collect(),
            file,
            path: last.path.clone(),
            end,
            poisoned: false,
        })
    }

    /// Appends one record per payload and syncs; returns the new end offset.
    /// Payloads must be non-empty and under 4 GiB. On an error nothing new
    /// is readable: the partial write is cut back.
    pub fn append(&mut self, payloads: &[Vec<u8>]) -> io::Result<u64> {
        let with_path = |path: &Path, e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
        if self.poisoned {
            return Err(with_path(&self.path, io::Error::other("an earlier write failed and could not be undone; restart creditwatch")));
        }
        let buf = encode(payloads).map_err(|e| with_path(&self.path, e))?;
        if buf.is_empty() {
            return Ok(self.end);
        }
        if self.end - self.base() >= SEGMENT_BYTES {
            self.roll().map_err(|e| io::Error::other(e.to_string()))?;
        }
        let local = self.end - self.base();
        let written = self.file.seek(SeekFrom::Start(local)).and_then(|_| self.file.write_all(&buf));
        if let Err(e) = written {
            if self.file.set_len(local).and_then(|_| self.file.sync_all()).is_err() {
                self.poisoned = true;
            }
            return Err(with_path(&self.path, e));
        }
        if let Err(e) = self.file.sync_data() {
            // After a failed fsync the kernel may have dropped the dirty
            // pages: what is on disk is unknown.
            self.poisoned = true;
            return Err(with_path(&self.path, e));
        }
        self.end += buf.len() as u64;
        Ok(self.end)
    }

    fn base(&self) -> u64 {
        self.bases.last().copied().unwrap_or(0)
    }

    /// Starts a new segment at the end (nothing to do when the current one
    /// is empty). The old segment is complete: every append was synced.
    pub fn roll(&mut self) -> Result<(), JournalError> {
        if self.poisoned || self.end == self.base() {
            return Ok(());
        }
        let path = layout::segment_path(&self.dir, self.end);
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io_error(&path, "create"))?;
        super::snapshot::sync_dir(&self.dir.join(SEGMENTS_DIR))?;
        self.bases.push(self.end);
        self.file = file;
        self.path = path;
        Ok(())
    }

    /// Removes the segments that end at or before `offset`, oldest first,
    /// never the one being written. Call it only with an offset a durable
    /// snapshot holds. Returns how many went.
    pub fn remove_before(&mut self, offset: u64) -> Result<usize, JournalError> {
        let mut removed = 0;
        while self.bases.len() > 1 && self.bases[1] <= offset {
            let path = layout::segment_path(&self.dir, self.bases[0]);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error(&path, "remove")(e)),
            }
            self.bases.remove(0);
            removed += 1;
        }
        if removed > 0 {
            super::snapshot::sync_dir(&self.dir.join(SEGMENTS_DIR))?;
        }
        Ok(removed)
    }

    /// The end of the last whole record: the offset to store in a snapshot.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Where the oldest segment left starts.
    pub fn first(&self) -> u64 {
        self.bases.first().copied().unwrap_or(0)
    }

    /// The segment being written.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads the journal in `dir` without changing anything (for `creditwatch
/// ledger verify`); damage is an error, a torn tail is reported. No
/// journal is an error naming the file.
pub fn verify(dir: &Path) -> Result<VerifySummary, JournalError> {
    let segments = segments(dir)?;
    if segments.is_empty() {
        let path = dir.join(JOURNAL_FILE);
        return Err(io_error(&path, "open")(io::ErrorKind::NotFound.into()));
    }
    let from = segments[0].base;
    scan_segments(dir, &segments, from, |_| Ok::<_, JournalError>(()))
}

/// Reads every record from `from_offset` without changing anything (for
/// `creditwatch ledger history`, which may run beside the daemon).
pub fn read(dir: &Path, from_offset: u64) -> Result<(Vec<Record>, VerifySummary), JournalError> {
    let mut records = Vec::new();
    let summary = read_with(dir, from_offset, |r| {
        records.push(r);
        Ok::<_, JournalError>(())
    })?;
    Ok((records, summary))
}

/// `read`, handing the records to `visit` one segment at a time. No
/// journal yet reads as no records.
pub fn read_with<E: From<JournalError>>(dir: &Path, from: u64, visit: impl FnMut(Record) -> Result<(), E>) -> Result<VerifySummary, E> {
    let segments = segments(dir)?;
    if segments.is_empty() && from == 0 {
        return Ok(VerifySummary { records: 0, bytes: 0, torn_tail: None });
    }
    scan_segments(dir, &segments, from, visit)
}

/// Every whole record, read-only; no journal yet is no records. A torn
/// tail is left alone and not returned; damage is an error.
pub fn read_all(dir: &Path) -> Result<Vec<Record>, JournalError> {
    let first = segments(dir)?.first().map_or(0, |s| s.base);
    read(dir, first).map(|(records, _)| records)
}

/// Reads the segments from `from`: every segment but the last must be whole
/// and end where the next begins; the last may have a torn tail (reported).
fn scan_segments<E: From<JournalError>>(
    dir: &Path,
    segments: &[Segment],
    from: u64,
    mut visit: impl FnMut(Record) -> Result<(), E>,
) -> Result<VerifySummary, E> {
    let first = segments.first().map_or(0, |s| s.base);
    if from < first {
        return Err(JournalError::Compacted { dir: dir.to_path_buf(), from, first }.into());
    }
    let start = segments.iter().rposition(|s| s.base <= from).unwrap_or(0);
    let mut total = VerifySummary { records: 0, bytes: from, torn_tail: None };
    for (i, segment) in segments.iter().enumerate().skip(start) {
        let next = segments.get(i + 1).map(|s| s.base);
        let local_from = from.saturating_sub(segment.base);
        let mut file = File::open(&segment.path).map_err(io_error(&segment.path, "open"))?;
        let decoded = scan(&segment.path, &mut file, local_from, true)?;
        let summary = decoded.summary;
        let end = segment.base + summary.bytes;
        if let Some(next) = next {
            let problem = match summary.torn_tail {
                Some(at) => Some((at, "a bad record at the end of a segment that has a successor (so not a torn last write)".to_string())),
                None if end != next => {
                    Some((summary.bytes, format!("the segment ends at journal offset {end} but the next one starts at {next}")))
                }
                None => None,
            };
            if let Some((offset, reason)) = problem {
                return Err(JournalError::Corrupt { file: segment.path.clone(), offset, reason }.into());
            }
        }
        total.records += summary.records;
        total.bytes = end;
        total.torn_tail = summary.torn_tail.map(|at| segment.base + at);
        for record in decoded.records {
            visit(Record { offset: segment.base + record.offset, payload: record.payload })?;
        }
    }
    Ok(total)
}

/// Reads records from `from` to the end of the file.
fn scan(path: &Path, file: &mut File, from: u64, keep: bool) -> Result<Decoded, JournalError> {
    let len = file.metadata().map_err(io_error(path, "read the size of"))?.len();
    frame::scan(file, len, from, keep).map_err(io_error(path, "read"))?.map_err(|Damage { offset, reason }| JournalError::Corrupt {
        file: path.to_path_buf(),
        offset,
        reason,
    })
}

#[cfg(test)]
mod tests;
