//! kill -9 at random moments while an agent writes: after a restart nothing
//! is lost and nothing is booked twice, to the exact dollar figure.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;

const KILLS: u32 = 24;
const TS: &str = "2026-11-20T10:00:00Z";

/// A small deterministic generator (seed printed for reruns).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn sigkill_at_random_moments_loses_nothing_and_books_nothing_twice() {
    kill_while_writing(0, &[]);
}

/// The same on a journal compacted all the time: a snapshot after every
/// other record, each followed by a new segment and the removal of the
/// segments before the previous snapshot, and a backlog to catch up on at
/// the first starts. A kill inside a snapshot or a removal must lose no
/// record a durable snapshot does not hold.
#[test]
fn sigkill_during_catch_up_and_compaction_loses_nothing_and_books_nothing_twice() {
    kill_while_writing(2_000, &[("CREDITWATCH_SNAPSHOT_EVERY_RECORDS", "2")]);
}

/// `backlog` requests are written before the first start; then a writer
/// appends while the daemon is killed `KILLS` times.
fn kill_while_writing(backlog: u64, env: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let projects = dir.path().join("projects/-w");
    std::fs::create_dir_all(&projects).unwrap();
    let seed = std::env::var("CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64 | 1).unwrap_or(7)
    });
    eprintln!("CRASH_SEED={seed}");

    // The backlog: whole requests (both copies) in a file of its own.
    let old: String = (0..backlog)
        .map(|n| format!("{}{}", assistant_line(&format!("b{n}"), 100, TS), assistant_line(&format!("b{n}"), 200, TS)))
        .collect();
    append(&projects.join("backlog.jsonl"), &old);

    // The writer: requests written as a partial copy (100 output tokens)
    // then the final copy (200), sometimes split mid-line, over 3 files.
    let written = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (written, stop, projects) = (written.clone(), stop.clone(), projects.clone());
        std::thread::spawn(move || {
            let mut rng = Rng(seed ^ 0x9e37_79b9_7f4a_7c15);
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let file = projects.join(format!("s{}.jsonl", n % 3));
                let id = format!("m{n}");
                let text = format!("{}{}", assistant_line(&id, 100, TS), assistant_line(&id, 200, TS));
                let cut = (rng.next() % text.len() as u64) as usize;
                append(&file, &text[..cut]);
                if rng.next().is_multiple_of(4) {
                    std::thread::sleep(Duration::from_millis(rng.next() % 5));
                }
                append(&file, &text[cut..]);
                n += 1;
                written.store(n, Ordering::Relaxed);
                std::thread::sleep(Duration::from_micros(300 + rng.next() % 1500));
            }
        })
    };

    let mut rng = Rng(seed);
    let port = free_port();
    let config = FOLLOW_CONFIG.replace("{port}", &port.to_string()).replace("{dir}", &dir.path().display().to_string());
    let config_path = dir.path().join("config.yaml");
    std::fs::write(&config_path, config).unwrap();
    for _ in 0..KILLS {
        let d = Daemon::start_env(dir.path(), &config_path, port, env);
        std::thread::sleep(Duration::from_millis(rng.next() % 250));
        d.kill();
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let n = written.load(Ordering::Relaxed);
    assert!(n > 50, "the writer wrote only {n} requests");
    let n = n + backlog;

    let d = Daemon::start_env(dir.path(), &config_path, port, env);
    let want_requests = n.to_string();
    // Each request costs 1000 * $1/M + 200 * $5/M = $0.002.
    let want_spend = rust_decimal::Decimal::new(2, 3) * rust_decimal::Decimal::from(n);
    let want_spend = format!("{}", creditwatch::usage::money::to_f64(want_spend));
    let start = Instant::now();
    d.wait_metric(SERIES_REQUESTS, &want_requests);
    d.wait_metric(SERIES_SPEND, &want_spend);
    let scrape = d.scrape();
    assert_eq!(
        metric(
            &scrape,
            r#"creditwatch_tokens_total{account="personal",app="claude-code",kind="output",model="claude-haiku-4-5-20251001"}"#
        ),
        Some((n * 200).to_string())
    );
    assert_eq!(metric(&scrape, r#"creditwatch_source_lines_total{outcome="error",source="claude-code"}"#).as_deref(), Some("0"));
    // Every line was counted exactly once: a booked first copy and a booked
    // growth per request.
    assert_eq!(metric(&scrape, r#"creditwatch_source_lines_total{outcome="booked",source="claude-code"}"#), Some((2 * n).to_string()));
    let balance = rust_decimal::Decimal::from(50) - rust_decimal::Decimal::new(2, 3) * rust_decimal::Decimal::from(n);
    assert_eq!(
        metric(&scrape, r#"creditwatch_balance_usd{account="personal"}"#),
        Some(format!("{}", creditwatch::usage::money::to_f64(balance)))
    );
    eprintln!("{KILLS} kills, {n} requests, settled in {:?}", start.elapsed());
    drop(d);
    let out = std::process::Command::new(BIN).args(["ledger", "verify", "--config"]).arg(&config_path).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains(&format!("personal: balance ${}", creditwatch::usage::money::format(balance))), "{text}");
    if backlog > 0 {
        let segments = std::fs::read_dir(dir.path().join("state/journal")).unwrap().count();
        assert!(segments <= 4, "{segments} segments left: compaction did not keep up");
    }
}
