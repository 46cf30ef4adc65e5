//! The correctness bar: `report --json` reproduces every figure of
//! `shared/fixtures/claude-code/expected.json` to the last decimal digit.

mod common;

use std::process::Command;

use rust_decimal::Decimal;

use common::fixture::{costs, dec, Fixture};

const FIXTURE: Fixture = Fixture("claude-code");

#[test]
fn totals_tokens_and_requests() {
    let want = FIXTURE.expected();
    let got = FIXTURE.report(&["--by", "model"]);
    let totals = &got["totals"];
    assert_eq!(dec(&totals["cost_usd"]), dec(&want["total_usd"]));
    assert_eq!(totals["requests"], want["requests"]);
    let tokens = &totals["tokens"];
    assert_eq!(tokens["input"], want["tokens"]["input"]);
    assert_eq!(tokens["output"], want["tokens"]["output"]);
    assert_eq!(tokens["cache_read"], want["tokens"]["cache_read"]);
    let cache_write = tokens["cache_write_5m"].as_u64().unwrap_or(0) + tokens["cache_write_1h"].as_u64().unwrap_or(0);
    assert_eq!(Some(cache_write), want["tokens"]["cache_write"].as_u64());
}

#[test]
fn by_model() {
    assert_eq!(costs(&FIXTURE.report(&["--by", "model"])), FIXTURE.expected_map("by_model_usd"));
}

#[test]
fn by_utc_day() {
    assert_eq!(costs(&FIXTURE.report(&["--by", "day", "--tz", "UTC"])), FIXTURE.expected_map("by_day_utc_usd"));
}

#[test]
fn since_until_and_sessions() {
    let got = FIXTURE.report(&["--by", "day", "--tz", "UTC", "--since", "2026-09-03", "--until", "2026-09-04"]);
    let days: Vec<String> = costs(&got).into_iter().map(|(k, _)| k).collect();
    assert_eq!(days, ["2026-09-03", "2026-09-04"]);
    let want: Decimal =
        FIXTURE.expected_map("by_day_utc_usd").into_iter().filter(|(k, _)| k == "2026-09-03" || k == "2026-09-04").map(|(_, v)| v).sum();
    assert_eq!(dec(&got["totals"]["cost_usd"]), want);
    // Sessions: the fixture's 6 sessions (the subagent file belongs to its session).
    let sessions = FIXTURE.report(&["--by", "session"]);
    assert_eq!(sessions["groups"].as_array().map(Vec::len), Some(6));
    assert_eq!(dec(&sessions["totals"]["cost_usd"]), dec(&FIXTURE.expected()["total_usd"]));
}

#[test]
fn table_output_and_bad_arguments() {
    let glob = format!("{}/projects/**/*.jsonl", FIXTURE.dir().display());
    let out = Command::new(common::BIN).args(["report", "--paths", &glob, "--by", "month", "--tz", "UTC"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().any(|l| l.starts_with("2026-09") && l.trim_end().ends_with("12.3595")), "{text}");
    // `--paths` names the app after the format, as a configured source would.
    let out = Command::new(common::BIN).args(["report", "--paths", &glob, "--by", "app", "--json"]).output().unwrap();
    let by_app: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let apps: Vec<&str> = by_app["groups"].as_array().unwrap().iter().filter_map(|g| g["key"].as_str()).collect();
    assert_eq!(apps, ["claude-code"]);
    let bad = Command::new(common::BIN).args(["report", "--paths", &glob, "--tz", "Mars/Base"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown time zone `Mars/Base`"));
}
