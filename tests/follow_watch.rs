//! Following by notification (inotify) against the real binary: another
//! process (this test) writes, renames, truncates and deletes files among
//! many idle ones. With `poll_interval` and `rescan_interval` an hour long,
//! nothing but a notification can make the daemon read; with a short
//! `rescan_interval`, the safety scan catches a write no notification
//! reports (inotify does not report writes made through a hard link in an
//! unwatched folder: `sources::follow::watch` tests show it).

mod common;

use common::*;

const TS: &str = "2026-09-02T10:00:00Z";

/// $0.002 a line: 1000 input + 200 output tokens of Haiku 4.5.
fn lines(prefix: &str, range: std::ops::Range<u32>) -> String {
    range.map(|i| assistant_line(&format!("{prefix}{i}"), 200, TS)).collect()
}

fn config(poll: &str, rescan: &str) -> String {
    FOLLOW_CONFIG.replace(r#"poll_interval: "200ms""#, &format!("poll_interval: \"{poll}\"\n  rescan_interval: \"{rescan}\""))
}

const DUPLICATES: &str = r#"creditwatch_source_lines_total{outcome="duplicate",source="claude-code"}"#;

#[test]
fn changes_among_many_idle_files_are_read_on_their_notification_alone() {
    let dir = tempfile::tempdir().unwrap();
    let projects = dir.path().join("projects");
    for i in 0..2000 {
        let folder = projects.join(format!("proj{}", i % 20));
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join(format!("s{i}.jsonl")), lines(&format!("idle{i}-"), 0..1)).unwrap();
    }
    let d = Daemon::start(dir.path(), &config("1h", "1h"));
    d.wait_metric(SERIES_REQUESTS, "2000");
    d.wait_metric("creditwatch_source_files{source=\"claude-code\"}", "2000");

    // One idle file of many grows.
    append(&projects.join("proj14/s1234.jsonl"), &lines("a", 0..1));
    d.wait_metric(SERIES_REQUESTS, "2001");

    // A new folder two levels deep, its file written at once (before a
    // watch on it can exist): found by walking the new folder.
    let deep = projects.join("new-project/subagents");
    std::fs::create_dir_all(&deep).unwrap();
    append(&deep.join("agent-1.jsonl"), &lines("b", 0..2));
    d.wait_metric(SERIES_REQUESTS, "2003");
    append(&deep.join("agent-1.jsonl"), &lines("b", 2..3));
    d.wait_metric(SERIES_REQUESTS, "2004");

    // Rename-and-create: lines written just before the rename are read from
    // the renamed file (its new name matches no glob), then the new file.
    let log = projects.join("proj0/s0.jsonl");
    append(&log, &lines("c", 0..1));
    std::fs::rename(&log, projects.join("proj0/s0.jsonl.1")).unwrap();
    append(&log, &lines("d", 0..2));
    d.wait_metric(SERIES_REQUESTS, "2007");

    // A rename to a name the glob matches is the same file, not re-read.
    std::fs::rename(&log, projects.join("proj0/s0-old.jsonl")).unwrap();
    append(&log, &lines("e", 0..1));
    d.wait_metric(SERIES_REQUESTS, "2008");

    // copytruncate: the file shrinks and is read again from the start.
    std::fs::copy(&log, projects.join("proj0/s0.jsonl.2")).unwrap();
    std::fs::OpenOptions::new().write(true).open(&log).unwrap().set_len(0).unwrap();
    append(&log, &lines("f", 0..2));
    d.wait_metric(SERIES_REQUESTS, "2010");

    // Delete and recreate.
    std::fs::remove_file(&log).unwrap();
    append(&log, &lines("g", 0..3));
    d.wait_metric(SERIES_REQUESTS, "2013");
    d.wait_metric(SERIES_SPEND, "4.026");
    d.wait_metric(DUPLICATES, "0");
    assert!(!d.log().contains("safety scan"), "{}", d.log());
}

#[test]
fn a_write_no_notification_reports_is_caught_by_the_safety_scan() {
    let dir = tempfile::tempdir().unwrap();
    let session = dir.path().join("projects/-home-dev-api/s.jsonl");
    std::fs::create_dir_all(session.parent().unwrap()).unwrap();
    append(&session, &lines("a", 0..2));
    // The same file under a second name, in a folder nobody watches.
    std::fs::create_dir_all(dir.path().join("elsewhere")).unwrap();
    let link = dir.path().join("elsewhere/s.jsonl");
    std::fs::hard_link(&session, &link).unwrap();
    let d = Daemon::start(dir.path(), &config("200ms", "1s"));
    d.wait_metric(SERIES_REQUESTS, "2");

    append(&link, &lines("b", 0..3));
    d.wait_metric(SERIES_REQUESTS, "5");
    d.wait_metric(SERIES_SPEND, "0.01");
    wait_for("the safety scan to say what it found", std::time::Duration::from_secs(10), || {
        d.log().contains("safety scan: files changed without a notification")
    });
    d.wait_metric(DUPLICATES, "0");
}

#[test]
fn a_backlog_larger_than_one_round_is_read_to_its_end_on_one_notification() {
    let dir = tempfile::tempdir().unwrap();
    let session = dir.path().join("projects/-home-dev-api/s.jsonl");
    std::fs::create_dir_all(session.parent().unwrap()).unwrap();
    append(&session, &lines("a", 0..1));
    let d = Daemon::start(dir.path(), &config("1h", "1h"));
    d.wait_metric(SERIES_REQUESTS, "1");
    // One write of 25,000 lines: a round takes 20,000; the rest is owed,
    // and read without waiting for another notification.
    append(&session, &lines("b", 0..25_000));
    d.wait_metric(SERIES_REQUESTS, "25001");
    d.wait_metric(SERIES_SPEND, "50.002");
}
