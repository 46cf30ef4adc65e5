use super::*;
use crate::usage::Tokens;

const SESSION: &str =
    include_str!("../../../tests/fixtures/qwen_code/projects/-home-dev-api/chats/5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6.jsonl");
const FORK: &str =
    include_str!("../../../tests/fixtures/qwen_code/projects/-home-dev-api/chats/6e2f3a4b-5c6d-4e7f-9081-92a3b4c5d6e7.jsonl");

fn events(text: &str) -> Vec<UsageEvent> {
    let mut parser = QwenCodeParser::new();
    let mut got: Vec<UsageEvent> = text.lines().filter_map(|l| parser.parse(l.as_bytes()).unwrap()).collect();
    got.extend(parser.drain_pending(None));
    got
}

#[test]
fn assistant_records_with_usage_metadata_are_requests() {
    let got = events(SESSION);
    let ids: Vec<EventId> = ["q-a1", "q-a2", "q-a3"].iter().map(|u| EventId::from_parts("qwen_code", &[u])).collect();
    assert_eq!(got.iter().map(|e| e.id).collect::<Vec<_>>(), ids);
    // OpenAI-compatible counts: reasoning already inside candidates (the
    // total says so), cached inside prompt.
    assert_eq!(got[0].tokens, Tokens { input: 18234 - 12800, output: 1422, cache_read: 12800, ..Tokens::default() });
    assert_eq!(got[0].reasoning_tokens, 390);
    // Gemini-style counts: thoughts on top of candidates.
    assert_eq!(got[2].tokens, Tokens { input: 8000, output: 1200, ..Tokens::default() });
    assert_eq!((got[2].model.as_str(), got[2].session.as_deref()), ("qwen3-coder-flash", Some("5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6")));
    assert_eq!(got[0].timestamp.to_rfc3339(), "2026-11-15T14:00:07+00:00");
}

#[test]
fn a_forks_copied_records_are_not_billed_again() {
    let got = events(FORK);
    assert_eq!(got.iter().map(|e| e.id).collect::<Vec<_>>(), [EventId::from_parts("qwen_code", &["q-a9"])]);
    // Without the mark, a copy still has its original's id.
    let copy = FORK.lines().nth(1).unwrap();
    let unmarked: serde_json::Value = serde_json::from_str(copy).unwrap();
    let mut unmarked = unmarked.as_object().unwrap().clone();
    unmarked.remove("forkedFrom");
    let line = serde_json::to_string(&unmarked).unwrap();
    assert_eq!(QwenCodeParser::new().parse(line.as_bytes()).unwrap().unwrap().id, events(SESSION)[0].id);
}

#[test]
fn records_that_are_not_requests_are_skipped_and_bad_ones_are_errors() {
    let a1 = SESSION.lines().nth(1).unwrap();
    let skipped = [
        SESSION.lines().next().unwrap().to_string(), // user
        SESSION.lines().nth(3).unwrap().to_string(), // ui_telemetry repeats the counts
        r#"{"uuid":"x","type":"user","message":"about \"usageMetadata\"","usageMetadata":"n/a"}"#.to_string(),
        a1.replace(r#""promptTokenCount":18234,"candidatesTokenCount":1422,"cachedContentTokenCount":12800,"thoughtsTokenCount":390,"totalTokenCount":19656"#, r#""totalTokenCount":0"#),
        String::new(),
    ];
    for line in &skipped {
        assert_eq!(QwenCodeParser::new().parse(line.as_bytes()), Ok(None), "{line}");
    }
    let bad = [
        a1.replace("18234", "-18234"),
        a1.replace(r#""model":"qwen3-coder-plus","#, ""),
        a1.replace("2026-11-15T14:00:07.000Z", "later"),
        a1[..a1.len() - 20].to_string(),
        "garbage".to_string(),
    ];
    for line in &bad {
        assert!(QwenCodeParser::new().parse(line.as_bytes()).is_err(), "{line}");
    }
    assert!(QwenCodeParser::new().parse(b"{\"type\":\"assistant\",\"usageMetadata\":{}, \xff}").is_err());
}

/// Qwen Code 0.18+ order: the telemetry first, its assistant twin next
/// (the assistant's `parentUuid` is the telemetry's `uuid`); a side call's
/// telemetry has no twin. Both orders book each response once.
const TELEMETRY: &str = r#"{"uuid":"t-1","parentUuid":"u-0","sessionId":"s-1","timestamp":"2026-06-15T14:40:22.908Z","type":"system","subtype":"ui_telemetry","systemPayload":{"uiEvent":{"event.name":"qwen-code.api_response","response_id":"r-1","model":"coder-model","input_token_count":500,"output_token_count":20,"cached_content_token_count":100,"thoughts_token_count":0,"total_token_count":520}}}"#;
const TWIN: &str = r#"{"uuid":"a-1","parentUuid":"t-1","sessionId":"s-1","timestamp":"2026-06-15T14:40:22.909Z","type":"assistant","model":"coder-model","usageMetadata":{"promptTokenCount":500,"candidatesTokenCount":20,"thoughtsTokenCount":0,"totalTokenCount":520,"cachedContentTokenCount":100}}"#;

fn side_call() -> String {
    TELEMETRY
        .replace("t-1", "t-2")
        .replace("u-0", "a-1")
        .replace(r#""input_token_count":500"#, r#""input_token_count":3000"#)
        .replace(r#""total_token_count":520"#, r#""total_token_count":3020"#)
}

#[test]
fn side_calls_seen_only_in_telemetry_are_booked_once_and_twins_never() {
    let side = side_call();
    let ids = |text: &str| events(text).iter().map(|e| e.id).collect::<Vec<_>>();
    let twin = EventId::from_parts("qwen_code", &["a-1"]);
    let side_id = EventId::from_parts("qwen_code/telemetry", &["t-2"]);
    // telemetry then twin, then a side call
    assert_eq!(ids(&[TELEMETRY, TWIN, &side].join("\n")), [twin, side_id]);
    // twin then telemetry (older builds), side call first
    assert_eq!(ids(&[side.as_str(), TWIN, TELEMETRY].join("\n")), [twin, side_id]);
    // repeated: each copy of the telemetry finds a copy of its twin; a side
    // call read twice has one id (booked once by de-duplication)
    assert_eq!(ids(&[TELEMETRY, TELEMETRY, TWIN, TWIN].join("\n")), [twin, twin]);
    assert_eq!(ids(&[side.as_str(), &side].join("\n")), [side_id, side_id]);
    let e = &events(&side)[0];
    assert_eq!(e.tokens, Tokens { input: 2900, output: 20, cache_read: 100, ..Tokens::default() });
    assert_eq!((e.model.as_str(), e.session.as_deref()), ("coder-model", Some("s-1")));
    // Truncated telemetry is an error with its line; other telemetry is skipped.
    assert!(QwenCodeParser::new().parse(&TELEMETRY.as_bytes()[..TELEMETRY.len() - 30]).is_err());
    let tool = TELEMETRY.replace("qwen-code.api_response", "qwen-code.tool_call");
    assert_eq!(QwenCodeParser::new().parse(tool.as_bytes()), Ok(None));
}

#[test]
fn telemetry_waits_for_its_twin_until_the_hold_passes() {
    let mut parser = QwenCodeParser::new();
    assert_eq!(parser.parse(TELEMETRY.as_bytes()), Ok(None));
    assert!(parser.holding());
    let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    assert!(parser.drain_pending(Some(at("2026-06-15T14:41:00Z"))).is_empty(), "within the hold");
    let released = parser.drain_pending(Some(at("2026-06-15T14:41:23Z")));
    assert_eq!(released.iter().map(|e| e.id).collect::<Vec<_>>(), [EventId::from_parts("qwen_code/telemetry", &["t-1"])]);
    assert!(!parser.holding());
}
