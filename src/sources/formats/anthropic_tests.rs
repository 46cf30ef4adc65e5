use super::*;
use crate::sources::formats::attribution::{AppFrom, AppRule};
use crate::usage::{Modifiers, Tokens};

fn parser(timeout_secs: u64) -> AnthropicParser {
    let options = StreamOptions { timeout: Duration::from_secs(timeout_secs), ..StreamOptions::default() };
    AnthropicParser::new(&options, Arc::new(Attribution::default())).unwrap()
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn tokens(input: u64, output: u64, w5: u64, w1: u64, read: u64) -> Tokens {
    Tokens { input, output, cache_write_5m: w5, cache_write_1h: w1, cache_read: read }
}

const WRAPPED: &str = r#"{"timestamp": "2026-10-01T00:00:00Z", "app": "support-bot", "user": "u-1", "response": {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5-20251001", "content": [{"type": "text", "text": "\"usage\": {}"}], "usage": {"input_tokens": 796, "output_tokens": 472, "cache_creation_input_tokens": 30, "cache_read_input_tokens": 39315, "cache_creation": {"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 20}, "server_tool_use": {"web_search_requests": 2}, "service_tier": "standard"}}}"#;

const START: &str = r#"{"timestamp": "2026-10-01T00:00:52Z", "app": "claude-code", "stream_id": "stream-1", "event": {"type": "message_start", "message": {"id": "msg_2", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929", "content": [], "usage": {"input_tokens": 2082, "output_tokens": 1, "cache_creation_input_tokens": 300, "cache_read_input_tokens": 24969, "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200}, "service_tier": "batch"}}}}"#;

const DELTA: &str = r#"{"timestamp": "2026-10-01T00:00:43Z", "stream_id": "stream-1", "event": {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 1592, "input_tokens": 2082, "cache_creation_input_tokens": 300, "cache_read_input_tokens": 24969, "server_tool_use": {"web_search_requests": 3}}}}"#;

#[test]
fn a_wrapped_response_with_every_usage_field() {
    let e = parser(60).parse(WRAPPED.as_bytes()).unwrap().unwrap();
    assert_eq!(e.tokens, tokens(796, 472, 10, 20, 39315));
    assert_eq!((e.web_searches, e.modifiers.is_batch()), (2, false));
    assert_eq!((e.model.as_str(), e.app.as_deref()), ("claude-haiku-4-5-20251001", Some("support-bot")));
    assert_eq!(e.timestamp, at("2026-10-01T00:00:00Z"));
    assert_eq!(e.id, EventId::from_parts("anthropic", &["msg_1"]));
}

#[test]
fn a_bare_response_and_lines_that_are_not_requests() {
    let bare = r#"{"id":"msg_3","type":"message","model":"claude-opus-4-6","usage":{"input_tokens":5,"output_tokens":6,"cache_creation_input_tokens":7,"service_tier":"batch"}}"#;
    let e = parser(60).parse(bare.as_bytes()).unwrap().unwrap();
    assert_eq!((e.tokens, e.modifiers.is_batch(), e.app), (tokens(5, 6, 7, 0, 0), true, None));
    for skipped in [
        r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        r#"{"timestamp":"2026-10-01T00:00:00Z","response":{"type":"error","error":{}}}"#,
        r#"{"stream_id":"s","event":{"type":"content_block_delta","delta":{"text":"hi"}}}"#,
        r#"{"stream_id":"s","event":{"type":"ping"}}"#,
        r#"{"level":"info"}"#,
    ] {
        assert_eq!(parser(60).parse(skipped.as_bytes()), Ok(None), "{skipped}");
    }
}

#[test]
fn malformed_lines_are_errors() {
    let bad = [
        "{not json at all".to_string(),
        WRAPPED.replace(r#""model": "claude-haiku-4-5-20251001", "#, ""),
        WRAPPED.replace("796", "-796"),
        WRAPPED.replace("2026-10-01T00:00:00Z", "today"),
        DELTA.to_string(),
        // A delta without stream id and no open start without one before it.
        DELTA.replace(r#""stream_id": "stream-1", "#, ""),
        r#"{"custom_id":"c","result":{"type":"succeeded"}}"#.to_string(),
    ];
    for line in &bad {
        assert!(parser(60).parse(line.as_bytes()).is_err(), "{line}");
    }
}

#[test]
fn a_stream_is_booked_from_its_delta_with_the_start_split() {
    let mut p = parser(60);
    assert_eq!(p.parse(START.as_bytes()), Ok(None));
    let e = p.parse(DELTA.as_bytes()).unwrap().unwrap();
    // Delta fields win; its cache-write total keeps the start's 5m/1h split.
    assert_eq!(e.tokens, tokens(2082, 1592, 100, 200, 24969));
    assert_eq!((e.web_searches, e.modifiers.is_batch(), e.app.as_deref()), (3, true, Some("claude-code")));
    assert_eq!(e.timestamp, at("2026-10-01T00:00:52Z"));
    assert_eq!(e.id, EventId::from_parts("anthropic", &["msg_2"]));
    assert!(p.drain_pending(None).is_empty());
    // A smaller total in the delta: the 1h part is capped by it.
    let mut p = parser(60);
    p.parse(START.as_bytes()).unwrap();
    let e = p
        .parse(DELTA.replace(r#""cache_creation_input_tokens": 300"#, r#""cache_creation_input_tokens": 150"#).as_bytes())
        .unwrap()
        .unwrap();
    assert_eq!((e.tokens.cache_write_5m, e.tokens.cache_write_1h), (0, 150));
}

#[test]
fn a_stream_without_delta_is_booked_after_the_timeout_then_corrected() {
    let mut p = parser(60);
    assert_eq!(p.parse(START.as_bytes()), Ok(None));
    // Before the timeout (start at 00:00:52, timeout 60s): nothing is due.
    assert!(p.drain_pending(Some(at("2026-10-01T00:01:51Z"))).is_empty());
    let booked = p.drain_pending(Some(at("2026-10-01T00:01:52Z")));
    assert_eq!(booked.len(), 1);
    assert_eq!(booked[0].tokens, tokens(2082, 1, 100, 200, 24969));
    // Booked once only.
    assert!(p.drain_pending(Some(at("2026-10-01T01:00:00Z"))).is_empty());
    assert!(p.drain_pending(None).is_empty());
    // The late delta: same id, final usage; de-duplication books the growth.
    let late = p.parse(DELTA.as_bytes()).unwrap().unwrap();
    assert_eq!((late.id, late.tokens.output), (booked[0].id, 1592));
    // What de-duplication (`state::seen`) books for the late copy: the
    // growth of the kind-wise maximum, priced as a whole less what was booked.
    let prices = crate::pricing::PriceTable::builtin();
    assert_eq!(late.tokens.max(&booked[0].tokens).minus(&booked[0].tokens), Tokens { output: 1591, ..Tokens::default() });
    let growth = prices.price(&late).cost - prices.price(&booked[0]).cost;
    // Batch: 1591 output tokens at $15/M, halved, plus 3 searches at $0.01.
    assert_eq!(crate::usage::money::format(growth), "0.0419325");
}

#[test]
fn end_of_input_flushes_every_waiting_start() {
    let mut p = parser(3600);
    p.parse(START.as_bytes()).unwrap();
    p.parse(START.replace("stream-1", "stream-2").replace("msg_2", "msg_4").as_bytes()).unwrap();
    let mut ids: Vec<_> = p.drain_pending(None).into_iter().map(|e| e.id).collect();
    ids.sort();
    let mut want = vec![EventId::from_parts("anthropic", &["msg_2"]), EventId::from_parts("anthropic", &["msg_4"])];
    want.sort();
    assert_eq!(ids, want);
    assert!(p.drain_pending(None).is_empty());
}

#[test]
fn a_restarted_stream_id_books_the_abandoned_start() {
    let mut p = parser(3600);
    p.parse(START.as_bytes()).unwrap();
    p.parse(START.replace("msg_2", "msg_5").as_bytes()).unwrap();
    let due = p.drain_pending(Some(at("2026-10-01T00:00:53Z")));
    assert_eq!(due.iter().map(|e| e.id).collect::<Vec<_>>(), [EventId::from_parts("anthropic", &["msg_2"])]);
    assert_eq!(p.parse(DELTA.as_bytes()).unwrap().unwrap().id, EventId::from_parts("anthropic", &["msg_5"]));
}

#[test]
fn the_stream_id_field_and_user_agent_are_configurable() {
    let options = StreamOptions { id_field: "/meta/conn".into(), timeout: Duration::from_secs(5) };
    let rules = [AppRule { pattern: "^claude-cli/".into(), app: "claude-code".into() }];
    let attribution = Arc::new(Attribution::new(AppFrom::UserAgent, &rules, None).unwrap());
    let mut p = AnthropicParser::new(&options, attribution).unwrap();
    let start = START.replace(r#""stream_id": "stream-1""#, r#""meta": {"conn": 7}, "user_agent": "claude-cli/2.0""#);
    let delta = DELTA.replace(r#""stream_id": "stream-1""#, r#""meta": {"conn": 7}"#);
    assert_eq!(p.parse(start.as_bytes()), Ok(None));
    let e = p.parse(delta.as_bytes()).unwrap().unwrap();
    assert_eq!((e.tokens.output, e.app.as_deref()), (1592, Some("claude-code")));
}

#[test]
fn the_one_pass_and_general_paths_agree_on_the_fixture() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/proxy/anthropic.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let (mut fast, mut general) = (parser(60), parser(60));
    general.one_pass = false;
    let mut events = 0;
    for line in text.lines() {
        let got = fast.parse(line.as_bytes());
        assert_eq!(got, general.parse(line.as_bytes()), "{line}");
        events += matches!(got, Ok(Some(_))) as usize;
    }
    assert_eq!(fast.drain_pending(None), general.drain_pending(None));
    assert_eq!(events, 150);
}

#[test]
fn bodies_logged_as_json_strings() {
    let response = serde_json::to_string(&WRAPPED[WRAPPED.find("{\"id\"").unwrap()..WRAPPED.len() - 1]).unwrap();
    let line = format!(r#"{{"timestamp": "2026-10-01T00:00:00Z", "app": "x", "response": {response}}}"#);
    let e = parser(60).parse(line.as_bytes()).unwrap().unwrap();
    assert_eq!((e.tokens, e.app.as_deref()), (tokens(796, 472, 10, 20, 39315), Some("x")));
}

fn cost(e: &UsageEvent) -> String {
    crate::usage::money::format(crate::pricing::PriceTable::builtin().price(e).cost)
}

/// The raw SDK events of one streamed response, as an app that logs every
/// server-sent event's data writes them: no stream id, no timestamp.
const RAW_STREAM: [&str; 7] = [
    r#"{"type":"message_start","message":{"id":"msg_01RawStream","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":1849,"cache_read_input_tokens":20113,"cache_creation":{"ephemeral_5m_input_tokens":1849,"ephemeral_1h_input_tokens":0},"output_tokens":1,"service_tier":"standard"}}}"#,
    r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
    r#"{"type": "ping"}"#,
    r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#,
    r#"{"type":"content_block_stop","index":0}"#,
    r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":472,"cache_creation_input_tokens":1849,"cache_read_input_tokens":20113,"output_tokens":503}}"#,
    r#"{"type":"message_stop"}"#,
];

#[test]
fn raw_sdk_stream_events_without_a_stream_id_are_tied_in_order() {
    for one_pass in [true, false] {
        let mut p = parser(60);
        p.one_pass = one_pass;
        let mut booked = Vec::new();
        for (i, line) in RAW_STREAM.iter().enumerate() {
            booked.extend(p.parse(line.as_bytes()).unwrap());
            assert_eq!(p.holding(), i < 5, "line {i}: held from message_start to message_delta");
        }
        assert_eq!(booked.len(), 1);
        let e = &booked[0];
        assert_eq!(e.tokens, tokens(472, 503, 1849, 0, 20113));
        assert_eq!(e.id, EventId::from_parts("anthropic", &["msg_01RawStream"]));
        // 472 x $3 + 1849 x $3.75 + 20113 x $0.30 + 503 x $15 per million.
        assert_eq!(cost(e), "0.02192865");
        assert!(p.drain_pending(None).is_empty());
    }
}

#[test]
fn an_unnamed_stream_left_open_is_booked_when_the_next_one_starts() {
    let mut p = parser(3600);
    p.parse(RAW_STREAM[0].as_bytes()).unwrap();
    let next = RAW_STREAM[0].replace("msg_01RawStream", "msg_01Next");
    assert_eq!(p.parse(next.as_bytes()), Ok(None));
    // The abandoned start is due at once, with its own usage (1 output token).
    let due = p.drain_pending(Some(Utc::now() - chrono::Duration::days(1)));
    assert_eq!(
        due.iter().map(|e| (e.id, e.tokens.output)).collect::<Vec<_>>(),
        [(EventId::from_parts("anthropic", &["msg_01RawStream"]), 1)]
    );
    let e = p.parse(RAW_STREAM[5].as_bytes()).unwrap().unwrap();
    assert_eq!((e.id, e.tokens.output), (EventId::from_parts("anthropic", &["msg_01Next"]), 503));
    // Named and unnamed streams do not mix.
    let mut p = parser(60);
    p.parse(START.as_bytes()).unwrap();
    assert!(p.parse(RAW_STREAM[5].as_bytes()).is_err());
    assert_eq!(p.parse(DELTA.as_bytes()).unwrap().unwrap().tokens.output, 1592);
}

/// A Message Batches results file: one result per line.
const BATCH: [&str; 4] = [
    r#"{"custom_id":"ticket-4711","result":{"type":"succeeded","message":{"id":"msg_01BatchA","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001","content":[{"type":"text","text":"Summary"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1320,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":212,"service_tier":"batch"}}}}"#,
    r#"{"custom_id":"ticket-4712","result":{"type":"errored","error":{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}}}"#,
    r#"{"custom_id":"ticket-4713","result":{"type":"canceled"}}"#,
    r#"{"custom_id":"ticket-4714","result":{"type":"expired"}}"#,
];

#[test]
fn batch_results_are_billed_at_batch_rates_and_failures_cost_nothing() {
    for one_pass in [true, false] {
        let mut p = parser(60);
        p.one_pass = one_pass;
        let e = p.parse(BATCH[0].as_bytes()).unwrap().unwrap();
        assert_eq!((e.tokens, e.modifiers.tier), (tokens(1320, 212, 0, 0, 0), ServiceTier::Batch));
        assert_eq!(e.id, EventId::from_parts("anthropic", &["msg_01BatchA"]));
        // (1320 x $1 + 212 x $5 per million) / 2.
        assert_eq!(cost(&e), "0.00119");
        assert_eq!(p.skip_reason(), None);
        // Batch rates even when the message does not say `service_tier: batch`.
        let untold = BATCH[0].replace(r#","service_tier":"batch""#, "");
        assert_eq!(cost(&p.parse(untold.as_bytes()).unwrap().unwrap()), "0.00119");
        let reasons = [
            "batch request `ticket-4712` errored (invalid_request_error): not billed",
            "batch request `ticket-4713` canceled: not billed",
            "batch request `ticket-4714` expired: not billed",
        ];
        for (line, reason) in BATCH[1..].iter().zip(reasons) {
            assert_eq!(p.parse(line.as_bytes()), Ok(None), "{line}");
            assert_eq!(p.skip_reason().as_deref(), Some(reason));
            assert_eq!(p.skip_reason(), None, "taken once");
        }
    }
}

#[test]
fn a_split_below_the_total_books_the_rest_as_5m() {
    let line = r#"{"id":"msg_01Split","type":"message","role":"assistant","model":"claude-opus-4-6","content":[],"usage":{"input_tokens":12,"cache_creation_input_tokens":5000,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":2000},"output_tokens":300}}"#;
    let e = parser(60).parse(line.as_bytes()).unwrap().unwrap();
    assert_eq!(e.tokens, tokens(12, 300, 3000, 2000, 0));
    // 12 x $5 + 3000 x $6.25 + 2000 x $10 + 300 x $25 per million.
    assert_eq!(cost(&e), "0.04631");
    // A gateway's 0/0 split under a total: all 5m.
    let zero = line.replace(r#""ephemeral_1h_input_tokens":2000"#, r#""ephemeral_1h_input_tokens":0"#);
    assert_eq!(parser(60).parse(zero.as_bytes()).unwrap().unwrap().tokens, tokens(12, 300, 5000, 0, 0));
}

#[test]
fn price_modifiers_in_the_usage_reach_the_event() {
    let line = r#"{"timestamp":"2026-11-30T10:00:00Z","response":{"id":"msg_01Fast","type":"message","model":"claude-opus-4-6","usage":{"input_tokens":1000,"output_tokens":100,"service_tier":"priority","speed":"fast","inference_geo":"us"}}}"#;
    let fast = parser(60).parse(line.as_bytes()).unwrap().unwrap();
    assert_eq!(fast.modifiers, Modifiers { tier: ServiceTier::Priority, fast: true, us_only: true });
    // The standard request beside it: 1000 x $5 + 100 x $25 per million.
    let standard = line.replace(
        r#""service_tier":"priority","speed":"fast","inference_geo":"us""#,
        r#""service_tier":"standard","speed":"standard","inference_geo":"global""#,
    );
    let standard = parser(60).parse(standard.as_bytes()).unwrap().unwrap();
    assert_eq!((standard.modifiers, cost(&standard)), (Modifiers::default(), "0.0075".to_string()));
    // A tier on the message (gateways) counts; a stream's delta may state them late.
    let on_message = r#"{"id":"m","type":"message","model":"claude-opus-4-6","service_tier":"batch","usage":{"input_tokens":1}}"#;
    assert_eq!(parser(60).parse(on_message.as_bytes()).unwrap().unwrap().modifiers.tier, ServiceTier::Batch);
    let mut p = parser(60);
    p.parse(START.replace(r#""service_tier": "batch""#, r#""speed": "fast""#).as_bytes()).unwrap();
    let e =
        p.parse(DELTA.replace(r#""output_tokens": 1592"#, r#""output_tokens": 1592, "inference_geo": "us""#).as_bytes()).unwrap().unwrap();
    assert_eq!(e.modifiers, Modifiers { tier: ServiceTier::Standard, fast: true, us_only: true });
}
