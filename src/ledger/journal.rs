//! The append-only journal, `STATE_DIR/journal.cwj`: the durable record of
//! every ledger change, as opaque payloads (it knows nothing of entries).
//!
//! A record is `[u32 LE payload length][u32 LE crc32c of payload][payload]`.
//! One writer (see `lock::StateLock`); `append` returns only after
//! `sync_data`, so a returned offset is on disk.
//!
//! Opening tells a crash from damage:
//! - a bad **last** record (cut short, or a checksum that does not match, or
//!   the zeros some file systems leave after a crash) is a write the crash
//!   interrupted and nobody was told succeeded: it is cut off with a warning;
//! - a bad record with a valid record anywhere after it is damage: opening
//!   refuses with the file and byte offset. The scan for a later valid record
//!   does not trust the bad record's length field, so a corrupted length
//!   cannot pass good records off as a torn tail.
//!
//! Payloads are never empty: an all-zero region would otherwise read as
//! valid empty records (the crc32c of nothing is 0). Write one record per
//! append where you can: a crash in a multi-record write can leave a later
//! record whole behind a torn one, which reads as damage.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

mod frame;

use frame::HEADER_LEN;
pub use frame::{decode, encode, Damage, Decoded};

pub use super::lock::StateLock;
pub use super::snapshot::{load_snapshot, save_snapshot, write_atomic};

pub const JOURNAL_FILE: &str = "journal.cwj";

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
}

pub(crate) fn io_error<'a>(path: &'a Path, action: &'static str) -> impl FnOnce(io::Error) -> JournalError + 'a {
    move |source| JournalError::Io { path: path.to_path_buf(), action, source }
}

/// One record read back: its byte offset in the file and its payload.
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

/// What `verify` found, without changing anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifySummary {
    pub records: u64,
    /// Bytes of whole, valid records (where the next append goes).
    pub bytes: u64,
    /// Where a torn last record starts, if there is one (`open` would cut it).
    pub torn_tail: Option<u64>,
}

/// The journal, open for appending.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
    end: u64,
    /// Set when a failed write could not be undone: the file's tail is
    /// unknown, and appending after it could bury good records behind junk.
    poisoned: bool,
}

impl Journal {
    /// Opens (creating `dir` and the file if needed) and returns every record
    /// from `from_offset` (a snapshot's position, or 0). A torn last record
    /// is cut off; damage is `JournalError::Corrupt`.
    pub fn open(dir: &Path, from_offset: u64) -> Result<(Journal, Vec<Record>), JournalError> {
        std::fs::create_dir_all(dir).map_err(io_error(dir, "create the state directory"))?;
        let path = dir.join(JOURNAL_FILE);
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io_error(&path, "open"))?;
        // The file may have just been created: make its name durable.
        crate::ledger::snapshot::sync_dir(dir)?;
        let scan = scan(&path, &mut file, from_offset, true)?;
        if let Some(offset) = scan.summary.torn_tail {
            tracing::warn!(file = %path.display(), offset, "cutting a torn last record (a write interrupted by a crash; it was never acknowledged)");
            file.set_len(offset).map_err(io_error(&path, "cut the torn last record"))?;
            file.sync_all().map_err(io_error(&path, "sync after cutting the torn last record"))?;
        }
        Ok((Journal { file, path, end: scan.summary.bytes, poisoned: false }, scan.records))
    }

    /// Appends one record per payload and syncs; returns the new end offset.
    /// Payloads must be non-empty and under 4 GiB. On an error nothing new
    /// is readable: the partial write is cut back.
    pub fn append(&mut self, payloads: &[Vec<u8>]) -> io::Result<u64> {
        let with_path = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", self.path.display()));
        if self.poisoned {
            return Err(with_path(io::Error::other("an earlier write failed and could not be undone; restart creditwatch")));
        }
        let buf = encode(payloads).map_err(with_path)?;
        if buf.is_empty() {
            return Ok(self.end);
        }
        let written = self.file.seek(SeekFrom::Start(self.end)).and_then(|_| self.file.write_all(&buf));
        if let Err(e) = written {
            if self.file.set_len(self.end).and_then(|_| self.file.sync_all()).is_err() {
                self.poisoned = true;
            }
            return Err(with_path(e));
        }
        if let Err(e) = self.file.sync_data() {
            // After a failed fsync the kernel may have dropped the dirty
            // pages: what is on disk is unknown.
            self.poisoned = true;
            return Err(with_path(e));
        }
        self.end += buf.len() as u64;
        Ok(self.end)
    }

    /// The end of the last whole record: the offset to store in a snapshot.
    pub fn end(&self) -> u64 {
        self.end
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads the journal in `dir` without changing anything (for `creditwatch
/// ledger verify`); damage is an error, a torn tail is reported.
pub fn verify(dir: &Path) -> Result<VerifySummary, JournalError> {
    read_with(dir, 0, false).map(|(_, summary)| summary)
}

/// Reads every record from `from_offset` without changing anything (for
/// `creditwatch ledger history`, which may run beside the daemon).
pub fn read(dir: &Path, from_offset: u64) -> Result<(Vec<Record>, VerifySummary), JournalError> {
    read_with(dir, from_offset, true)
}

/// Every whole record, read-only; no journal yet is no records. A torn
/// tail is left alone and not returned; damage is an error.
pub fn read_all(dir: &Path) -> Result<Vec<Record>, JournalError> {
    if !dir.join(JOURNAL_FILE).exists() {
        return Ok(Vec::new());
    }
    read(dir, 0).map(|(records, _)| records)
}

fn read_with(dir: &Path, from_offset: u64, keep: bool) -> Result<(Vec<Record>, VerifySummary), JournalError> {
    let path = dir.join(JOURNAL_FILE);
    let mut file = File::open(&path).map_err(io_error(&path, "open"))?;
    let scan = scan(&path, &mut file, from_offset, keep)?;
    Ok((scan.records, scan.summary))
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
