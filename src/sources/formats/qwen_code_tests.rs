use super::*;
use crate::usage::Tokens;

const SESSION: &str =
    include_str!("../../../tests/fixtures/qwen_code/projects/-home-dev-api/chats/5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6.jsonl");
const FORK: &str =
    include_str!("../../../tests/fixtures/qwen_code/projects/-home-dev-api/chats/6e2f3a4b-5c6d-4e7f-9081-92a3b4c5d6e7.jsonl");

fn events(text: &str) -> Vec<UsageEvent> {
    text.lines().filter_map(|l| QwenCodeParser.parse(l.as_bytes()).unwrap()).collect()
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
    assert_eq!(QwenCodeParser.parse(line.as_bytes()).unwrap().unwrap().id, events(SESSION)[0].id);
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
        assert_eq!(QwenCodeParser.parse(line.as_bytes()), Ok(None), "{line}");
    }
    let bad = [
        a1.replace("18234", "-18234"),
        a1.replace(r#""model":"qwen3-coder-plus","#, ""),
        a1.replace("2026-11-15T14:00:07.000Z", "later"),
        a1[..a1.len() - 20].to_string(),
        "garbage".to_string(),
    ];
    for line in &bad {
        assert!(QwenCodeParser.parse(line.as_bytes()).is_err(), "{line}");
    }
    assert!(QwenCodeParser.parse(b"{\"type\":\"assistant\",\"usageMetadata\":{}, \xff}").is_err());
}
