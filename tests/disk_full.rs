//! A disk that is full when a checkpoint is written: the daemon logs it,
//! keeps running, retries, and once there is room books every line exactly
//! once. The state directory is a real 96 KiB tmpfs (the test runs as root,
//! as CI does), grown with a remount.

mod common;

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

    // ~400 bytes of journal per booking: 600 requests do not fit in 96 KiB.
    let text: String = (0..600).map(|i| assistant_line(&format!("m{i}"), 200, "2026-11-20T10:00:00Z")).collect();
    append(&projects.join("s.jsonl"), &text);
    wait_for("a failed commit", Duration::from_secs(20), || d.log().contains("cannot commit what was read"));
    assert_eq!(d.get("/healthz").map(|(s, _)| s), Some(200), "the daemon keeps running");

    mount.resize("8m");
    d.wait_metric(SERIES_REQUESTS, "600");
    d.wait_metric(SERIES_SPEND, "1.2");
    d.wait_metric(r#"creditwatch_source_lines_total{outcome="booked",source="claude-code"}"#, "600");
    d.wait_metric(r#"creditwatch_source_lines_total{outcome="duplicate",source="claude-code"}"#, "0");
    // And the journal on disk says the same after a restart.
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));
    let d = Daemon::start(dir.path(), FOLLOW_CONFIG);
    d.wait_metric(SERIES_REQUESTS, "600");
    d.wait_metric(r#"creditwatch_balance_usd{account="personal"}"#, "48.8");
    drop(d);
}
