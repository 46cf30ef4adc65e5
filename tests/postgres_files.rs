//! Two daemons on one PostgreSQL following the same Claude Code transcripts
//! (a team's shared host, or a replica on the same volume) while the test
//! appends to them: only the writer reads and books; the writer is killed
//! with SIGKILL twice mid-stream, and the replica that takes over
//! reads on from the checkpoints in the database. Every line is booked
//! once, on both replicas' /metrics, to the exact dollar.

mod common;
mod postgres_support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{append, assistant_line, metric, wait_for, Daemon, SERIES_REQUESTS, SERIES_SPEND};
use postgres_support::Postgres;

const LINES: usize = 90;

/// A replica's config: its own listen port and state_dir, the shared
/// transcripts folder and database.
fn config(dir: &Path, shared: &Path, port: u16) -> std::path::PathBuf {
    let text = format!(
        r#"
listen: "127.0.0.1:{port}"
state_dir: "{dir}/state"
postgres: {{ url_file: "{shared}/postgres.url", lease_seconds: 2 }}
accounts:
  - {{ name: personal, opening_balance_usd: "50.00", opening_balance_as_of: "2020-01-01T00:00:00Z" }}
sources:
  - {{ name: claude-code, format: claude_code, paths: ["{shared}/projects/**/*.jsonl"], account: personal, app: claude-code }}
follow: {{ poll_interval: "200ms", dedup_retention: "3650d" }}
"#,
        dir = dir.display(),
        shared = shared.display()
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts a replica without waiting for it to be ready (only the writer is).
fn spawn(dir: &Path, config: &Path, port: u16) -> Daemon {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("daemon.log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_creditwatch"))
        .args(["run", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let d = Daemon { child, port, dir: dir.to_path_buf(), config: config.to_path_buf() };
    wait_for("the replica to answer", Duration::from_secs(30), || d.get("/readyz").is_some());
    d
}

fn is_writer(d: &Daemon) -> bool {
    d.get("/readyz").is_some_and(|(s, body)| s == 200 && body.starts_with("ready: writer"))
}

#[test]
fn replicas_following_the_same_files_book_every_line_once_across_writer_kills() {
    let pg = Postgres::start();
    let shared = tempfile::tempdir().unwrap();
    pg.write_url_file(&shared.path().join("postgres.url"));
    let transcript = shared.path().join("projects/p/s.jsonl");
    std::fs::create_dir_all(transcript.parent().unwrap()).unwrap();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let ports = [common::free_port(), common::free_port()];
    let configs = [config(dirs[0].path(), shared.path(), ports[0]), config(dirs[1].path(), shared.path(), ports[1])];
    let mut replicas = [Some(spawn(dirs[0].path(), &configs[0], ports[0])), None];
    wait_for("the first replica to write", Duration::from_secs(30), || is_writer(replicas[0].as_ref().unwrap()));
    replicas[1] = Some(spawn(dirs[1].path(), &configs[1], ports[1]));
    let readyz = replicas[1].as_ref().unwrap().get("/readyz").unwrap();
    assert_eq!(readyz.0, 503);
    assert!(readyz.1.starts_with("not ready: replica, following the writer "), "{}", readyz.1);

    let mut takeovers = Vec::new();
    for i in 0..LINES {
        append(&transcript, &assistant_line(&format!("msg_{i:03}"), 100, "2026-11-30T10:00:00.000Z"));
        if i % 30 == 29 && i + 1 < LINES {
            // Kill the writer once it has booked some of what was appended.
            let writer = (0..2).find(|&k| replicas[k].as_ref().is_some_and(is_writer)).expect("one replica writes");
            let other = 1 - writer;
            let seen = replicas[writer].as_ref().unwrap();
            wait_for("the writer to book a line", Duration::from_secs(20), || {
                metric(&seen.scrape(), SERIES_REQUESTS).is_some_and(|n| n.parse::<usize>().unwrap_or(0) > i / 2)
            });
            replicas[writer].take().unwrap().kill();
            let killed = Instant::now();
            wait_for("the other replica to take over", Duration::from_secs(30), || is_writer(replicas[other].as_ref().unwrap()));
            takeovers.push(killed.elapsed());
            replicas[writer] = Some(spawn(dirs[writer].path(), &configs[writer], ports[writer]));
        }
    }
    eprintln!("takeovers after SIGKILL: {takeovers:?}");
    assert_eq!(takeovers.len(), 2);
    // Each line: $0.001 input + 100 x $0.000005 output = $0.0015.
    for d in replicas.iter().flatten() {
        d.wait_metric(SERIES_REQUESTS, &LINES.to_string());
        d.wait_metric(SERIES_SPEND, "0.135");
        d.wait_metric(r#"creditwatch_balance_usd{account="personal"}"#, "49.865");
    }
    assert_eq!(pg.psql("SELECT count(*) FROM creditwatch_requests"), LINES.to_string());
    let writers: Vec<String> = replicas.iter().flatten().map(|d| metric(&d.scrape(), "creditwatch_leader").unwrap_or_default()).collect();
    let mut sorted = writers.clone();
    sorted.sort();
    assert_eq!(sorted, ["0", "1"], "one writer: {writers:?}");
}

/// A replica started while its database is down waits for it (as a running
/// one does) instead of exiting, and writes once it answers.
#[test]
fn a_replica_started_before_its_database_waits_for_it() {
    let pg = Postgres::start();
    let shared = tempfile::tempdir().unwrap();
    pg.write_url_file(&shared.path().join("postgres.url"));
    std::fs::create_dir_all(shared.path().join("projects")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let config = config(dir.path(), shared.path(), port);
    pg.stop_server();
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.path().join("daemon.log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_creditwatch"))
        .args(["run", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut d = Daemon { child, port, dir: dir.path().to_path_buf(), config };
    wait_for("the replica to say it waits for the database", Duration::from_secs(30), || {
        d.log().contains("waiting for it, trying every 2s")
    });
    assert!(d.child.try_wait().unwrap().is_none(), "the replica exited instead of waiting:\n{}", d.log());
    pg.start_server();
    wait_for("the replica to write once the database answers", Duration::from_secs(30), || is_writer(&d));
    append(&shared.path().join("projects/s.jsonl"), &assistant_line("msg_1", 100, "2026-11-30T10:00:00.000Z"));
    d.wait_metric(SERIES_SPEND, "0.0015");
}
