//! One database, read from a checkpoint: the queries and the cursor.

use std::collections::{HashMap, VecDeque};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::RowCheckpoint;
use crate::sources::formats::opencode::Copies;
use crate::sources::{LineError, LineResult};

/// How long an unfinished message is read again; past this it is taken as
/// abandoned (OpenCode was killed while it streamed).
const UNFINISHED_FOR: chrono::TimeDelta = chrono::TimeDelta::days(1);
/// Recent (rowid, message id) pairs kept to find where reused rowids begin.
const RECENT: usize = 64;
/// How long one statement waits for a writer's lock before the poll gives
/// up (the next poll retries).
const BUSY_WAIT: Duration = Duration::from_millis(250);

/// One row read: where it is and what it became.
pub struct RowRead {
    pub rowid: i64,
    pub id: String,
    pub result: LineResult,
}

/// Why a poll read nothing; retried on the next poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    /// A writer held a lock: retrying soon will do.
    pub busy: bool,
}

fn problem(what: &str, e: &rusqlite::Error) -> Problem {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            Problem { message: format!("database busy (a writer holds its lock) while {what}"), busy: true }
        }
        _ => Problem { message: format!("cannot read the database while {what}: {e}"), busy: false },
    }
}

/// Where reading stands; a poll works on a copy and keeps it only when it
/// succeeds, so a busy database in the middle of a poll changes nothing.
#[derive(Clone, Default)]
struct Cursor {
    rowid: i64,
    id: String,
    recent: VecDeque<(i64, String)>,
    /// Unfinished messages (id -> hash of the data last read).
    unfinished: HashMap<String, u64>,
}

pub struct Database {
    path: PathBuf,
    conn: Option<Connection>,
    identity: Option<(u64, u64)>,
    cursor: Cursor,
    data_version: Option<i64>,
    copies: Copies,
    primed: bool,
    /// The last poll stopped at its row budget.
    pub more: bool,
}

type Row = (i64, String, Option<String>, Vec<u8>);

const ALL_COLUMNS: &str = "SELECT rowid, id, session_id, data FROM message";

impl Database {
    /// A database followed from `checkpoint` (none: from its first row).
    pub fn new(path: &Path, checkpoint: Option<&RowCheckpoint>) -> Database {
        let mut cursor = Cursor::default();
        let identity = checkpoint.map(|cp| {
            cursor.rowid = cp.rowid;
            cursor.id.clone_from(&cp.id);
            // Hash 0: read again on the first poll, whatever they hold now.
            cursor.unfinished = cp.unfinished.iter().map(|id| (id.clone(), 0)).collect();
            (cp.dev, cp.ino)
        });
        Database {
            path: path.to_path_buf(),
            conn: None,
            identity,
            cursor,
            data_version: None,
            copies: Copies::default(),
            primed: false,
            more: false,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn checkpoint(&self, source: &str) -> RowCheckpoint {
        let (dev, ino) = self.identity.unwrap_or_default();
        let mut unfinished: Vec<String> = self.cursor.unfinished.keys().cloned().collect();
        unfinished.sort();
        RowCheckpoint {
            source: source.into(),
            path: self.path.clone(),
            dev,
            ino,
            rowid: self.cursor.rowid,
            id: self.cursor.id.clone(),
            unfinished,
        }
    }

    /// Reads what changed since the last poll: new rows (at most `budget`)
    /// and unfinished messages rewritten since.
    pub fn poll(&mut self, budget: usize, now: DateTime<Utc>) -> Result<Vec<RowRead>, Problem> {
        let result = self.connect().and_then(|()| self.read(budget.max(1), now));
        if result.is_err() {
            // A fresh connection next time (the file may have been replaced).
            self.conn = None;
        }
        result
    }

    fn connect(&mut self) -> Result<(), Problem> {
        if self.conn.is_some() {
            return Ok(());
        }
        let meta = std::fs::metadata(&self.path).map_err(|e| Problem { message: format!("cannot open: {e}"), busy: false })?;
        let identity = (meta.dev(), meta.ino());
        if self.identity.is_some_and(|known| known != identity) {
            tracing::info!(file = %self.path.display(), "another database file under this name: reading it from its first row");
            self.cursor = Cursor::default();
            self.primed = false;
        }
        self.identity = Some(identity);
        // Read-only, and no mutex: one thread uses a connection.
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(|e| problem("opening it", &e))?;
        conn.busy_timeout(BUSY_WAIT).map_err(|e| problem("opening it", &e))?;
        self.conn = Some(conn);
        self.data_version = None;
        Ok(())
    }

    fn read(&mut self, budget: usize, now: DateTime<Utc>) -> Result<Vec<RowRead>, Problem> {
        let Some(conn) = self.conn.as_ref() else { return Ok(Vec::new()) };
        // Another connection's commit changes `data_version`; until then
        // there is nothing new to read.
        let version: i64 = conn.query_row("PRAGMA data_version", [], |r| r.get(0)).map_err(|e| problem("checking for changes", &e))?;
        if self.primed && !self.more && self.data_version == Some(version) {
            return Ok(Vec::new());
        }
        // One read transaction: all queries of a poll see one snapshot.
        conn.execute_batch("BEGIN").map_err(|e| problem("starting a read", &e))?;
        let mut cursor = self.cursor.clone();
        let mut more = false;
        let read = Snapshot { conn }.changes(&mut self.copies, &mut cursor, &mut more, !self.primed, budget, now);
        let _ = conn.execute_batch("COMMIT");
        let rows = read?;
        self.cursor = cursor;
        self.more = more;
        self.primed = true;
        self.data_version = Some(version);
        Ok(rows)
    }
}

struct Snapshot<'c> {
    conn: &'c Connection,
}

impl Snapshot<'_> {
    fn changes(
        &self,
        copies: &mut Copies,
        c: &mut Cursor,
        more: &mut bool,
        prime: bool,
        budget: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<RowRead>, Problem> {
        let mut out = Vec::new();
        self.rewind_if_reused(c)?;
        if prime {
            // After a (re)start: learn the messages read before, unbooked,
            // so that a fork's copy of one is known as a copy. (The
            // unfinished ones are read again below.)
            for (_, id, session, data) in self.rows(&format!("{ALL_COLUMNS} WHERE rowid <= ?1 ORDER BY rowid"), [c.rowid])? {
                let _ = copies.read_row(&data, &id, session.as_deref());
            }
        }
        let new = self.rows(&format!("{ALL_COLUMNS} WHERE rowid > ?1 ORDER BY rowid LIMIT ?2"), (c.rowid, budget as i64))?;
        *more = new.len() >= budget;
        let read_now: Vec<String> = new.iter().map(|r| r.1.clone()).collect();
        for (rowid, id, session, data) in new {
            let (result, unfinished) = read_row(copies, &data, &id, session.as_deref(), now);
            if unfinished {
                c.unfinished.insert(id.clone(), xxhash_rust::xxh3::xxh3_64(&data));
            } else {
                c.unfinished.remove(&id);
            }
            c.rowid = rowid;
            c.id.clone_from(&id);
            c.recent.push_back((rowid, id.clone()));
            if c.recent.len() > RECENT {
                c.recent.pop_front();
            }
            out.push(RowRead { rowid, id, result });
        }
        // Unfinished messages are rewritten in place: read again those whose
        // data changed (not the ones just read as new rows).
        let waiting: Vec<(String, u64)> =
            c.unfinished.iter().filter(|(id, _)| !read_now.contains(id)).map(|(id, h)| (id.clone(), *h)).collect();
        for (id, hash) in waiting {
            let Some((rowid, id, session, data)) = self.rows(&format!("{ALL_COLUMNS} WHERE id = ?1"), [&id])?.into_iter().next() else {
                c.unfinished.remove(&id); // deleted (a revert)
                continue;
            };
            let now_hash = xxhash_rust::xxh3::xxh3_64(&data);
            if now_hash == hash {
                continue;
            }
            let (result, unfinished) = read_row(copies, &data, &id, session.as_deref(), now);
            match unfinished {
                true => c.unfinished.insert(id.clone(), now_hash),
                false => c.unfinished.remove(&id),
            };
            out.push(RowRead { rowid, id, result });
        }
        Ok(out)
    }

    fn rows(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<Row>, Problem> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| problem("preparing a query", &e))?;
        let rows = stmt
            .query_map(params, |r| {
                // `data` is TEXT as OpenCode writes it; a BLOB is read as its bytes.
                let data = match r.get_ref(3)? {
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => t.to_vec(),
                    _ => Vec::new(),
                };
                let id = match r.get_ref(1)? {
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    other => format!("{other:?}"),
                };
                let session = match r.get_ref(2)? {
                    rusqlite::types::ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                    _ => None,
                };
                Ok((r.get::<_, i64>(0)?, id, session, data))
            })
            .map_err(|e| problem("reading messages", &e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| problem("reading messages", &e))
    }

    fn id_at(&self, rowid: i64) -> Result<Option<String>, Problem> {
        self.conn
            .query_row("SELECT id FROM message WHERE rowid = ?1", [rowid], |r| r.get(0))
            .optional()
            .map_err(|e| problem("checking the checkpoint", &e))
    }

    /// The checkpoint's rowid names another message (or none): the newest
    /// rows were deleted, and new rows may have taken their rowids. Step back
    /// to the newest row known to be unchanged; what is read twice is a
    /// duplicate of the seen index.
    fn rewind_if_reused(&self, c: &mut Cursor) -> Result<(), Problem> {
        if c.rowid == 0 || self.id_at(c.rowid)?.as_deref() == Some(c.id.as_str()) {
            return Ok(());
        }
        let mut back = (c.rowid - RECENT as i64).max(0);
        while let Some((rowid, id)) = c.recent.pop_back() {
            if rowid < c.rowid && self.id_at(rowid)?.as_deref() == Some(id.as_str()) {
                back = rowid;
                c.recent.push_back((rowid, id));
                break;
            }
        }
        tracing::info!(from = c.rowid, to = back, "the message at the checkpoint's row is gone: reading again from an earlier row");
        c.rowid = back;
        c.id = self.id_at(back)?.unwrap_or_default();
        Ok(())
    }
}

/// What one row became, and whether it is an unfinished message (recent
/// enough to be waited for).
fn read_row(copies: &mut Copies, data: &[u8], id: &str, session: Option<&str>, now: DateTime<Utc>) -> (LineResult, bool) {
    match copies.read_row(data, id, session) {
        Ok(message) => {
            let unfinished = message.unfinished_since.is_some_and(|since| now - since <= UNFINISHED_FOR);
            let result = match message.event {
                Some(event) => LineResult::Event(event),
                None => LineResult::Skipped,
            };
            (result, unfinished)
        }
        Err(e) => (LineResult::Error(LineError::new(format!("message {id}: {e}"))), false),
    }
}
