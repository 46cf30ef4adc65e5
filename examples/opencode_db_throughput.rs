//! The OpenCode database reading mode, measured: a database of `--rows`
//! messages (the fixture's kinds of rows, each with its own id) is written
//! to a temporary folder with OpenCode's schema in WAL mode, then read as
//! `report` reads it (every row) and as the daemon follows it (a first poll,
//! a poll with nothing new, a poll after one row was added, a restart from
//! the checkpoint).
//!
//! ```text
//! cargo run --release --example opencode_db_throughput -- --rows 200000
//! ```

use std::time::Instant;

use anyhow::{Context, Result};
use creditwatch::sources::follow::database::{read_all, Database};
use creditwatch::sources::LineResult;
use rusqlite::Connection;

const KINDS: [&str; 4] = [
    r#"{"role":"user","time":{"created":CREATED},"agent":"build","model":{"providerID":"anthropic","modelID":"claude-sonnet-4-5-20250929"}}"#,
    r#"{"role":"assistant","time":{"created":CREATED,"completed":CREATED},"parentID":"msg_ad3e0f1a2001pLm3Nb6Vc9Xz1K","modelID":"claude-sonnet-4-5-20250929","providerID":"anthropic","mode":"build","agent":"build","path":{"cwd":"/home/dev/shop","root":"/home/dev/shop"},"cost":0.020736,"tokens":{"input":12,"output":420,"reasoning":0,"cache":{"read":18000,"write":2400}},"finish":"stop"}"#,
    r#"{"role":"assistant","time":{"created":CREATED,"completed":CREATED},"parentID":"msg_ad3e0f1a2001pLm3Nb6Vc9Xz1K","modelID":"gpt-5","providerID":"openai","mode":"build","agent":"build","path":{"cwd":"/home/dev/shop","root":"/home/dev/shop"},"cost":0,"tokens":{"input":1500,"output":800,"reasoning":640,"cache":{"read":3200,"write":0}},"finish":"tool-calls"}"#,
    r#"{"role":"assistant","time":{"created":CREATED,"completed":CREATED},"parentID":"msg_ad3e0f9d0001Mn0Op3Qr6St9Uv","modelID":"claude-haiku-4-5-20251001","providerID":"anthropic","mode":"build","agent":"explore","path":{"cwd":"/home/dev/shop","root":"/home/dev/shop"},"cost":0.004584,"tokens":{"input":9,"output":300,"reasoning":0,"cache":{"read":12000,"write":1500}},"finish":"stop"}"#,
];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let rows: i64 =
        args.iter().position(|a| a == "--rows").and_then(|i| args.get(i + 1)).map_or(Ok(200_000), |n| n.parse()).context("--rows")?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("opencode.db");
    let w = Connection::open(&path)?;
    w.pragma_update(None, "journal_mode", "WAL")?;
    w.execute_batch("CREATE TABLE message (id text PRIMARY KEY, session_id text NOT NULL, time_created integer NOT NULL, time_updated integer NOT NULL, data text NOT NULL);")?;
    w.execute_batch("BEGIN")?;
    let mut bytes = 0usize;
    for i in 0..rows {
        let created = 1_795_000_000_000 + i * 1000;
        let data = KINDS[(i % 4) as usize].replace("CREATED", &created.to_string());
        bytes += data.len();
        w.execute(
            "INSERT INTO message VALUES (?1, ?2, ?3, ?3, ?4)",
            (format!("msg_{i:012x}bench"), format!("ses_{:06}", i / 40), created, data),
        )?;
    }
    w.execute_batch("COMMIT")?;
    let size = std::fs::metadata(&path)?.len();
    println!("database: {rows} rows, {:.1} MiB of message JSON, {:.1} MiB file", bytes as f64 / 1048576.0, size as f64 / 1048576.0);

    let start = Instant::now();
    let all = read_all(&path);
    let took = start.elapsed().as_secs_f64();
    let events = all.iter().filter(|r| matches!(r.result, LineResult::Event(_))).count();
    println!(
        "report (read_all): {} rows, {events} requests in {:.3} s = {:.0} rows/s, {:.1} MiB/s of JSON",
        all.len(),
        took,
        all.len() as f64 / took,
        bytes as f64 / 1048576.0 / took
    );
    drop(all);

    let mut db = Database::new(&path, None);
    let now = chrono::Utc::now();
    let mut first = 0;
    let start = Instant::now();
    loop {
        first += db.poll(20_000, now).map_err(|p| anyhow::anyhow!(p.message))?.len();
        if !db.more {
            break;
        }
    }
    println!("daemon first catch-up: {first} rows in {:.3} s (polls of 20000 rows)", start.elapsed().as_secs_f64());
    let start = Instant::now();
    let idle = db.poll(20_000, now).map_err(|p| anyhow::anyhow!(p.message))?.len();
    println!("daemon poll, nothing new: {idle} rows in {:.1} us", start.elapsed().as_secs_f64() * 1e6);
    w.execute("INSERT INTO message VALUES ('msg_new', 'ses_new', 1, 1, ?1)", [KINDS[2].replace("CREATED", "1795000000000")])?;
    let start = Instant::now();
    let one = db.poll(20_000, now).map_err(|p| anyhow::anyhow!(p.message))?.len();
    println!("daemon poll, one row added: {one} rows in {:.1} us", start.elapsed().as_secs_f64() * 1e6);
    let checkpoint = db.checkpoint("bench");
    let mut again = Database::new(&path, Some(&checkpoint));
    let start = Instant::now();
    let resumed = again.poll(20_000, now).map_err(|p| anyhow::anyhow!(p.message))?.len();
    println!(
        "daemon restart from the checkpoint: {resumed} rows re-booked, {:.3} s (every earlier row looked at once for fork copies)",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
