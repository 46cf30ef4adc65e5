//! OpenCode's database against the real binary: a fixture written by
//! `tests/opencode_support/opencode_db.py` (OpenCode's schema, WAL mode, its
//! upsert), read by `report`, and followed live while another process (that
//! script, with Python's sqlite3) writes it.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/opencode_support/opencode_db.py")
}

/// Python 3 with its sqlite3 module; installed with apt-get when missing.
fn python() -> &'static str {
    let works = || Command::new("python3").args(["-c", "import sqlite3"]).status().is_ok_and(|s| s.success());
    if !works() {
        let _ = Command::new("apt-get").arg("update").status();
        let status = Command::new("apt-get").args(["install", "-y", "python3"]).status().expect("apt-get");
        assert!(status.success() && works(), "python3 with sqlite3 could not be installed");
    }
    "python3"
}

fn make_fixture(db: &Path, journal: &str) {
    let status = Command::new(python()).arg(script()).args(["fixture"]).arg(db).arg(journal).status().expect("run opencode_db.py");
    assert!(status.success());
}

/// The second process: keeps the database open as OpenCode does and
/// applies one command per line, answering when it is committed.
struct Writer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Writer {
    fn start(db: &Path, journal: &str) -> Writer {
        let mut child = Command::new(python())
            .arg(script())
            .arg("serve")
            .arg(db)
            .arg(journal)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the writer");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Writer { child, stdin, stdout }
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read the writer");
        line.trim().to_string()
    }

    fn send(&mut self, cmd: Value) {
        writeln!(self.stdin, "{cmd}").expect("write to the writer");
        self.stdin.flush().expect("flush");
    }

    /// Sends a command and waits until it is committed.
    fn commit(&mut self, cmd: Value) {
        self.send(cmd);
        let answer = self.line();
        assert!(answer.starts_with("ok "), "writer said {answer:?}");
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const CONFIG: &str = r#"
listen: "127.0.0.1:{port}"
state_dir: "{dir}/state"
accounts:
  - name: team
    opening_balance_usd: "50.00"
    opening_balance_as_of: "2020-01-01T00:00:00Z"
sources:
  - name: oc
    format: opencode
    paths: ["{dir}/opencode/opencode.db", "{dir}/opencode/storage/message/**/*.json"]
    account: team
    app: opencode
follow:
  poll_interval: "200ms"
"#;

fn series(kind: &str, model: &str) -> String {
    match kind {
        "spend" | "requests" => format!(
            r#"creditwatch_{}_total{{account="team",app="opencode",model="{model}"}}"#,
            if kind == "spend" { "spend_usd" } else { "requests" }
        ),
        kind => format!(r#"creditwatch_tokens_total{{account="team",app="opencode",kind="{kind}",model="{model}"}}"#),
    }
}

fn lines(outcome: &str) -> String {
    format!(r#"creditwatch_source_lines_total{{outcome="{outcome}",source="oc"}}"#)
}

/// An assistant message as OpenCode's `data` column holds it.
fn assistant(model: &str, provider: &str, created: i64, input: u64, output: u64, cost: f64, completed: bool) -> Value {
    let mut time = json!({ "created": created });
    if completed {
        time["completed"] = json!(created + 3000);
    }
    json!({
        "role": "assistant", "time": time, "parentID": "msg_ad3e0f1a2001pLm3Nb6Vc9Xz1K",
        "modelID": model, "providerID": provider, "mode": "build", "agent": "build",
        "path": { "cwd": "/home/dev/shop", "root": "/home/dev/shop" }, "cost": cost,
        "tokens": { "input": input, "output": output, "reasoning": 0, "cache": { "read": 0, "write": 0 } }
    })
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[test]
fn report_reads_the_fixture_database_to_the_last_digit() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("opencode.db");
    make_fixture(&db, "WAL");
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(script().with_file_name("expected.json")).unwrap()).unwrap();
    let run = |by: &str| -> Value {
        let out = Command::new(BIN).args(["report", "--format", "opencode", "--json", "--by", by, "--paths"]).arg(&db).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("1 of 12 lines could not be read"), "{stderr}");
        assert!(stderr.contains("message msg_ad3e2f0a1001Uv1Wx4Yz7Ab0Cd: invalid JSON"), "{stderr}");
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let report = run("model");
    let totals = &report["totals"];
    assert_eq!(totals["cost_usd"], expected["cost_usd"]);
    assert_eq!(totals["requests"], expected["requests"]);
    for kind in ["input", "output", "cache_write_5m", "cache_write_1h", "cache_read"] {
        assert_eq!(totals["tokens"][kind], expected["tokens"][kind], "{kind}");
    }
    let by_model: serde_json::Map<String, Value> =
        report["groups"].as_array().unwrap().iter().map(|g| (g["key"].as_str().unwrap().to_string(), g["cost_usd"].clone())).collect();
    assert_eq!(Value::Object(by_model), expected["by_model"]);
    // By session: the fork's copy is one request with its original.
    let sessions = run("session");
    let requests: u64 = sessions["groups"].as_array().unwrap().iter().map(|g| g["requests"].as_u64().unwrap()).sum();
    assert_eq!(requests, 5);
}

#[test]
fn the_daemon_follows_a_database_another_process_writes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("opencode")).unwrap();
    let db = dir.path().join("opencode/opencode.db");
    make_fixture(&db, "WAL");
    let mut writer = Writer::start(&db, "WAL");
    let d = Daemon::start(dir.path(), CONFIG);
    // The fixture: every figure of expected.json.
    d.wait_metric(&lines("booked"), "5");
    for (outcome, n) in [("duplicate", "1"), ("skipped", "5"), ("error", "1")] {
        assert_eq!(metric(&d.scrape(), &lines(outcome)).as_deref(), Some(n), "{outcome}");
    }
    assert_eq!(metric(&d.scrape(), &series("spend", "gpt-5")).as_deref(), Some("0.016675"));
    assert_eq!(metric(&d.scrape(), &series("spend", "anthropic/claude-sonnet-4")).as_deref(), Some("0.0123456"));
    assert_eq!(metric(&d.scrape(), &series("cache_write_5m", "claude-sonnet-4-5-20250929")).as_deref(), Some("2400"));
    assert_eq!(metric(&d.scrape(), r#"creditwatch_source_files{source="oc"}"#).as_deref(), Some("1"));
    assert!(d.log().contains("message msg_ad3e2f0a1001Uv1Wx4Yz7Ab0Cd: invalid JSON"), "{}", d.log());

    // A new message, streamed: first written with 10 output tokens...
    let t = now_ms();
    let live = "msg_b0000000a001LiveLiveLive01";
    let session = "ses_52c1f0e3bffeQx9Lm2RtY7wKzA";
    writer.commit(json!({"op": "upsert", "id": live, "session": session, "data": assistant("gpt-5", "openai", t, 1000, 10, 0.0, false)}));
    d.wait_metric(&series("requests", "gpt-5"), "2");
    // 0.016675 + 1000 x 1.25 + 10 x 10 per million
    d.wait_metric(&series("spend", "gpt-5"), "0.018025");
    // ...then the same row rewritten in place with 500: only the growth.
    writer.commit(json!({"op": "upsert", "id": live, "session": session, "data": assistant("gpt-5", "openai", t, 1000, 500, 0.0, true)}));
    d.wait_metric(&series("spend", "gpt-5"), "0.022925");
    d.wait_metric(&series("output", "gpt-5"), "1940");
    assert_eq!(metric(&d.scrape(), &series("requests", "gpt-5")).as_deref(), Some("2"));
    assert_eq!(metric(&d.scrape(), &series("input", "gpt-5")).as_deref(), Some("2500"));
    // A damaged row is counted and named; the next one is read.
    writer.commit(
        json!({"op": "raw", "id": "msg_b0000000b001DamagedRow0001", "session": session, "data": "{\"role\":\"assistant\",\"cost\":"}),
    );
    writer.commit(json!({"op": "upsert", "id": "msg_b0000000c001AfterDamage001", "session": session,
        "data": assistant("claude-haiku-4-5-20251001", "anthropic", t + 1, 10, 10, 0.00123, true)}));
    d.wait_metric(&series("spend", "claude-haiku-4-5-20251001"), "0.005814");
    assert_eq!(metric(&d.scrape(), &lines("error")).as_deref(), Some("2"));
    assert!(d.log().contains("message msg_b0000000b001DamagedRow0001"), "{}", d.log());
    let booked = metric(&d.scrape(), &lines("booked"));
    assert_eq!(booked.as_deref(), Some("8"));

    // Restart: written while the daemon is down, read once after it.
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));
    writer.commit(json!({"op": "upsert", "id": "msg_b0000000d001WhileDown0001", "session": session,
        "data": assistant("gpt-5", "openai", t + 2, 100, 100, 0.0, true)}));
    let d = Daemon::start(dir.path(), CONFIG);
    // 0.022925 + 100 x 1.25 + 100 x 10 per million
    d.wait_metric(&series("spend", "gpt-5"), "0.02405");
    assert_eq!(metric(&d.scrape(), &series("requests", "gpt-5")).as_deref(), Some("3"));
    assert_eq!(metric(&d.scrape(), &lines("booked")).as_deref(), Some("9"), "nothing booked twice");
    assert_eq!(metric(&d.scrape(), &lines("duplicate")).as_deref(), Some("1"));
    assert_eq!(metric(&d.scrape(), &lines("error")).as_deref(), Some("2"));
    assert_eq!(metric(&d.scrape(), &series("spend", "claude-haiku-4-5-20251001")).as_deref(), Some("0.005814"));
    writer.send(json!({"op": "quit"}));
}

#[test]
fn a_locked_database_is_retried_and_read_once_free() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("opencode")).unwrap();
    let db = dir.path().join("opencode/opencode.db");
    // A rollback journal: the writer's exclusive lock keeps readers out.
    make_fixture(&db, "DELETE");
    let mut writer = Writer::start(&db, "DELETE");
    let d = Daemon::start(dir.path(), CONFIG);
    d.wait_metric(&lines("booked"), "5");
    writer.send(json!({"op": "lock", "ms": 3000, "then": {"id": "msg_b0000000e001InsideLock001", "session": "ses_lock",
        "data": assistant("gpt-5", "openai", now_ms(), 1000, 100, 0.0, true)}}));
    assert_eq!(writer.line(), "locked");
    wait_for("the daemon to meet the lock", Duration::from_secs(20), || d.log().contains("database busy"));
    // Still serving, nothing lost: once the lock goes the row is booked.
    assert_eq!(d.get("/metrics").map(|(s, _)| s), Some(200));
    assert!(writer.line().starts_with("ok "));
    // 0.016675 + 1000 x 1.25 + 100 x 10 per million
    d.wait_metric(&series("spend", "gpt-5"), "0.018925");
    assert_eq!(metric(&d.scrape(), &lines("booked")).as_deref(), Some("6"));
    assert!(!d.log().contains("panicked"), "{}", d.log());
}

/// A message file of the older storage, as OpenCode writes it (indented).
fn message_file(dir: &Path, session: &str, id: &str, data: &Value) -> PathBuf {
    let mut data = data.clone();
    data["id"] = json!(id);
    data["sessionID"] = json!(session);
    let path = dir.join(format!("opencode/storage/message/{session}/{id}.json"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    // Written aside and renamed, as a rewrite in place would leave a reader
    // a half file: that case is the document mode's own test.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&data).unwrap()).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    path
}

#[test]
fn older_message_files_beside_the_database_name_each_request_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("opencode")).unwrap();
    let db = dir.path().join("opencode/opencode.db");
    make_fixture(&db, "WAL");
    // OpenCode copied its files into the database: the same message in both.
    let mut sonnet = assistant("claude-sonnet-4-5-20250929", "anthropic", 1_795_000_000_900, 12, 420, 0.020736, true);
    sonnet["tokens"]["cache"] = json!({ "read": 18000, "write": 2400 });
    message_file(dir.path(), "ses_52c1f0e3bffeQx9Lm2RtY7wKzA", "msg_ad3e0f1c4001aZx8Qw2Er5Ty7U", &sonnet);
    // A message only the files have: 100 x 15 + 1000 x 75 per million.
    let t = now_ms();
    let opus = |output| assistant("claude-opus-4-1-20250805", "anthropic", t, 100, output, 0.0, output > 1000);
    message_file(dir.path(), "ses_old", "msg_a0000000a001OnlyInFiles001", &opus(1000));
    let glob = format!("{}/opencode/storage/message/**/*.json", dir.path().display());
    let out = Command::new(BIN)
        .args(["report", "--format", "opencode", "--json", "--paths"])
        .arg(&db)
        .arg("--paths")
        .arg(&glob)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((r["totals"]["requests"].as_u64(), r["totals"]["cost_usd"].as_str()), (Some(6), Some("0.1478406")));

    let d = Daemon::start(dir.path(), CONFIG);
    let opus_spend = series("spend", "claude-opus-4-1-20250805");
    d.wait_metric(&opus_spend, "0.0765");
    d.wait_metric(&series("spend", "claude-sonnet-4-5-20250929"), "0.020736");
    d.wait_metric(&lines("booked"), "6");
    assert_eq!(metric(&d.scrape(), &lines("duplicate")).as_deref(), Some("2"), "the fork's copy and the file's copy");
    assert_eq!(metric(&d.scrape(), &series("spend", "claude-sonnet-4-5-20250929")).as_deref(), Some("0.020736"));
    // The file rewritten as the message grows: only the growth.
    message_file(dir.path(), "ses_old", "msg_a0000000a001OnlyInFiles001", &opus(2000));
    d.wait_metric(&opus_spend, "0.1515");
    assert_eq!(metric(&d.scrape(), &series("requests", "claude-opus-4-1-20250805")).as_deref(), Some("1"));
}
