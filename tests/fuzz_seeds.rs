//! Replays the committed fuzz seeds (`fuzz/seeds/<target>/`, written by
//! `scripts/fuzz-seeds`) through the entry points the fuzz targets call, so
//! the seeds stay valid inputs and every invariant the fuzzers check holds
//! on them. The fuzzers themselves run only from `scripts/fuzz`.

use std::path::{Path, PathBuf};

use creditwatch::robustness::{self, Violation};
use creditwatch::sources::Format;

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds").join(target);
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    seeds.sort();
    seeds
}

/// Runs every seed of `target`; returns how many there were.
fn replay(target: &str, entry: impl Fn(&[u8]) -> Result<(), Violation>) -> usize {
    let seeds = seeds(target);
    for (path, bytes) in &seeds {
        if let Err(violation) = entry(bytes) {
            panic!("{}: {violation}", path.display());
        }
    }
    seeds.len()
}

#[test]
fn claude_code_seeds() {
    assert_eq!(replay("claude_code", |b| robustness::parse_lines(Format::ClaudeCode, b)), 14);
}

#[test]
fn copilot_cli_seeds() {
    assert_eq!(replay("copilot_cli", |b| robustness::parse_lines(Format::CopilotCli, b)), 3);
}

#[test]
fn otlp_seeds() {
    assert_eq!(replay("otlp", robustness::otlp_request), 2);
}

#[test]
fn journal_seeds() {
    assert_eq!(replay("journal", robustness::journal_bytes), 7);
}

#[test]
fn config_seeds() {
    assert_eq!(replay("config", robustness::config_text), 5);
}

#[test]
fn web_config_seeds() {
    assert_eq!(replay("web_config", robustness::web_config_text), 5);
}

#[test]
fn proxy_format_seeds() {
    for (target, format, count) in
        [("anthropic", Format::Anthropic, 10), ("openai", Format::Openai, 8), ("litellm", Format::Litellm, 7), ("jsonl", Format::Jsonl, 7)]
    {
        assert_eq!(replay(target, |b| robustness::parse_lines(format, b)), count, "{target}");
    }
}

/// The seeds are read by the parser they are for: every proxy seed yields
/// events (so the fuzzer starts from inputs that reach the pricing fields),
/// one per request: a whole line, or a stream's start (its delta may be in
/// the seed or not); a delta whose start is not in the seed is none.
#[test]
fn proxy_seeds_parse_to_events() {
    let want = [
        ("anthropic", Format::Anthropic, 21),
        ("openai", Format::Openai, 30),
        ("litellm", Format::Litellm, 28),
        ("jsonl", Format::Jsonl, 25),
    ];
    for (target, format, want) in want {
        let mut total = 0;
        for (path, bytes) in seeds(target) {
            let mut parser = robustness::parser_for(format).unwrap();
            let parsed = bytes.split(|&b| b == b'\n').filter(|l| matches!(parser.parse(l), Ok(Some(_)))).count();
            let events = parsed + parser.drain_pending(None).len();
            assert!(events > 0, "{}: no events", path.display());
            total += events;
        }
        assert_eq!(total, want, "{target}");
    }
}

/// The coding agents' parsers: Codex and Qwen Code line by line (state kept
/// across a seed's lines), Gemini CLI whole files read twice. Every seed
/// yields events, so the fuzzers start from inputs that reach the counts.
#[test]
fn agent_format_seeds() {
    assert_eq!(replay("codex", |b| robustness::parse_lines(Format::Codex, b)), 6);
    assert_eq!(replay("qwen_code", |b| robustness::parse_lines(Format::QwenCode, b)), 2);
    assert_eq!(replay("gemini_cli", |b| robustness::parse_document(Format::GeminiCli, b)), 4);
    for (target, format) in [("codex", Format::Codex), ("qwen_code", Format::QwenCode)] {
        for (path, bytes) in seeds(target) {
            let mut parser = robustness::parser_for(format).unwrap();
            let events = bytes.split(|&b| b == b'\n').filter(|l| matches!(parser.parse(l), Ok(Some(_)))).count();
            assert!(events > 0, "{}: no events", path.display());
        }
    }
}

#[test]
fn opencode_seeds() {
    assert_eq!(replay("opencode", robustness::opencode_message), 13);
}
