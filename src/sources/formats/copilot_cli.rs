//! GitHub Copilot CLI: its own session logs (`~/.copilot/session-state/*/events.jsonl`,
//! read by `copilot_session`, told apart by their event types) and its
//! OpenTelemetry file export (`~/.copilot/otel/*.jsonl`,
//! written with `COPILOT_OTEL_ENABLED=true`, `COPILOT_OTEL_EXPORTER_TYPE=file`,
//! `COPILOT_OTEL_FILE_EXPORTER_PATH`).
//!
//! One JSON object per line: `{"type":"span", "name":"chat <model>",
//! "startTime":[s,ns], "endTime":[s,ns], "attributes":{...flat gen_ai.* keys}}`
//! or `{"type":"metric",...}`. Only `chat` spans are billed requests: an
//! `invoke_agent` span repeats the summed usage of its turn's chat spans
//! (booking it would count the turn twice), `execute_tool` spans and metrics
//! carry no bill. The counts are the GenAI conventions' (`genai`): input
//! includes cache reads and writes. Copilot names Claude models with dots
//! (`claude-sonnet-4.6`); they are booked under the API's names
//! (`claude-sonnet-4-6`) so they find their price.

use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::copilot_session::SessionLog;
use super::genai::{self, Attributes, Value};
use crate::sources::{LineError, LineParser};
use crate::usage::{EventId, UsageEvent};

/// One file's reader: a session log keeps state across its lines, the
/// OpenTelemetry export needs none.
#[derive(Debug, Default)]
pub struct CopilotCliParser {
    session: SessionLog,
}

impl CopilotCliParser {
    pub fn new() -> CopilotCliParser {
        CopilotCliParser::default()
    }
}

/// Just the line's type, to tell a session-log event from an export line.
#[derive(Deserialize)]
struct Kind<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<std::borrow::Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(rename = "traceId", default)]
    trace_id: Option<String>,
    #[serde(rename = "spanId", default)]
    span_id: Option<String>,
    #[serde(rename = "startTime")]
    start: Option<Json>,
    #[serde(rename = "endTime")]
    end: Option<Json>,
    #[serde(default)]
    attributes: Json,
}

/// Flat `{"key": value}` attributes, or the OTLP `[{key, value:{stringValue}}]` list.
struct Flat<'a>(&'a Json);

fn json_value(v: &Json) -> Value<'_> {
    match v {
        Json::String(s) => Value::Str(s),
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => n.as_f64().map_or(Value::Other, Value::Double),
        },
        // OTLP/JSON AnyValue: {"stringValue": ...}, {"intValue": "12"}.
        Json::Object(o) => match o.iter().next() {
            Some((k, Json::String(s))) if k == "stringValue" || k == "intValue" => Value::Str(s),
            Some((k, inner)) if k == "intValue" || k == "doubleValue" || k == "boolValue" => json_value(inner),
            _ => Value::Other,
        },
        _ => Value::Other,
    }
}

impl Attributes for Flat<'_> {
    fn get(&self, key: &str) -> Option<Value<'_>> {
        match self.0 {
            Json::Object(map) => map.get(key).map(json_value),
            Json::Array(list) => list
                .iter()
                .filter_map(Json::as_object)
                .find(|kv| kv.get("key").and_then(Json::as_str) == Some(key))
                .and_then(|kv: &Map<String, Json>| kv.get("value"))
                .map(json_value),
            _ => None,
        }
    }
}

/// OpenTelemetry JS `HrTime`: `[seconds, nanoseconds]`.
fn hr_time(value: &Json) -> Option<DateTime<Utc>> {
    let parts = value.as_array()?;
    let secs = parts.first()?.as_i64()?;
    let nanos = parts.get(1).and_then(Json::as_u64).unwrap_or(0);
    if secs <= 0 || nanos >= 1_000_000_000 {
        return None;
    }
    Utc.timestamp_opt(secs, nanos as u32).single()
}

/// `claude-sonnet-4.6` -> `claude-sonnet-4-6`; other names as they are.
pub fn api_model_name(model: &str) -> String {
    if model.starts_with("claude-") {
        model.replace('.', "-")
    } else {
        model.to_string()
    }
}

impl LineParser for CopilotCliParser {
    fn parse(&mut self, line: &[u8]) -> Result<Option<UsageEvent>, LineError> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let kind: Kind = serde_json::from_slice(line)?;
        if kind.kind.as_deref().is_some_and(SessionLog::owns) {
            return self.session.parse(line);
        }
        let parsed: Line = serde_json::from_slice(line)?;
        if parsed.kind.as_deref() != Some("span") {
            return Ok(None);
        }
        let attrs = Flat(&parsed.attributes);
        let chat = match attrs.str("gen_ai.operation.name") {
            Some(op) => op == "chat",
            None => parsed.name.starts_with("chat "),
        };
        if !chat || !genai::has_usage(&attrs) {
            return Ok(None);
        }
        let usage = genai::read(&attrs)?;
        let timestamp = parsed
            .end
            .as_ref()
            .and_then(hr_time)
            .or_else(|| parsed.start.as_ref().and_then(hr_time))
            .ok_or_else(|| LineError::new("chat span without endTime/startTime"))?;
        let id = match &usage.response_id {
            Some(id) => EventId::from_parts("copilot_cli", &[id]),
            None => match (&parsed.trace_id, &parsed.span_id) {
                (Some(t), Some(s)) if !t.is_empty() && !s.is_empty() => EventId::from_parts("copilot_cli/span", &[t, s]),
                _ => EventId::from_parts("copilot_cli/line", &[&String::from_utf8_lossy(line)]),
            },
        };
        let mut event = UsageEvent::new(id, timestamp, api_model_name(&usage.model), usage.tokens);
        event.session = usage.conversation;
        Ok(Some(event))
    }

    fn drain_pending(&mut self, now: Option<DateTime<Utc>>) -> Vec<UsageEvent> {
        self.session.drain(now.is_none())
    }

    fn holding(&self) -> bool {
        self.session.holding()
    }

    /// A session log's run, model and responses so far come from earlier lines.
    fn needs_earlier_lines(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::Tokens;

    fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/copilot-cli").join(name);
        std::fs::read_to_string(path).unwrap()
    }

    /// The fixture session: only chat spans are requests (the invoke_agent
    /// span's totals, the tool span and the metric line are not), counts
    /// follow the GenAI conventions, redacted counts and a torn line are
    /// errors, a chat span without usage is skipped.
    #[test]
    fn reads_the_fixture_session() {
        let mut parser = CopilotCliParser::new();
        let results: Vec<_> = fixture("session-1.jsonl").lines().map(|l| parser.parse(l.as_bytes())).collect();
        let kinds: Vec<&str> = results
            .iter()
            .map(|r| match r {
                Ok(Some(_)) => "event",
                Ok(None) => "skipped",
                Err(_) => "error",
            })
            .collect();
        assert_eq!(kinds, ["skipped", "event", "skipped", "event", "skipped", "event", "error", "skipped", "error"]);
        let events: Vec<UsageEvent> = results.into_iter().filter_map(|r| r.ok().flatten()).collect();
        assert_eq!(events[0].model, "claude-sonnet-4-6");
        assert_eq!(events[0].tokens, Tokens { input: 884, output: 812, cache_write_5m: 21000, cache_write_1h: 0, cache_read: 0 });
        assert_eq!(events[0].timestamp.to_rfc3339(), "2026-12-01T13:00:05.709+00:00");
        assert_eq!(events[0].session.as_deref(), Some("5ebcb4c3-cd86-4966-8761-82394d8106f0"));
        assert_eq!(events[0].id, EventId::from_parts("copilot_cli", &["msg_01CopilotA"]));
        assert_eq!(events[1].tokens, Tokens { input: 610, output: 640, cache_write_5m: 1900, cache_write_1h: 0, cache_read: 21000 });
        assert_eq!(events[2].model, "gpt-5-mini");
        assert_eq!(events[2].tokens, Tokens { input: 4000, output: 450, cache_write_5m: 0, cache_write_1h: 0, cache_read: 8000 });
        assert_eq!(events[2].id, EventId::from_parts("copilot_cli/span", &["aad6f1cd07be14015e443eba8edd06c5", "1b2fd5b19172426a"]));
        // The same span in another file is the same request.
        let again = parser.parse(fixture("session-2.jsonl").trim_end().as_bytes()).unwrap().unwrap();
        assert_eq!(again.id, events[0].id);
    }

    #[test]
    fn model_names_and_attribute_shapes() {
        assert_eq!(api_model_name("claude-opus-4.5"), "claude-opus-4-5");
        assert_eq!(api_model_name("gpt-5.1-codex"), "gpt-5.1-codex");
        // OTLP-style attribute lists are read too.
        let line = r#"{"type":"span","name":"chat gpt-5","endTime":[1796130000,5],"attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},{"key":"gen_ai.response.model","value":{"stringValue":"gpt-5"}},{"key":"gen_ai.usage.input_tokens","value":{"intValue":"70"}},{"key":"gen_ai.usage.output_tokens","value":{"intValue":3}}]}"#;
        let e = CopilotCliParser::new().parse(line.as_bytes()).unwrap().unwrap();
        assert_eq!((e.tokens.input, e.tokens.output), (70, 3));
        for bad in
            [r#"{"type":"span","name":"chat x","attributes":{"gen_ai.usage.output_tokens":1,"gen_ai.request.model":"m"}}"#, "[1,2", "\u{0}"]
        {
            assert!(CopilotCliParser::new().parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
