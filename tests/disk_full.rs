//! A disk that is full when a checkpoint is written: the daemon logs it,
//! keeps running, retries, and once there is room books every line exactly
//! once. An OTLP export that cannot be committed is answered 503 /
//! `UNAVAILABLE` (so the exporter sends it again) and booked once when it
//! is. The state directory is a real small tmpfs (the test runs as root, as
//! CI does), grown with a remount or filled by a file.

mod common;
mod otlp_support;

use std::process::Command;
use std::time::Duration;

use common::*;

struct Mount(std::path::PathBuf);

impl Mount {
    fn tmpfs(path: &std::path::Path, size: &str) -> Mount {
        std::fs::create_dir_all(path).unwrap();
        let status = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(path).status().unwrap();
        assert!(status.success(), "mounting a tmpfs needs root (CI runs as root)");
        Mount(path.to_path_buf())
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount").args(["-o", &format!("remount,size={size}")]).arg(&self.0).status().unwrap();
        assert!(status.success());
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_is_retried_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mount = Mount::tmpfs(&dir.path().join("state"), "96k");
    let projects = dir.path().join("projects/-w");
    std::fs::create_dir_all(&projects).unwrap();
    let d = Daemon::start(dir.path(), FOLLOW_CONFIG);

    // ~85 bytes of journal per booking: 3,000 requests do not fit in 96 KiB.
    let text: String = (0..3000).map(|i| assistant_line(&format!("m{i}"), 200, "2026-11-20T10:00:00Z")).collect();
    append(&projects.join("s.jsonl"), &text);
    wait_for("a failed commit", Duration::from_secs(20), || d.log().contains("cannot commit what was read"));
    assert_eq!(d.get("/healthz").map(|(s, _)| s), Some(200), "the daemon keeps running");

    mount.resize("8m");
    d.wait_metric(SERIES_REQUESTS, "3000");
    d.wait_metric(SERIES_SPEND, "6");
    d.wait_metric(r#"creditwatch_source_lines_total{outcome="booked",source="claude-code"}"#, "3000");
    d.wait_metric(r#"creditwatch_source_lines_total{outcome="duplicate",source="claude-code"}"#, "0");
    // And the journal on disk says the same after a restart.
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));
    let d = Daemon::start(dir.path(), FOLLOW_CONFIG);
    d.wait_metric(SERIES_REQUESTS, "3000");
    d.wait_metric(r#"creditwatch_balance_usd{account="personal"}"#, "44");
    drop(d);
}

/// Writes until the file system refuses: nothing is left for the journal.
fn fill(path: &std::path::Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 4096];
    while file.write_all(&chunk).is_ok() {}
    // And the last partial page.
    while file.write_all(&[0]).is_ok() {}
    let _ = file.flush();
}

#[test]
fn an_otlp_export_that_cannot_be_committed_is_refused_as_unavailable_and_booked_once_when_it_can() {
    use otlp_support::{send, series, start, FIXTURE_JSON, TOKEN};
    let dir = tempfile::tempdir().unwrap();
    let _mount = Mount::tmpfs(&dir.path().join("state"), "1m");
    let team = start(dir.path(), "");
    let filler = dir.path().join("state/filler");
    fill(&filler);
    let (requests, spend) = series("team", "claude-sonnet-4-6");
    // 60 copies of the fixture's 7 records, each with its own request id:
    // a journal record far larger than the slack of the last page a full
    // tmpfs may still have.
    let mut request: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(FIXTURE_JSON).unwrap()).unwrap();
    let records = request["resourceLogs"][0]["scopeLogs"][0]["logRecords"].as_array().unwrap().clone();
    let copies: Vec<serde_json::Value> = (0..60)
        .flat_map(|copy| {
            records.iter().map(move |record| {
                let text = record.to_string().replace("\"req_", &format!("\"req_c{copy}_"));
                serde_json::from_str::<serde_json::Value>(&text).unwrap()
            })
        })
        .collect();
    request["resourceLogs"][0]["scopeLogs"][0]["logRecords"] = serde_json::Value::Array(copies);
    let fixture = dir.path().join("export.json");
    std::fs::write(&fixture, request.to_string()).unwrap();
    let fixture = fixture.as_path();

    let answer = send("grpc", &team.grpc, Some(TOKEN), fixture, &[]);
    assert_eq!(answer["status"].as_str(), Some("UNAVAILABLE"), "{answer}");
    assert!(answer["message"].as_str().unwrap_or("").contains("cannot write the journal"), "{answer}");
    let answer = send("http-protobuf", &team.http, Some(TOKEN), fixture, &[]);
    assert_eq!(answer["status"].as_i64(), Some(503), "{answer}");
    let (status, _) = common::http(team.daemon.port, "GET", "/healthz", &[], "").unwrap();
    assert_eq!(status, 200, "the daemon keeps running");
    let scrape = team.daemon.scrape();
    assert_eq!(metric(&scrape, &requests), None, "nothing of a refused export is booked");
    assert_eq!(metric(&scrape, r#"creditwatch_source_lines_total{outcome="booked",source="telemetry"}"#).as_deref(), Some("0"));

    // Room again: the exporter's next try is booked once, and the one after
    // that is a duplicate.
    std::fs::remove_file(&filler).unwrap();
    let answer = send("grpc", &team.grpc, Some(TOKEN), fixture, &[]);
    assert_eq!(answer["status"].as_str(), Some("OK"), "{answer}");
    let answer = send("http-protobuf", &team.http, Some(TOKEN), fixture, &[]);
    assert_eq!(answer["status"].as_i64(), Some(200), "{answer}");
    let scrape = team.daemon.scrape();
    assert_eq!(metric(&scrape, &requests).as_deref(), Some("300"));
    assert_eq!(metric(&scrape, &spend).as_deref(), Some("26.494263"));
    assert_eq!(metric(&scrape, r#"creditwatch_source_lines_total{outcome="booked",source="telemetry"}"#).as_deref(), Some("420"));
    assert_eq!(metric(&scrape, r#"creditwatch_source_lines_total{outcome="duplicate",source="telemetry"}"#).as_deref(), Some("420"));
    let config = team.daemon.config.clone();
    let port = team.daemon.port;
    let (code, _) = team.daemon.stop();
    assert_eq!(code, Some(0));
    let daemon = Daemon::start_with(dir.path(), &config, port);
    daemon.wait_metric(&spend, "26.494263");
}

/// A snapshot that cannot be written (the disk is full) leaves every
/// journal segment and the last good snapshot in place; the next snapshot
/// that can be written removes the segments before the previous one.
#[test]
fn a_snapshot_that_cannot_be_written_removes_no_segment_and_the_next_one_compacts() {
    use creditwatch::state::store::Store;
    use creditwatch::state::{Batch, Record};
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let _mount = Mount::tmpfs(&state, "1m");
    let segments = || {
        let mut names: Vec<String> =
            std::fs::read_dir(state.join("journal")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        names
    };
    let batch = Batch { lines: vec![("claude-code".into(), [1, 0, 0, 0])], ..Batch::default() };
    // As booking does: the state changed, then the record made durable.
    let book = |store: &mut Store| {
        store.state.apply_batch_usage(&batch);
        store.commit(&Record::Batch(batch.clone())).unwrap();
    };
    let mut store = Store::open(&state, chrono_tz::UTC).unwrap();
    for _ in 0..2 {
        for _ in 0..3 {
            book(&mut store);
        }
        store.snapshot().unwrap();
    }
    // Two snapshots: the segment before the first is gone.
    let before = segments();
    assert_eq!(before.len(), 2, "{before:?}");
    for _ in 0..3 {
        book(&mut store);
    }
    let snapshot = std::fs::read(state.join("snapshot.cws")).unwrap();
    let filler = state.join("filler");
    fill(&filler);
    let err = format!("{:#}", store.snapshot().unwrap_err());
    assert!(err.contains("No space left on device"), "{err}");
    assert_eq!(segments(), before, "no segment removed");
    assert_eq!(std::fs::read(state.join("snapshot.cws")).unwrap(), snapshot, "the last good snapshot kept");
    assert!(!state.join(".snapshot.cws.tmp").exists());

    std::fs::remove_file(&filler).unwrap();
    store.snapshot().unwrap();
    let after = segments();
    assert_eq!(after.len(), 2, "{after:?}");
    assert_eq!(after[0], before[1], "the segment before the previous snapshot went");
    drop(store);
    // A daemon another test spawns may hold a copy of the lock's descriptor
    // between its fork and its exec: wait for the lock with a deadline.
    let mut reopened = None;
    wait_for("the state lock", Duration::from_secs(10), || {
        reopened = Store::open(&state, chrono_tz::UTC).ok();
        reopened.is_some()
    });
    assert_eq!(reopened.unwrap().state.sources["claude-code"].lines, [9, 0, 0, 0]);
}
