//! `report --json` over real agent logs written by other people's agents
//! (`../shared/real/agents/`, provenance and traps in its `SOURCES.md`),
//! read where they are, never copied: exact requests and tokens per model,
//! and exact decimal costs at the built-in prices.
//!
//! The expected figures were checked against independent sums (jq over the
//! same files): Copilot CLI's `session.shutdown` `modelMetrics` per run plus
//! the `assistant.message` output of the run that never shut down; Qwen
//! Code's legacy `qwen` messages unique by id, and its `qwen-code.api_response`
//! telemetry (every response once, side calls included).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

fn real() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/real/agents")
}

/// `report --json --by model` of `format` over `paths` (none: the format's
/// default paths, with `env` naming the agent's home).
fn report(format: &str, paths: Option<&Path>, env: &[(&str, &Path)]) -> Value {
    let mut cmd = Command::new(common::BIN);
    cmd.args(["report", "--json", "--by", "model", "--format", format]);
    if let Some(p) = paths {
        cmd.arg("--paths").arg(p);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run report");
    assert!(out.status.success(), "report failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("report --json is JSON")
}

/// (model, requests, [input, output, cache_write_5m, cache_write_1h, cache_read], reasoning, cost)
type Row = (&'static str, u64, [u64; 5], u64, &'static str);

fn assert_models(got: &Value, want: &[Row]) {
    let groups = got["groups"].as_array().expect("groups");
    let keys: Vec<&str> = groups.iter().filter_map(|g| g["key"].as_str()).collect();
    assert_eq!(keys, want.iter().map(|r| r.0).collect::<Vec<_>>());
    for (g, (model, requests, [i, o, w5, w1, r], reasoning, cost)) in groups.iter().zip(want) {
        assert_eq!(g["requests"], json!(requests), "{model}");
        assert_eq!(g["tokens"], json!({"input": i, "output": o, "cache_write_5m": w5, "cache_write_1h": w1, "cache_read": r}), "{model}");
        assert_eq!(g["reasoning_tokens"], json!(reasoning), "{model}");
        assert_eq!(g["cost_usd"], json!(cost), "{model}");
    }
}

/// GitHub Copilot CLI's own `events.jsonl` (CLI 1.0.10 to 1.0.60 and the
/// VS Code-hosted agent): every run's shutdown figures, and the 106
/// responses of a run that never shut down (output only).
#[test]
fn copilot_cli_session_logs() {
    let got = report("copilot_cli", Some(&real().join("copilot/**/events.jsonl")), &[]);
    assert_models(
        &got,
        &[
            ("claude-haiku-4-5", 32, [441618, 11854, 0, 0, 1806782], 0, "0.6815662"),
            ("claude-opus-4-6", 199, [663072, 65671, 0, 0, 7307338], 0, "8.610804"),
            ("claude-sonnet-4-6", 41, [6818, 12840, 154425, 0, 1259260], 1430, "1.16992575"),
        ],
    );
    assert_eq!(got["totals"]["requests"], 272);
    assert_eq!(got["totals"]["unpriced_requests"], 0);
}

/// Through the default path `~/.copilot/session-state/*/events.jsonl`.
#[test]
fn copilot_cli_default_path() {
    let home = real().join("copilot/XEFF09__dotfiles");
    let got = report("copilot_cli", None, &[("HOME", &home)]);
    assert_models(&got, &[("claude-sonnet-4-6", 41, [6818, 12840, 154425, 0, 1259260], 1430, "1.16992575")]);
}

/// Qwen Code's legacy `~/.qwen/tmp/<hash>/chats/session-*.json` (type
/// `qwen`), through the default paths: 1,918 requests, not 31,978 bad
/// lines; Qwen OAuth's models at $0 (a free tier, not unpriced).
#[test]
fn qwen_code_legacy_chats() {
    let home = real().join("qwen/cercaniaWeb__racompospro/.qwen");
    let got = report("qwen_code", None, &[("QWEN_HOME", &home)]);
    assert_models(
        &got,
        &[("coder-model", 1917, [6650391, 470109, 0, 0, 163508690], 0, "0"), ("vision-model", 1, [29294, 65, 0, 0, 0], 0, "0")],
    );
    assert_eq!(got["totals"]["unpriced_requests"], 0);
}

/// Qwen Code 0.5 to 0.18 JSON lines: each response once, whether seen as an
/// assistant record, as its telemetry twin, or (side calls) only as telemetry.
#[test]
fn qwen_code_json_lines() {
    let got = report("qwen_code", Some(&real().join("qwen/**/*.jsonl")), &[]);
    assert_models(&got, &[("coder-model", 166, [817614, 184600, 0, 0, 9417451], 0, "0")]);
}

/// Codex rollouts (0.34 to 0.125, forks and sub-agents, repeated
/// `token_count`s): per model as before this round's changes; Ollama ids
/// at $0.
#[test]
fn codex_rollouts() {
    let got = report("codex", Some(&real().join("codex/**/*.jsonl")), &[]);
    assert_models(
        &got,
        &[
            ("gpt-5", 456, [3402915, 223050, 0, 0, 59491328], 52736, "13.92055975"),
            ("gpt-5-1-codex-2025-11-13", 3, [7626, 300, 0, 0, 14848], 128, "0"),
            ("gpt-5.1-codex-max", 46, [54217, 13262, 0, 0, 323968], 9920, "0.24088725"),
            ("gpt-5.3-codex", 552, [3393524, 240030, 0, 0, 47969536], 86576, "17.6937558"),
            ("gpt-5.4", 58, [515180, 29062, 0, 0, 2423296], 9415, "2.329704"),
            ("gpt-5.4-mini", 21, [248553, 17438, 0, 0, 1232768], 9128, "0.35734335"),
            ("gpt-5.5", 66, [1126300, 9118, 0, 0, 4929536], 1759, "8.369808"),
            ("kimi-k2.5:cloud", 31, [844807, 5890, 0, 0, 0], 0, "0"),
        ],
    );
    assert_eq!(got["totals"]["unpriced_requests"], 3, "only the misspelt gpt-5-1-codex id");
}

/// Gemini CLI chats (legacy JSON and JSONL, sub-agents): Gemini 3 previews
/// priced; the image model stays unpriced (its image output has its own price).
#[test]
fn gemini_cli_chats() {
    let got = report("gemini_cli", Some(&real().join("gemini/**/*.json*")), &[]);
    assert_models(
        &got,
        &[
            ("gemini-2.5-flash", 87, [1092725, 46722, 0, 0, 2129982], 36668, "0.50852196"),
            ("gemini-2.5-pro", 312, [3492616, 206755, 0, 0, 6854946], 156612, "7.29018825"),
            ("gemini-3-flash-preview", 35, [1045350, 28732, 0, 0, 1178596], 23204, "0.6678008"),
            ("gemini-3-pro", 9, [25301, 4355, 0, 0, 62117], 2914, "0.1152854"),
            ("gemini-3-pro-image-preview", 11, [45092, 4227, 0, 0, 56538], 1493, "0"),
            ("gemini-3.1-pro-preview", 1, [12020, 657, 0, 0, 0], 532, "0.031924"),
        ],
    );
    assert_eq!(got["totals"]["unpriced_requests"], 11);
}

/// Truncated, repeated and reordered copies of the new line kinds in one
/// file: booked once or counted as errors with their line.
#[test]
fn damaged_copies_of_new_line_kinds_are_counted_not_booked_twice() {
    let events = real().join("copilot/XEFF09__dotfiles/.copilot/session-state/9a493a94-a307-489e-8bc7-d16f4afcd992/events.jsonl");
    let text = std::fs::read_to_string(&events).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let shutdown = lines.iter().position(|l| l.contains("\"session.shutdown\"")).unwrap();
    let message = lines.iter().position(|l| l.contains("\"assistant.message\"")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let damaged = dir.path().join("s/events.jsonl");
    std::fs::create_dir_all(damaged.parent().unwrap()).unwrap();
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    out.insert(shutdown + 1, lines[shutdown].to_string()); // repeated shutdown
    out.insert(message, lines[message][..lines[message].len() / 2].to_string()); // truncated message
    out.push(lines[message].to_string()); // the message again, after the shutdown
    std::fs::write(&damaged, out.join("\n") + "\n").unwrap();
    let output = Command::new(common::BIN)
        .args(["report", "--json", "--by", "model", "--format", "copilot_cli", "--paths"])
        .arg(dir.path().join("*/events.jsonl"))
        .output()
        .unwrap();
    assert!(output.status.success());
    let got: Value = serde_json::from_slice(&output.stdout).unwrap();
    // 1 request, 3 input, 12 output, 19,768 cache writes: as the file alone.
    assert_models(&got, &[("claude-sonnet-4-6", 1, [3, 12, 19768, 0, 0], 0, "0.074319")]);
    // The truncated copy is an error named by its file and line.
    let stderr = String::from_utf8_lossy(&output.stderr);
    let at = format!("file={} line={}", damaged.display(), message + 1);
    assert!(stderr.contains("bad log line: invalid JSON") && stderr.contains(&at), "{stderr}");
    assert!(stderr.contains(&format!("1 of {} lines could not be read", out.len())), "{stderr}");
}
