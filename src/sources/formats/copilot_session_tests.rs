use std::collections::BTreeMap;

use super::*;
use crate::sources::formats::copilot_cli::CopilotCliParser;
use crate::sources::LineParser;

const START: &str = r#"{"type":"session.start","data":{"sessionId":"s-1","copilotVersion":"1.0.60","selectedModel":"claude-sonnet-4.6"},"id":"run-1","timestamp":"2026-06-08T02:44:55.033Z","parentId":null}"#;
const TOOL: &str = r#"{"type":"tool.execution_complete","data":{"toolCallId":"t","success":true,"result":{"content":"\"outputTokens\":9"}},"id":"e-2","timestamp":"2026-06-08T02:45:01.000Z"}"#;
const SHUTDOWN: &str = r#"{"type":"session.shutdown","data":{"shutdownType":"routine","totalPremiumRequests":1.33,"modelMetrics":{"claude-sonnet-4.6":{"requests":{"count":3,"cost":1},"usage":{"inputTokens":50000,"outputTokens":700,"cacheReadTokens":40000,"cacheWriteTokens":9000,"reasoningTokens":50}},"claude-haiku-4.5":{"requests":{"count":2,"cost":0.33},"usage":{"inputTokens":1000,"outputTokens":20,"cacheReadTokens":0,"cacheWriteTokens":0}}},"currentModel":"claude-sonnet-4.6"},"id":"e-9","timestamp":"2026-06-08T02:49:25.544Z"}"#;

fn message(n: u32, output: u64, model: Option<&str>) -> String {
    let model = model.map(|m| format!(r#""model":"{m}","#)).unwrap_or_default();
    format!(
        r#"{{"type":"assistant.message","data":{{"messageId":"m-{n}",{model}"content":"done","outputTokens":{output},"requestId":"r-{n}"}},"id":"e-m{n}","timestamp":"2026-06-08T02:4{n}:05.789Z"}}"#
    )
}

/// Every event of `lines`, as the report reads a file: in order, then the
/// held ones at the end.
fn read(lines: &[String]) -> Vec<Result<Option<UsageEvent>, LineError>> {
    let mut parser = CopilotCliParser::new();
    let mut out: Vec<_> = lines.iter().map(|l| parser.parse(l.as_bytes())).collect();
    out.extend(parser.drain_pending(None).into_iter().map(|e| Ok(Some(e))));
    out
}

/// Copies merged by id as the seen-id index merges them: per model,
/// (requests, tokens, premium requests).
fn booked(lines: &[String]) -> BTreeMap<String, (usize, Tokens, Decimal)> {
    let mut by_id: BTreeMap<EventId, UsageEvent> = BTreeMap::new();
    for event in read(lines).into_iter().filter_map(|r| r.ok().flatten()) {
        by_id
            .entry(event.id)
            .and_modify(|e| {
                e.tokens = e.tokens.merged(&event.tokens);
                e.premium_requests = e.premium_requests.max(event.premium_requests);
            })
            .or_insert(event);
    }
    let mut out: BTreeMap<String, (usize, Tokens, Decimal)> = BTreeMap::new();
    for e in by_id.values() {
        let m = out.entry(e.model.clone()).or_default();
        m.0 += 1;
        m.1.add(&e.tokens);
        m.2 += e.premium_requests;
    }
    out
}

fn lines(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn want() -> BTreeMap<String, (usize, Tokens, Decimal)> {
    let sonnet = Tokens { input: 1000, output: 700, cache_write_5m: 9000, cache_write_1h: 0, cache_read: 40000 };
    let haiku = Tokens { input: 1000, output: 20, ..Tokens::default() };
    BTreeMap::from([
        ("claude-haiku-4-5".to_string(), (2, haiku, "0.33".parse().unwrap())),
        ("claude-sonnet-4-6".to_string(), (3, sonnet, Decimal::ONE)),
    ])
}

/// The shutdown's figures per model, whether the messages came first (a
/// live run read as it grows) or not; the messages' output is not added
/// again, and the requests the messages never showed are counted.
#[test]
fn a_run_books_its_shutdown_figures_once() {
    let (m1, m2) = (message(5, 300, Some("claude-sonnet-4.6")), message(6, 250, None));
    let whole = lines(&[START, &m1, TOOL, &m2, SHUTDOWN]);
    assert_eq!(booked(&whole), want());
    // Repeated lines and a reordered pair book the same.
    let repeated = lines(&[START, &m1, &m1, TOOL, &m2, SHUTDOWN, SHUTDOWN]);
    assert_eq!(booked(&repeated), want());
    let reordered = lines(&[START, &m2, TOOL, &m1, SHUTDOWN]);
    assert_eq!(booked(&reordered), want());
    // Read as it grew: what the messages booked grows into the same figures.
    let early: Vec<String> = lines(&[START, &m1, TOOL, &m2]);
    let live = booked(&early);
    assert_eq!(live["claude-sonnet-4-6"].1.output, 550);
    assert_eq!(live["claude-sonnet-4-6"].0, 2);
    let events: Vec<UsageEvent> = read(&whole).into_iter().filter_map(|r| r.ok().flatten()).collect();
    let first = events.iter().find(|e| e.model == "claude-sonnet-4-6" && !e.premium_requests.is_zero()).unwrap();
    assert_eq!(first.id, EventId::from_parts("copilot_cli/session", &["s-1", "run-1", "claude-sonnet-4-6", "1"]));
    assert_eq!((first.tokens.output, first.reasoning_tokens), (700 - 250, 50));
    assert_eq!(first.session.as_deref(), Some("s-1"));
}

/// Runs are per process: a resume starts a new one, whose shutdown reports
/// only itself; a run that never shut down keeps its messages' output.
#[test]
fn each_run_is_its_own_and_a_crashed_run_keeps_what_its_messages_carry() {
    let resume = r#"{"type":"session.resume","data":{"resumeTime":"2026-06-08T03:00:00.000Z","eventCount":9},"id":"run-2","timestamp":"2026-06-08T03:00:00.000Z"}"#;
    let m7 = message(7, 80, None);
    let got = booked(&lines(&[START, SHUTDOWN, resume, &m7]));
    let sonnet = &got["claude-sonnet-4-6"];
    // Run 1's three requests, then run 2's one message (the model the last
    // shutdown named), output only.
    assert_eq!((sonnet.0, sonnet.1.output, sonnet.1.input), (4, 780, 1000));
    assert_eq!(got["claude-haiku-4-5"].0, 2);
}

/// Copilot CLI 1.0.10 names no model anywhere before the first shutdown:
/// messages wait, and the shutdown's figures replace them; without a
/// shutdown they are booked under `unknown` (unpriced, and said so).
#[test]
fn messages_of_a_run_with_no_model_wait_for_its_end() {
    let start = START.replace(r#","selectedModel":"claude-sonnet-4.6""#, "");
    let (m1, m2) = (message(1, 300, None), message(2, 250, None));
    let mut parser = CopilotCliParser::new();
    for l in [&start, &m1, &m2] {
        assert_eq!(parser.parse(l.as_bytes()), Ok(None));
    }
    assert!(parser.holding());
    assert!(parser.drain_pending(Some(chrono::Utc::now())).is_empty(), "the run may still be going");
    assert_eq!(booked(&lines(&[&start, &m1, &m2, SHUTDOWN])), want());
    let crashed = booked(&lines(&[&start, &m1, &m2]));
    assert_eq!(crashed.keys().collect::<Vec<_>>(), ["unknown"]);
    assert_eq!((crashed["unknown"].0, crashed["unknown"].1.output), (2, 550));
}

/// A truncated line of each kind is an error; other event types and lines
/// that only mention the words are not requests.
#[test]
fn truncated_lines_are_errors_and_others_are_skipped() {
    let m1 = message(1, 300, Some("gpt-5.2"));
    for line in [&START[..40], &m1[..m1.len() - 15], &SHUTDOWN[..SHUTDOWN.len() - 2]] {
        let got = read(&lines(&[line]));
        assert!(got[0].is_err(), "{line}");
    }
    let negative = SHUTDOWN.replace(r#""cost":0.33"#, r#""cost":-1"#);
    assert!(read(&lines(&[START, &negative]))[1].is_err());
    let bad_count = SHUTDOWN.replace(r#""outputTokens":700"#, r#""outputTokens":"700""#);
    assert!(read(&lines(&[START, &bad_count]))[1].is_err());
    assert_eq!(read(&lines(&[TOOL]))[0], Ok(None));
    let hook = r#"{"type":"hook.end","data":{"outputTokens":5},"id":"h","timestamp":"2026-06-08T02:45:01.000Z"}"#;
    assert_eq!(read(&lines(&[hook]))[0], Ok(None));
}
