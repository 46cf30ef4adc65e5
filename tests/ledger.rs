//! The ledger through its real interfaces: the CLI on the state directory,
//! the HTTP API of a running daemon, and a journal damaged at its tail and
//! in its middle.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

const TOKEN: &str = "ledger-test-token-0123456789";

fn config(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("projects")).unwrap();
    std::fs::write(dir.join("token"), TOKEN).unwrap();
    let port = free_port();
    let text = format!(
        "listen: \"127.0.0.1:{port}\"\nstate_dir: \"{d}/state\"\nadmin_token_file: \"{d}/token\"\naccounts:\n  - name: personal\n    opening_balance_usd: \"10.00\"\n    opening_balance_as_of: \"2020-01-01T00:00:00Z\"\n    auto_reload: {{ threshold_usd: \"5\", amount_usd: \"20\", monthly_cap_usd: \"40\" }}\n  - name: work\n    opening_balance_usd: 0\nsources:\n  - name: claude-code\n    format: claude_code\n    paths: [\"{d}/projects/**/*.jsonl\"]\n    account: personal\n    app: claude-code\nfollow: {{ poll_interval: 200ms }}\n",
        d = dir.display()
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn cw(config: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).arg("--config").arg(config).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn cli_books_on_the_state_dir_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let (code, out, err) = cw(&cfg, &["ledger", "topup", "personal", "20.00", "--id", "t-1", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["balance_usd"], "30");
    // Same id, same amount: the first result again, nothing booked twice.
    let (code, out, _) = cw(&cfg, &["ledger", "topup", "personal", "20", "--id", "t-1", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(json(&out)["balance_usd"], "30");
    // Same id, another amount: refused.
    let (code, _, err) = cw(&cfg, &["ledger", "topup", "personal", "25", "--id", "t-1"]);
    assert_eq!(code, 1);
    assert!(err.contains("id `t-1` was already used"), "{err}");
    let (code, out, _) = cw(&cfg, &["ledger", "reconcile", "personal", "41.17", "--id", "r-1", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(json(&out)["balance_usd"], "41.17");
    let (code, _, err) = cw(&cfg, &["ledger", "topup", "nobody", "5", "--id", "t-2"]);
    assert_eq!(code, 1);
    assert!(err.contains("unknown account `nobody`"), "{err}");

    let (code, out, _) = cw(&cfg, &["ledger", "show", "--json"]);
    assert_eq!(code, 0);
    let doc = json(&out);
    let personal = doc["accounts"].as_array().unwrap().iter().find(|a| a["account"] == "personal").unwrap().clone();
    assert_eq!(personal["balance_usd"], "41.17");
    assert_eq!(personal["topups"]["manual_usd"], "20");
    assert_eq!(personal["topups"]["reconcile_usd"], "11.17");
    let (code, out, _) = cw(&cfg, &["ledger", "history", "--account", "personal", "--json"]);
    assert_eq!(code, 0);
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    let balances: Vec<&str> = rows.iter().map(|r| r["balance_after_usd"].as_str().unwrap()).collect();
    assert_eq!(balances, ["10", "30", "41.17"]);
    let (code, out, _) = cw(&cfg, &["ledger", "verify"]);
    assert_eq!(code, 0);
    // Each command wrote a snapshot; the segments before the previous one went.
    assert!(out.contains("2 segments") && out.contains("1 records") && out.contains("personal: balance $41.17"), "{out}");
}

#[test]
fn cli_and_api_go_through_a_running_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let text = std::fs::read_to_string(&cfg).unwrap();
    let port: u16 = text.split("127.0.0.1:").nth(1).and_then(|s| s.split('"').next()).and_then(|p| p.parse().ok()).unwrap();
    let d = Daemon::start_with(dir.path(), &cfg, port);
    // The CLI finds the daemon and books through it (the daemon holds the lock).
    let (code, out, err) = cw(&cfg, &["ledger", "topup", "work", "12.5", "--id", "w-1", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["balance_usd"], "12.5");
    d.wait_metric(r#"creditwatch_balance_usd{account="work"}"#, "12.5");
    d.wait_metric(r#"creditwatch_topups_usd_total{account="work",kind="manual"}"#, "12.5");

    let auth = format!("Bearer {TOKEN}");
    let post = |path: &str, body: &str| http(d.port, "POST", path, &[("Authorization", &auth)], body).unwrap();
    let (status, body) = post("/api/v1/accounts/work/topups", r#"{"id":"w-1","amount_usd":"12.50"}"#);
    assert_eq!((status, json(&body)["balance_usd"].clone()), (200, Value::from("12.5")), "replay returns the first result");
    let receipt = &json(&body)["receipt"];
    assert_eq!(
        (receipt["id"].as_str(), receipt["amount_usd"].as_str(), receipt["balance_after_usd"].as_str()),
        (Some("w-1"), Some("12.5"), Some("12.5"))
    );
    let (status, body) = post("/api/v1/accounts/work/topups", r#"{"id":"w-1","amount_usd":"13"}"#);
    assert_eq!(status, 409, "{body}");
    assert!(json(&body)["error"].as_str().unwrap().contains("w-1"));
    assert_eq!(post("/api/v1/accounts/nobody/topups", r#"{"id":"x","amount_usd":"1"}"#).0, 404);
    assert_eq!(post("/api/v1/accounts/work/topups", r#"{"id":"neg","amount_usd":"-5"}"#).0, 422);
    assert_eq!(post("/api/v1/accounts/work/topups", r#"{"id":"bad","amount_usd":"five"}"#).0, 400);
    assert_eq!(post("/api/v1/accounts/work/topups", r#"{"id":"u","amount_usd":"1","colour":"red"}"#).0, 400);
    assert_eq!(post("/api/v1/accounts/work/topups", &format!(r#"{{"id":"big","note":"{}"}}"#, "x".repeat(70_000))).0, 413);
    assert_eq!(http(d.port, "GET", "/api/v1/accounts/work/topups", &[], "").unwrap().0, 405);
    assert_eq!(http(d.port, "GET", "/nope", &[], "").unwrap().0, 404);

    // Usage drives auto-reload: $10 opening, a $6.015 request leaves $3.985
    // (at or below $5), one $20 reload -> $23.985.
    let line = assistant_line("big", 80_000, &chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .replace("claude-haiku-4-5-20251001", "claude-opus-4-1-20250805");
    append(&dir.path().join("projects/s.jsonl"), &line);
    d.wait_metric(r#"creditwatch_balance_usd{account="personal"}"#, "23.985");
    let scrape = d.scrape();
    assert_eq!(metric(&scrape, r#"creditwatch_reloads_this_month{account="personal"}"#).as_deref(), Some("1"));
    assert_eq!(metric(&scrape, r#"creditwatch_reload_usd_this_month{account="personal"}"#).as_deref(), Some("20"));
    assert_eq!(metric(&scrape, r#"creditwatch_reload_cap_usd{account="personal"}"#).as_deref(), Some("40"));
    assert_eq!(metric(&scrape, r#"creditwatch_spend_this_month_usd{account="personal"}"#).as_deref(), Some("6.015"));
    assert_eq!(metric(&scrape, r#"creditwatch_topups_usd_total{account="personal",kind="auto"}"#).as_deref(), Some("20"));
    let (status, body) = d.get("/api/v1/accounts").unwrap();
    assert_eq!(status, 200);
    let accounts = json(&body);
    assert_eq!(accounts["accounts"][0]["account"], "personal");
    assert_eq!(accounts["accounts"][0]["remaining_reload_usd"], "20");
}

#[test]
fn a_torn_tail_is_cut_and_damage_in_the_middle_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    for (i, amount) in ["1", "2", "3"].iter().enumerate() {
        let (code, _, err) = cw(&cfg, &["ledger", "topup", "personal", amount, "--id", &format!("t{i}")]);
        assert_eq!(code, 0, "{err}");
    }
    // Each command wrote a snapshot and started a new segment: the last
    // holds nothing, the one before it the third top-up. Rewind to the
    // moment the third top-up was being written: its snapshot and the new
    // segment not there yet.
    let state = dir.path().join("state");
    let mut segments: Vec<_> = std::fs::read_dir(state.join("journal")).unwrap().map(|e| e.unwrap().path()).collect();
    segments.sort();
    let (journal, empty) = (segments[segments.len() - 2].clone(), segments[segments.len() - 1].clone());
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);
    std::fs::remove_file(state.join("snapshot.cws")).unwrap();
    std::fs::remove_file(&empty).unwrap();
    let whole = std::fs::read(&journal).unwrap();

    // A torn tail (a crash mid-write): cut with a warning, the rest kept.
    std::fs::write(&journal, &whole[..whole.len() - 5]).unwrap();
    let (code, out, err) = cw(&cfg, &["ledger", "verify"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("torn last record"), "{out}");
    let (code, out, _) = cw(&cfg, &["ledger", "show", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(json(&out)["accounts"][0]["balance_usd"], "13", "the last top-up was torn off");

    // A flipped byte in a segment that has a successor: refused, naming
    // the segment file and the offset in it.
    let mut damaged = whole.clone();
    damaged[12] ^= 0xff;
    std::fs::write(&journal, &damaged).unwrap();
    std::fs::write(&empty, b"").unwrap();
    let (code, _, err) = cw(&cfg, &["ledger", "verify"]);
    assert_eq!(code, 1);
    assert!(err.contains(&journal.display().to_string()) && err.contains("offset 0"), "{err}");
    let out = Command::new(BIN).args(["run", "--config"]).arg(&cfg).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&journal.display().to_string()) && err.contains("offset 0"), "{err}");
}
