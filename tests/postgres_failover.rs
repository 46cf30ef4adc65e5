//! The writer's lease between real processes on a real PostgreSQL. A child
//! process (this test binary run again, `writer_process`) takes the lease
//! and commits a booking every few milliseconds; the test kills it with
//! SIGKILL ten times and takes over each time, and pauses one with SIGSTOP
//! past its lease: its commit after SIGCONT is refused by the database.
//! Every booking is in the database once and the balance is exact.

mod postgres_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use creditwatch::ledger::Entry;
use creditwatch::state::postgres::{DbUrl, Lease, PgError, PgStore};
use creditwatch::state::Record;
use postgres_support::{at, Postgres};
use rust_decimal::Decimal;

const URL_ENV: &str = "CW_TEST_WRITER_URL";
const LEASE_ENV: &str = "CW_TEST_WRITER_LEASE_MS";
const COST: &str = "0.01";

/// Books the next request (its id: one more than the requests booked) into
/// the store's state; the record to commit.
fn next_booking(store: &mut PgStore) -> Record {
    let id = store.state.seen.len() as u128 + 1;
    postgres_support::booking(&mut store.state, id, COST.parse().unwrap())
}

/// The child: takes the lease, then commits a booking every 20 ms without
/// ever checking the lease first (it believes it holds it), printing one
/// line per commit; stops when the database refuses it.
#[test]
#[ignore = "run by the tests below as a separate process"]
fn writer_process() {
    let Ok(url) = std::env::var(URL_ENV) else { panic!("{URL_ENV} is not set: this test is run by the others") };
    let lease_ms: u64 = std::env::var(LEASE_ENV).unwrap().parse().unwrap();
    let lease_for = Duration::from_millis(lease_ms);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let url = DbUrl::parse(&url).unwrap();
        let mut store = PgStore::open(url.clone(), lease_for, chrono_tz::UTC).await.unwrap();
        // The previous holder's session may take a moment to close.
        let deadline = Instant::now() + Duration::from_secs(30);
        let lease = loop {
            if let Some(lease) = Lease::try_acquire(&url, "child", lease_for).await.unwrap() {
                break lease;
            }
            assert!(Instant::now() < deadline, "the child never got the lease");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        store.reload().await.unwrap();
        println!("held {}", lease.epoch());
        loop {
            let record = next_booking(&mut store);
            match store.commit(lease.epoch(), &record).await {
                Ok(()) => println!("committed {}", store.seq()),
                Err(PgError::LeaseLost { mine, current }) => {
                    println!("refused: lease lost (epoch {mine}, database has {current:?})");
                    return;
                }
                Err(e) => {
                    // The server ended a session of ours: reconnect and retry.
                    println!("error: {e}");
                    store.reload().await.unwrap();
                }
            }
            // Keeps the lease session from idling out; a failure is ignored
            // on purpose: only the fence in the commit protects the ledger.
            let _ = lease.renew().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
}

struct Writer {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Writer {
    fn spawn(pg: &Postgres, lease: Duration) -> Writer {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["writer_process", "--exact", "--ignored", "--nocapture", "--test-threads", "1"])
            .env(URL_ENV, pg.url())
            .env(LEASE_ENV, lease.as_millis().to_string())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Writer { child, lines }
    }

    /// Waits for a line holding `prefix` (libtest's own "test ... " may
    /// precede it on the first line); returns it from `prefix` on.
    fn wait_for(&self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(prefix) => return line[line.find(prefix).unwrap_or(0)..].to_string(),
                Ok(_) => {}
                Err(_) => panic!("the writer process never printed {prefix:?}"),
            }
        }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill").args([sig, &self.child.id().to_string()]).status().unwrap().success();
        assert!(ok, "kill {sig} failed");
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn setup(pg: &Postgres, lease: Duration) -> PgStore {
    let url = DbUrl::parse(&pg.url()).unwrap();
    let mut store = PgStore::open(url.clone(), lease, chrono_tz::UTC).await.unwrap();
    let first = Lease::try_acquire(&url, "setup", lease).await.unwrap().unwrap();
    let entry = Entry::Opened { account: "team".into(), balance: "100.00".parse().unwrap(), as_of: at() - chrono::Duration::days(1) };
    store.state.ledger.apply(&entry).unwrap();
    store.commit(first.epoch(), &Record::Ledger(vec![entry])).await.unwrap();
    first.release().await;
    store
}

async fn take_lease(url: &DbUrl, lease: Duration) -> Lease {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(l) = Lease::try_acquire(url, "test", lease).await.unwrap() {
            return l;
        }
        assert!(Instant::now() < deadline, "the lease was never free");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Every record in order, each request once, and the balance exact.
async fn check_ledger(pg: &Postgres, store: &mut PgStore) -> u64 {
    store.reload().await.unwrap();
    let records: i64 = pg.psql("SELECT count(*) FROM creditwatch_records").parse().unwrap();
    assert_eq!(pg.psql("SELECT max(seq) FROM creditwatch_records"), records.to_string(), "seq has no gap");
    let requests: u64 = pg.psql("SELECT count(*) FROM creditwatch_requests").parse().unwrap();
    assert_eq!(requests, records as u64 - 1, "one booking per record after the opening");
    assert_eq!(store.state.seen.len() as u64, requests);
    let spent = Decimal::from(requests) * COST.parse::<Decimal>().unwrap();
    assert_eq!(store.state.ledger.view("team", at()).unwrap().balance_usd, Decimal::from(100) - spent);
    requests
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_killed_ten_times_loses_nothing_and_books_nothing_twice() {
    let pg = Postgres::start();
    let lease = Duration::from_secs(5);
    let url = DbUrl::parse(&pg.url()).unwrap();
    let mut store = setup(&pg, lease).await;
    let mut takeovers = Vec::new();
    for _ in 0..10 {
        let writer = Writer::spawn(&pg, lease);
        writer.wait_for("held");
        for _ in 0..3 {
            writer.wait_for("committed");
        }
        writer.signal("-KILL");
        let killed = Instant::now();
        // The next writer: takes the lease, replays, books one request.
        let mine = take_lease(&url, lease).await;
        takeovers.push(killed.elapsed());
        store.reload().await.unwrap();
        let r = next_booking(&mut store);
        store.commit(mine.epoch(), &r).await.unwrap();
        mine.release().await;
        drop(writer);
    }
    let requests = check_ledger(&pg, &mut store).await;
    assert!(requests >= 40, "ten writers with three commits each plus ten takeovers: {requests}");
    takeovers.sort();
    eprintln!("lease takeover after SIGKILL: min {:?} median {:?} max {:?}", takeovers[0], takeovers[5], takeovers[9]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_paused_past_its_lease_has_its_late_commit_refused() {
    let pg = Postgres::start();
    let lease = Duration::from_millis(1500);
    let url = DbUrl::parse(&pg.url()).unwrap();
    let mut store = setup(&pg, lease).await;
    let writer = Writer::spawn(&pg, lease);
    let held = writer.wait_for("held");
    for _ in 0..3 {
        writer.wait_for("committed");
    }
    writer.signal("-STOP");
    let paused = Instant::now();
    let mine = take_lease(&url, lease).await;
    assert!(paused.elapsed() >= Duration::from_millis(1000), "taken over before the lease ran out");
    assert_eq!(format!("held {}", mine.epoch() - 1), held);
    store.reload().await.unwrap();
    let r = next_booking(&mut store);
    store.commit(mine.epoch(), &r).await.unwrap();
    let takeover_seq = store.seq();

    writer.signal("-CONT");
    let refused = writer.wait_for("refused");
    assert_eq!(refused, format!("refused: lease lost (epoch {}, database has Some({}))", mine.epoch() - 1, mine.epoch()));
    let late: i64 = pg
        .psql(&format!(
            "SELECT count(*) FROM creditwatch_records WHERE seq > {takeover_seq} OR (seq >= {takeover_seq} AND epoch <> {})",
            mine.epoch()
        ))
        .parse()
        .unwrap();
    assert_eq!(late, 0, "nothing of the paused writer after the takeover");
    check_ledger(&pg, &mut store).await;
}
