//! Claude Code transcripts (`~/.claude/projects/<project>/<session>.jsonl`).
//!
//! Only `type: "assistant"` lines with `message.usage` are billed requests.
//! One API response is written as one line per content block, all with the
//! same (`message.id`, `requestId`); early copies carry a partial
//! `output_tokens`, and resumed sessions copy old lines into a new file. The
//! parser reports every copy; de-duplication (`crate::state::seen`) keeps the
//! largest once.
//!
//! Claude Code 2.1.3xx adds line types `cost-state` (the session's running
//! cost, rewritten by `--continue` and inherited by `--fork-session`: summing
//! it double counts), `api-request`, `api-request-shape` and `mode`: none is
//! a bill, so they are skipped like every line that is not `assistant`, and
//! are never errors unless damaged. Its usage adds
//! `output_tokens_details.thinking_tokens`, inside `output_tokens`.
//!
//! The format is internal to Claude Code and changes between versions, so
//! unknown fields are ignored and only the few fields we price are parsed —
//! never a JSON tree of the whole line (most of its bytes are message text).

use std::borrow::Cow;

use memchr::memmem;
use serde::Deserialize;

use super::fields;
use super::messages_usage::Message;
use crate::sources::{parse_timestamp, LineError, LineParser};
use crate::usage::{EventId, UsageEvent};

#[derive(Debug, Default)]
pub struct ClaudeCodeParser;

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "requestId", borrow)]
    request_id: Option<Cow<'a, str>>,
    #[serde(rename = "sessionId", borrow)]
    session_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    uuid: Option<Cow<'a, str>>,
    #[serde(rename = "isApiErrorMessage")]
    api_error: Option<bool>,
    #[serde(borrow)]
    message: Option<Message<'a>>,
}

/// Lines without this text cannot hold usage; most lines are skipped here
/// without any JSON parsing.
const USAGE_KEY: &[u8] = b"\"usage\"";

impl LineParser for ClaudeCodeParser {
    fn parse(&mut self, line: &[u8]) -> Result<Option<UsageEvent>, LineError> {
        fields::utf8(line)?;
        if memmem::find(line, USAGE_KEY).is_none() {
            return fields::without_usage(line); // not a billed request
        }
        let parsed: Line = match serde_json::from_slice(line) {
            Ok(parsed) => parsed,
            // A line of another type whose fields have other shapes (a user
            // line whose `message` is a string) is not an error.
            Err(e) => return if is_assistant_json(line) { Err(e.into()) } else { Ok(None) },
        };
        if parsed.kind.as_deref() != Some("assistant") {
            return Ok(None);
        }
        let Some(message) = parsed.message else {
            return Ok(None);
        };
        let Some(usage) = message.usage else {
            return Ok(None);
        };
        if parsed.api_error == Some(true) {
            return Ok(None);
        }
        let model = message.model.ok_or_else(|| LineError::new("assistant line without message.model"))?;
        if model == "<synthetic>" {
            return Ok(None);
        }
        let timestamp = parse_timestamp(&parsed.timestamp.ok_or_else(|| LineError::new("line without timestamp"))?)?;

        let (id, earlier_id) = event_id(message.id.as_deref(), parsed.request_id.as_deref(), parsed.uuid.as_deref(), line);
        let mut event = UsageEvent::new(id, timestamp, model.into_owned(), usage.tokens());
        event.earlier_id = earlier_id;
        event.web_searches = usage.web_searches().unwrap_or(0);
        event.reasoning_tokens = usage.reasoning();
        event.modifiers = usage.modifiers(message.service_tier.as_deref());
        event.session = parsed.session_id.map(Cow::into_owned);
        Ok(Some(event))
    }
}

/// The request's id: its `requestId` (the id the OTLP `api_request` event
/// carries too, so both copies are one request), else `message.id`, else the
/// line's `uuid` (then its bytes), so unrelated lines are never merged. The
/// second value is the id releases before this one used, (`message.id`,
/// `requestId`), which old state directories hold.
fn event_id(message_id: Option<&str>, request_id: Option<&str>, uuid: Option<&str>, line: &[u8]) -> (EventId, Option<EventId>) {
    let message_id = message_id.unwrap_or("");
    let request_id = request_id.unwrap_or("");
    let earlier = (!message_id.is_empty() || !request_id.is_empty()).then(|| EventId::from_parts("claude_code", &[message_id, request_id]));
    if !request_id.is_empty() {
        return (EventId::from_parts("claude_code", &[request_id]), earlier);
    }
    if !message_id.is_empty() {
        return (EventId::from_parts("claude_code/message", &[message_id]), earlier);
    }
    match uuid {
        Some(uuid) if !uuid.is_empty() => (EventId::from_parts("claude_code/uuid", &[uuid]), None),
        _ => (EventId::from_parts("claude_code/line", &[&String::from_utf8_lossy(line)]), None),
    }
}

/// Slow path, only for lines the fast parse refused: is this an assistant
/// line (whose refusal is an error) or some other line (skipped)?
fn is_assistant_json(line: &[u8]) -> bool {
    match serde_json::from_slice::<serde_json::Value>(line) {
        Ok(value) => value.get("type").and_then(|t| t.as_str()) == Some("assistant"),
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::{Modifiers, ServiceTier, Tokens};

    fn parse(line: &str) -> Result<Option<UsageEvent>, LineError> {
        ClaudeCodeParser.parse(line.as_bytes())
    }

    const FULL: &str = r#"{"parentUuid":"p","isSidechain":false,"sessionId":"s-1","timestamp":"2026-09-02T08:20:15.000Z","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"hi \"usage\""}],"usage":{"input_tokens":28,"cache_creation_input_tokens":3705,"cache_read_input_tokens":85012,"output_tokens":648,"service_tier":"standard","speed":"fast","cache_creation":{"ephemeral_5m_input_tokens":2470,"ephemeral_1h_input_tokens":1235}}},"requestId":"req_1","type":"assistant","uuid":"u-1"}"#;

    #[test]
    fn reads_an_assistant_line_with_the_5m_1h_split() {
        let e = parse(FULL).unwrap().unwrap();
        assert_eq!(e.model, "claude-sonnet-4-5-20250929");
        assert_eq!(e.tokens, Tokens { input: 28, output: 648, cache_write_5m: 2470, cache_write_1h: 1235, cache_read: 85012 });
        assert_eq!(e.timestamp.to_rfc3339(), "2026-09-02T08:20:15+00:00");
        assert_eq!(e.session.as_deref(), Some("s-1"));
        assert_eq!(e.id, EventId::from_parts("claude_code", &["req_1"]));
        assert_eq!(e.earlier_id, Some(EventId::from_parts("claude_code", &["msg_1", "req_1"])));
    }

    #[test]
    fn without_the_split_all_cache_writes_are_5m() {
        let line = FULL.replace(r#","cache_creation":{"ephemeral_5m_input_tokens":2470,"ephemeral_1h_input_tokens":1235}"#, "");
        let e = parse(&line).unwrap().unwrap();
        assert_eq!((e.tokens.cache_write_5m, e.tokens.cache_write_1h), (3705, 0));
    }

    #[test]
    fn skips_lines_that_are_not_billed_requests() {
        let skipped = [
            r#"{"type":"user","message":{"role":"user","content":"what is \"usage\"?"},"timestamp":"2026-09-02T08:20:15Z"}"#,
            r#"{"type":"user","message":"plain \"usage\" string"}"#,
            r#"{"type":"summary","summary":"x","leafUuid":"y"}"#,
            r#"{"type":"file-history-snapshot","snapshot":{}}"#,
            r#"{"type":"system","content":"the \"usage\" was high","level":"info"}"#,
            // Claude Code 2.1.3xx line types: never a bill.
            r#"{"type":"cost-state","sessionId":"s-1","totalCostUSD":1.25,"usage":{"input_tokens":9000,"output_tokens":700},"timestamp":"2026-12-01T10:00:00Z"}"#,
            r#"{"type":"api-request","requestId":"req_1","message":{"model":"claude-opus-4-8","usage":{"input_tokens":28,"output_tokens":648}},"timestamp":"2026-12-01T10:00:00Z"}"#,
            r#"{"type":"api-request","requestId":"req_1","message":"a \"usage\" string"}"#,
            r#"{"type":"api-request-shape","shape":{"usage":["input_tokens"]}}"#,
            r#"{"type":"mode","mode":"plan","sessionId":"s-1"}"#,
        ];
        for line in skipped {
            assert_eq!(parse(line), Ok(None), "{line}");
        }
        let synthetic = FULL.replace("claude-sonnet-4-5-20250929", "<synthetic>");
        assert_eq!(parse(&synthetic), Ok(None));
        let api_error = FULL.replace(r#""type":"assistant""#, r#""type":"assistant","isApiErrorMessage":true"#);
        assert_eq!(parse(&api_error), Ok(None));
    }

    #[test]
    fn bad_assistant_lines_are_errors() {
        let bad = [
            FULL.replace(r#""output_tokens":648"#, r#""output_tokens":-648"#),
            FULL.replace(r#""output_tokens":648"#, r#""output_tokens":6.5"#),
            FULL.replace(r#""output_tokens":648"#, r#""output_tokens":"648""#),
            FULL.replace(r#""model":"claude-sonnet-4-5-20250929","#, ""),
            FULL.replace("2026-09-02T08:20:15.000Z", "yesterday"),
            FULL[..FULL.len() - 10].to_string(),
            "{\"type\":\"assistant\",\"usage\":".to_string(),
        ];
        for line in &bad {
            assert!(parse(line).is_err(), "{line}");
        }
    }

    #[test]
    fn thinking_tokens_are_reasoning_inside_output() {
        let line = FULL.replace(r#""output_tokens":648,"#, r#""output_tokens":648,"output_tokens_details":{"thinking_tokens":200},"#);
        let e = parse(&line).unwrap().unwrap();
        assert_eq!((e.tokens.output, e.reasoning_tokens), (648, 200));
        let over = line.replace(r#""thinking_tokens":200"#, r#""thinking_tokens":9000"#);
        assert_eq!(parse(&over).unwrap().unwrap().reasoning_tokens, 648);
        let null = line.replace(r#""thinking_tokens":200"#, r#""thinking_tokens":null"#);
        assert_eq!(parse(&null).unwrap().unwrap().reasoning_tokens, 0);
        // Damaged new line types are errors (with their line), not skipped.
        assert!(parse(r#"{"type":"cost-state","usage":{"input_tokens":9"#).is_err());
    }

    #[test]
    fn invalid_utf8_is_an_error_not_a_panic() {
        let mut line = FULL.as_bytes().to_vec();
        let at = line.len() - 20;
        line[at] = 0xff;
        assert!(ClaudeCodeParser.parse(&line).is_err());
    }

    #[test]
    fn ids_key_on_what_is_there() {
        let no_request = FULL.replace(r#""requestId":"req_1","#, r#""requestId":"","#);
        let a = parse(&no_request).unwrap().unwrap();
        assert_eq!(a.id, EventId::from_parts("claude_code/message", &["msg_1"]));
        assert_eq!(a.earlier_id, Some(EventId::from_parts("claude_code", &["msg_1", ""])));
        let neither = no_request.replace(r#""id":"msg_1","#, "");
        let b = parse(&neither).unwrap().unwrap();
        assert_eq!(b.id, EventId::from_parts("claude_code/uuid", &["u-1"]));
        assert_eq!(b.earlier_id, None);
    }

    #[test]
    fn unknown_fields_and_web_searches() {
        let line = FULL.replace(
            r#""service_tier":"standard""#,
            r#""service_tier":"standard","server_tool_use":{"web_search_requests":3},"inference_geo":"us","new_field":[1,2]"#,
        );
        assert_eq!(parse(&line).unwrap().unwrap().web_searches, 3);
    }

    #[test]
    fn fast_mode_and_us_only_inference_are_read_from_usage() {
        // FULL says `speed: "fast"` and no `inference_geo`.
        let e = parse(FULL).unwrap().unwrap();
        assert_eq!(e.modifiers, Modifiers { tier: ServiceTier::Standard, fast: true, us_only: false });
        // Table: the `speed` and `inference_geo` JSON, (fast, us_only).
        let cases = [
            (r#""speed":"fast","inference_geo":"us""#, (true, true)),
            (r#""speed":"standard","inference_geo":"us""#, (false, true)),
            (r#""speed":null,"inference_geo":"global""#, (false, false)),
            (r#""speed":"fast","inference_geo":"not_available""#, (true, false)),
            (r#""speed":"standard","inference_geo":"""#, (false, false)),
            (r#""speed":"standard","inference_geo":null"#, (false, false)),
            (r#""speed":"FAST","inference_geo":"US""#, (true, true)),
            // Another shape there is no flag, not an error.
            (r#""speed":1,"inference_geo":true"#, (false, false)),
        ];
        for (fields, want) in cases {
            let line = FULL.replace(r#""speed":"fast""#, fields);
            let e = parse(&line).unwrap().unwrap();
            assert_eq!((e.modifiers.fast, e.modifiers.us_only), want, "{fields}");
        }
        let without = FULL.replace(r#","speed":"fast""#, "");
        assert_eq!(parse(&without).unwrap().unwrap().modifiers, Modifiers::default());
    }

    #[test]
    fn cache_writes_a_split_leaves_out_are_5m_writes() {
        // Gateways write the total with a 0/0 split.
        let zero = FULL.replace(
            r#""ephemeral_5m_input_tokens":2470,"ephemeral_1h_input_tokens":1235"#,
            r#""ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0"#,
        );
        let e = parse(&zero).unwrap().unwrap();
        assert_eq!((e.tokens.cache_write_5m, e.tokens.cache_write_1h), (3705, 0));
        let partial = FULL.replace(r#""ephemeral_5m_input_tokens":2470,"#, "");
        let e = parse(&partial).unwrap().unwrap();
        assert_eq!((e.tokens.cache_write_5m, e.tokens.cache_write_1h), (2470, 1235));
        let over = FULL.replace(r#""cache_creation_input_tokens":3705"#, r#""cache_creation_input_tokens":100"#);
        let e = parse(&over).unwrap().unwrap();
        assert_eq!((e.tokens.cache_write_5m, e.tokens.cache_write_1h), (2470, 1235));
    }
}
