use super::*;
use crate::sources::formats::attribution::{AppFrom, AppRule};
use crate::usage::Tokens;

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
        START.replace(r#""stream_id": "stream-1", "#, ""),
        DELTA.to_string(),
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
