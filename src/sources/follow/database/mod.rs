//! Following SQLite databases another program writes (OpenCode's
//! `opencode.db`): the reading mode beside the line follower, for formats
//! whose log is a table of messages rather than a file of lines.
//!
//! A database is opened read-only — never a write, never a lock that keeps
//! the writer out (in WAL mode, OpenCode's, readers and the writer do not
//! block each other) — and polled: a poll reads nothing until `PRAGMA
//! data_version` says another connection committed. New rows are found by
//! rowid past the checkpoint. Messages still being written (an assistant
//! turn without `time.completed`) are rewritten in place, so they are read
//! again by primary key until they are finished, when their data changed:
//! OpenCode's upsert sets only `data`, so `time_updated` cannot be trusted to
//! move. Rows read again book only their growth (the seen index).
//!
//! Invariants: the checkpoint (`RowCheckpoint`: the rowid and message id read
//! up to, and the file's identity) is committed with what its rows booked,
//! like a file checkpoint, so a restart neither re-books nor loses rows. A
//! rowid can be reused when the newest rows are deleted (OpenCode's revert):
//! the message id at the checkpoint's rowid is checked, and the cursor steps
//! back when it changed. The messages unfinished at the checkpoint are part
//! of it: after a restart they are read once more (growth while the daemon
//! was down is booked, the rest is a duplicate), and every row before the
//! checkpoint is looked at once, unbooked, so that a fork's copies of them
//! are known as copies. A busy, locked or not yet readable database is a
//! problem retried on the next poll; nothing read in a failed poll counts.

mod reader;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use reader::{Database, Problem, RowRead};

use super::discover::{find_files, PathPattern};
use super::tail::{FileProblem, SourceStats};
use crate::sources::SourceSpec;

/// Where reading of one database stands: committed with what it produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowCheckpoint {
    pub source: String,
    pub path: PathBuf,
    /// The file's device and inode: another file under the same name
    /// (deleted and created anew) is read from its first row.
    pub dev: u64,
    pub ino: u64,
    /// Rows up to this rowid are read...
    pub rowid: i64,
    /// ...and this message was at that rowid.
    pub id: String,
    /// Messages not finished when this was read (rewritten in place later):
    /// read again after a restart.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unfinished: Vec<String>,
}

impl RowCheckpoint {
    /// The key a checkpoint is kept under in the daemon's state.
    pub fn key(source: &str, path: &Path) -> String {
        format!("{source}\u{1f}{}", path.display())
    }
}

/// Rows read from one database in one poll.
pub struct RowBatch {
    pub source: usize,
    pub path: PathBuf,
    pub rows: Vec<RowRead>,
    pub checkpoint: RowCheckpoint,
}

#[derive(Default)]
pub struct RowPoll {
    pub batches: Vec<RowBatch>,
    pub problems: Vec<FileProblem>,
    /// Some database has more rows than one poll takes.
    pub more: bool,
}

/// New rows read from all databases in one poll, so that a first read of a
/// large database is booked in bounded journal records.
const ROWS_PER_POLL: usize = 20_000;

/// Every database of every source that reads databases.
pub struct DatabaseFollower {
    sources: Vec<SourceSpec>,
    databases: HashMap<(usize, PathBuf), Database>,
    counts: Vec<u64>,
}

impl DatabaseFollower {
    pub fn new(sources: Vec<SourceSpec>) -> DatabaseFollower {
        let counts = vec![0; sources.len()];
        DatabaseFollower { sources, databases: HashMap::new(), counts }
    }

    /// Forgets every open database; the next poll starts from the
    /// committed checkpoints (after a failed commit).
    pub fn reset(&mut self) {
        self.databases.clear();
    }

    /// Lists the databases, then reads each. `committed` gives a database's
    /// checkpoint by `RowCheckpoint::key`.
    pub fn poll(&mut self, committed: &dyn Fn(&str) -> Option<RowCheckpoint>) -> RowPoll {
        let mut poll = RowPoll::default();
        let mut listed = Vec::new();
        for (i, source) in self.sources.iter().enumerate() {
            if !source.format.reads_databases() {
                continue;
            }
            // Every round: so only what may name a database is listed, not
            // the thousands of message files beside it.
            let patterns: Vec<PathPattern> = source.patterns.iter().filter(|p| p.may_end_with(".db")).cloned().collect();
            let (paths, errors) = find_files(&patterns);
            for e in errors {
                poll.problems.push(FileProblem { source: i, path: e.path, message: e.message });
            }
            listed.extend(paths.into_iter().filter(|p| source.reads_database(p)).map(|p| (i, p)));
        }
        self.databases.retain(|key, _| listed.contains(key));
        self.counts = vec![0; self.sources.len()];
        let now = chrono::Utc::now();
        let mut budget = ROWS_PER_POLL;
        for key in listed {
            self.counts[key.0] += 1;
            let name = &self.sources[key.0].name;
            let db = self
                .databases
                .entry(key.clone())
                .or_insert_with(|| Database::new(&key.1, committed(&RowCheckpoint::key(name, &key.1)).as_ref()));
            let before = db.checkpoint(name);
            match db.poll(budget, now) {
                Ok(rows) => {
                    budget = budget.saturating_sub(rows.len()).max(1);
                    poll.more |= db.more;
                    let checkpoint = db.checkpoint(name);
                    if !rows.is_empty() || checkpoint != before {
                        poll.batches.push(RowBatch { source: key.0, path: key.1, rows, checkpoint });
                    }
                }
                Err(Problem { message, .. }) => poll.problems.push(FileProblem { source: key.0, path: key.1, message }),
            }
        }
        poll
    }

    /// Adds the databases followed to each source's file count.
    pub fn add_stats(&self, stats: &mut [SourceStats]) {
        for (s, n) in stats.iter_mut().zip(&self.counts) {
            s.files += n;
        }
    }

    pub fn sources(&self) -> &[SourceSpec] {
        &self.sources
    }
}

/// Every row of a database, from the first (`creditwatch report`). A busy
/// database is retried for a few seconds; another problem is logged and
/// what was read so far is kept.
pub fn read_all(path: &Path) -> Vec<RowRead> {
    let mut db = Database::new(path, None);
    let mut rows = Vec::new();
    let mut busy_tries = 0;
    loop {
        match db.poll(ROWS_PER_POLL, chrono::Utc::now()) {
            Ok(read) => {
                rows.extend(read);
                if !db.more {
                    return rows;
                }
            }
            Err(p) if p.busy && busy_tries < 40 => {
                busy_tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
            Err(p) => {
                tracing::warn!(file = %path.display(), "{}", p.message);
                return rows;
            }
        }
    }
}

#[cfg(test)]
mod tests;
