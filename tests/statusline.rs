//! `creditwatch statusline` and the `claude_statusline` source, on the real
//! binary: the line for the fixture and for broken inputs, the snapshot it
//! leaves, the plan-window gauges of a running daemon, and the ledger rule
//! (covered before exhaustion, deducted while exhausted, covered after the
//! reset) across a restart.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

const FIXTURE: &str = include_str!("fixtures/statusline/status.json");
const SESSION: &str = "0b7d9a52-3c1e-4f60-9d7e-2a1c5e8f4b11";

/// Runs the command with `input` on stdin: (exit code, stdout).
fn statusline(config: Option<&Path>, input: &str) -> (Option<i32>, String) {
    let mut cmd = Command::new(BIN);
    cmd.arg("statusline");
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start statusline");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("wait for statusline");
    assert!(out.stderr.is_empty(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    (out.status.code(), String::from_utf8(out.stdout).expect("utf-8 line"))
}

/// The fixture with its windows reset `five_hour_in` and six days from now,
/// and the five-hour window at `percent`.
fn status(five_hour_in: i64, percent: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    FIXTURE
        .replace("1796162400", &(now + five_hour_in).to_string())
        .replace("1796680800", &(now + 6 * 86400 + 60).to_string())
        .replace(r#""used_percentage":41.0"#, &format!(r#""used_percentage":{percent}"#))
}

fn config(dir: &Path, port: u16) -> std::path::PathBuf {
    let text = format!(
        r#"
listen: "127.0.0.1:{port}"
state_dir: "{dir}/state"
accounts:
  - name: personal
    opening_balance_usd: "50.00"
    opening_balance_as_of: "2020-01-01T00:00:00Z"
    plan_windows: true
    direct_apps: [claude-code]
sources:
  - {{ name: claude-code, format: claude_code, paths: ["{dir}/projects/**/*.jsonl"], account: personal, app: claude-code }}
  - {{ name: other, format: claude_code, paths: ["{dir}/other/**/*.jsonl"], account: personal, app: cursor }}
  - {{ name: plan, format: claude_statusline, paths: ["{dir}/plan/*.json"], account: personal }}
follow:
  poll_interval: "200ms"
"#,
        dir = dir.display()
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, text).expect("write config");
    path
}

#[test]
fn one_line_for_the_fixture_and_for_broken_inputs_always_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on the port: no daemon figures.
    let cfg = config(dir.path(), free_port());
    let (code, line) = statusline(Some(&cfg), &status(2 * 3600 + 13 * 60 + 30, "41.0"));
    assert_eq!((code, line.as_str()), (Some(0), "Sonnet 5.5 · $0.84 · 5h 41% (resets in 2h 13m) · 7d 12%\n"));
    let snapshot = std::fs::read_to_string(dir.path().join(format!("plan/{SESSION}.json"))).expect("snapshot written");
    assert!(snapshot.starts_with(&format!(r#"{{"v":1,"session_id":"{SESSION}","at":""#)), "{snapshot}");
    assert!(!snapshot.contains("/home/dev") && snapshot.ends_with("}\n"), "{snapshot}");

    let no_limits = FIXTURE.replace(r#","rate_limits":{"five_hour":{"used_percentage":41.0,"resets_at":1796162400},"seven_day":{"used_percentage":12.5,"resets_at":1796680800}}"#, "");
    assert_ne!(no_limits, FIXTURE);
    let cases = [
        ("not json at all".to_string(), "creditwatch: no status"),
        (String::new(), "creditwatch: no status"),
        (r#"{"session_id":"s","cwd":"/tmp"}"#.to_string(), "creditwatch: no status"),
        (no_limits.clone(), "Sonnet 5.5 · $0.84"),
        (no_limits.replace("}}\n", r#"},"rate_limits":null}"#), "Sonnet 5.5 · $0.84"),
        (status(3600, "null"), "Sonnet 5.5 · $0.84 · 7d 12%"),
        (
            status(3600, "12").replace(r#""model":{"id":"claude-sonnet-5-5","display_name":"Sonnet 5.5"},"#, ""),
            "$0.84 · 5h 12% (resets in 59m) · 7d 12%",
        ),
    ];
    for (input, want) in &cases {
        let (code, line) = statusline(Some(&cfg), input);
        assert_eq!((code, line.as_str()), (Some(0), format!("{want}\n").as_str()), "input: {input}");
    }
    // A config that does not load: the default folder, still a line.
    std::fs::write(dir.path().join("bad.yaml"), "accounts: [").unwrap();
    let (code, line) = statusline(Some(&dir.path().join("bad.yaml")), "[]");
    assert_eq!((code, line.as_str()), (Some(0), "creditwatch: no status\n"));
}

#[test]
fn the_daemon_exports_the_windows_and_the_line_shows_the_balance() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = config(dir.path(), port);
    let daemon = Daemon::start_with(dir.path(), &cfg, port);
    let input = status(3630, "100");
    let (code, line) = statusline(Some(&cfg), &input);
    assert_eq!(
        (code, line.as_str()),
        (Some(0), "Sonnet 5.5 · $0.84 · 5h 100%, extra usage (resets in 1h 0m) · 7d 12% · personal $50.00\n")
    );
    let resets: i64 = input.split(r#""resets_at":"#).nth(1).and_then(|s| s.split('}').next()).and_then(|s| s.parse().ok()).unwrap();
    daemon.wait_metric(r#"creditwatch_plan_window_used_ratio{account="personal",window="five_hour"}"#, "1");
    daemon.wait_metric(r#"creditwatch_plan_window_used_ratio{account="personal",window="seven_day"}"#, "0.125");
    daemon
        .wait_metric(r#"creditwatch_plan_window_resets_at_timestamp_seconds{account="personal",window="five_hour"}"#, &resets.to_string());
    daemon.wait_metric(r#"creditwatch_source_lines_total{outcome="booked",source="plan"}"#, "1");

    // The same figures again: not rewritten, nothing new read.
    statusline(Some(&cfg), &input);
    // A damaged snapshot (another writer, a bad copy): an error line, the last good figures stay.
    let path = dir.path().join(format!("plan/{SESSION}.json"));
    std::fs::write(dir.path().join("plan/tmp"), "{\"v\":1,\"session_id\":\"x\",\"at\":\"soon\"}\n").unwrap();
    std::fs::rename(dir.path().join("plan/tmp"), &path).unwrap();
    daemon.wait_metric(r#"creditwatch_source_lines_total{outcome="error",source="plan"}"#, "1");
    let scrape = daemon.scrape();
    assert_eq!(metric(&scrape, r#"creditwatch_plan_window_used_ratio{account="personal",window="five_hour"}"#).as_deref(), Some("1"));
    assert_eq!(metric(&scrape, r#"creditwatch_source_lines_total{outcome="booked",source="plan"}"#).as_deref(), Some("1"));
    let (_, body) = daemon.get("/api/v1/accounts").unwrap();
    let account = &serde_json::from_str::<serde_json::Value>(&body).unwrap()["accounts"][0];
    assert_eq!(account["plan_windows"]["five_hour"]["used_percent"], "100", "{body}");
    assert_eq!(account["plan_windows"]["seven_day"]["used_percent"], "12.5", "{body}");
    assert!(account["runway_seconds"].is_null(), "not burning: {body}");
}

/// A snapshot as another process leaves it: temp file, then rename.
fn leave_snapshot(dir: &Path, at: &str, percent: &str, resets_at: i64) {
    std::fs::create_dir_all(dir.join("plan")).unwrap();
    let line = format!(
        r#"{{"v":1,"session_id":"s1","at":"{at}","model":"claude-opus-5","windows":{{"five_hour":{{"used_percentage":{percent},"resets_at":{resets_at}}}}}}}"#
    );
    std::fs::write(dir.join("plan/s1.json.tmp"), format!("{line}\n")).unwrap();
    std::fs::rename(dir.join("plan/s1.json.tmp"), dir.join("plan/s1.json")).unwrap();
}

fn balance(daemon: &Daemon) -> String {
    let (_, body) = daemon.get("/api/v1/accounts").unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["accounts"][0]["balance_usd"].as_str().unwrap().to_string()
}

#[test]
fn direct_usage_is_covered_until_exhaustion_deducted_while_exhausted_and_covered_after_the_reset() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = config(dir.path(), port);
    std::fs::create_dir_all(dir.path().join("projects/p")).unwrap();
    std::fs::create_dir_all(dir.path().join("other/p")).unwrap();
    let daemon = Daemon::start_with(dir.path(), &cfg, port);
    // Exhausted at 10:00, the window resets at 12:00.
    let resets = chrono::DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z").unwrap().timestamp();
    leave_snapshot(dir.path(), "2026-11-30T10:00:00Z", "100", resets);
    daemon.wait_metric(r#"creditwatch_source_lines_total{outcome="booked",source="plan"}"#, "1");

    let cc = dir.path().join("projects/p/s.jsonl");
    append(&cc, &assistant_line("m1", 1000, "2026-11-30T09:30:00Z")); // $0.006, before: covered
    append(&cc, &assistant_line("m2", 2000, "2026-11-30T10:30:00Z")); // $0.011, exhausted: deducted
    append(&cc, &assistant_line("m3", 3000, "2026-11-30T12:10:00Z")); // $0.016, after the reset: covered
    append(&dir.path().join("other/p/s.jsonl"), &assistant_line("o1", 1000, "2026-11-30T09:30:00Z")); // not direct: deducted
    daemon.wait_metric(SERIES_REQUESTS, "3");
    daemon.wait_metric(r#"creditwatch_requests_total{account="personal",app="cursor",model="claude-haiku-4-5-20251001"}"#, "1");
    assert_eq!(metric(&daemon.scrape(), SERIES_SPEND).as_deref(), Some("0.033"), "covered usage is spend");
    assert_eq!(balance(&daemon), "49.983");
    let (code, _) = daemon.stop();
    assert_eq!(code, Some(0));

    // After a restart the journal gives the same balance, and the exhaustion is still known.
    let daemon = Daemon::start_with(dir.path(), &cfg, port);
    assert_eq!(balance(&daemon), "49.983");
    append(&cc, &assistant_line("m4", 1000, "2026-11-30T11:00:00Z")); // $0.006, exhausted: deducted
    daemon.wait_metric(SERIES_REQUESTS, "4");
    wait_for("the balance after m4", Duration::from_secs(10), || balance(&daemon) == "49.977");
    // The window reset long ago: no gauge.
    assert_eq!(metric(&daemon.scrape(), r#"creditwatch_plan_window_used_ratio{account="personal",window="five_hour"}"#), None);
}
