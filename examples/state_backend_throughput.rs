//! The two state backends, measured on the same records: `--records` commits
//! of `--per-record` bookings each (one OTLP export's worth), through the
//! local store (journal append + fsync) and through PostgreSQL (one
//! transaction under the lease epoch, `synchronous_commit` as the server
//! has it). Prints commits/s, bookings/s and commit latency percentiles.
//! With `--takeover`, also how long a second holder waits for the lease
//! after the first holder's process is killed with SIGKILL.
//!
//! ```text
//! scripts/bench-postgres        # starts a PostgreSQL and runs this
//! cargo run --release --example state_backend_throughput -- \
//!     --url-file F [--dir D] [--records 2000] [--per-record 10] [--takeover]
//! ```

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use chrono::{TimeZone, Utc};
use creditwatch::ledger::Entry;
use creditwatch::state::postgres::{DbUrl, Lease, PgStore};
use creditwatch::state::seen::Seen;
use creditwatch::state::store::Store;
use creditwatch::state::{Batch, Booked, Record, State};
use creditwatch::usage::{EventId, Tokens};
use rust_decimal::Decimal;

const LEASE: Duration = Duration::from_secs(10);

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn number(name: &str, default: u64) -> Result<u64> {
    arg(name).map_or(Ok(default), |n| n.parse().with_context(|| name.to_string()))
}

/// The opening record (applied to `state`).
fn opening(state: &mut State) -> Record {
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    let entry = Entry::Opened { account: "team".into(), balance: Decimal::from(1_000_000), as_of: at };
    state.ledger.apply(&entry).unwrap();
    Record::Ledger(vec![entry])
}

/// `n` bookings of fresh requests from `first` on (applied to `state`).
fn batch(state: &mut State, first: u128, n: u64) -> Record {
    let at = Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap();
    let cost = Decimal::new(1234, 5);
    let tokens = Tokens { input: 1200, output: 300, cache_read: 18_000, ..Tokens::default() };
    let mut batch = Batch::default();
    for i in 0..n as u128 {
        batch.ledger.extend(state.ledger.book_usage("team", "claude-code", at, cost).unwrap());
        batch.usage.push(Booked {
            source: "otlp".into(),
            account: "team".into(),
            app: "claude-code".into(),
            model: "claude-sonnet-4-5".into(),
            id: EventId(first + i),
            at,
            tokens,
            cost,
            new_request: true,
            unpriced: false,
            seen: Seen { tokens, web_searches: 0, cost, at: at.timestamp() },
            user: None,
            cache_savings: Decimal::ZERO,
            premium_requests: Decimal::ZERO,
            user_cost: None,
        });
    }
    state.apply_batch_usage(&batch);
    Record::Batch(batch)
}

fn report(name: &str, mut latencies: Vec<Duration>, total: Duration, per_record: u64) {
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)].as_secs_f64() * 1e3;
    let n = latencies.len() as f64;
    println!(
        "{name:<28} {:>8.0} commits/s {:>9.0} bookings/s   p50 {:>6.2} ms  p99 {:>6.2} ms",
        n / total.as_secs_f64(),
        n * per_record as f64 / total.as_secs_f64(),
        pct(0.5),
        pct(0.99)
    );
}

fn bench_dir(dir: &std::path::Path, records: u64, per: u64) -> Result<()> {
    let mut store = Store::open(dir, chrono_tz::UTC)?;
    let r = opening(&mut store.state);
    store.commit(&r)?;
    let mut latencies = Vec::new();
    let started = Instant::now();
    for i in 0..records {
        let r = batch(&mut store.state, (i * per) as u128 + 1, per);
        let t = Instant::now();
        store.commit(&r)?;
        latencies.push(t.elapsed());
    }
    report("local journal (fsync)", latencies, started.elapsed(), per);
    Ok(())
}

async fn bench_postgres(url: DbUrl, records: u64, per: u64) -> Result<()> {
    let mut store = PgStore::open(url.clone(), LEASE, chrono_tz::UTC).await?;
    let lease = Lease::try_acquire(&url, "bench", LEASE).await?.ok_or_else(|| anyhow!("the lease is held by someone else"))?;
    store.reload().await?;
    if store.seq() > 0 {
        return Err(anyhow!("{url} is not empty: benchmark on a new database"));
    }
    let r = opening(&mut store.state);
    store.commit(lease.epoch(), &r).await?;
    let mut latencies = Vec::new();
    let started = Instant::now();
    for i in 0..records {
        let r = batch(&mut store.state, (i * per) as u128 + 1, per);
        let t = Instant::now();
        store.commit(lease.epoch(), &r).await?;
        latencies.push(t.elapsed());
    }
    report("PostgreSQL (one tx/commit)", latencies, started.elapsed(), per);
    lease.release().await;
    Ok(())
}

/// Child: takes the lease, says so, then waits to be killed.
async fn hold(url: DbUrl) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let _lease = loop {
        match Lease::try_acquire(&url, "killed", LEASE).await? {
            Some(lease) => break lease,
            None if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(10)).await,
            None => return Err(anyhow!("the lease stayed held for 30 s")),
        }
    };
    println!("held");
    tokio::time::sleep(Duration::from_secs(3600)).await;
    Ok(())
}

/// Kills a holder with SIGKILL and times how long until the lease is ours.
async fn takeover(url: DbUrl, url_file: &str, rounds: u32) -> Result<()> {
    use std::io::BufRead;
    let mut times = Vec::new();
    for _ in 0..rounds {
        let mut child = std::process::Command::new(std::env::current_exe()?)
            .args(["--url-file", url_file, "--hold"])
            .stdout(std::process::Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?).read_line(&mut line)?;
        if line.trim() != "held" {
            return Err(anyhow!("the holder did not take the lease: {line:?}"));
        }
        child.kill()?;
        let killed = Instant::now();
        child.wait()?;
        let lease = loop {
            if let Some(lease) = Lease::try_acquire(&url, "next", LEASE).await? {
                break lease;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        times.push(killed.elapsed());
        lease.release().await;
    }
    times.sort();
    println!(
        "lease takeover after SIGKILL ({rounds} rounds, polling every 10 ms): min {:.1} ms  median {:.1} ms  max {:.1} ms",
        times[0].as_secs_f64() * 1e3,
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3
    );
    Ok(())
}

fn main() -> Result<()> {
    let url_file = arg("--url-file").ok_or_else(|| anyhow!("--url-file FILE (a postgres:// URL) is required"))?;
    let url = DbUrl::read(&PathBuf::from(&url_file))?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    if std::env::args().any(|a| a == "--hold") {
        return runtime.block_on(hold(url));
    }
    let records = number("--records", 2000)?;
    let per = number("--per-record", 10)?;
    println!("{records} commits of {per} bookings each");
    let dir = match arg("--dir") {
        Some(d) => PathBuf::from(d),
        None => std::env::temp_dir().join(format!("creditwatch-bench-{}", std::process::id())),
    };
    bench_dir(&dir, records, per)?;
    std::fs::remove_dir_all(&dir).ok();
    runtime.block_on(bench_postgres(url.clone(), records, per))?;
    if std::env::args().any(|a| a == "--takeover") {
        runtime.block_on(takeover(url, &url_file, 10))?;
    }
    Ok(())
}
