use super::*;
use crate::usage::Tokens;

const LEGACY: &str = include_str!("../../../tests/fixtures/gemini_cli/tmp/9b1f6c2ad7e94e0f8a3b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9012/chats/session-2026-11-12T09-44-2f32182a.json");
const LINES: &str = include_str!("../../../tests/fixtures/gemini_cli/tmp/9b1f6c2ad7e94e0f8a3b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9012/chats/session-2026-11-13T10-00-c2b0dd60.jsonl");
const MIGRATED: &str = include_str!("../../../tests/fixtures/gemini_cli/tmp/9b1f6c2ad7e94e0f8a3b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9012/chats/session-2026-11-12T09-44-2f32182a.jsonl");

fn events(text: &str) -> Vec<UsageEvent> {
    GeminiCliParser::gemini().parse_document(text.as_bytes()).unwrap().into_iter().map(|r| r.unwrap()).collect()
}

fn id(message: &str) -> EventId {
    EventId::from_parts("gemini_cli", &[message])
}

#[test]
fn the_whole_file_form_one_request_per_gemini_message_with_tokens() {
    let got = events(LEGACY);
    assert_eq!(got.iter().map(|e| e.id).collect::<Vec<_>>(), [id("g-0001"), id("g-0002"), id("g-0003"), id("g-0004")]);
    // input includes cached (a cache read), tool prompt is input on top,
    // thoughts are output.
    let e = &got[1];
    assert_eq!(e.tokens, Tokens { input: 16890 - 12288 + 96, output: 1530 + 640, cache_read: 12288, ..Tokens::default() });
    assert_eq!(e.reasoning_tokens, 640);
    assert_eq!((e.model.as_str(), e.session.as_deref()), ("gemini-2.5-pro", Some("2f32182a-5b1e-4c0a-9d3e-1a2b3c4d5e6f")));
    assert_eq!(e.timestamp.to_rfc3339(), "2026-11-12T09:45:02.118+00:00");
    assert_eq!(got[2].model, "gemini-2.5-flash");
}

#[test]
fn the_lines_form_a_message_written_again_replaces_its_copy_and_rewinds_stay_billed() {
    let got = events(LINES);
    assert_eq!(got.iter().map(|e| e.id).collect::<Vec<_>>(), [id("g-1001"), id("g-1002"), id("g-1003"), id("g-1004")]);
    // g-1001 was written first without tokens, then with them.
    assert_eq!(got[0].tokens, Tokens { input: 22040 - 8192, output: 960 + 512, cache_read: 8192, ..Tokens::default() });
    assert_eq!(got[0].session.as_deref(), Some("c2b0dd60-7a41-4f7e-8e55-0b7c4d9a1e23"));
}

#[test]
fn a_migrated_session_repeats_the_ids_of_the_file_it_came_from() {
    let legacy: Vec<EventId> = events(LEGACY).iter().map(|e| e.id).collect();
    let migrated: Vec<EventId> = events(MIGRATED).iter().map(|e| e.id).collect();
    assert_eq!(migrated[..legacy.len()], legacy[..]);
    assert_eq!(migrated[legacy.len()..], [id("g-0006")]);
}

#[test]
fn a_re_read_gives_the_same_requests() {
    assert_eq!(events(LINES), events(LINES));
    assert_eq!(events(LEGACY), events(LEGACY));
}

#[test]
fn half_written_files() {
    // The whole-file form caught mid-rewrite: the document as a whole is not readable yet.
    assert!(GeminiCliParser::gemini().parse_document(&LEGACY.as_bytes()[..LEGACY.len() / 2]).is_err());
    // The lines form with its last line still being written: the rest is read.
    let cut = LINES.trim_end().len() - 40;
    assert_eq!(events(&LINES[..cut]).len(), 3);
    assert_eq!(GeminiCliParser::gemini().parse_document(b"  \n"), Ok(Vec::new()));
    // A header alone.
    assert_eq!(GeminiCliParser::gemini().parse_document(LINES.lines().next().unwrap().as_bytes()), Ok(Vec::new()));
}

#[test]
fn bad_items_are_errors_in_place_and_the_rest_is_read() {
    let good = r#"{"id":"g-9","timestamp":"2026-11-13T10:00:20.000Z","type":"gemini","content":"x","tokens":{"input":10,"output":2,"cached":0,"thoughts":0,"tool":0,"total":12},"model":"gemini-2.5-pro"}"#;
    let bad = [
        good.replace(r#""input":10"#, r#""input":-10"#).replace("g-9", "g-1"),
        good.replace(r#","model":"gemini-2.5-pro""#, "").replace("g-9", "g-2"),
        good.replace("2026-11-13T10:00:20.000Z", "soon").replace("g-9", "g-3"),
        "{not json".to_string(),
    ];
    let text = format!("{{\"sessionId\":\"s\",\"projectHash\":\"p\"}}\n{}\n{good}\n", bad.join("\n"));
    let items = GeminiCliParser::gemini().parse_document(text.as_bytes()).unwrap();
    assert_eq!(items.iter().filter(|i| i.is_err()).count(), 4, "{items:?}");
    assert_eq!(items.iter().filter_map(|i| i.as_ref().ok()).map(|e| e.id).collect::<Vec<_>>(), [id("g-9")]);
    assert!(GeminiCliParser::gemini().parse_document(b"{\n  \"sessionId\": oops\n}\n").is_err());
    assert!(GeminiCliParser::gemini().parse_document(b"\xff\xfe").is_err());
}

#[test]
fn messages_that_are_not_requests() {
    let text = r#"{"sessionId":"s","projectHash":"p","startTime":"t","lastUpdated":"t","messages":[
        {"id":"u","timestamp":"2026-11-13T10:00:20.000Z","type":"user","content":[{"text":"hi"}]},
        {"id":"e","timestamp":"2026-11-13T10:00:20.000Z","type":"gemini","content":"","tokens":null,"model":"gemini-2.5-pro"},
        {"id":"z","timestamp":"2026-11-13T10:00:20.000Z","type":"gemini","content":"","tokens":{"input":0,"output":0,"cached":0,"total":0},"model":"gemini-2.5-pro"},
        {"id":"i","timestamp":"2026-11-13T10:00:20.000Z","type":"info","content":"x","tokens":{"input":5,"output":5,"cached":0}}
    ]}"#;
    assert_eq!(GeminiCliParser::gemini().parse_document(text.as_bytes()), Ok(Vec::new()));
}

/// Gemini CLI 0.61 `--resume`: a `$set` of the whole list whose old messages
/// have no tokens and new timestamps; a rewind after it. The billed message
/// keeps its tokens and time, and is one request.
#[test]
fn a_resumes_set_without_tokens_neither_erases_nor_doubles_a_billed_message() {
    let header = r#"{"sessionId":"s-9","projectHash":"p","startTime":"2026-11-20T10:00:00.000Z","kind":"main"}"#;
    let billed = r#"{"id":"m-1","timestamp":"2026-11-20T10:00:05.000Z","type":"gemini","content":"hi","model":"gemini-3-flash-preview","tokens":{"input":1200,"output":30,"cached":200,"thoughts":10,"tool":0,"total":1240}}"#;
    let set = r#"{"$set":{"messages":[{"id":"u-1","timestamp":"2026-11-21T08:00:00.000Z","type":"user","content":"q"},{"id":"m-1","timestamp":"2026-11-21T08:00:00.000Z","type":"gemini","content":"hi","model":"gemini-3-flash-preview"}]}}"#;
    let after = r#"{"id":"m-2","timestamp":"2026-11-21T08:00:09.000Z","type":"gemini","content":"more","model":"gemini-3-flash-preview","tokens":{"input":1500,"output":40,"cached":0,"thoughts":0,"tool":0,"total":1540}}"#;
    let rewind = r#"{"$rewindTo":"m-1"}"#;
    for text in [[header, billed, set, after, rewind].join("\n"), [header, billed, set, set, after, rewind, set].join("\n")] {
        let got = events(&text);
        assert_eq!(got.iter().map(|e| e.id).collect::<Vec<_>>(), [id("m-1"), id("m-2")], "{text}");
        assert_eq!(got[0].tokens, Tokens { input: 1000, output: 40, cache_read: 200, ..Tokens::default() });
        assert_eq!(got[0].timestamp.to_rfc3339(), "2026-11-20T10:00:05+00:00");
    }
}
