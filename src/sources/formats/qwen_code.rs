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
//! - `system` records of subtype `ui_telemetry` repeat each response's counts
//!   for the UI: not a second bill (they carry no `usageMetadata`).
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

#[derive(Debug, Default)]
pub struct QwenCodeParser;

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    uuid: Option<Cow<'a, str>>,
    #[serde(rename = "sessionId", borrow)]
    session_id: Option<Cow<'a, str>>,
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

impl LineParser for QwenCodeParser {
    fn parse(&mut self, line: &[u8]) -> Result<Option<UsageEvent>, LineError> {
        fields::utf8(line)?;
        if memmem::find(line, USAGE_KEY).is_none() {
            return fields::without_usage(line); // not a request
        }
        let record: Record = match serde_json::from_slice(line) {
            Ok(record) => record,
            // A user record quoting the word with fields of other shapes is
            // not an error; an assistant record is.
            Err(e) => return if is_assistant_json(line) { Err(e.into()) } else { Ok(None) },
        };
        if record.kind.as_deref() != Some("assistant") || record.forked_from.is_some() {
            return Ok(None);
        }
        let Some(u) = record.usage else { return Ok(None) };
        let usage = GoogleUsage {
            prompt: u.prompt_token_count.unwrap_or(0),
            candidates: u.candidates_token_count.unwrap_or(0),
            cached: u.cached_content_token_count.unwrap_or(0),
            thoughts: u.thoughts_token_count.unwrap_or(0),
            tool_prompt: u.tool_use_prompt_token_count.unwrap_or(0),
            total: u.total_token_count,
        };
        let tokens = usage.tokens();
        if tokens.total() == 0 {
            return Ok(None);
        }
        let model = record.model.filter(|m| !m.trim().is_empty()).ok_or_else(|| LineError::new("assistant record without model"))?;
        let timestamp = parse_timestamp(&record.timestamp.ok_or_else(|| LineError::new("record without timestamp"))?)?;
        let id = match record.uuid.as_deref() {
            Some(uuid) if !uuid.is_empty() => EventId::from_parts("qwen_code", &[uuid]),
            _ => EventId::from_parts("qwen_code/line", &[&String::from_utf8_lossy(line)]),
        };
        let mut event = UsageEvent::new(id, timestamp, model.into_owned(), tokens);
        event.reasoning_tokens = usage.reasoning();
        event.session = record.session_id.map(Cow::into_owned);
        Ok(Some(event))
    }
}

/// Slow path, only for lines the fast parse refused.
fn is_assistant_json(line: &[u8]) -> bool {
    match serde_json::from_slice::<serde_json::Value>(line) {
        Ok(value) => value.get("type").and_then(|t| t.as_str()) == Some("assistant"),
        Err(_) => true,
    }
}

#[cfg(test)]
#[path = "qwen_code_tests.rs"]
mod tests;
