//! Two `creditwatch run` replicas on one real PostgreSQL (Debian's package,
//! a cluster in a temporary folder): one writer holds the lease, the other
//! answers OTLP with 503 and follows the writer's commits. A sender streams
//! OTLP/HTTP exports to both with retries, as a Collector with two endpoints
//! does, while the writer is killed ten times (twice holding an export just
//! before or just after its commit), paused past its lease, or the database
//! is stopped: every request is booked exactly once, the balance is exact to
//! the last digit on both replicas, an alert fires once and resolves once.
//! A state directory moved into PostgreSQL gives a PG daemon the same
//! balance and history as the local-journal daemon that wrote it.
//!
//! Takeover and follow times are printed (`--nocapture`), never asserted
//! beyond a generous deadline.

mod alerting_support;
mod common;
mod otlp_support;
mod postgres_daemon_support;
mod postgres_support;

use std::path::Path;
use std::time::{Duration, Instant};

use alerting_support::TestReceiver;
use common::{http, Daemon};
use postgres_daemon_support::{export, top_up, Pair, Role, Sender, Sent, ADMIN_TOKEN, DEADLINE, LEASE_SECONDS};
use postgres_support::Postgres;

const RECORDS: u64 = 5;

/// Notifications the receiver got with `status` for `alertname`.
fn notifications(receiver: &TestReceiver, status: &str, alertname: &str) -> usize {
    receiver
        .requests()
        .iter()
        .filter(|r| r.body["status"] == status)
        .filter(|r| r.body["alerts"].as_array().is_some_and(|alerts| alerts.iter().any(|a| a["labels"]["alertname"] == alertname)))
        .count()
}

#[test]
fn ten_writer_kills_lose_nothing_and_book_nothing_twice() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let receiver = runtime.block_on(TestReceiver::start(vec![]));
    // About 100 requests of ~$0.005 bring the balance under $99.50: the
    // alert fires early, stays firing through four kills, is resolved by a
    // $50 top-up (far more than the run spends) and stays resolved.
    let alerting = format!(
        "alerting:\n  evaluate_every: \"200ms\"\n  repeat_every: \"1h\"\n  low_balance_usd: \"99.50\"\n  delivery: {{ retry_base: \"50ms\", retry_max: \"200ms\", max_attempts: 5 }}\n  receivers:\n    - {{ name: oncall, type: webhook, url: \"{}\" }}\n",
        receiver.url("/hook")
    );
    // Replica a holds an export after committing it, b before (while the
    // file `hold` exists in its folder): the first two kills land there.
    let mut pair = Pair::start_with(&alerting, |replica| {
        let point = if replica.name == "a" { "after-commit" } else { "before-commit" };
        vec![("CREDITWATCH_OTLP_FAILPOINT".into(), format!("{point}:{}", replica.dir.join("hold").display()))]
    });
    let sender = Sender::start(pair.ports(), 0, RECORDS);

    wait_notification(&receiver, "firing", "CreditBalanceLow");
    let writer = pair.writer();
    pair.replicas[writer].wait_metric(r#"creditwatch_notifications_total{outcome="sent",receiver="oncall"}"#, "1");

    let mut takeovers = Vec::new();
    let mut topups = rust_decimal::Decimal::ZERO;
    for round in 1..=10 {
        // Load between kills: exports keep arriving while the writer dies.
        sender.wait_for_more(10);
        let old = pair.writer();
        let new = 1 - old;
        let hold = pair.replicas[old].dir.join("hold");
        if round <= 2 {
            let held = |replica: &postgres_daemon_support::Replica| replica.log().matches("failpoint: holding this OTLP export").count();
            let before = held(&pair.replicas[old]);
            std::fs::write(&hold, "").unwrap();
            pair.replicas[old].wait("to hold an export at its failpoint", || held(&pair.replicas[old]) > before);
            println!("kill {round}: {} holds an export at its failpoint", pair.replicas[old].name);
        }
        let killed = Instant::now();
        pair.replicas[old].kill();
        let _ = std::fs::remove_file(&hold);
        pair.replicas[new].wait("to take the lease after the writer's SIGKILL", || pair.replicas[new].role() == Some(Role::Writer));
        let took = killed.elapsed();
        println!("kill {round}: {} took over from {} in {took:?}", pair.replicas[new].name, pair.replicas[old].name);
        takeovers.push(took);
        pair.replicas[new].wait_metric("creditwatch_leader", "1");
        assert_eq!(pair.replicas[old].start(), Role::Replica, "the restarted {} comes back as a replica", pair.replicas[old].name);
        pair.replicas[old].wait_metric("creditwatch_leader", "0");
        if round == 5 {
            // A top-up in the middle, and its retry: booked once.
            assert_eq!(top_up(pair.ports(), "t-1", "50.00"), 201);
            assert_eq!(top_up(pair.ports(), "t-1", "50.00"), 200);
            topups += rust_decimal::Decimal::new(5000, 2);
            wait_notification(&receiver, "resolved", "CreditBalanceLow");
        }
    }
    sender.wait_for_more(10);
    let sent = Sent { topups, ..sender.finish() };
    let max = takeovers.iter().max().unwrap();
    println!("takeover times: {takeovers:?}; max {max:?}; lease {LEASE_SECONDS}s");
    println!(
        "sent: {} exports, {} requests, ${}, {} repeated; refusals {:?}",
        sent.exports, sent.requests, sent.cost, sent.repeats, sent.refusals
    );

    pair.assert_ledger(&sent);
    assert!(sent.refusals.values().sum::<u64>() > 0, "the sender was refused by replicas and killed writers: {sent:?}");
    // The firing set is the database's: each change was sent once.
    assert_eq!(notifications(&receiver, "firing", "CreditBalanceLow"), 1, "{:#?}", receiver.requests());
    assert_eq!(notifications(&receiver, "resolved", "CreditBalanceLow"), 1, "{:#?}", receiver.requests());

    // Both gone at once and started again: the ledger is the database's.
    for replica in &mut pair.replicas {
        replica.kill();
    }
    for replica in &mut pair.replicas {
        replica.start();
    }
    pair.writer();
    pair.assert_ledger(&sent);
}

/// Waits until the receiver got one `status` notification for `alertname`.
fn wait_notification(receiver: &TestReceiver, status: &str, alertname: &str) {
    let start = Instant::now();
    while notifications(receiver, status, alertname) == 0 {
        assert!(start.elapsed() < DEADLINE, "no {status} {alertname} within {DEADLINE:?}: {:#?}", receiver.requests());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_paused_writer_cannot_commit_after_losing_its_lease() {
    // An export can be held just before its commit while the file `hold`
    // exists: the writer is paused holding one, so it commits after SIGCONT.
    let pair = Pair::start_with("", |replica| {
        vec![("CREDITWATCH_OTLP_FAILPOINT".into(), format!("before-commit:{}", replica.dir.join("hold").display()))]
    });
    let (old, new) = {
        let w = pair.writer();
        (&pair.replicas[w], &pair.replicas[1 - w])
    };
    let mut sent = Sent::default();
    let mut n = 0;
    let mut send_to = |replica: &postgres_daemon_support::Replica, sent: &mut Sent| {
        let one = export(n, RECORDS);
        n += 1;
        let (status, body) = replica.export(&one, Duration::from_secs(10)).expect("an answer");
        assert_eq!(status, 200, "{}: {body}", replica.name);
        sent.add(&one);
    };
    for _ in 0..5 {
        send_to(old, &mut sent);
    }
    // The replica follows the writer's commits (measured, not asserted).
    let committed = Instant::now();
    new.wait_metric(&otlp_support::series("team", postgres_daemon_support::MODEL).0, &sent.requests.to_string());
    println!("the replica showed the writer's last commit after {:?}", committed.elapsed());

    // One export taken as writer and held before its commit...
    let hold = old.dir.join("hold");
    std::fs::write(&hold, "").unwrap();
    let held = export(999, RECORDS);
    let held_answer = postgres_daemon_support::post_export_later(old.port, &held);
    old.wait("to hold the export before its commit", || old.log().contains("failpoint: holding this OTLP export"));
    old.signal("STOP");
    let paused = Instant::now();
    // ...and one that reaches the paused writer: its socket takes it, the
    // process reads it after SIGCONT, when its lease is gone.
    let late = export(1000, RECORDS);
    let late_answer = postgres_daemon_support::post_export_later(old.port, &late);
    new.wait("to take the lease of the paused writer", || new.role() == Some(Role::Writer));
    println!("the paused writer's lease went to {} after {:?}", new.name, paused.elapsed());
    for _ in 0..5 {
        send_to(new, &mut sent);
    }

    // Released as it resumes, the held export goes on to its commit at once.
    std::fs::remove_file(&hold).unwrap();
    old.signal("CONT");
    let (status, body) = held_answer.join().unwrap().expect("the resumed writer answers the export it held");
    assert_eq!(status, 503, "the commit after the lease was lost is refused, retryably: {body}");
    // The one still unread in its socket is refused too: 503, or its
    // connection closed unanswered when the writer steps down and lets go
    // of its connections (src/http/mod.rs), which exporters retry as well
    // (ECONNRESET is retryable in the OTel JS SDK's HTTP transport,
    // `isHttpTransportNetworkErrorRetryable`).
    match late_answer.join().unwrap() {
        Some((503, _)) => println!("the export read late: 503"),
        None => println!("the export read late: its connection closed unanswered"),
        Some((status, body)) => panic!("the export read after the lease was lost: {status} {body}"),
    }
    let again = export(1001, RECORDS);
    let (status, body) = old.export(&again, Duration::from_secs(10)).expect("an answer");
    assert_eq!(status, 503, "{body}");
    old.wait_metric("creditwatch_leader", "0");
    old.wait("to say replica", || old.role() == Some(Role::Replica));
    new.wait_metric("creditwatch_leader", "1");

    // gRPC answers UNAVAILABLE on a replica; the admin API a JSON 503.
    let file = pair.root.path().join("late.json");
    std::fs::write(&file, &late.body).unwrap();
    let grpc = otlp_support::send("grpc", &old.grpc, Some(otlp_support::TOKEN), &file, &[]);
    assert_eq!(grpc["status"].as_str(), Some("UNAVAILABLE"), "{grpc}");
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let (status, body) =
        http(old.port, "POST", "/api/v1/accounts/team/topups", &[("Authorization", &auth)], r#"{"id":"t-1","amount_usd":"5.00"}"#)
            .expect("an answer");
    assert_eq!(status, 503, "{body}");
    let error: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("a JSON error ({e}): {body}"));
    assert!(error["error"].is_string(), "{body}");

    // Nothing of the refused exports is booked; sent to the writer (over
    // gRPC and HTTP), once.
    let grpc = otlp_support::send("grpc", &new.grpc, Some(otlp_support::TOKEN), &file, &[]);
    assert_eq!((grpc["status"].as_str(), grpc["rejected"].as_i64()), (Some("OK"), Some(0)), "{grpc}");
    sent.add(&late);
    let (status, body) = new.export(&again, Duration::from_secs(10)).expect("an answer");
    assert_eq!(status, 200, "{body}");
    sent.add(&again);
    let (status, body) = new.export(&held, Duration::from_secs(10)).expect("an answer");
    assert_eq!(status, 200, "{body}");
    sent.add(&held);
    pair.assert_ledger(&sent);
}

/// Paused in the middle of the stream, a writer may be inside a commit:
/// its transaction holds the lease row until the server ends it.
#[test]
fn writers_paused_under_load_book_nothing_twice() {
    let pair = Pair::start("");
    let sender = Sender::start(pair.ports(), 0, RECORDS);
    for round in 1..=3 {
        sender.wait_for_more(10);
        let old = pair.writer();
        let (old, new) = (&pair.replicas[old], &pair.replicas[1 - old]);
        old.signal("STOP");
        let paused = Instant::now();
        new.wait("to take the lease of the paused writer", || new.role() == Some(Role::Writer));
        println!("pause {round}: {} took over from {} after {:?}", new.name, old.name, paused.elapsed());
        old.signal("CONT");
        old.wait("to step down after its pause", || old.role() == Some(Role::Replica));
        old.wait_metric("creditwatch_leader", "0");
    }
    sender.wait_for_more(10);
    let sent = sender.finish();
    println!("sent: {} exports, {} requests, ${}; refusals {:?}", sent.exports, sent.requests, sent.cost, sent.refusals);
    pair.assert_ledger(&sent);
}

#[test]
fn database_stopped_under_load_loses_nothing() {
    let pair = Pair::start("");
    let sender = Sender::start(pair.ports(), 0, RECORDS);
    for (outage, mode) in ["fast", "immediate"].into_iter().enumerate() {
        sender.wait_for_more(20);
        let writer = pair.writer();
        let stopped = Instant::now();
        pair.pg.stop_server_with(mode);
        let w = &pair.replicas[writer];
        w.wait_metric("creditwatch_state_backend_up", "0");
        // Nothing is acknowledged while nothing can be committed: both answer 503.
        let probe = export(1_000_000 + outage as u64, RECORDS);
        for replica in &pair.replicas {
            let (status, body) = replica.export(&probe, Duration::from_secs(30)).expect("an answer");
            assert_eq!(status, 503, "{} with the database down: {body}", replica.name);
        }
        let acked = sender.acked();
        let refused = sender.refused();
        // Its lease cannot be renewed: the writer steps down, nobody writes.
        w.wait("to step down with the database down", || w.role() == Some(Role::Replica));
        for replica in &pair.replicas {
            replica.wait_metric("creditwatch_leader", "0");
        }
        common::wait_for("the sender to be refused while the database is down", DEADLINE, || sender.refused() >= refused + 20);
        assert_eq!(sender.acked(), acked, "an export acknowledged with the database down");

        pair.pg.start_server();
        let started = Instant::now();
        let writer = pair.writer();
        pair.replicas[writer].wait_metric("creditwatch_state_backend_up", "1");
        println!("stop -m {mode}: a writer again {:?} after the start ({:?} after the stop)", started.elapsed(), stopped.elapsed());
    }
    sender.wait_for_more(20);
    let sent = sender.finish();
    println!("sent: {} exports, {} requests, ${}; refusals {:?}", sent.exports, sent.requests, sent.cost, sent.refusals);
    for replica in &pair.replicas {
        replica.wait_metric("creditwatch_state_backend_up", "1");
    }
    pair.assert_ledger(&sent);
}

/// The config of the migration test: the shared Claude Code fixture followed
/// from `{dir}/projects`, auto-reload (so history holds reloads), admin API.
fn fixture_config(dir: &Path, port: u16, state: &str, postgres: &str) -> std::path::PathBuf {
    let text = format!(
        r#"listen: "127.0.0.1:{port}"
state_dir: "{dir}/{state}"
admin_token_file: "{dir}/admin.token"
accounts:
  - name: personal
    opening_balance_usd: "8.00"
    opening_balance_as_of: "2020-01-01T00:00:00Z"
    auto_reload: {{ threshold_usd: "5", amount_usd: "2", monthly_cap_usd: "100" }}
sources:
  - {{ name: claude-code, format: claude_code, paths: ["{dir}/projects/**/*.jsonl"], account: personal, app: claude-code }}
follow: {{ poll_interval: "200ms", dedup_retention: "3650d" }}
{postgres}"#,
        dir = dir.display()
    );
    let path = dir.join(format!("{state}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// The figures a user sees: accounts (without the time of the answer),
/// the history, the ledger's series on /metrics.
fn figures(port: u16) -> (serde_json::Value, serde_json::Value, Vec<String>) {
    let get = |path: &str| {
        let (status, body) = http(port, "GET", path, &[], "").expect("an answer");
        assert_eq!(status, 200, "{path}: {body}");
        body
    };
    let mut accounts: serde_json::Value = serde_json::from_str(&get("/api/v1/accounts")).unwrap();
    accounts.as_object_mut().unwrap().remove("as_of");
    let history: serde_json::Value = serde_json::from_str(&get("/api/v1/accounts/personal/history")).unwrap();
    let ledger_series =
        ["creditwatch_spend_usd_total{", "creditwatch_requests_total{", "creditwatch_balance_usd{", "creditwatch_reloads_total{"];
    let series = get("/metrics").lines().filter(|l| ledger_series.iter().any(|s| l.starts_with(s))).map(str::to_string).collect();
    (accounts, history, series)
}

/// A history's rows other than debits, as shown, and the sum of its debits.
fn money_rows(history: &serde_json::Value) -> (Vec<serde_json::Value>, rust_decimal::Decimal) {
    let rows = history["entries"].as_array().expect("history entries");
    let debit = |r: &&serde_json::Value| r["entry"]["type"] == "debit";
    let others = rows.iter().filter(|r| !debit(r)).cloned().collect();
    let spent = rows.iter().filter(debit).map(|r| common::fixture::dec(&r["entry"]["cost"])).sum();
    (others, spent)
}

#[test]
fn migrated_state_dir_gives_the_same_balance_and_history() {
    let fixture = common::fixture::Fixture("claude-code");
    let expected = fixture.expected();
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(&fixture.dir().join("projects"), &dir.path().join("projects"));
    std::fs::write(dir.path().join("admin.token"), ADMIN_TOKEN).unwrap();
    let port = common::free_port();

    // The local journal: the fixture's requests, a top-up through the API.
    let local = fixture_config(dir.path(), port, "local", "");
    let daemon = Daemon::start_with(dir.path(), &local, port);
    let requests = r#"creditwatch_requests_total{account="personal",app="claude-code",model="claude-opus-4-6"}"#;
    let total = |d: &Daemon| -> rust_decimal::Decimal {
        d.scrape()
            .lines()
            .filter_map(|l| l.strip_prefix("creditwatch_spend_usd_total{account=\"personal\""))
            .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<rust_decimal::Decimal>().ok()))
            .sum()
    };
    common::wait_for("the fixture to be booked", DEADLINE, || total(&daemon) == common::fixture::dec(&expected["total_usd"]));
    assert!(common::metric(&daemon.scrape(), requests).is_some());
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let (status, body) = http(
        port,
        "POST",
        "/api/v1/accounts/personal/topups",
        &[("Authorization", &auth)],
        r#"{"id":"t-1","amount_usd":"3.00","note":"card"}"#,
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let (status, body) =
        http(port, "POST", "/api/v1/accounts/personal/reconcile", &[("Authorization", &auth)], r#"{"id":"r-1","balance_usd":"9.10"}"#)
            .unwrap();
    assert_eq!(status, 201, "{body}");
    let live = figures(port);
    let reloads = live.1["entries"].as_array().unwrap().iter().filter(|e| e["entry"]["type"] == "auto_reload").count();
    assert!(reloads > 0, "the fixture's spend triggers auto-reloads: {:#}", live.1);
    assert_eq!(money_rows(&live.1).1, common::fixture::dec(&expected["total_usd"]), "the debits of the history");
    let (code, _) = daemon.stop();
    assert_eq!(code, Some(0));
    // Stopped, the state dir's history sums the debits before its snapshot
    // (state::history); what a restarted local daemon shows is the reference.
    let daemon = Daemon::start_with(dir.path(), &local, port);
    let before = figures(port);
    assert_eq!(before.0, live.0, "the restarted local daemon's accounts");
    assert_eq!(money_rows(&before.1), money_rows(&live.1), "the restarted local daemon's history");
    let (code, _) = daemon.stop();
    assert_eq!(code, Some(0));

    // Into PostgreSQL, then a PG daemon following the same files.
    let pg = Postgres::start();
    let url_file = dir.path().join("postgres.url");
    pg.write_url_file(&url_file);
    let with_pg = format!("postgres: {{ url_file: \"{}\", lease_seconds: {LEASE_SECONDS} }}\n", url_file.display());
    let export_config = fixture_config(dir.path(), port, "local", &with_pg);
    let out = std::process::Command::new(common::BIN)
        .args(["state", "export", "--to-postgres", "--config"])
        .arg(&export_config)
        .output()
        .unwrap();
    assert!(out.status.success(), "state export: {}", String::from_utf8_lossy(&out.stderr));

    let pg_config = fixture_config(dir.path(), port, "pg-state", &with_pg);
    let mut daemon = Daemon::spawn(dir.path(), &pg_config, port, &[]);
    postgres_daemon_support::started(&mut daemon);
    common::wait_for("the only replica to take the lease", DEADLINE, || postgres_daemon_support::role(port) == Some(Role::Writer));
    let after = figures(port);
    assert_eq!(after.0, before.0, "/api/v1/accounts");
    assert_eq!(after.1, before.1, "/api/v1/accounts/personal/history");
    assert_eq!(after.2, before.2, "the ledger's series on /metrics");
    assert!(!dir.path().join("pg-state/journal.cwj").exists(), "the PG daemon keeps no journal in its state_dir");
    // `ledger history` reads the database as the daemon does.
    let cli_history = |config: &Path| {
        let out = std::process::Command::new(common::BIN).args(["ledger", "history", "--json", "--config"]).arg(config).output().unwrap();
        assert!(out.status.success(), "ledger history: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(cli_history(&pg_config), cli_history(&local), "ledger history --json");
}
