//! `report --json` over the coding agents' logs: Codex (the shared fixture
//! tree and its `expected.json`), Gemini CLI and Qwen Code (fixtures in
//! `tests/fixtures/`, `expected.json` computed by an independent script):
//! exact requests, tokens by kind, reasoning and decimal cost.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Prices the fixtures need, as a config override (independent of the
/// built-in table; see NOTE.md for the list prices).
const PRICES: &str = r#"
prices:
  gpt-5.2:            { input_usd: "1.75", output_usd: "14",  cache_read_usd: "0.175" }
  gpt-5.2-codex:      { input_usd: "1.75", output_usd: "14",  cache_read_usd: "0.175" }
  gpt-5.1-codex-mini: { input_usd: "0.25", output_usd: "2",   cache_read_usd: "0.025" }
  gemini-2.5-pro:
    { input_usd: "1.25", output_usd: "10", cache_read_usd: "0.125",
      long_context: { threshold_tokens: 200000, input_usd: "2.50", output_usd: "15", cache_read_usd: "0.25" } }
  gemini-2.5-flash:   { input_usd: "0.30", output_usd: "2.50", cache_read_usd: "0.03" }
  qwen3-coder-plus:   { input_usd: "1",    output_usd: "5",    cache_read_usd: "0.10" }
  qwen3-coder-flash:  { input_usd: "0.30", output_usd: "1.50", cache_read_usd: "0.03" }
"#;

/// Runs `report --json` with a config of one source of `format` reading
/// `paths` (none: the format's default paths, under `home`).
fn report(dir: &Path, format: &str, paths: Option<&str>, env: &[(&str, &Path)], args: &[&str]) -> Value {
    let paths = paths.map(|p| format!("\n    paths: [\"{p}\"]")).unwrap_or_default();
    let config = format!(
        "state_dir: \"{}/state\"\naccounts: [{{ name: personal }}]\nsources:\n  - name: agent\n    format: {format}{paths}\n    account: personal\n{PRICES}",
        dir.display()
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, config).unwrap();
    let mut cmd = Command::new(common::BIN);
    cmd.args(["report", "--json", "--config"]).arg(&path).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run report");
    assert!(out.status.success(), "report failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("report --json is JSON")
}

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(v.as_str().unwrap_or_else(|| panic!("money is a decimal string: {v}"))).expect("a decimal")
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("a count: {v}"))
}

fn expected(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("expected.json")).expect("JSON")
}

#[test]
fn codex_fixture_tree_reproduces_expected_json() {
    let fixture = root().join("../shared/fixtures/codex");
    let want = expected(&fixture.join("expected.json"));
    let dir = tempfile::tempdir().unwrap();
    // Through the default paths: CODEX_HOME names the tree.
    let got = report(dir.path(), "codex", None, &[("CODEX_HOME", &fixture)], &["--by", "model"]);
    let t = &got["totals"];
    let tokens = &t["tokens"];
    assert_eq!(t["requests"], want["requests"]);
    // Codex's input counts cached input; ours is the rest, beside cache_read.
    assert_eq!(n(&tokens["input"]) + n(&tokens["cache_read"]), n(&want["input"]));
    assert_eq!(tokens["cache_read"], want["cached_input"]);
    assert_eq!(tokens["output"], want["output"]);
    assert_eq!(t["reasoning_tokens"], want["reasoning"]);
    assert_eq!(dec(&t["cost_usd"]), dec(&want["cost_usd"]));
    let models: Vec<&str> = got["groups"].as_array().unwrap().iter().filter_map(|g| g["key"].as_str()).collect();
    assert_eq!(models, ["gpt-5.1-codex-mini", "gpt-5.2", "gpt-5.2-codex"]);
    for g in got["groups"].as_array().unwrap() {
        assert_eq!(g["models"], serde_json::json!([g["key"]]));
    }
    // `app` defaults to the agent's name.
    let by_app = report(dir.path(), "codex", None, &[("CODEX_HOME", &fixture)], &["--by", "app"]);
    assert_eq!(by_app["groups"][0]["key"], "codex");
}

/// Gemini CLI and Qwen Code fixtures against their `expected.json`.
#[test]
fn gemini_and_qwen_fixtures_reproduce_expected_json() {
    let cases = [("gemini_cli", "GEMINI_CLI_HOME", "gemini_cli", "gemini-cli"), ("qwen_code", "QWEN_HOME", "qwen_code", "qwen-code")];
    for (format, var, folder, app) in cases {
        let fixture = root().join("tests/fixtures").join(folder);
        let want = expected(&fixture.join("expected.json"));
        // Gemini's home holds `.gemini/`; link the fixture there.
        let home = tempfile::tempdir().unwrap();
        let env_dir = if format == "gemini_cli" {
            std::os::unix::fs::symlink(&fixture, home.path().join(".gemini")).unwrap();
            home.path().to_path_buf()
        } else {
            fixture.clone()
        };
        let dir = tempfile::tempdir().unwrap();
        let got = report(dir.path(), format, None, &[(var, &env_dir)], &["--by", "app"]);
        let t = &got["totals"];
        assert_eq!(t["requests"], want["requests"], "{format}");
        assert_eq!(t["tokens"]["input"], want["input"], "{format}");
        assert_eq!(t["tokens"]["output"], want["output"], "{format}");
        assert_eq!(t["tokens"]["cache_read"], want["cache_read"], "{format}");
        assert_eq!(t["reasoning_tokens"], want["reasoning"], "{format}");
        assert_eq!(dec(&t["cost_usd"]), dec(&want["cost"]), "{format}");
        assert_eq!(got["groups"][0]["key"], app, "{format}");
    }
}

/// Bad input is counted, the rest read; nothing panics.
#[test]
fn bad_lines_and_documents_are_counted_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let codex = std::fs::read_to_string(
        root().join("../shared/fixtures/codex/sessions/2026/11/10/rollout-2026-11-10T16-10-41-11df12d7-dd30-4e89-a2f2-35f2e11b868d.jsonl"),
    )
    .unwrap();
    std::fs::write(logs.join("a.jsonl"), format!("not json\n{codex}{{\"type\":\"event_msg\",\"payload\":{{\"type\":\"token_count\",\"info\":{{\"total_token_usage\":7}}}}}}\n\u{0}\u{1}\n"))
        .unwrap();
    let out = Command::new(common::BIN)
        .args(["report", "--json", "--format", "codex", "--paths"])
        .arg(format!("{}/*.jsonl", logs.display()))
        .output()
        .unwrap();
    assert!(out.status.success());
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["totals"]["requests"], 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("3 of 9 lines could not be read"), "{}", String::from_utf8_lossy(&out.stderr));

    std::fs::write(logs.join("broken.json"), "{\n  \"sessionId\": \"s\",\n  \"messages\": [\n").unwrap();
    let out = Command::new(common::BIN)
        .args(["report", "--json", "--format", "gemini_cli", "--paths"])
        .arg(format!("{}/*.json", logs.display()))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 of 1 lines could not be read"), "{}", String::from_utf8_lossy(&out.stderr));
}
