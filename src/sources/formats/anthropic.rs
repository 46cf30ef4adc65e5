//! Anthropic Messages API logs: one response per line (bare, or under
//! `response` with `timestamp`, `app`, `user`, `user_agent` beside it), or a
//! streamed response logged as its events, `message_start` then
//! `message_delta`, tied by a stream id field; or the Message Batches
//! results file (`{"custom_id", "result": {"type": "succeeded", "message"}}`).
//!
//! Raw SDK stream events logged without a stream id (`message_start`,
//! deltas, `message_delta`, `message_stop`, one stream after the other) are
//! tied in order within the file: a `message_delta` without an id belongs to
//! the open `message_start` without one. Such a start is held like any other
//! (the checkpoint stays before it until it is booked).
//!
//! Batch results are billed at batch rates; `errored`, `canceled` and
//! `expired` results cost nothing and are skipped with that reason.
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
use serde_json::value::RawValue;

use super::attribution::Attribution;
use super::fields::{self, FieldSet};
use super::messages_usage::{split_writes, Message, Usage};
use crate::sources::{LineError, LineParser};
use crate::usage::{EventId, ServiceTier, UsageEvent};

/// `streams:` of an `anthropic` source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamOptions {
    /// JSON pointer to the field that ties a stream's events together.
    pub id_field: String,
    /// How long after its `message_start` a stream without `message_delta`
    /// is booked from the start alone.
    #[serde(deserialize_with = "crate::common::duration")]
    pub timeout: Duration,
}

impl Default for StreamOptions {
    fn default() -> StreamOptions {
        StreamOptions { id_field: "/stream_id".into(), timeout: Duration::from_secs(300) }
    }
}

/// Streams remembered at once per file, waiting or already booked.
const MAX_STREAMS: usize = 10_000;

/// The key of the stream whose events carry no stream id (raw SDK events):
/// not a value any id field can have, since ids are read as JSON text.
const UNNAMED_STREAM: &str = "\0unnamed";

/// One line of a Message Batches results file.
#[derive(Deserialize)]
struct BatchResult<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Option<Message<'a>>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
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

/// The usual shapes in one pass (with the default stream id field): a
/// wrapper's fields beside `response` or `event`, or a bare message or
/// stream event. Anything else (a body logged as a JSON string, a custom
/// stream id pointer, a malformed line) takes the general path.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    timestamp: Option<&'a RawValue>,
    #[serde(borrow)]
    app: Option<&'a RawValue>,
    #[serde(borrow)]
    user_agent: Option<&'a RawValue>,
    #[serde(borrow)]
    stream_id: Option<&'a RawValue>,
    #[serde(borrow)]
    response: Option<Message<'a>>,
    #[serde(borrow)]
    event: Option<StreamEvent<'a>>,
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Option<Message<'a>>,
    #[serde(borrow)]
    usage: Option<Usage<'a>>,
    #[serde(borrow)]
    service_tier: Option<Cow<'a, str>>,
    #[serde(borrow)]
    custom_id: Option<&'a RawValue>,
    #[serde(borrow)]
    result: Option<BatchResult<'a>>,
}

/// What a line holds, however it was read.
enum Body<'a> {
    Event(StreamEvent<'a>),
    Response(Message<'a>),
    /// A batch result and its `custom_id`.
    Batch(BatchResult<'a>, Option<&'a RawValue>),
    Nothing,
}

/// The wrapper's timestamp, app, user agent and stream id, then the body.
type Parts<'a> = ([Option<&'a RawValue>; 4], Body<'a>);

fn is_stream_event(kind: Option<&str>) -> bool {
    matches!(kind, Some("message_start" | "message_delta"))
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
    /// The stream id is the default `/stream_id`, so `Line` can read it.
    one_pass: bool,
    attribution: Arc<Attribution>,
    timeout: chrono::Duration,
    streams: HashMap<String, Stream>,
    order: BTreeMap<u64, String>,
    next_seq: u64,
    /// Starts pushed out before their time; returned by the next drain.
    ready: Vec<UsageEvent>,
    /// Why the last line was not booked (see `LineParser::skip_reason`).
    skipped: Option<String>,
}

// Slots of `fields`, in `AnthropicParser::new`'s order.
const TIMESTAMP: usize = 0;
const APP: usize = 1;
const USER_AGENT: usize = 2;
const RESPONSE: usize = 3;
const EVENT: usize = 4;
const TYPE: usize = 5;
const STREAM_ID: usize = 6;
const RESULT: usize = 7;
const CUSTOM_ID: usize = 8;

impl AnthropicParser {
    /// `options.id_field` must be a valid JSON pointer (checked by the config).
    pub fn new(options: &StreamOptions, attribution: Arc<Attribution>) -> Result<AnthropicParser, String> {
        let pointers =
            ["/timestamp", "/app", "/user_agent", "/response", "/event", "/type", options.id_field.as_str(), "/result", "/custom_id"];
        let fields = FieldSet::new(&pointers)?;
        let timeout = chrono::Duration::from_std(options.timeout).map_err(|e| format!("stream timeout: {e}"))?;
        Ok(AnthropicParser {
            fields,
            one_pass: options.id_field == "/stream_id",
            attribution,
            timeout,
            streams: HashMap::new(),
            order: BTreeMap::new(),
            next_seq: 0,
            ready: Vec::new(),
            skipped: None,
        })
    }
}

impl LineParser for AnthropicParser {
    fn holding(&self) -> bool {
        !self.streams.is_empty() || !self.ready.is_empty()
    }

    fn skip_reason(&mut self) -> Option<String> {
        self.skipped.take()
    }

    fn parse(&mut self, line: &[u8]) -> Result<Option<UsageEvent>, LineError> {
        self.skipped = None;
        if self.one_pass {
            if let Ok(l) = serde_json::from_slice::<Line>(line) {
                let body = match (l.result, l.event, l.response) {
                    (Some(result), _, _) if l.custom_id.is_some() => Body::Batch(result, l.custom_id),
                    (_, Some(event), _) => Body::Event(event),
                    (_, None, _) if is_stream_event(l.kind.as_deref()) => {
                        Body::Event(StreamEvent { kind: l.kind, message: l.message, usage: l.usage })
                    }
                    (_, None, Some(response)) => Body::Response(response),
                    (_, None, None) if l.kind.as_deref() == Some("message") => {
                        Body::Response(Message { id: l.id, model: l.model, usage: l.usage, service_tier: l.service_tier })
                    }
                    (_, None, None) => Body::Nothing,
                };
                return self.book(([l.timestamp, l.app, l.user_agent, l.stream_id], body), line);
            }
        }
        let f = self.fields.extract(line)?;
        let kind = fields::string(f[TYPE], "type")?;
        let event_text = match f[EVENT] {
            Some(raw) => Some(fields::object_text(raw, "event")?),
            None if is_stream_event(kind.as_deref()) => Some(String::from_utf8_lossy(line)),
            None => None,
        };
        let response_text = match f[RESPONSE] {
            Some(raw) if event_text.is_none() => Some(fields::object_text(raw, "response")?),
            None if event_text.is_none() && kind.as_deref() == Some("message") => Some(String::from_utf8_lossy(line)),
            _ => None,
        };
        let result_text = match (f[RESULT], f[CUSTOM_ID]) {
            (Some(raw), Some(_)) => Some(fields::object_text(raw, "result")?),
            _ => None,
        };
        let body = match (&result_text, &event_text, &response_text) {
            (Some(text), _, _) => Body::Batch(serde_json::from_str(text)?, f[CUSTOM_ID]),
            (None, Some(text), _) => Body::Event(serde_json::from_str(text)?),
            (None, None, Some(text)) => Body::Response(serde_json::from_str(text)?),
            (None, None, None) => Body::Nothing,
        };
        self.book(([f[TIMESTAMP], f[APP], f[USER_AGENT], f[STREAM_ID]], body), line)
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
    fn book(&mut self, ([timestamp, app, user_agent, stream_id], body): Parts, line: &[u8]) -> Result<Option<UsageEvent>, LineError> {
        let timestamp = fields::timestamp(timestamp, "timestamp")?;
        let app_field = fields::string(app, "app")?;
        let user_agent = fields::string(user_agent, "user_agent")?;
        let app = self.attribution.app_of_line(app_field.as_deref(), user_agent.as_deref());
        match body {
            Body::Event(event) => {
                let named = fields::string(stream_id, "stream id")?;
                let (stream, fallback_key) = match &named {
                    Some(id) => (id.as_ref(), id.as_bytes()),
                    None => (UNNAMED_STREAM, line),
                };
                match event.kind.as_deref() {
                    Some("message_start") => self.start(stream, event.message, timestamp, app, fallback_key).map(|()| None),
                    Some("message_delta") => self.delta(stream, event.usage.unwrap_or_default()),
                    _ => Ok(None),
                }
            }
            Body::Response(message) => {
                let Some(usage) = &message.usage else {
                    return Ok(None);
                };
                let mut event = new_event(&message, usage, timestamp.unwrap_or_else(Utc::now), line)?;
                event.app = app;
                Ok(Some(event))
            }
            Body::Batch(result, custom_id) => {
                let custom_id = fields::string(custom_id, "custom_id")?.unwrap_or_default();
                match (result.kind.as_deref(), result.message) {
                    (Some("succeeded"), Some(message)) => {
                        let usage = message.usage.as_ref().ok_or_else(|| LineError::new("batch result without message.usage"))?;
                        let mut event = new_event(&message, usage, timestamp.unwrap_or_else(Utc::now), line)?;
                        event.modifiers.tier = ServiceTier::Batch;
                        event.app = app;
                        Ok(Some(event))
                    }
                    (Some("succeeded"), None) => Err(LineError::new("succeeded batch result without message")),
                    (kind, _) => {
                        let why = batch_error(result.error).map(|e| format!(" ({e})")).unwrap_or_default();
                        self.skipped =
                            Some(format!("batch request `{custom_id}` {}{why}: not billed", kind.unwrap_or("without a result type")));
                        Ok(None)
                    }
                }
            }
            Body::Nothing => Ok(None),
        }
    }

    fn start(
        &mut self,
        stream: &str,
        message: Option<Message>,
        at: Option<DateTime<Utc>>,
        app: Option<String>,
        fallback_key: &[u8],
    ) -> Result<(), LineError> {
        let message = message.ok_or_else(|| LineError::new("message_start without message"))?;
        let usage = message.usage.as_ref().ok_or_else(|| LineError::new("message_start without message.usage"))?;
        let mut event = new_event(&message, usage, at.unwrap_or_else(Utc::now), fallback_key)?;
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
            if stream == UNNAMED_STREAM {
                return Err(LineError::new("message_delta without a stream id, and no message_start open before it in this file"));
            }
            return Err(LineError::new(format!("message_delta of stream `{stream}` without its message_start")));
        };
        let mut event = start.event;
        let t = &mut event.tokens;
        t.input = usage.input_tokens.unwrap_or(t.input);
        t.output = usage.output_tokens.unwrap_or(t.output);
        t.cache_read = usage.cache_read_input_tokens.unwrap_or(t.cache_read);
        match (usage.cache_creation, usage.cache_creation_input_tokens) {
            // The delta's split, the rest of its (or else the start's) total as 5m.
            (Some(split), total) => {
                let total = total.unwrap_or(t.cache_write_5m.saturating_add(t.cache_write_1h));
                (t.cache_write_5m, t.cache_write_1h) = split_writes(Some(total), Some(split));
            }
            // Only the total: the start's split, its 1h part capped by the total.
            (None, Some(total)) => {
                t.cache_write_1h = start.write_1h.min(total);
                t.cache_write_5m = total - t.cache_write_1h;
            }
            (None, None) => {}
        }
        if let Some(searches) = usage.web_searches() {
            event.web_searches = searches;
        }
        // What the delta states of the modifiers wins; the rest is the start's.
        let stated = usage.modifiers(None);
        let m = &mut event.modifiers;
        if usage.service_tier.is_some() {
            m.tier = stated.tier;
        }
        m.fast = if usage.speed.is_some() { stated.fast } else { m.fast };
        m.us_only = if usage.inference_geo.is_some() { stated.us_only } else { m.us_only };
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
    let mut event = UsageEvent::new(id, at, model.to_string(), usage.tokens());
    event.web_searches = usage.web_searches().unwrap_or(0);
    event.modifiers = usage.modifiers(message.service_tier.as_deref());
    Ok(event)
}

/// `error.error.type` (else `error.type`) of an errored batch result.
fn batch_error(error: Option<&RawValue>) -> Option<String> {
    #[derive(Deserialize)]
    struct Error {
        #[serde(rename = "type")]
        kind: Option<String>,
        error: Option<Box<Error>>,
    }
    let e: Error = serde_json::from_str(error?.get()).ok()?;
    e.error.and_then(|inner| inner.kind).or(e.kind)
}

#[cfg(test)]
#[path = "anthropic_tests.rs"]
mod tests;
