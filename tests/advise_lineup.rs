//! `advise` on the December 2026 lineup (`shared/fixtures/claude-code-lineup`):
//! the one-tier-down what-if total to the cent. The figures come from
//! `research/advise/lineup_check.py` (issue 12's list prices and modifiers;
//! a request's fast mode, US-only inference and web searches carry over to
//! the model it is re-priced on, at that model's factors).

mod common;

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

#[test]
fn lineup_one_tier_down_to_the_cent() {
    let projects = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/claude-code-lineup/projects");
    let out = Command::new(common::BIN)
        .args(["advise", "--json", "--tz", "UTC", "--what-if", "claude-haiku-5-5", "--paths"])
        .arg(format!("{}/**/*.jsonl", projects.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["unpriced_models"], serde_json::json!([]));
    assert_eq!((got["requests"].as_u64(), got["cost_usd"].as_str()), (Some(188), Some("16.9515705355")));
    let down = &got["model_mix"]["tier_down"];
    // Fable 5.1 -> Opus 5, Opus 5.5 -> Sonnet 5.5, Opus 5 -> Sonnet 5, Opus 4.6 -> Sonnet 4.6,
    // Sonnet 5.5 -> Haiku 5.5, Sonnet 5 -> Haiku 4.5: $6.67.
    assert_eq!(down["what_if_usd"], "6.6681259355");
    assert_eq!(got["model_mix"]["what_if"]["what_if_usd"], "1.1804728915");
    let on = |model: &str| down["by_model"].as_array().unwrap().iter().find(|r| r["key"] == model).unwrap()["priced_on"].clone();
    assert_eq!(on("claude-fable-5-1"), "claude-opus-5");
    assert_eq!(on("claude-sonnet-5"), "claude-haiku-4-5");
}
