//! Qwen Code followed live: a `qwen-code.api_response` telemetry record
//! written before its assistant twin waits for it (the file's checkpoint
//! held at the telemetry), so the response is booked once; a side call's
//! telemetry, which has no twin, is booked once after its wait.

mod common;

use std::time::Duration;

use common::{metric, wait_for, Daemon};

fn telemetry(uuid: &str, at: &str, input: u64) -> String {
    format!(
        r#"{{"uuid":"{uuid}","parentUuid":"u-0","sessionId":"s-1","timestamp":"{at}","type":"system","subtype":"ui_telemetry","systemPayload":{{"uiEvent":{{"event.name":"qwen-code.api_response","model":"qwen3-coder-flash","input_token_count":{input},"output_token_count":20,"cached_content_token_count":0,"thoughts_token_count":0,"total_token_count":{}}}}}}}"#,
        input + 20
    )
}

fn assistant(uuid: &str, parent: &str, at: &str, input: u64) -> String {
    format!(
        r#"{{"uuid":"{uuid}","parentUuid":"{parent}","sessionId":"s-1","timestamp":"{at}","type":"assistant","model":"qwen3-coder-flash","usageMetadata":{{"promptTokenCount":{input},"candidatesTokenCount":20,"thoughtsTokenCount":0,"totalTokenCount":{},"cachedContentTokenCount":0}}}}"#,
        input + 20
    )
}

#[test]
fn telemetry_and_its_twin_are_one_request_and_a_side_call_is_booked_once() {
    let dir = tempfile::tempdir().unwrap();
    let chat = dir.path().join("projects/p/chats/s-1.jsonl");
    std::fs::create_dir_all(chat.parent().unwrap()).unwrap();
    let config = format!(
        r#"
listen: "127.0.0.1:{{port}}"
state_dir: "{d}/state"
accounts: [{{ name: dev }}]
sources:
  - {{ name: qwen, format: qwen_code, paths: ["{d}/projects/*/chats/*.jsonl"], account: dev }}
follow: {{ poll_interval: "100ms" }}
"#,
        d = dir.path().display()
    );
    let daemon = Daemon::start(dir.path(), &config);
    let now = chrono::Utc::now();
    let ts = |s: i64| (now + chrono::Duration::seconds(s)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let requests = r#"creditwatch_requests_total{account="dev",app="qwen-code",model="qwen3-coder-flash"}"#;
    let lines =
        |outcome: &str| metric(&daemon.scrape(), &format!(r#"creditwatch_source_lines_total{{outcome="{outcome}",source="qwen"}}"#));
    // The main call's telemetry first: it waits for its twin.
    common::append(&chat, &format!("{}\n", telemetry("t-1", &ts(0), 1000)));
    wait_for("the telemetry read", Duration::from_secs(20), || lines("skipped").as_deref() == Some("1"));
    assert_eq!(metric(&daemon.scrape(), requests), None);
    common::append(&chat, &format!("{}\n", assistant("a-1", "t-1", &ts(1), 1000)));
    wait_for("the twin", Duration::from_secs(20), || metric(&daemon.scrape(), requests).as_deref() == Some("1"));
    // A side call written an hour ago (read late): no twin will come, so it
    // is booked once its wait is over.
    let old = (now - chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    common::append(&chat, &format!("{}\n", telemetry("t-2", &old, 3000)));
    wait_for("the side call", Duration::from_secs(20), || metric(&daemon.scrape(), requests).as_deref() == Some("2"));
    let scrape = daemon.scrape();
    let input = r#"creditwatch_tokens_total{account="dev",app="qwen-code",kind="input",model="qwen3-coder-flash"}"#;
    assert_eq!(metric(&scrape, input).as_deref(), Some("4000"));
    // qwen3-coder-flash: (1000 + 3000) x $0.30 + 40 x $1.50 per million
    assert_eq!(
        metric(&scrape, r#"creditwatch_spend_usd_total{account="dev",app="qwen-code",model="qwen3-coder-flash"}"#).as_deref(),
        Some("0.00126")
    );

    // The last line of the chat: a side call whose wait ends only after the
    // file has gone quiet (idle files give their descriptor back after 5 s).
    // Nothing more is written, and it is booked all the same.
    let soon = (chrono::Utc::now() - chrono::Duration::seconds(HOLD_SECONDS - 8)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    common::append(&chat, &format!("{}\n", telemetry("t-3", &soon, 500)));
    wait_for("the last side call", Duration::from_secs(30), || metric(&daemon.scrape(), requests).as_deref() == Some("3"));
    assert_eq!(metric(&daemon.scrape(), input).as_deref(), Some("4500"));
}

/// How long a telemetry record waits for its twin (`formats::qwen_code`).
const HOLD_SECONDS: i64 = 60;
