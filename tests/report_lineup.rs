//! `report --json` on `shared/fixtures/claude-code-lineup/` (the December
//! 2026 lineup with fast mode, US-only inference, Haiku 5.5's prompt tier,
//! Sonnet 5.5's dated cache read, web searches) reproduces every figure of
//! its `expected.json`: requests, total, by model, by UTC day.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/claude-code-lineup")
}

fn report(args: &[&str]) -> Value {
    let glob = format!("{}/projects/**/*.jsonl", fixtures().display());
    let out = Command::new(common::BIN).args(["report", "--paths", &glob, "--json"]).args(args).output().expect("run report");
    assert!(out.status.success(), "report failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("report --json is JSON")
}

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(v.as_str().expect("money is a decimal string")).expect("a decimal")
}

fn costs(report: &Value) -> Vec<(String, Decimal)> {
    report["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| (g["key"].as_str().unwrap_or_default().to_string(), dec(&g["cost_usd"])))
        .collect()
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).expect("expected.json")).expect("JSON")
}

fn expected_map(key: &str) -> Vec<(String, Decimal)> {
    expected()[key].as_object().expect(key).iter().map(|(k, v)| (k.clone(), dec(v))).collect()
}

#[test]
fn requests_and_total() {
    let want = expected();
    let got = report(&["--by", "model"]);
    assert_eq!(got["totals"]["requests"], want["requests"]);
    assert_eq!(dec(&got["totals"]["cost_usd"]), dec(&want["total_usd"]));
    assert_eq!(got["totals"]["unpriced_requests"], 0);
}

#[test]
fn by_model() {
    assert_eq!(costs(&report(&["--by", "model"])), expected_map("by_model_usd"));
}

#[test]
fn by_utc_day() {
    assert_eq!(costs(&report(&["--by", "day", "--tz", "UTC"])), expected_map("by_day_utc_usd"));
}

#[test]
fn sessions() {
    let got = report(&["--by", "session"]);
    assert_eq!(got["groups"].as_array().map(Vec::len), expected()["sessions"].as_u64().map(|n| n as usize));
}
