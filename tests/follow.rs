//! Live following against the real binary: another process (this test)
//! writes, renames, truncates and deletes files while the daemon runs.

mod common;

use std::time::Duration;

use common::*;

const TS: &str = "2026-09-02T10:00:00Z";

fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let projects = dir.path().join("projects/-home-dev-api");
    std::fs::create_dir_all(&projects).unwrap();
    (dir, projects)
}

/// $0.002 a line: 1000 input + 200 output tokens of Haiku 4.5.
fn lines(prefix: &str, range: std::ops::Range<u32>) -> String {
    range.map(|i| assistant_line(&format!("{prefix}{i}"), 200, TS)).collect()
}

#[test]
fn appends_half_lines_new_files_and_restart() {
    let (dir, projects) = setup();
    let session = projects.join("s1.jsonl");
    append(&session, &lines("a", 0..3));
    let d = Daemon::start(dir.path(), FOLLOW_CONFIG);
    d.wait_metric(SERIES_REQUESTS, "3");
    d.wait_metric(SERIES_SPEND, "0.006");

    // Half a line: held until its newline comes.
    let line = assistant_line("a3", 200, TS);
    let (first, rest) = line.split_at(line.len() / 2);
    append(&session, first);
    d.wait_metric("creditwatch_source_lag_bytes{source=\"claude-code\"}", &first.len().to_string());
    assert_eq!(metric(&d.scrape(), SERIES_REQUESTS).as_deref(), Some("3"));
    assert_eq!(metric(&d.scrape(), r#"creditwatch_source_lines_total{outcome="error",source="claude-code"}"#).as_deref(), Some("0"));
    append(&session, rest);
    d.wait_metric(SERIES_REQUESTS, "4");

    // A new session file and a subagent file.
    append(&projects.join("s2.jsonl"), &lines("b", 0..2));
    std::fs::create_dir_all(projects.join("s2/subagents")).unwrap();
    append(&projects.join("s2/subagents/agent-1.jsonl"), &lines("c", 0..1));
    d.wait_metric(SERIES_REQUESTS, "7");
    d.wait_metric(SERIES_SPEND, "0.014");
    d.wait_metric("creditwatch_source_files{source=\"claude-code\"}", "3");

    // A resumed session copies old lines into a new file: nothing new.
    let copied = std::fs::read_to_string(&session).unwrap();
    append(&projects.join("s3.jsonl"), &format!("{copied}{}", lines("d", 0..1)));
    d.wait_metric(SERIES_REQUESTS, "8");
    d.wait_metric(r#"creditwatch_source_lines_total{outcome="duplicate",source="claude-code"}"#, "4");

    // Stop: exit 0 within 5 s; restart resumes without re-reading.
    let lines_booked = metric(&d.scrape(), r#"creditwatch_source_lines_total{outcome="booked",source="claude-code"}"#);
    let (code, took) = d.stop();
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(5), "stop took {took:?}");
    append(&session, &lines("e", 0..1));
    let d = Daemon::start(dir.path(), FOLLOW_CONFIG);
    d.wait_metric(SERIES_REQUESTS, "9");
    d.wait_metric(SERIES_SPEND, "0.018");
    let booked_after = metric(&d.scrape(), r#"creditwatch_source_lines_total{outcome="booked",source="claude-code"}"#);
    let want = lines_booked.and_then(|n| n.parse::<u64>().ok()).map(|n| (n + 1).to_string());
    assert_eq!(booked_after, want, "restart re-read lines");
    d.wait_metric("creditwatch_balance_usd{account=\"personal\"}", "49.982");
}

#[test]
fn rotation_truncation_and_recreation() {
    let (dir, projects) = setup();
    let log = projects.join("proxy.jsonl");
    append(&log, &lines("a", 0..2));
    let d = Daemon::start(dir.path(), FOLLOW_CONFIG);
    d.wait_metric(SERIES_REQUESTS, "2");

    // Rename-and-create: lines written to the old file just before the
    // rename are still read, then the new file.
    append(&log, &lines("a", 2..3));
    std::fs::rename(&log, projects.join("proxy.jsonl.1")).unwrap();
    append(&log, &lines("b", 0..2));
    d.wait_metric(SERIES_REQUESTS, "5");

    // A renamed file whose new name still matches the glob is not re-read.
    std::fs::rename(&log, projects.join("proxy-old.jsonl")).unwrap();
    append(&log, &lines("c", 0..1));
    d.wait_metric(SERIES_REQUESTS, "6");

    // copytruncate: the file shrinks; it is read again from the start.
    std::fs::copy(&log, projects.join("proxy.jsonl.2")).unwrap();
    std::fs::OpenOptions::new().write(true).open(&log).unwrap().set_len(0).unwrap();
    append(&log, &lines("d", 0..2));
    d.wait_metric(SERIES_REQUESTS, "8");

    // Delete and recreate.
    std::fs::remove_file(&log).unwrap();
    append(&log, &lines("e", 0..3));
    d.wait_metric(SERIES_REQUESTS, "11");
    d.wait_metric(SERIES_SPEND, "0.022");
    d.wait_metric(r#"creditwatch_source_lines_total{outcome="duplicate",source="claude-code"}"#, "0");
}

#[test]
fn bad_input_is_counted_and_reading_goes_on() {
    let (dir, projects) = setup();
    let session = projects.join("s.jsonl");
    let mut text = lines("a", 0..1);
    text.push_str("{not json\n");
    text.push_str(&assistant_line("neg", 200, TS).replace("\"output_tokens\":200", "\"output_tokens\":-5"));
    text.push_str(&format!("{}\n", "x".repeat(5 * 1024 * 1024)));
    text.push_str("\u{feff}\u{0}\n");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(b"{\"type\":\"assistant\",\"bad\":\"\xff\xfe\"}\n");
    // A count no request can have: refused before it reaches any sum.
    bytes.extend_from_slice(assistant_line("huge", u64::MAX, TS).as_bytes());
    bytes.extend_from_slice(lines("b", 0..1).as_bytes());
    std::fs::write(&session, &bytes).unwrap();
    // A directory matching the glob and an unreadable file.
    std::fs::create_dir_all(projects.join("dir.jsonl")).unwrap();
    let d = Daemon::start(dir.path(), FOLLOW_CONFIG);
    d.wait_metric(SERIES_REQUESTS, "2");
    d.wait_metric(r#"creditwatch_source_lines_total{outcome="error",source="claude-code"}"#, "6");
    d.wait_metric(SERIES_SPEND, "0.004");
    let log = d.log();
    assert!(log.contains("s.jsonl") && log.contains("line=2"), "errors name file and line:\n{log}");
}

#[test]
fn sighup_reloads_the_config_and_keeps_the_old_one_when_bad() {
    let (dir, projects) = setup();
    append(&projects.join("s.jsonl"), &lines("a", 0..2));
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    append(&other.join("o.jsonl"), &lines("o", 0..3));
    let d = Daemon::start(dir.path(), FOLLOW_CONFIG);
    d.wait_metric(SERIES_REQUESTS, "2");
    let hup =
        |d: &Daemon| assert!(std::process::Command::new("kill").args(["-HUP", &d.child.id().to_string()]).status().unwrap().success());

    // A bad config: refused, the daemon keeps following with the old one.
    let good = std::fs::read_to_string(&d.config).unwrap();
    std::fs::write(&d.config, good.replace("format: claude_code", "format: nonsense")).unwrap();
    hup(&d);
    wait_for("the refusal in the log", Duration::from_secs(10), || d.log().contains("new config refused, keeping the old one"));
    append(&projects.join("s.jsonl"), &lines("a", 2..3));
    d.wait_metric(SERIES_REQUESTS, "3");

    // A good config with a second path: its files are booked, nothing twice.
    let widened = good.replace(r#"paths: [""#, &format!(r#"paths: ["{}/*.jsonl", ""#, other.display()));
    std::fs::write(&d.config, widened).unwrap();
    hup(&d);
    d.wait_metric(SERIES_REQUESTS, "6");
    d.wait_metric(SERIES_SPEND, "0.012");
    d.wait_metric("creditwatch_source_files{source=\"claude-code\"}", "2");
}

#[test]
fn a_stream_still_waiting_for_its_delta_is_booked_at_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    // The first stream of the fixture, its message_start only (Sonnet 4.5:
    // 2082 input, 1 output, 24969 cache read), stamped now so its timeout
    // has not passed.
    let fixture = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/proxy/anthropic.jsonl")).unwrap();
    let start = fixture.lines().find(|l| l.contains("\"message_start\"")).unwrap();
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let start = start.replacen(&start[start.find("\"timestamp\": \"").unwrap() + 14..][..20], &now, 1);
    append(&logs.join("api.jsonl"), &format!("{start}\n"));
    let config = FOLLOW_CONFIG.replace(
        "sources:",
        "sources:\n  - name: api\n    format: anthropic\n    paths: [\"{dir}/logs/*.jsonl\"]\n    account: personal\n    app: api\n    streams: { id_field: \"/stream_id\", timeout: \"1h\" }",
    );
    let d = Daemon::start(dir.path(), &config);
    let series = r#"creditwatch_requests_total{account="personal",app="support-bot",model="claude-sonnet-4-5-20250929"}"#;
    d.wait_metric(r#"creditwatch_source_lines_total{outcome="skipped",source="api"}"#, "1");
    assert_eq!(metric(&d.scrape(), series), None, "held until its delta or the timeout");
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));
    // Booked from its start at shutdown ($0.0137517 = 2082 x $3 + 1 x $15 +
    // 24969 x $0.30 per million), not lost behind the checkpoint.
    let d = Daemon::start(dir.path(), &config);
    d.wait_metric(series, "1");
    d.wait_metric(r#"creditwatch_spend_usd_total{account="personal",app="support-bot",model="claude-sonnet-4-5-20250929"}"#, "0.0137517");
}

#[test]
fn a_held_stream_survives_a_crash_and_takes_its_delta() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let fixture = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/proxy/anthropic.jsonl")).unwrap();
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let stamp = |line: &str| line.replacen(&line[line.find("\"timestamp\": \"").unwrap() + 14..][..20], &now, 1);
    let start = stamp(fixture.lines().find(|l| l.contains("\"message_start\"") && l.contains("\"stream-1\"")).unwrap());
    let delta = stamp(fixture.lines().find(|l| l.contains("\"message_delta\"") && l.contains("\"stream-1\"")).unwrap());
    let api = logs.join("api.jsonl");
    append(&api, &format!("{}{start}\n", lines("a", 0..1)));
    let config = FOLLOW_CONFIG.replace(
        "sources:",
        "sources:\n  - name: api\n    format: anthropic\n    paths: [\"{dir}/logs/*.jsonl\"]\n    account: personal\n    app: api\n    streams: { id_field: \"/stream_id\", timeout: \"1h\" }",
    );
    let d = Daemon::start(dir.path(), &config);
    // Both lines are read (the first is not an API response: skipped).
    d.wait_metric(r#"creditwatch_source_lines_total{outcome="skipped",source="api"}"#, "2");
    d.kill();
    // The delta comes after the crash: the start was re-read, not lost, and
    // the final usage is booked once: 2082 x $3 + 1592 x $15 + 24969 x $0.30
    // per million = $0.0376167.
    let d = Daemon::start(dir.path(), &config);
    append(&api, &format!("{delta}\n"));
    let model = r#"account="personal",app="support-bot",model="claude-sonnet-4-5-20250929"}"#;
    d.wait_metric(&format!("creditwatch_requests_total{{{model}"), "1");
    d.wait_metric(&format!("creditwatch_spend_usd_total{{{model}"), "0.0376167");
    d.wait_metric(r#"creditwatch_source_lines_total{outcome="error",source="api"}"#, "0");
}
