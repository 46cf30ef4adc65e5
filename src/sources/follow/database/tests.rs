//! The reading mode against a real database file written by a second
//! connection (WAL, as OpenCode writes it; a rollback journal for the lock).

use super::*;
use crate::sources::LineResult;
use crate::usage::EventId;
use rusqlite::Connection;

const SCHEMA: &str = "CREATE TABLE message (id text PRIMARY KEY, session_id text NOT NULL, time_created integer NOT NULL, \
                      time_updated integer NOT NULL, data text NOT NULL);";

fn writer(path: &Path, journal: &str) -> Connection {
    let c = Connection::open(path).unwrap();
    let _: String = c.query_row(&format!("PRAGMA journal_mode={journal}"), [], |r| r.get(0)).unwrap();
    c.execute_batch(SCHEMA).unwrap();
    c
}

fn created_now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn assistant(output: u64, completed: bool, created: i64) -> String {
    let done = if completed { format!(r#","completed":{}"#, created + 1) } else { String::new() };
    format!(
        r#"{{"role":"assistant","time":{{"created":{created}{done}}},"modelID":"gpt-5","providerID":"openai","cost":0,"tokens":{{"input":100,"output":{output},"reasoning":0,"cache":{{"read":0,"write":0}}}}}}"#
    )
}

/// OpenCode's upsert: on conflict only `data` changes.
fn upsert(c: &Connection, id: &str, data: &str) {
    c.execute(
        "INSERT INTO message (id, session_id, time_created, time_updated, data) VALUES (?1, 'ses_1', 1, 1, ?2) \
         ON CONFLICT(id) DO UPDATE SET data = excluded.data",
        (id, data),
    )
    .unwrap();
}

/// (message id the event is booked under, output tokens) per row read; `-`
/// for a skipped row, `!` for an error.
fn outcomes(rows: &[RowRead]) -> Vec<(String, String)> {
    rows.iter()
        .map(|r| {
            let what = match &r.result {
                LineResult::Event(e) => {
                    let own = e.id == EventId::from_parts("opencode", &[&r.id]);
                    format!("{}{}", e.tokens.output, if own { "" } else { " (copy)" })
                }
                LineResult::Skipped | LineResult::NotBooked(_) | LineResult::PlanWindows(_) => "-".into(),
                LineResult::Error(e) => format!("! {e}"),
            };
            (r.id.clone(), what)
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[test]
fn new_rows_then_growth_of_unfinished_ones_then_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opencode.db");
    let w = writer(&path, "WAL");
    let t = created_now();
    upsert(&w, "msg_a", &assistant(10, false, t));
    upsert(&w, "msg_b", r#"{"role":"user","time":{"created":1}}"#);
    let mut db = Database::new(&path, None);
    let now = chrono::Utc::now();
    assert_eq!(outcomes(&db.poll(100, now).unwrap()), pairs(&[("msg_a", "10"), ("msg_b", "-")]));
    // Nothing committed since: nothing read, not even the unfinished row.
    assert!(db.poll(100, now).unwrap().is_empty());
    // Rewritten in place (rowid unchanged), then finished; a damaged row.
    upsert(&w, "msg_a", &assistant(250, false, t));
    assert_eq!(outcomes(&db.poll(100, now).unwrap()), pairs(&[("msg_a", "250")]));
    upsert(&w, "msg_a", &assistant(400, true, t));
    upsert(&w, "msg_c", r#"{"role":"assistant","tokens":"#);
    let rows = outcomes(&db.poll(100, now).unwrap());
    assert_eq!(rows[0], ("msg_c".to_string(), "! message msg_c: invalid JSON: EOF while parsing a value at line 1 column 29".to_string()));
    assert_eq!(rows[1], ("msg_a".to_string(), "400".to_string()));
    // Finished: a later rewrite is not looked for.
    upsert(&w, "msg_a", &assistant(999, true, t));
    assert!(db.poll(100, now).unwrap().is_empty());
    let cp = db.checkpoint("oc");
    assert_eq!((cp.rowid, cp.id.as_str()), (3, "msg_c"));
}

#[test]
fn a_restart_resumes_at_the_checkpoint_and_reads_unfinished_messages_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opencode.db");
    let w = writer(&path, "WAL");
    let t = created_now();
    upsert(&w, "msg_done", &assistant(5, true, t));
    upsert(&w, "msg_open", &assistant(7, false, t));
    upsert(&w, "msg_stale", &assistant(9, false, t - 3 * 86_400_000));
    let mut first = Database::new(&path, None);
    assert_eq!(first.poll(100, chrono::Utc::now()).unwrap().len(), 3);
    let cp = first.checkpoint("oc");
    // While the daemon is down the open message grows and a new one comes.
    upsert(&w, "msg_open", &assistant(70, true, t));
    upsert(&w, "msg_new", &assistant(3, true, t));
    let mut again = Database::new(&path, Some(&cp));
    assert_eq!(cp.unfinished, ["msg_open"], "the stale one is taken as abandoned");
    // The new row, and the one unfinished at the checkpoint, read again.
    assert_eq!(outcomes(&again.poll(100, chrono::Utc::now()).unwrap()), pairs(&[("msg_new", "3"), ("msg_open", "70")]));
    assert!(again.checkpoint("oc").unfinished.is_empty());
}

#[test]
fn a_forks_copies_are_duplicates_even_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opencode.db");
    let w = writer(&path, "WAL");
    let t = created_now();
    upsert(&w, "msg_orig", &assistant(42, true, t));
    let mut db = Database::new(&path, None);
    db.poll(100, chrono::Utc::now()).unwrap();
    let cp = db.checkpoint("oc");
    upsert(&w, "msg_fork_copy", &assistant(42, true, t));
    let mut again = Database::new(&path, Some(&cp));
    assert_eq!(outcomes(&again.poll(100, chrono::Utc::now()).unwrap()), pairs(&[("msg_fork_copy", "42 (copy)")]));
}

#[test]
fn a_reused_rowid_after_a_revert_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opencode.db");
    let w = writer(&path, "WAL");
    let t = created_now();
    for (i, id) in ["msg_1", "msg_2", "msg_3"].iter().enumerate() {
        upsert(&w, id, &assistant(i as u64 + 1, true, t + i as i64));
    }
    let mut db = Database::new(&path, None);
    assert_eq!(db.poll(100, chrono::Utc::now()).unwrap().len(), 3);
    // Revert: the last two go; two new messages take rowids 2 and 3.
    w.execute("DELETE FROM message WHERE id IN ('msg_2', 'msg_3')", []).unwrap();
    upsert(&w, "msg_4", &assistant(40, true, t + 10));
    upsert(&w, "msg_5", &assistant(50, true, t + 11));
    let rowids: Vec<i64> =
        w.prepare("SELECT rowid FROM message ORDER BY rowid").unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    assert_eq!(rowids, [1, 2, 3], "SQLite reused the rowids");
    assert_eq!(outcomes(&db.poll(100, chrono::Utc::now()).unwrap()), pairs(&[("msg_4", "40"), ("msg_5", "50")]));
}

#[test]
fn a_budget_bounds_one_poll_and_the_rest_follows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opencode.db");
    let w = writer(&path, "WAL");
    for i in 0..5 {
        upsert(&w, &format!("msg_{i}"), &assistant(i + 1, true, 1_795_000_000_000 + i as i64));
    }
    let mut db = Database::new(&path, None);
    assert_eq!(db.poll(2, chrono::Utc::now()).unwrap().len(), 2);
    assert!(db.more);
    assert_eq!(db.poll(2, chrono::Utc::now()).unwrap().len(), 2);
    assert_eq!(db.poll(2, chrono::Utc::now()).unwrap().len(), 1);
    assert!(!db.more);
}

#[test]
fn a_locked_database_is_a_busy_problem_and_is_read_once_free() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opencode.db");
    // A rollback journal: a writer's exclusive lock keeps readers out
    // (in WAL mode nothing does, short of recovery).
    let w = writer(&path, "DELETE");
    upsert(&w, "msg_1", &assistant(1, true, 1_795_000_000_000));
    let mut db = Database::new(&path, None);
    w.execute_batch("BEGIN EXCLUSIVE").unwrap();
    upsert(&w, "msg_2", &assistant(2, true, 1_795_000_000_001));
    let err = db.poll(100, chrono::Utc::now()).err().unwrap();
    assert!(err.busy, "{err:?}");
    assert!(err.message.contains("database busy"), "{err:?}");
    assert_eq!(db.checkpoint("oc").rowid, 0, "nothing read in a failed poll counts");
    w.execute_batch("COMMIT").unwrap();
    assert_eq!(outcomes(&db.poll(100, chrono::Utc::now()).unwrap()), pairs(&[("msg_1", "1"), ("msg_2", "2")]));
}

#[test]
fn a_file_that_is_not_a_database_yet_is_a_problem_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opencode.db");
    let mut db = Database::new(&path, None);
    assert!(db.poll(100, chrono::Utc::now()).err().unwrap().message.contains("cannot open"));
    std::fs::write(&path, b"not a database at all, just some bytes that are long enough to look like a header....").unwrap();
    assert!(db.poll(100, chrono::Utc::now()).is_err());
    std::fs::remove_file(&path).unwrap();
    let w = writer(&path, "WAL");
    upsert(&w, "msg_1", &assistant(1, true, 1_795_000_000_000));
    assert_eq!(db.poll(100, chrono::Utc::now()).unwrap().len(), 1);
}
