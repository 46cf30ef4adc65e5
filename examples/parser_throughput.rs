//! Parser throughput per byte, format against format, on real-shaped lines.
//!
//! Each FORMAT=FILE's lines are repeated in memory up to `--mb` megabytes
//! (nothing is written to disk) and fed to that format's parser, best of
//! three runs; the figures exclude file I/O, de-duplication and pricing.
//!
//! ```text
//! cargo run --release --example parser_throughput -- \
//!   claude_code=../shared/fixtures/claude-code/projects/-home-dev-src-api/52e66139-d4b2-4bef-bade-3efdd3437cdc.jsonl \
//!   anthropic=../shared/fixtures/proxy/anthropic.jsonl openai=../shared/fixtures/proxy/openai.jsonl \
//!   litellm=../shared/fixtures/proxy/litellm.jsonl jsonl=../shared/fixtures/proxy/generic.jsonl --mb 64
//! ```
//! The coding agents: `codex=../shared/fixtures/codex/sessions/2026/11/16/rollout-*-d97dc9cd-*.jsonl`,
//! `qwen_code=tests/fixtures/qwen_code/projects/-home-dev-api/chats/*.jsonl`,
//! `gemini_cli=FILE` (a whole chat file, parsed as one document per copy).
//! `jsonl` uses the field map of `../shared/fixtures/proxy/generic.jsonl`;
//! `skim=FILE` is the floor for comparison: serde_json checking each line
//! and ignoring every value (no parser can read JSON faster).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use creditwatch::sources::formats::anthropic::{AnthropicParser, StreamOptions};
use creditwatch::sources::formats::claude_code::ClaudeCodeParser;
use creditwatch::sources::formats::codex::CodexParser;
use creditwatch::sources::formats::gemini_cli::GeminiCliParser;
use creditwatch::sources::formats::jsonl::{FieldMap, JsonlParser};
use creditwatch::sources::formats::litellm::{LitellmOptions, LitellmParser};
use creditwatch::sources::formats::openai::OpenAiParser;
use creditwatch::sources::formats::opencode::OpencodeMessageParser;
use creditwatch::sources::formats::qwen_code::QwenCodeParser;
use creditwatch::sources::{DocumentParser, LineParser};

const GENERIC_MAP: &str =
    "{ id: /req/id, model: /req/llm, input_tokens: /tok/in, output_tokens: /tok/out, timestamp: /ts, app: /svc/name }";

/// Validates the line's JSON and keeps nothing.
struct Skim;

impl LineParser for Skim {
    fn parse(&mut self, line: &[u8]) -> Result<Option<creditwatch::usage::UsageEvent>, creditwatch::sources::LineError> {
        serde_json::from_slice::<serde::de::IgnoredAny>(line)?;
        Ok(None)
    }
}

fn parser(format: &str) -> Result<Box<dyn LineParser>> {
    let attribution = Arc::default();
    Ok(match format {
        "skim" => Box::new(Skim),
        "claude_code" => Box::new(ClaudeCodeParser),
        "codex" => Box::new(CodexParser::new()),
        "qwen_code" => Box::new(QwenCodeParser::new()),
        "anthropic" => Box::new(AnthropicParser::new(&StreamOptions::default(), attribution).map_err(|e| anyhow!(e))?),
        "openai" => Box::new(OpenAiParser::new(attribution)),
        "litellm" => Box::new(LitellmParser::new(LitellmOptions::default(), attribution)),
        "jsonl" => {
            let map: FieldMap = serde_yaml_ng::from_str(GENERIC_MAP)?;
            Box::new(JsonlParser::new(&map, attribution).map_err(|e| anyhow!(e))?)
        }
        // One OpenCode message per line (rows of `opencode.db`, with their ids).
        "opencode" => Box::new(OpencodeMessageParser),
        other => bail!("unknown format `{other}`"),
    })
}

struct Run {
    bytes: usize,
    lines: usize,
    events: usize,
    errors: usize,
    took: Duration,
}

fn run(format: &str, lines: &[&[u8]]) -> Result<Run> {
    let mut p = parser(format)?;
    let (mut events, mut errors, mut bytes) = (0, 0, 0);
    let start = Instant::now();
    for line in lines {
        bytes += line.len() + 1;
        match p.parse(line) {
            Ok(Some(_)) => events += 1,
            Ok(None) => {}
            Err(_) => errors += 1,
        }
    }
    events += p.drain_pending(None).len();
    Ok(Run { bytes, lines: lines.len(), events, errors, took: start.elapsed() })
}

/// A whole-file format: the document read `copies` times, as the follower
/// reads a chat file again each time it changes.
fn run_document(text: &[u8], copies: usize) -> Run {
    let mut p = GeminiCliParser::gemini();
    let (mut events, mut errors, mut lines) = (0, 0, 0);
    let start = Instant::now();
    for _ in 0..copies {
        match p.parse_document(text) {
            Ok(items) => {
                lines += items.len();
                events += items.iter().filter(|i| i.is_ok()).count();
                errors += items.iter().filter(|i| i.is_err()).count();
            }
            Err(_) => errors += 1,
        }
    }
    Run { bytes: text.len() * copies, lines, events, errors, took: start.elapsed() }
}

fn main() -> Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut mb = 64usize;
    if let Some(i) = args.iter().position(|a| a == "--mb") {
        mb = args.get(i + 1).context("--mb N")?.parse()?;
        args.drain(i..i + 2);
    }
    if args.is_empty() {
        bail!("usage: parser_throughput FORMAT=FILE... [--mb N]");
    }
    let mut baseline: Option<f64> = None;
    println!(
        "{:<12} {:>8} {:>10} {:>9} {:>7} {:>9} {:>11} {:>6}",
        "format", "MB", "lines", "events", "errors", "MB/s", "lines/s", "vs 1st"
    );
    for arg in &args {
        let (format, file) = arg.split_once('=').with_context(|| format!("`{arg}`: want FORMAT=FILE"))?;
        let text = std::fs::read(file).with_context(|| file.to_string())?;
        let one: Vec<&[u8]> = text.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
        let one_bytes: usize = one.iter().map(|l| l.len() + 1).sum();
        if one_bytes == 0 {
            bail!("{file} has no lines");
        }
        let copies = (mb << 20).div_ceil(one_bytes);
        let lines: Vec<&[u8]> = (0..copies).flat_map(|_| one.iter().copied()).collect();
        let once = |_| if format == "gemini_cli" { Ok(run_document(&text, (mb << 20).div_ceil(text.len()))) } else { run(format, &lines) };
        let best = (0..3).map(once).collect::<Result<Vec<_>>>()?.into_iter().min_by_key(|r| r.took).context("no run")?;
        let secs = best.took.as_secs_f64();
        let mb_s = best.bytes as f64 / secs / 1e6;
        let ratio = mb_s / *baseline.get_or_insert(mb_s);
        println!(
            "{format:<12} {:>8.1} {:>10} {:>9} {:>7} {:>9.1} {:>11.0} {:>5.2}x",
            best.bytes as f64 / 1e6,
            best.lines,
            best.events,
            best.errors,
            mb_s,
            best.lines as f64 / secs,
            ratio
        );
    }
    Ok(())
}
