//! One request, two copies: a Claude Code transcript line (streaming
//! placeholders: input 1, a partial output) and the `claude_code.api_request`
//! event with the final counts, tied by the `requestId`. Booked once, at the
//! larger count of each kind; cache writes at the larger total keeping the
//! transcript's 5m/1h split. And a state directory written by the release
//! before ids became the `requestId` keeps working: its lines read again are
//! duplicates, and a later, larger copy books only its growth.

mod common;
mod otlp_support;

use std::path::Path;
use std::time::Duration;

use common::{metric, wait_for, Daemon};
use otlp_support::{python, send, FIXTURE_JSON, TOKEN};

fn config(grpc_port: u16) -> String {
    format!(
        r#"
listen: "127.0.0.1:{{port}}"
state_dir: "{{dir}}/state"
accounts:
  - {{ name: personal, opening_balance_usd: "50.00", opening_balance_as_of: "2020-01-01T00:00:00Z" }}
sources:
  - {{ name: claude-code, format: claude_code, paths: ["{{dir}}/projects/**/*.jsonl"], account: personal, app: claude-code }}
  - {{ name: telemetry, format: otlp, account: personal, app: claude-code }}
otlp: {{ grpc_listen: "127.0.0.1:{grpc_port}", token_file: "{{dir}}/otlp.token" }}
follow: {{ poll_interval: "100ms", dedup_retention: "3650d" }}
"#
    )
}

fn assistant(request_id: &str, message_id: &str, model: &str, output: u64, cache: Option<(u64, u64)>) -> String {
    let (w5, w1) = cache.unwrap_or((0, 0));
    let split = if cache.is_some() {
        format!(r#","cache_creation":{{"ephemeral_5m_input_tokens":{w5},"ephemeral_1h_input_tokens":{w1}}}"#)
    } else {
        String::new()
    };
    format!(
        concat!(
            r#"{{"type":"assistant","sessionId":"s","uuid":"u-{m}","timestamp":"2026-12-01T19:40:50.000Z","requestId":"{r}","#,
            r#""message":{{"id":"{m}","role":"assistant","model":"{model}","usage":{{"input_tokens":1,"output_tokens":{out},"#,
            r#""cache_creation_input_tokens":{total},"cache_read_input_tokens":0{split}}}}}}}"#,
            "\n"
        ),
        r = request_id,
        m = message_id,
        model = model,
        out = output,
        total = w5 + w1,
        split = split
    )
}

fn lines(daemon: &Daemon, outcome: &str) -> Option<String> {
    metric(&daemon.scrape(), &format!(r#"creditwatch_source_lines_total{{outcome="{outcome}",source="claude-code"}}"#))
}

#[test]
fn transcript_placeholders_and_events_with_final_counts_book_each_request_once() {
    python();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("otlp.token"), TOKEN).unwrap();
    let project = dir.path().join("projects/p");
    std::fs::create_dir_all(&project).unwrap();
    // The fixture's seven requests as their transcript wrote them mid-stream;
    // the first with a 5m/1h split of its 6159 cache writes.
    let requests = [
        ("req_011C79f74d60ac03031ec35d7d", "claude-opus-4-6"),
        ("req_011C8b41c2546a35e3767266e1", "claude-sonnet-4-6"),
        ("req_011Ce2aeba83e9353b1ce7549c", "claude-sonnet-4-6"),
        ("req_011Cb1bed0c33f250fab45d0d3", "claude-opus-4-6"),
        ("req_011C6887d5e745f3cb0d2f926d", "claude-sonnet-4-6"),
        ("req_011Cc259ca14c0b726d9dd70b6", "claude-sonnet-4-6"),
        ("req_011C23d44588b80542186d778b", "claude-sonnet-4-6"),
    ];
    let mut text = String::new();
    for (i, (request_id, model)) in requests.iter().enumerate() {
        let cache = (i == 0).then_some((159, 6000));
        text.push_str(&assistant(request_id, &format!("msg_{i}"), model, 12, cache));
    }
    common::append(&project.join("session.jsonl"), &text);
    let grpc_port = common::free_port();
    let daemon = Daemon::start(dir.path(), &config(grpc_port));
    wait_for("the placeholders to be booked", Duration::from_secs(20), || lines(&daemon, "booked").as_deref() == Some("7"));

    let out = send("grpc", &format!("127.0.0.1:{grpc_port}"), Some(TOKEN), Path::new(FIXTURE_JSON), &[]);
    assert_eq!(out["status"].as_str(), Some("OK"), "{out}");
    let scrape = daemon.scrape();
    let s = |name: &str, model: &str| format!(r#"{name}{{account="personal",app="claude-code",model="{model}"}}"#);
    assert_eq!(metric(&scrape, &s("creditwatch_requests_total", "claude-opus-4-6")).as_deref(), Some("2"));
    assert_eq!(metric(&scrape, &s("creditwatch_requests_total", "claude-sonnet-4-6")).as_deref(), Some("5"));
    // Final counts from the events; request 1's writes keep the transcript's
    // split (6000 at the 1h price): $0.17500375 + $0.1907695.
    assert_eq!(metric(&scrape, &s("creditwatch_spend_usd_total", "claude-opus-4-6")).as_deref(), Some("0.36577325"));
    assert_eq!(metric(&scrape, &s("creditwatch_spend_usd_total", "claude-sonnet-4-6")).as_deref(), Some("0.44157105"));
    let kind = |k: &str| format!(r#"creditwatch_tokens_total{{account="personal",app="claude-code",kind="{k}",model="claude-opus-4-6"}}"#);
    assert_eq!(metric(&scrape, &kind("cache_write_1h")).as_deref(), Some("6000"));
    assert_eq!(metric(&scrape, &kind("cache_write_5m")).as_deref(), Some("6939"));
    assert_eq!(metric(&scrape, &kind("output")).as_deref(), Some("8993"));

    // A transcript copy written after the event books nothing more.
    common::append(&project.join("session.jsonl"), &assistant(requests[1].0, "msg_1", requests[1].1, 4000, None));
    wait_for("the late copy to be read", Duration::from_secs(20), || lines(&daemon, "duplicate").as_deref() == Some("1"));
    assert_eq!(metric(&daemon.scrape(), &s("creditwatch_spend_usd_total", "claude-sonnet-4-6")).as_deref(), Some("0.44157105"));
}

/// `tests/fixtures/state-before-request-ids/`: made by the binary of the
/// layout commit, whose Claude Code ids were (message.id, requestId).
#[test]
fn a_state_dir_of_the_previous_release_books_nothing_twice() {
    python();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("otlp.token"), TOKEN).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/state-before-request-ids");
    std::fs::create_dir_all(dir.path().join("state")).unwrap();
    for f in ["journal.cwj", "snapshot.cws"] {
        std::fs::copy(fixture.join("state").join(f), dir.path().join("state").join(f)).unwrap();
    }
    // The same lines in a new file (a resumed session copies them): read from the start.
    let project = dir.path().join("projects/p");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::copy(fixture.join("projects/p/session.jsonl"), project.join("resumed.jsonl")).unwrap();
    let grpc_port = common::free_port();
    let daemon = Daemon::start(dir.path(), &config(grpc_port));
    let spend = r#"creditwatch_spend_usd_total{account="personal",app="claude-code",model="claude-haiku-4-5-20251001"}"#;
    let requests = r#"creditwatch_requests_total{account="personal",app="claude-code",model="claude-haiku-4-5-20251001"}"#;
    wait_for("the old lines to be read again", Duration::from_secs(20), || lines(&daemon, "duplicate").as_deref() == Some("5"));
    let scrape = daemon.scrape();
    assert_eq!(metric(&scrape, spend).as_deref(), Some("0.0112"), "{}", daemon.log());
    assert_eq!(metric(&scrape, requests).as_deref(), Some("4"));
    assert_eq!(metric(&scrape, r#"creditwatch_source_lines_total{outcome="booked",source="claude-code"}"#).as_deref(), Some("5"));

    // The event of the first request, with its final output (500, not 300):
    // only the 200 more output tokens are booked ($0.001 at haiku's $5/M).
    let event = std::fs::read_to_string(FIXTURE_JSON).unwrap();
    let one: serde_json::Value = serde_json::from_str(&event).unwrap();
    let mut one = one;
    let records = one["resourceLogs"][0]["scopeLogs"][0]["logRecords"].as_array_mut().unwrap();
    records.truncate(1);
    for attr in records[0]["attributes"].as_array_mut().unwrap() {
        let value = match attr["key"].as_str().unwrap() {
            "model" => "claude-haiku-4-5-20251001",
            "request_id" => "req_v1_a",
            "input_tokens" => "1000",
            "output_tokens" => "500",
            "cache_read_tokens" => "0",
            "cache_creation_tokens" => "3000",
            _ => continue,
        };
        attr["value"] = serde_json::json!({ "stringValue": value });
    }
    let file = dir.path().join("event.json");
    std::fs::write(&file, one.to_string()).unwrap();
    let out = send("http-json", &format!("127.0.0.1:{}", daemon.port), Some(TOKEN), &file, &[]);
    assert_eq!(out["status"].as_i64(), Some(200), "{out}");
    let scrape = daemon.scrape();
    assert_eq!(metric(&scrape, spend).as_deref(), Some("0.0122"));
    assert_eq!(metric(&scrape, requests).as_deref(), Some("4"));
}
