//! The PostgreSQL state backend against a real PostgreSQL (Debian's
//! package, a cluster of the test's own): migrations, the writer's lease and
//! its epoch fence, unique request and top-up ids, replay from a snapshot,
//! and a database that stops and comes back.

mod postgres_support;

use std::time::{Duration, Instant};

use creditwatch::ledger::Entry;
use creditwatch::state::postgres::{DbUrl, Lease, PgError, PgStore};
use creditwatch::state::Record;
use postgres_support::{at, Postgres};
use rust_decimal::Decimal;

const LEASE: Duration = Duration::from_secs(10);

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn url(pg: &Postgres) -> DbUrl {
    DbUrl::parse(&pg.url()).unwrap()
}

async fn open(pg: &Postgres) -> PgStore {
    PgStore::open(url(pg), LEASE, chrono_tz::UTC).await.unwrap()
}

/// Opens the account "team" with `balance` in the store's state; the
/// record to commit.
fn opening(store: &mut PgStore, balance: &str) -> Record {
    let entry = Entry::Opened { account: "team".into(), balance: dec(balance), as_of: at() - chrono::Duration::days(1) };
    store.state.ledger.apply(&entry).unwrap();
    Record::Ledger(vec![entry])
}

fn booking(store: &mut PgStore, id: u128, cost: &str) -> Record {
    postgres_support::booking(&mut store.state, id, dec(cost))
}

fn balance(store: &PgStore) -> Decimal {
    store.state.ledger.view("team", at()).unwrap().balance_usd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_once_and_a_writer_that_lost_its_lease_cannot_commit() {
    let pg = Postgres::start();
    // Two replicas starting together both migrate; the schema is applied once.
    let (mut a, mut b) = tokio::join!(open(&pg), open(&pg));
    assert_eq!(pg.psql("SELECT string_agg(version::text, ',') FROM creditwatch_schema"), "1,2");

    let lease_a = Lease::try_acquire(&url(&pg), "replica-a", LEASE).await.unwrap().expect("a takes the free lease");
    assert_eq!(lease_a.epoch(), 1);
    assert!(Lease::try_acquire(&url(&pg), "replica-b", LEASE).await.unwrap().is_none(), "b must not take a held lease");

    let r = opening(&mut a, "100.00");
    a.commit(lease_a.epoch(), &r).await.unwrap();
    let r = booking(&mut a, 1, "1.25");
    a.commit(lease_a.epoch(), &r).await.unwrap();

    // a's lock session ends (its process died): b takes over with epoch 2.
    let stale = lease_a.epoch();
    drop(lease_a);
    let lease_b = wait_for_lease(&pg, "replica-b").await;
    assert_eq!(lease_b.epoch(), 2);
    assert_eq!(pg.psql("SELECT holder || ' ' || epoch FROM creditwatch_lease"), "replica-b 2");

    // a still believes it writes: its commit is refused in the database.
    let r = booking(&mut a, 2, "2.00");
    match a.commit(stale, &r).await {
        Err(PgError::LeaseLost { mine: 1, current: Some(2) }) => {}
        other => panic!("a stale writer's commit must be refused, got {other:?}"),
    }
    a.reload().await.unwrap();
    assert_eq!(balance(&a), dec("98.75"), "a's refused booking is gone after reload");

    // b replays a's two records, then writes the third.
    assert_eq!(b.catch_up().await.unwrap(), 2);
    assert_eq!(balance(&b), dec("98.75"));
    let r = booking(&mut b, 2, "2.00");
    b.commit(lease_b.epoch(), &r).await.unwrap();
    assert_eq!(a.catch_up().await.unwrap(), 1);
    assert_eq!(balance(&a), dec("96.75"));
    assert_eq!(pg.psql("SELECT count(*) FROM creditwatch_records"), "3");
    assert_eq!(pg.psql("SELECT string_agg(epoch::text, ',' ORDER BY seq) FROM creditwatch_records"), "1,1,2");
}

async fn wait_for_lease(pg: &Postgres, holder: &str) -> Lease {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(lease) = Lease::try_acquire(&url(pg), holder, LEASE).await.unwrap() {
            return lease;
        }
        assert!(Instant::now() < deadline, "{holder} never got the lease");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_id_and_a_top_up_id_are_booked_once_in_the_database() {
    let pg = Postgres::start();
    let mut a = open(&pg).await;
    let lease = Lease::try_acquire(&url(&pg), "a", LEASE).await.unwrap().unwrap();
    let r = opening(&mut a, "50");
    a.commit(lease.epoch(), &r).await.unwrap();
    let r = booking(&mut a, 7, "3.00");
    a.commit(lease.epoch(), &r).await.unwrap();

    // A replica whose state missed request 7 (its seen index empty) books it
    // again: the database refuses, whatever the replica believed.
    let mut forgetful = open(&pg).await;
    forgetful.state.seen = Default::default();
    let r = booking(&mut forgetful, 7, "3.00");
    match forgetful.commit(lease.epoch(), &r).await {
        Err(PgError::Duplicate(what)) => assert_eq!(what, "a request id booked before"),
        other => panic!("a second booking of request 7 must be refused, got {other:?}"),
    }
    // A top-up id used twice (by two records) is refused the same way.
    let topup = Entry::TopUp { account: "team".into(), id: "tu-1".into(), amount: dec("20"), note: None, at: at() };
    a.commit(lease.epoch(), &Record::Ledger(vec![topup.clone()])).await.unwrap();
    a.reload().await.unwrap();
    match a.commit(lease.epoch(), &Record::Ledger(vec![topup])).await {
        Err(PgError::Duplicate(what)) => assert_eq!(what, "a top-up or reconcile id used before"),
        other => panic!("a second top-up tu-1 must be refused, got {other:?}"),
    }
    assert_eq!(pg.psql("SELECT count(*) FROM creditwatch_records"), "3");
    assert_eq!(pg.psql("SELECT count(*) || ' ' || min(seq) FROM creditwatch_requests"), "1 2");
    a.reload().await.unwrap();
    assert_eq!(balance(&a), dec("67.00"));
}

/// The seen index forgets requests older than `dedup_retention`; the
/// database forgets their ids in the same commit, so a copy sent after the
/// retention is booked (as a state directory books it) instead of being
/// refused forever — and an id still inside it stays refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_forgotten_with_the_seen_index_retention() {
    let pg = Postgres::start();
    let mut a = open(&pg).await;
    let lease = Lease::try_acquire(&url(&pg), "a", LEASE).await.unwrap().unwrap();
    let r = opening(&mut a, "50");
    a.commit(lease.epoch(), &r).await.unwrap();
    for id in [1, 2] {
        let r = booking(&mut a, id, "1.00");
        a.commit(lease.epoch(), &r).await.unwrap();
    }
    let at = postgres_support::at().timestamp();
    assert_eq!(pg.psql("SELECT string_agg(at::text, ',' ORDER BY at) FROM creditwatch_requests"), format!("{at},{at}"));
    // Retention passes request 1 and 2's event time (both booked at `at`).
    let retention = creditwatch::state::Batch { forget_before: Some(at + 1), ..Default::default() };
    a.state.apply(&Record::Batch(retention.clone())).unwrap();
    a.commit(lease.epoch(), &Record::Batch(retention)).await.unwrap();
    assert_eq!(pg.psql("SELECT count(*) FROM creditwatch_requests"), "0");
    assert!(a.state.seen.is_empty(), "the seen index forgot them too");
    let r = booking(&mut a, 1, "1.00");
    a.commit(lease.epoch(), &r).await.expect("a copy after the retention is booked as new");
    let r = booking(&mut a, 1, "1.00");
    a.state.seen = Default::default();
    match a.commit(lease.epoch(), &r).await {
        Err(PgError::Duplicate(what)) => assert_eq!(what, "a request id booked before"),
        other => panic!("an id inside the retention must stay refused, got {other:?}"),
    }
    a.reload().await.unwrap();
    assert_eq!(balance(&a), dec("47.00"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_missed_a_commit_conflicts_instead_of_forking() {
    let pg = Postgres::start();
    let mut a = open(&pg).await;
    let mut behind = open(&pg).await;
    let lease = Lease::try_acquire(&url(&pg), "a", LEASE).await.unwrap().unwrap();
    let r = opening(&mut a, "10");
    a.commit(lease.epoch(), &r).await.unwrap();
    // `behind` has not read record 1, so its next record would also be 1.
    let r = opening(&mut behind, "99");
    match behind.commit(lease.epoch(), &r).await {
        Err(PgError::Behind { seq: 1 }) => {}
        other => panic!("a commit over record 1 must conflict, got {other:?}"),
    }
    behind.reload().await.unwrap();
    assert_eq!(balance(&behind), dec("10"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_ends_the_lease_of_a_holder_that_stopped_renewing() {
    let pg = Postgres::start();
    let _store = open(&pg).await;
    let short = Duration::from_millis(1500);
    let paused = Lease::try_acquire(&url(&pg), "paused", short).await.unwrap().unwrap();
    // `paused` sends nothing (as a SIGSTOPped process): idle_session_timeout
    // ends its session and the lock is free again.
    let started = Instant::now();
    let next = loop {
        if let Some(lease) = Lease::try_acquire(&url(&pg), "next", short).await.unwrap() {
            break lease;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the lease of a silent holder never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(started.elapsed() >= Duration::from_millis(1000), "taken over before the lease ran out: {:?}", started.elapsed());
    assert_eq!(next.epoch(), paused.epoch() + 1);
    assert!(matches!(paused.renew().await, Err(PgError::LeaseLost { .. })), "the paused holder must find its lease gone");
    next.renew().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_from_a_snapshot_gives_the_same_state_and_history() {
    let pg = Postgres::start();
    let mut a = open(&pg).await;
    let lease = Lease::try_acquire(&url(&pg), "a", LEASE).await.unwrap().unwrap();
    let r = opening(&mut a, "1000");
    a.commit(lease.epoch(), &r).await.unwrap();
    for id in 1..=30u128 {
        let r = booking(&mut a, id, "0.37");
        a.commit(lease.epoch(), &r).await.unwrap();
        if id == 20 {
            a.snapshot().await.unwrap();
        }
    }
    assert_eq!(pg.psql("SELECT string_agg(seq::text, ',') FROM creditwatch_snapshots"), "21");
    let b = open(&pg).await;
    assert_eq!(b.seq(), 31);
    assert_eq!(balance(&b), dec("988.90"));
    assert_eq!(b.state.records, a.state.records);
    assert_eq!(b.state.seen.len(), 30);
    // Debits are summed per day into runs, and a run does not continue past
    // a snapshot (`state::history`): the same money in one more row.
    let total = |s: &PgStore| s.history().entries().iter().map(Entry::balance_change).sum::<Decimal>();
    assert_eq!(total(&a), dec("988.90"));
    assert_eq!(total(&b), dec("988.90"));
    assert_eq!(a.history().entries().len(), 2, "opening + one run of 30 debits");
    assert_eq!(b.history().entries().len(), 3, "opening + the run before the snapshot + the run after it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_stops_refuses_commits_retryably_and_loses_nothing() {
    let pg = Postgres::start();
    let mut a = open(&pg).await;
    let lease = Lease::try_acquire(&url(&pg), "a", LEASE).await.unwrap().unwrap();
    let r = opening(&mut a, "10");
    a.commit(lease.epoch(), &r).await.unwrap();
    pg.stop_server();
    let r = booking(&mut a, 1, "1");
    let err = a.commit(lease.epoch(), &r).await.expect_err("no database, no commit");
    assert!(err.is_unavailable(), "a stopped database is a retryable error, got {err:?}");
    assert!(a.reload().await.expect_err("no database, no reload").is_unavailable());
    pg.start_server();
    // The lease session died with the server: the writer takes it again
    // (a new epoch), reloads, and books the request it could not commit.
    assert!(matches!(lease.renew().await, Err(PgError::LeaseLost { .. }) | Err(PgError::Db(_))));
    let lease = wait_for_lease(&pg, "a").await;
    a.reload().await.unwrap();
    assert_eq!(balance(&a), dec("10"), "nothing of the failed commit is kept");
    let r = booking(&mut a, 1, "1");
    a.commit(lease.epoch(), &r).await.unwrap();
    assert_eq!(open(&pg).await.state.ledger.view("team", at()).unwrap().balance_usd, dec("9"));
}

#[test]
fn the_url_with_its_password_is_never_shown() {
    let u = DbUrl::parse("postgres://cw:hunter2@db.internal:6543/ledger").unwrap();
    assert_eq!(format!("{u:?}"), "postgres://db.internal:6543/ledger");
    assert_eq!(u.to_string(), "postgres://db.internal:6543/ledger");
    assert!(DbUrl::parse("mysql://x").is_err());
}
