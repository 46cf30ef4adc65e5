//! The store against a real state directory: a current snapshot that turns
//! out unreadable falls back to the previous one and the segments after it
//! (which compaction kept for that), and when the segments it would need
//! are gone too, opening refuses and says to restore from a backup.

mod common;

use common::*;
use creditwatch::state::store::{read_state, Store};
use creditwatch::state::{Batch, Record};

/// Opens the store, waiting while the lock is held: a daemon another test
/// spawns may hold a copy of its descriptor between its fork and its exec.
fn open(state: &std::path::Path) -> anyhow::Result<Store> {
    let mut result = None;
    wait_for("the state lock", std::time::Duration::from_secs(10), || {
        let r = Store::open(state, chrono_tz::UTC);
        let locked = r.as_ref().err().is_some_and(|e| format!("{e:#}").contains("is locked by another creditwatch"));
        result = Some(r);
        !locked
    });
    result.unwrap()
}

fn book(store: &mut Store, n: u64) {
    let batch = Batch { lines: vec![("claude-code".into(), [n, 0, 0, 0])], ..Batch::default() };
    store.state.apply_batch_usage(&batch);
    store.commit(&Record::Batch(batch)).unwrap();
}

/// A bit flipped in the last byte: the checksum no longer matches.
fn damage(path: &std::path::Path) {
    let mut bytes = std::fs::read(path).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn an_unreadable_snapshot_falls_back_to_the_previous_one_and_the_records_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut store = open(&state).unwrap();
    for n in 1..=4 {
        book(&mut store, n);
        store.snapshot().unwrap();
    }
    book(&mut store, 100);
    drop(store);
    damage(&state.join("snapshot.cws"));
    let store = open(&state).unwrap();
    assert_eq!(store.state.sources["claude-code"].lines, [110, 0, 0, 0]);
    drop(store);
    assert_eq!(read_state(&state, chrono_tz::UTC).unwrap().sources["claude-code"].lines, [110, 0, 0, 0]);

    // Both snapshots bad: the segments before the previous one are gone,
    // so there is no start to replay from. An error, never a fresh ledger.
    // (snapshot.cws is still the damaged one: opening wrote none.)
    damage(&state.join("snapshot.prev.cws"));
    let err = format!("{:#}", open(&state).err().unwrap());
    assert!(err.contains("the oldest segment left starts at") && err.contains("Restore snapshot.cws"), "{err}");
}

/// The burn rates after a restart come from the last hour's spend the
/// snapshot keeps (the segments that held the bookings may be gone): the
/// same 1h rate before and after.
#[test]
fn burn_rates_after_a_restart_are_seeded_from_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let projects = dir.path().join("projects/-w");
    std::fs::create_dir_all(&projects).unwrap();
    let now = chrono::Utc::now() - chrono::Duration::minutes(10);
    let ts = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let text: String = (0..5).map(|i| assistant_line(&format!("m{i}"), 200, &ts)).collect();
    append(&projects.join("s.jsonl"), &text);
    let env = [("CREDITWATCH_SNAPSHOT_EVERY_RECORDS", "1")];
    let port = free_port();
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, FOLLOW_CONFIG.replace("{port}", &port.to_string()).replace("{dir}", &dir.path().display().to_string()))
        .unwrap();
    let series = r#"creditwatch_account_burn_rate_usd_per_hour{account="personal",window="1h"}"#;
    let d = Daemon::start_env(dir.path(), &config, port, &env);
    d.wait_metric(SERIES_REQUESTS, "5");
    // 5 requests at $0.002 in the last hour: $0.01 an hour.
    d.wait_metric(series, "0.01");
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));
    // Compact away every segment that held the bookings.
    for id in ["t1", "t2"] {
        let out = std::process::Command::new(BIN)
            .args(["ledger", "topup", "personal", "1", "--id", id, "--config"])
            .arg(&config)
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    assert!(!dir.path().join("state/journal/00000000000000000000.cwj").exists());
    let d = Daemon::start_env(dir.path(), &config, port, &env);
    d.wait_metric(series, "0.01");
}
