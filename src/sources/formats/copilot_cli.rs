//! GitHub Copilot CLI's OpenTelemetry file export (`~/.copilot/otel/*.jsonl`,
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

use super::genai::{self, Attributes, Value};
use crate::sources::{LineError, LineParser};
use crate::usage::{EventId, UsageEvent};

#[derive(Debug, Default)]
pub struct CopilotCliParser;

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
}
