//! Codex CLI session logs (`${CODEX_HOME:-~/.codex}/sessions/YYYY/MM/DD/rollout-*.jsonl`,
//! and `archived_sessions/`).
//!
//! Usage comes from `event_msg` lines whose `payload.type` is `token_count`:
//! `info.total_token_usage` is the session's running total, `info.last_token_usage`
//! the turn's own usage. The model is the one of the latest `turn_context` line
//! before it (it can change mid-session), so this parser keeps state per file.
//!
//! Codex 0.159 and later also write a `token_usage_record` line per response
//! (codex-rs/history/src/lib.rs `RolloutItem::TokenUsageRecord`,
//! codex-rs/protocol/src/protocol.rs `TokenUsageRecord { thread_id, turn_id,
//! session_id, root_turn_id, response_id, usage, turn_token_usage,
//! thread_token_usage }`). One response is one request whichever of the two
//! lines a build writes: a record's id is its `thread_token_usage` (the
//! running total a `token_count` after the same response carries, so either
//! order is one id), else its `response_id`; once a file has records, its
//! `token_count` lines only move the running total.
//!
//! `TokenUsage.cache_write_input_tokens` (from the Responses API's
//! `input_tokens_details.cache_write_tokens`) is inside `input_tokens` like
//! the cached ones: a cache write (priced at the model's cache-write price,
//! which OpenAI cards leave at the input price), not input as well.
//!
//! Traps, each handled here:
//! - `input_tokens` include `cached_input_tokens`, and `output_tokens` include
//!   `reasoning_output_tokens`: cached input is a cache read, the rest input;
//!   reasoning is not added again.
//! - The same totals are written again (a rate-limit update): not a new request.
//! - A forked or resumed session's file starts with a copy of its parent's
//!   lines. The event id is the running total itself, so a copied line has
//!   the id its original had and de-duplication drops it (it was booked under
//!   the parent); the fork's own turns continue the parent's total, so they
//!   get new ids.
//! - A session without any model line (early builds) is priced as the model
//!   those builds defaulted to, `DEFAULT_MODEL`, and a warning says so once.

use std::borrow::Cow;

use memchr::memmem;
use serde::Deserialize;

use super::fields;
use crate::sources::{parse_timestamp, LineError, LineParser};
use crate::usage::{EventId, Tokens, UsageEvent};

/// What Codex builds that wrote no `turn_context` model (before September
/// 2025) used when none was configured; ccusage prices such sessions the same.
pub const DEFAULT_MODEL: &str = "gpt-5";

/// One file's reader: the model of the latest `turn_context`, the totals of
/// the latest `token_count`.
#[derive(Debug, Default)]
pub struct CodexParser {
    model: Option<String>,
    session: Option<String>,
    last_total: Option<Usage>,
    warned_default: bool,
    /// The file has `token_usage_record` lines: they are the requests.
    records: bool,
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    payload: Option<Payload<'a>>,
}

#[derive(Deserialize)]
struct Payload<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    info: Option<Info>,
    #[serde(borrow)]
    response_id: Option<Cow<'a, str>>,
    usage: Option<Usage>,
    thread_token_usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Info {
    total_token_usage: Option<Usage>,
    last_token_usage: Option<Usage>,
}

/// Codex's counters: `input_tokens` include the cached ones, `output_tokens`
/// the reasoning ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Usage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default, alias = "cache_read_input_tokens")]
    cached_input_tokens: u64,
    #[serde(default)]
    cache_write_input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    reasoning_output_tokens: u64,
    #[serde(default)]
    total_tokens: u64,
}

impl Usage {
    fn minus(&self, earlier: &Usage) -> Usage {
        Usage {
            input_tokens: self.input_tokens.saturating_sub(earlier.input_tokens),
            cached_input_tokens: self.cached_input_tokens.saturating_sub(earlier.cached_input_tokens),
            cache_write_input_tokens: self.cache_write_input_tokens.saturating_sub(earlier.cache_write_input_tokens),
            output_tokens: self.output_tokens.saturating_sub(earlier.output_tokens),
            reasoning_output_tokens: self.reasoning_output_tokens.saturating_sub(earlier.reasoning_output_tokens),
            total_tokens: self.total_tokens.saturating_sub(earlier.total_tokens),
        }
    }

    /// Priced kinds: cached input is a cache read and cache-write input a
    /// cache write, neither input as well; reasoning is inside output already.
    fn tokens(&self) -> Tokens {
        let cache_read = self.cached_input_tokens.min(self.input_tokens);
        let cache_write = self.cache_write_input_tokens.min(self.input_tokens - cache_read);
        Tokens {
            input: self.input_tokens - cache_read - cache_write,
            output: self.output_tokens,
            cache_write_5m: cache_write,
            cache_read,
            ..Tokens::default()
        }
    }

    fn is_zero(&self) -> bool {
        self.input_tokens == 0
            && self.cached_input_tokens == 0
            && self.cache_write_input_tokens == 0
            && self.output_tokens == 0
            && self.reasoning_output_tokens == 0
    }

    fn parts(&self) -> [String; 5] {
        [self.input_tokens, self.cached_input_tokens, self.output_tokens, self.reasoning_output_tokens, self.total_tokens]
            .map(|n| n.to_string())
    }
}

/// Lines without one of these cannot change what we book; most lines (the
/// conversation itself) are skipped without JSON parsing.
const TOKEN_COUNT: &[u8] = b"\"token_count\"";
const TURN_CONTEXT: &[u8] = b"\"turn_context\"";
const SESSION_META: &[u8] = b"\"session_meta\"";
const USAGE_RECORD: &[u8] = b"\"token_usage_record\"";

impl CodexParser {
    pub fn new() -> CodexParser {
        CodexParser::default()
    }

    fn token_count(&mut self, timestamp: Option<Cow<'_, str>>, info: Info) -> Result<Option<UsageEvent>, LineError> {
        let (total, last) = (info.total_token_usage, info.last_token_usage);
        let previous = self.last_total;
        if let Some(total) = total {
            if previous == Some(total) {
                return Ok(None); // the same totals again (a rate-limit update)
            }
            self.last_total = Some(total);
        }
        if self.records {
            return Ok(None); // the file's `token_usage_record` lines are its requests
        }
        let usage = match (last, total) {
            (Some(last), _) => last,
            (None, Some(total)) => total.minus(&previous.unwrap_or_default()),
            (None, None) => return Ok(None),
        };
        if usage.is_zero() {
            return Ok(None);
        }
        let timestamp = timestamp.ok_or_else(|| LineError::new("token_count line without timestamp"))?;
        let at = parse_timestamp(&timestamp)?;
        // The running total names the request: a copy of this line in a fork
        // of the session has the same one.
        let id = match total {
            Some(total) => EventId::from_parts("codex", &total.parts().each_ref().map(String::as_str)),
            None => {
                let parts = usage.parts();
                let mut all: Vec<&str> = vec![&timestamp];
                all.extend(parts.iter().map(String::as_str));
                EventId::from_parts("codex/last", &all)
            }
        };
        Ok(Some(self.event(id, at, &usage)))
    }

    /// A `token_usage_record`: one response's usage.
    fn record(&mut self, timestamp: Option<Cow<'_, str>>, payload: Payload<'_>) -> Result<Option<UsageEvent>, LineError> {
        self.records = true;
        let usage = payload.usage.ok_or_else(|| LineError::new("token_usage_record without usage"))?;
        if let Some(total) = payload.thread_token_usage {
            self.last_total = Some(total);
        }
        if usage.is_zero() {
            return Ok(None);
        }
        let id = match (payload.thread_token_usage, payload.response_id.as_deref()) {
            (Some(total), _) => EventId::from_parts("codex", &total.parts().each_ref().map(String::as_str)),
            (None, Some(response)) if !response.is_empty() => EventId::from_parts("codex/response", &[response]),
            (None, _) => return Err(LineError::new("token_usage_record without thread_token_usage or response_id")),
        };
        let timestamp = timestamp.ok_or_else(|| LineError::new("token_usage_record line without timestamp"))?;
        Ok(Some(self.event(id, parse_timestamp(&timestamp)?, &usage)))
    }

    fn event(&mut self, id: EventId, at: chrono::DateTime<chrono::Utc>, usage: &Usage) -> UsageEvent {
        let model = match &self.model {
            Some(model) => model.clone(),
            None => {
                if !std::mem::replace(&mut self.warned_default, true) {
                    tracing::warn!(
                        session = self.session.as_deref().unwrap_or("?"),
                        "Codex session without a model line: priced as {DEFAULT_MODEL}, the default of the builds that wrote none"
                    );
                }
                DEFAULT_MODEL.to_string()
            }
        };
        let tokens = usage.tokens();
        let mut event = UsageEvent::new(id, at, model, tokens);
        event.reasoning_tokens = usage.reasoning_output_tokens.min(tokens.output);
        event.session = self.session.clone();
        event
    }
}

impl LineParser for CodexParser {
    fn parse(&mut self, line: &[u8]) -> Result<Option<UsageEvent>, LineError> {
        fields::utf8(line)?;
        let relevant = [TOKEN_COUNT, TURN_CONTEXT, SESSION_META, USAGE_RECORD].iter().any(|key| memmem::find(line, key).is_some());
        if !relevant {
            return fields::without_usage(line);
        }
        let parsed: Line = match serde_json::from_slice(line) {
            Ok(parsed) => parsed,
            // A conversation line that merely mentions the words, with
            // fields of other shapes, is not an error; a usage line is.
            Err(e) => return if is_usage_json(line) { Err(e.into()) } else { Ok(None) },
        };
        let Some(payload) = parsed.payload else { return Ok(None) };
        match (parsed.kind.as_deref(), payload.kind.as_deref()) {
            (Some("turn_context"), _) => {
                if let Some(model) = payload.model.filter(|m| !m.trim().is_empty()) {
                    self.model = Some(model.trim().to_string());
                }
                Ok(None)
            }
            (Some("session_meta"), _) => {
                if self.session.is_none() {
                    self.session = payload.id.map(Cow::into_owned);
                }
                Ok(None)
            }
            (Some("token_usage_record"), _) => self.record(parsed.timestamp, payload),
            (Some("event_msg"), Some("token_count")) => match payload.info {
                Some(info) => self.token_count(parsed.timestamp, info),
                None => Ok(None), // rate limits only, before the first turn
            },
            _ => Ok(None),
        }
    }

    /// The model and the last totals come from earlier lines.
    fn needs_earlier_lines(&self) -> bool {
        true
    }
}

/// Slow path, only for lines the fast parse refused: is this a line that
/// carries usage or the model (whose refusal is an error)?
fn is_usage_json(line: &[u8]) -> bool {
    match serde_json::from_slice::<serde_json::Value>(line) {
        Ok(value) => {
            let kind = value.get("type").and_then(|t| t.as_str());
            let payload_kind = value.pointer("/payload/type").and_then(|t| t.as_str());
            kind == Some("turn_context")
                || kind == Some("token_usage_record")
                || (kind == Some("event_msg") && payload_kind == Some("token_count"))
        }
        Err(_) => true,
    }
}

#[cfg(test)]
#[path = "codex_tests.rs"]
mod tests;
