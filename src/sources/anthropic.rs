//! Anthropic Messages API logs: one response per line (bare, or under
//! `response` with `timestamp`, `app`, `user`, `user_agent` beside it), or a
//! streamed response logged as its events, `message_start` then
//! `message_delta`, tied by a stream id field.
//!
//! A stream's `message_start` is held back until its `message_delta` (whose
//! usage is final: every field it carries wins over the start's). If the
//! delta does not come within `timeout` of the start's time, `drain_pending`
//! books the start as it is; a delta arriving after that yields the same
//! `EventId` with the final usage, so de-duplication books only the growth.
//! A line without `timestamp` (a bare response body) is dated when it is
//! read: the API response itself carries no time.
//! Both maps are bounded: past `MAX_STREAMS` the oldest stream is booked (if
//! it was not) and forgotten.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::attribution::Attribution;
use super::fields::{self, FieldSet};
use super::{LineError, LineParser};
use crate::event::{EventId, Tokens, UsageEvent};

/// `streams:` of an `anthropic` source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamOptions {
    /// JSON pointer to the field that ties a stream's events together.
    pub id_field: String,
    /// How long after its `message_start` a stream without `message_delta`
    /// is booked from the start alone.
    #[serde(deserialize_with = "crate::config::duration")]
    pub timeout: Duration,
}

impl Default for StreamOptions {
    fn default() -> StreamOptions {
        StreamOptions { id_field: "/stream_id".into(), timeout: Duration::from_secs(300) }
    }
}

/// Streams remembered at once per file, waiting or already booked.
const MAX_STREAMS: usize = 10_000;

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    usage: Option<Usage<'a>>,
}

#[derive(Deserialize)]
struct StreamEvent<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Option<Message<'a>>,
    #[serde(borrow)]
    usage: Option<Usage<'a>>,
}

#[derive(Deserialize, Default)]
struct Usage<'a> {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    cache_creation: Option<CacheCreation>,
    server_tool_use: Option<ServerToolUse>,
    #[serde(borrow)]
    service_tier: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Clone, Copy)]
struct CacheCreation {
    ephemeral_5m_input_tokens: Option<u64>,
    ephemeral_1h_input_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct ServerToolUse {
    web_search_requests: Option<u64>,
}

/// A stream whose start was seen.
struct Stream {
    seq: u64,
    event: UsageEvent,
    /// The start's 1h cache writes, for a delta that gives only the total.
    write_1h: u64,
    booked: bool,
}

pub struct AnthropicParser {
    fields: FieldSet,
    attribution: Arc<Attribution>,
    timeout: chrono::Duration,
    streams: HashMap<String, Stream>,
    order: BTreeMap<u64, String>,
    next_seq: u64,
    /// Starts pushed out before their time; returned by the next drain.
    ready: Vec<UsageEvent>,
}

// Slots of `fields`, in `AnthropicParser::new`'s order.
const TIMESTAMP: usize = 0;
const APP: usize = 1;
const USER_AGENT: usize = 2;
const RESPONSE: usize = 3;
const EVENT: usize = 4;
const TYPE: usize = 5;
const STREAM_ID: usize = 6;

impl AnthropicParser {
    /// `options.id_field` must be a valid JSON pointer (checked by the config).
    pub fn new(options: &StreamOptions, attribution: Arc<Attribution>) -> Result<AnthropicParser, String> {
        let fields = FieldSet::new(&["/timestamp", "/app", "/user_agent", "/response", "/event", "/type", options.id_field.as_str()])?;
        let timeout = chrono::Duration::from_std(options.timeout).map_err(|e| format!("stream timeout: {e}"))?;
        Ok(AnthropicParser {
            fields,
            attribution,
            timeout,
            streams: HashMap::new(),
            order: BTreeMap::new(),
            next_seq: 0,
            ready: Vec::new(),
        })
    }
}

impl LineParser for AnthropicParser {
    fn parse(&mut self, line: &[u8]) -> Result<Option<UsageEvent>, LineError> {
        let f = self.fields.extract(line)?;
        let kind = fields::string(f[TYPE], "type")?;
        let timestamp = fields::timestamp(f[TIMESTAMP], "timestamp")?;
        let app_field = fields::string(f[APP], "app")?;
        let user_agent = fields::string(f[USER_AGENT], "user_agent")?;
        let app = self.attribution.app_of_line(app_field.as_deref(), user_agent.as_deref());

        let event_text = match f[EVENT] {
            Some(raw) => Some(fields::object_text(raw, "event")?),
            None if matches!(kind.as_deref(), Some("message_start" | "message_delta")) => Some(String::from_utf8_lossy(line)),
            None => None,
        };
        if let Some(event_text) = event_text {
            let event: StreamEvent = serde_json::from_str(&event_text)?;
            let stream = fields::string(f[STREAM_ID], "stream id")?.ok_or_else(|| LineError::new("stream event without its stream id"))?;
            return match event.kind.as_deref() {
                Some("message_start") => self.start(&stream, event.message, timestamp, app).map(|()| None),
                Some("message_delta") => self.delta(&stream, event.usage.unwrap_or_default()),
                _ => Ok(None),
            };
        }
        let response_text = match f[RESPONSE] {
            Some(raw) => fields::object_text(raw, "response")?,
            None if kind.as_deref() == Some("message") => String::from_utf8_lossy(line),
            None => return Ok(None),
        };
        let message: Message = serde_json::from_str(&response_text)?;
        let Some(usage) = &message.usage else {
            return Ok(None);
        };
        let mut event = new_event(&message, usage, timestamp.unwrap_or_else(Utc::now), line)?;
        event.app = app;
        Ok(Some(event))
    }

    fn drain_pending(&mut self, now: Option<DateTime<Utc>>) -> Vec<UsageEvent> {
        let mut due = std::mem::take(&mut self.ready);
        for stream in self.streams.values_mut() {
            if !stream.booked && now.is_none_or(|now| stream.event.timestamp + self.timeout <= now) {
                stream.booked = true;
                due.push(stream.event.clone());
            }
        }
        due.sort_by_key(|e| e.timestamp);
        due
    }
}

impl AnthropicParser {
    fn start(&mut self, stream: &str, message: Option<Message>, at: Option<DateTime<Utc>>, app: Option<String>) -> Result<(), LineError> {
        let message = message.ok_or_else(|| LineError::new("message_start without message"))?;
        let usage = message.usage.as_ref().ok_or_else(|| LineError::new("message_start without message.usage"))?;
        let mut event = new_event(&message, usage, at.unwrap_or_else(Utc::now), stream.as_bytes())?;
        event.app = app;
        if let Some(old) = self.forget(stream) {
            // The same stream id started again: the old start had no delta.
            self.ready.extend((!old.booked).then_some(old.event));
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let write_1h = event.tokens.cache_write_1h;
        self.streams.insert(stream.to_string(), Stream { seq, event, write_1h, booked: false });
        self.order.insert(seq, stream.to_string());
        if self.streams.len() > MAX_STREAMS {
            if let Some((_, oldest)) = self.order.pop_first() {
                if let Some(old) = self.streams.remove(&oldest) {
                    self.ready.extend((!old.booked).then_some(old.event));
                }
            }
        }
        Ok(())
    }

    fn delta(&mut self, stream: &str, usage: Usage) -> Result<Option<UsageEvent>, LineError> {
        let Some(start) = self.forget(stream) else {
            return Err(LineError::new(format!("message_delta of stream `{stream}` without its message_start")));
        };
        let mut event = start.event;
        let t = &mut event.tokens;
        t.input = usage.input_tokens.unwrap_or(t.input);
        t.output = usage.output_tokens.unwrap_or(t.output);
        t.cache_read = usage.cache_read_input_tokens.unwrap_or(t.cache_read);
        match (usage.cache_creation, usage.cache_creation_input_tokens) {
            (Some(split), _) => {
                t.cache_write_5m = split.ephemeral_5m_input_tokens.unwrap_or(0);
                t.cache_write_1h = split.ephemeral_1h_input_tokens.unwrap_or(0);
            }
            // Only the total: the start's split, its 1h part capped by the total.
            (None, Some(total)) => {
                t.cache_write_1h = start.write_1h.min(total);
                t.cache_write_5m = total - t.cache_write_1h;
            }
            (None, None) => {}
        }
        if let Some(searches) = usage.server_tool_use.and_then(|s| s.web_search_requests) {
            event.web_searches = searches;
        }
        Ok(Some(event))
    }

    fn forget(&mut self, stream: &str) -> Option<Stream> {
        let old = self.streams.remove(stream)?;
        self.order.remove(&old.seq);
        Some(old)
    }
}

/// An event from a message with usage; the id is the message id (so a
/// response logged both whole and as a stream is one request).
fn new_event(message: &Message, usage: &Usage, at: DateTime<Utc>, fallback_key: &[u8]) -> Result<UsageEvent, LineError> {
    let model = message.model.as_deref().ok_or_else(|| LineError::new("message without model"))?;
    let id = match message.id.as_deref() {
        Some(id) if !id.is_empty() => EventId::from_parts("anthropic", &[id]),
        _ => EventId::from_parts("anthropic/line", &[&String::from_utf8_lossy(fallback_key)]),
    };
    let mut event = UsageEvent::new(id, at, model.to_string(), tokens(usage));
    event.web_searches = usage.server_tool_use.as_ref().and_then(|s| s.web_search_requests).unwrap_or(0);
    event.batch = usage.service_tier.as_deref() == Some("batch");
    Ok(event)
}

fn tokens(usage: &Usage) -> Tokens {
    let cache_write = usage.cache_creation_input_tokens.unwrap_or(0);
    let (w5, w1) = match usage.cache_creation {
        Some(split) => (split.ephemeral_5m_input_tokens.unwrap_or(0), split.ephemeral_1h_input_tokens.unwrap_or(0)),
        None => (cache_write, 0),
    };
    Tokens {
        input: usage.input_tokens.unwrap_or(0),
        output: usage.output_tokens.unwrap_or(0),
        cache_write_5m: w5,
        cache_write_1h: w1,
        cache_read: usage.cache_read_input_tokens.unwrap_or(0),
    }
}

#[cfg(test)]
#[path = "anthropic_tests.rs"]
mod tests;
