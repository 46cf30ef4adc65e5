//! Proxy and provider logs as they really are, through the running daemon:
//! raw SDK stream events without a stream id held across a crash, and batch
//! result files whose failed requests are counted and logged, not booked.

mod common;

use common::*;

const CONFIG: &str = r#"
listen: "127.0.0.1:{port}"
state_dir: "{dir}/state"
accounts:
  - name: personal
    opening_balance_usd: "50.00"
    opening_balance_as_of: "2020-01-01T00:00:00Z"
sources:
  - name: sdk
    format: anthropic
    paths: ["{dir}/logs/*.jsonl"]
    account: personal
    app: sdk
    streams: { timeout: "1h" }
  - name: batches
    format: openai
    paths: ["{dir}/batches/*.jsonl"]
    account: personal
    app: batches
follow:
  poll_interval: "200ms"
"#;

/// One streamed response as the SDK's server-sent events, one JSON per line.
const RAW_STREAM: [&str; 7] = [
    r#"{"type":"message_start","message":{"id":"msg_01RawStream","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":1849,"cache_read_input_tokens":20113,"cache_creation":{"ephemeral_5m_input_tokens":1849,"ephemeral_1h_input_tokens":0},"output_tokens":1,"service_tier":"standard"}}}"#,
    r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
    r#"{"type": "ping"}"#,
    r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#,
    r#"{"type":"content_block_stop","index":0}"#,
    r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":472,"cache_creation_input_tokens":1849,"cache_read_input_tokens":20113,"output_tokens":503}}"#,
    r#"{"type":"message_stop"}"#,
];

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("logs")).unwrap();
    std::fs::create_dir_all(dir.path().join("batches")).unwrap();
    dir
}

#[test]
fn a_raw_sdk_stream_without_stream_id_survives_a_crash_and_takes_its_delta() {
    let dir = setup();
    let log = dir.path().join("logs/sdk.jsonl");
    append(&log, &format!("{}\n", RAW_STREAM[..4].join("\n")));
    let d = Daemon::start(dir.path(), CONFIG);
    d.wait_metric(r#"creditwatch_source_lines_total{outcome="skipped",source="sdk"}"#, "4");
    let series = r#"{account="personal",app="sdk",model="claude-sonnet-4-5-20250929"}"#;
    assert_eq!(metric(&d.scrape(), &format!("creditwatch_requests_total{series}")), None, "held until its delta");
    d.kill();
    // After the crash the start is read again (the checkpoint stayed before
    // it), and the delta that comes now is tied to it: booked once, final
    // usage: 472 x $3 + 1849 x $3.75 + 20113 x $0.30 + 503 x $15 per million.
    let d = Daemon::start(dir.path(), CONFIG);
    append(&log, &format!("{}\n", RAW_STREAM[4..].join("\n")));
    d.wait_metric(&format!("creditwatch_requests_total{series}"), "1");
    d.wait_metric(&format!("creditwatch_spend_usd_total{series}"), "0.02192865");
    d.wait_metric(r#"creditwatch_source_lines_total{outcome="error",source="sdk"}"#, "0");
}

#[test]
fn failed_batch_requests_are_counted_and_logged_not_booked() {
    let dir = setup();
    let output = [
        r#"{"id":"batch_req_6789a","custom_id":"request-1","response":{"status_code":200,"request_id":"req_abc123","body":{"id":"chatcmpl-B1","object":"chat.completion","created":1764590000,"model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0}},"service_tier":"default"}},"error":null}"#,
        r#"{"id":"batch_req_6789b","custom_id":"request-2","response":{"status_code":400,"request_id":"req_def456","body":{"error":{"message":"Invalid model","type":"invalid_request_error","param":"model","code":"model_not_found"}}},"error":null}"#,
        r#"{"id":"batch_req_6789c","custom_id":"request-3","response":null,"error":{"code":"batch_expired","message":"This request could not be executed before the completion window expired."}}"#,
    ];
    append(&dir.path().join("batches/batch_abc_output.jsonl"), &format!("{}\n", output.join("\n")));
    let d = Daemon::start(dir.path(), CONFIG);
    let series = r#"{account="personal",app="batches",model="gpt-4o-mini-2024-07-18"}"#;
    d.wait_metric(&format!("creditwatch_requests_total{series}"), "1");
    // Batch rates: (1200 x $0.15 + 300 x $0.60 per million) / 2.
    d.wait_metric(&format!("creditwatch_spend_usd_total{series}"), "0.00018");
    d.wait_metric(r#"creditwatch_source_lines_total{outcome="skipped",source="batches"}"#, "2");
    d.wait_metric(r#"creditwatch_source_lines_total{outcome="error",source="batches"}"#, "0");
    let log = d.log();
    for reason in [
        "line not booked: batch request `request-2` failed with status 400 (model_not_found): not billed",
        "line not booked: batch request `request-3` has no response (batch_expired): not billed",
    ] {
        assert!(log.contains(reason), "{reason}\nlog:\n{log}");
    }
    assert!(log.contains("batch_abc_output.jsonl"), "the reason names the file:\n{log}");
}
