//! Qwen Code chat recordings (`${QWEN_HOME:-~/.qwen}/projects/<project>/chats/<session>.jsonl`).
//!
//! Append-only JSON lines, one record each (`uuid`, `parentUuid`,
//! `sessionId`, `timestamp`, `type`: user, assistant, tool_result, system).
//! An `assistant` record with `usageMetadata` is one request:
//! `{promptTokenCount, candidatesTokenCount, cachedContentTokenCount,
//! thoughtsTokenCount, totalTokenCount}` (see `google_usage` for what counts
//! as what; Qwen Code on OpenAI-compatible providers puts reasoning inside
//! candidates, which the stated total reveals).
//!
//! - `system` records of subtype `ui_telemetry` whose `uiEvent` is a
//!   `qwen-code.api_response` repeat each main-chat response's counts (no
//!   `usageMetadata`), and are the only record of side calls (the memory
//!   extractor `managed-auto-memory-extractor`, summaries; Qwen Code 0.24,
//!   packages/core/src/telemetry/loggers.ts `logApiResponse` and
//!   chatRecordingService.ts `recordUiTelemetryEvent`). A telemetry record
//!   that is the twin of an assistant record (the assistant's `parentUuid`
//!   is the telemetry's `uuid`, or the same counts, in either order) is not
//!   booked; one without a twin is a side call, booked once under its own
//!   `uuid`. Telemetry waits (`drain_pending`) until its twin may have come:
//!   the next assistant record, `HOLD` later, or the end of the file.
//! - `/branch` copies records verbatim (same `uuid`) into a new session with
//!   `forkedFrom`: booked under the parent, not again (skipped, and the id is
//!   the `uuid`, so a copy is a duplicate even without the mark).

use std::borrow::Cow;

use memchr::memmem;
use serde::Deserialize;

use super::fields;
use super::google_usage::GoogleUsage;
use crate::sources::{parse_timestamp, LineError, LineParser};
use crate::usage::{EventId, UsageEvent};

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};

/// How long a telemetry record waits for its assistant twin before it is
/// booked as a side call.
const HOLD_SECONDS: i64 = 60;

/// Assistant records remembered for telemetry written after them.
const RECENT: usize = 16;

/// One file's reader: telemetry waiting for its twin, side calls due, and
/// the latest assistant records' counts.
#[derive(Debug, Default)]
pub struct QwenCodeParser {
    waiting: Vec<Telemetry>,
    due: Vec<UsageEvent>,
    recent: VecDeque<Counts>,
}

/// A response's counts as both records state them: (prompt, candidates,
/// cached, thoughts, total).
type Counts = (u64, u64, u64, u64, Option<u64>);

#[derive(Debug)]
struct Telemetry {
    uuid: String,
    counts: Counts,
    event: UsageEvent,
}

#[derive(Deserialize)]
struct SystemPayload<'a> {
    #[serde(rename = "uiEvent", borrow)]
    ui_event: Option<UiEvent<'a>>,
}

/// `qwen-code.api_response` as `ApiResponseEvent` writes it.
#[derive(Deserialize)]
struct UiEvent<'a> {
    #[serde(rename = "event.name", borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    input_token_count: Option<u64>,
    output_token_count: Option<u64>,
    cached_content_token_count: Option<u64>,
    thoughts_token_count: Option<u64>,
    tool_token_count: Option<u64>,
    total_token_count: Option<u64>,
}

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    uuid: Option<Cow<'a, str>>,
    #[serde(rename = "parentUuid", borrow)]
    parent_uuid: Option<Cow<'a, str>>,
    #[serde(rename = "sessionId", borrow)]
    session_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    subtype: Option<Cow<'a, str>>,
    #[serde(rename = "systemPayload", borrow)]
    system_payload: Option<SystemPayload<'a>>,
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(rename = "usageMetadata")]
    usage: Option<UsageMetadata>,
    #[serde(rename = "forkedFrom")]
    forked_from: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    prompt_token_count: Option<u64>,
    candidates_token_count: Option<u64>,
    cached_content_token_count: Option<u64>,
    thoughts_token_count: Option<u64>,
    tool_use_prompt_token_count: Option<u64>,
    total_token_count: Option<u64>,
}

const USAGE_KEY: &[u8] = b"\"usageMetadata\"";
const API_RESPONSE: &[u8] = b"qwen-code.api_response";

impl LineParser for QwenCodeParser {
    fn parse(&mut self, line: &[u8]) -> Result<Option<UsageEvent>, LineError> {
        fields::utf8(line)?;
        let telemetry = memmem::find(line, API_RESPONSE).is_some();
        if memmem::find(line, USAGE_KEY).is_none() && !telemetry {
            return fields::without_usage(line); // not a request
        }
        let record: Record = match serde_json::from_slice(line) {
            Ok(record) => record,
            // A user record quoting the word with fields of other shapes is
            // not an error; an assistant or telemetry record is.
            Err(e) => return if is_usage_json(line) { Err(e.into()) } else { Ok(None) },
        };
        match record.kind.as_deref() {
            Some("assistant") => self.assistant(record, line),
            Some("system") if record.subtype.as_deref() == Some("ui_telemetry") => self.telemetry(record),
            _ => Ok(None),
        }
    }

    fn drain_pending(&mut self, now: Option<DateTime<Utc>>) -> Vec<UsageEvent> {
        let (due, waiting): (Vec<Telemetry>, Vec<Telemetry>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|t| now.is_none_or(|now| now - t.event.timestamp >= Duration::seconds(HOLD_SECONDS)));
        self.waiting = waiting;
        let mut out = std::mem::take(&mut self.due);
        out.extend(due.into_iter().map(|t| t.event));
        out
    }

    fn holding(&self) -> bool {
        !self.waiting.is_empty() || !self.due.is_empty()
    }
}

impl QwenCodeParser {
    pub fn new() -> QwenCodeParser {
        QwenCodeParser::default()
    }

    fn assistant(&mut self, record: Record<'_>, line: &[u8]) -> Result<Option<UsageEvent>, LineError> {
        if record.forked_from.is_some() {
            return Ok(None);
        }
        let Some(u) = record.usage else { return Ok(None) };
        let counts = (
            u.prompt_token_count.unwrap_or(0),
            u.candidates_token_count.unwrap_or(0),
            u.cached_content_token_count.unwrap_or(0),
            u.thoughts_token_count.unwrap_or(0),
            u.total_token_count,
        );
        let usage = GoogleUsage {
            prompt: counts.0,
            candidates: counts.1,
            cached: counts.2,
            thoughts: counts.3,
            tool_prompt: u.tool_use_prompt_token_count.unwrap_or(0),
            total: counts.4,
        };
        let tokens = usage.tokens();
        if tokens.total() == 0 {
            return Ok(None);
        }
        let model = record.model.filter(|m| !m.trim().is_empty()).ok_or_else(|| LineError::new("assistant record without model"))?;
        let timestamp = parse_timestamp(&record.timestamp.ok_or_else(|| LineError::new("record without timestamp"))?)?;
        let uuid = record.uuid.as_deref().unwrap_or("");
        let id = match uuid {
            "" => EventId::from_parts("qwen_code/line", &[&String::from_utf8_lossy(line)]),
            uuid => EventId::from_parts("qwen_code", &[uuid]),
        };
        // Its telemetry twin, written just before it, is not a second bill.
        let parent = record.parent_uuid.as_deref().unwrap_or("");
        if let Some(at) = self.waiting.iter().position(|t| (!parent.is_empty() && t.uuid == parent) || t.counts == counts) {
            self.waiting.remove(at);
        } else {
            self.recent.push_back(counts);
            if self.recent.len() > RECENT {
                self.recent.pop_front();
            }
        }
        let mut event = UsageEvent::new(id, timestamp, model.into_owned(), tokens);
        event.reasoning_tokens = usage.reasoning();
        event.session = record.session_id.map(Cow::into_owned);
        Ok(Some(event))
    }

    /// A `qwen-code.api_response`: the twin of an assistant record already
    /// read (dropped), or held until its twin comes or it proves a side call.
    fn telemetry(&mut self, record: Record<'_>) -> Result<Option<UsageEvent>, LineError> {
        let Some(ui) = record.system_payload.and_then(|p| p.ui_event) else { return Ok(None) };
        if ui.name.as_deref() != Some("qwen-code.api_response") {
            return Ok(None);
        }
        let counts = (
            ui.input_token_count.unwrap_or(0),
            ui.output_token_count.unwrap_or(0),
            ui.cached_content_token_count.unwrap_or(0),
            ui.thoughts_token_count.unwrap_or(0),
            ui.total_token_count,
        );
        let usage = GoogleUsage {
            prompt: counts.0,
            candidates: counts.1,
            cached: counts.2,
            thoughts: counts.3,
            tool_prompt: ui.tool_token_count.unwrap_or(0),
            total: counts.4,
        };
        let tokens = usage.tokens();
        if tokens.total() == 0 {
            return Ok(None); // a failed call: nothing billed
        }
        let uuid = record.uuid.as_deref().filter(|u| !u.is_empty()).ok_or_else(|| LineError::new("telemetry record without uuid"))?;
        if let Some(at) = self.recent.iter().position(|c| *c == counts) {
            self.recent.remove(at);
            return Ok(None); // the twin of an assistant record read before it
        }
        let model = ui.model.filter(|m| !m.trim().is_empty()).ok_or_else(|| LineError::new("api_response telemetry without model"))?;
        let timestamp = parse_timestamp(&record.timestamp.ok_or_else(|| LineError::new("record without timestamp"))?)?;
        let mut event = UsageEvent::new(EventId::from_parts("qwen_code/telemetry", &[uuid]), timestamp, model.into_owned(), tokens);
        event.reasoning_tokens = usage.reasoning();
        event.session = record.session_id.map(Cow::into_owned);
        self.waiting.push(Telemetry { uuid: uuid.to_string(), counts, event });
        Ok(None)
    }
}

/// Slow path, only for lines the fast parse refused.
fn is_usage_json(line: &[u8]) -> bool {
    match serde_json::from_slice::<serde_json::Value>(line) {
        Ok(value) => match value.get("type").and_then(|t| t.as_str()) {
            Some("assistant") => true,
            Some("system") => value.pointer("/systemPayload/uiEvent/event.name").and_then(|n| n.as_str()) == Some("qwen-code.api_response"),
            _ => false,
        },
        Err(_) => true,
    }
}

#[cfg(test)]
#[path = "qwen_code_tests.rs"]
mod tests;
