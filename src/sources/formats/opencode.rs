//! OpenCode: one message per database row (`opencode.db`, table `message`,
//! OpenCode 1.2 and later) or per file (`storage/message/<session>/<id>.json`,
//! before), the same JSON either way (in the database without `id` and
//! `sessionID`, which are columns there).
//!
//! An assistant message is one request: `tokens.{input, output, reasoning,
//! cache.read, cache.write}` and the `cost` OpenCode worked out. OpenCode
//! adds each step's cost to the message but keeps only the last step's
//! tokens, so the stated cost is the better figure and is taken as the cost.
//! OpenCode's `input` already excludes cache reads and writes; `reasoning` is
//! billed as output; `cache.write` has no 5m/1h split and is booked as 5m
//! writes. A cost of 0 is what OpenCode writes when it has no price for the
//! model (custom or local providers): such a message is priced from its
//! tokens here, as ccusage does.
//!
//! Invariants: a message's event id is its OpenCode id, so the database and
//! the older files (OpenCode copies the files into the database) name one
//! request once, and a row rewritten in place with larger counts books only
//! the growth. A forked session copies its parent's messages under new ids
//! with the same creation time, counts and cost: `Copies` gives each copy the
//! id of the message it copies, so it is a duplicate, not a new request.
//! No input panics; a damaged message is a `LineError`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::sources::formats::fields;
use crate::sources::LineError;
use crate::usage::{EventId, Tokens, UsageEvent};

/// The format name in event ids.
const FORMAT: &str = "opencode";

/// Where OpenCode keeps its data: `$XDG_DATA_HOME/opencode`, by default
/// `~/.local/share/opencode`; the database has a channel suffix on
/// non-stable builds (`opencode-beta.db`).
pub fn default_paths() -> Vec<String> {
    let base = match std::env::var("XDG_DATA_HOME") {
        Ok(dir) if !dir.trim().is_empty() => format!("{}/opencode", dir.trim_end_matches('/')),
        _ => "~/.local/share/opencode".to_string(),
    };
    vec![format!("{base}/opencode.db"), format!("{base}/opencode-*.db"), format!("{base}/storage/message/**/*.json")]
}

#[derive(Deserialize)]
struct Json<'a> {
    #[serde(default, borrow)]
    id: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "sessionID")]
    session_id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    role: Option<&'a RawValue>,
    #[serde(default, borrow)]
    time: Option<Time<'a>>,
    #[serde(default, borrow, rename = "modelID")]
    model_id: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "providerID")]
    provider_id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    cost: Option<&'a RawValue>,
    #[serde(default, borrow)]
    tokens: Option<JsonTokens<'a>>,
}

#[derive(Deserialize)]
struct Time<'a> {
    #[serde(default, borrow)]
    created: Option<&'a RawValue>,
    #[serde(default, borrow)]
    completed: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct JsonTokens<'a> {
    #[serde(default, borrow)]
    input: Option<&'a RawValue>,
    #[serde(default, borrow)]
    output: Option<&'a RawValue>,
    #[serde(default, borrow)]
    reasoning: Option<&'a RawValue>,
    #[serde(default, borrow)]
    cache: Option<JsonCache<'a>>,
}

#[derive(Deserialize)]
struct JsonCache<'a> {
    #[serde(default, borrow)]
    read: Option<&'a RawValue>,
    #[serde(default, borrow)]
    write: Option<&'a RawValue>,
}

/// What one message is.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The billed request, if it is one (a user message, or an assistant
    /// message with nothing billed yet, is not).
    pub event: Option<UsageEvent>,
    /// When an assistant message that is not finished yet was created: its
    /// row will be rewritten with larger counts.
    pub unfinished_since: Option<DateTime<Utc>>,
    /// Creation time, provider, model, counts and cost: what a fork's copy
    /// shares with the message it copies.
    fingerprint: u64,
}

/// Reads one message. `id` and `session` come from the row's columns, or
/// (`None`) from the JSON itself, as in the older files.
pub fn read_message(data: &[u8], id: Option<&str>, session: Option<&str>) -> Result<Message, LineError> {
    let m: Json = serde_json::from_slice(data)?;
    let not_a_request = Message { event: None, unfinished_since: None, fingerprint: 0 };
    if fields::string(m.role, "role")?.as_deref() != Some("assistant") {
        return Ok(not_a_request);
    }
    let (created_raw, completed) = match &m.time {
        Some(t) => (t.created, fields::string(t.completed, "time.completed")?.is_some()),
        None => (None, false),
    };
    let created = fields::timestamp(created_raw, "time.created")?;
    let unfinished_since = if completed { None } else { created };
    let (tokens, reasoning) = match &m.tokens {
        Some(t) => (tokens(t)?, count(t.reasoning, "tokens.reasoning")?),
        None => (Tokens::default(), 0),
    };
    let cost = fields::decimal(m.cost, "cost")?.filter(|c| !c.is_zero());
    if tokens.total() == 0 && cost.is_none() {
        return Ok(Message { unfinished_since, ..not_a_request });
    }
    let at = created.ok_or_else(|| LineError::new("assistant message without time.created"))?;
    let own_id = fields::string(m.id, "id")?;
    let id = id.or(own_id.as_deref()).ok_or_else(|| LineError::new("message without an id"))?;
    let own_session = fields::string(m.session_id, "sessionID")?;
    let model = fields::string(m.model_id, "modelID")?.ok_or_else(|| LineError::new("assistant message without modelID"))?;
    let provider = fields::string(m.provider_id, "providerID")?.unwrap_or_default();
    let fingerprint = fingerprint(&[created_raw.map_or("", RawValue::get), &provider, &model, m.cost.map_or("", RawValue::get)], &tokens);
    let mut event = UsageEvent::new(EventId::from_parts(FORMAT, &[id]), at, model.into_owned(), tokens);
    event.stated_cost = cost;
    // `tokens.reasoning` (packages/opencode/src/session/index.ts `getUsage`:
    // the SDK's reasoning tokens, taken out of output) is shown as reasoning.
    event.reasoning_tokens = reasoning.min(event.tokens.output);
    event.session = session.or(own_session.as_deref()).map(str::to_string);
    Ok(Message { event: Some(event), unfinished_since, fingerprint })
}

fn tokens(t: &JsonTokens) -> Result<Tokens, LineError> {
    let (read, write) = match &t.cache {
        Some(c) => (count(c.read, "tokens.cache.read")?, count(c.write, "tokens.cache.write")?),
        None => (0, 0),
    };
    let output = count(t.output, "tokens.output")?.saturating_add(count(t.reasoning, "tokens.reasoning")?);
    Ok(Tokens { input: count(t.input, "tokens.input")?, output, cache_write_5m: write, cache_write_1h: 0, cache_read: read })
}

/// A token count as OpenCode writes it: a JS number. Negative counts occur
/// (OpenCode subtracts reasoning from the SDK's output, which goes below zero
/// for a provider that reports them apart) and count as 0; a fraction is not
/// a count.
fn count(raw: Option<&RawValue>, name: &str) -> Result<u64, LineError> {
    let Some(text) = fields::string(raw, name)? else { return Ok(0) };
    if let Ok(n) = text.parse::<u64>() {
        return Ok(n);
    }
    match crate::usage::money::parse(&text) {
        Ok(d) if d.fract().is_zero() => Ok(if d.is_sign_negative() { 0 } else { u64::try_from(d).unwrap_or(u64::MAX) }),
        _ => Err(LineError::new(format!("{name}: `{text}` is not a token count"))),
    }
}

fn fingerprint(texts: &[&str], tokens: &Tokens) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for text in texts {
        h.update(text.as_bytes());
        h.update(&[0x1f]);
    }
    for n in tokens.by_kind() {
        h.update(&n.to_le_bytes());
    }
    h.digest()
}

/// The messages read so far by fingerprint, so that a fork's copies take the
/// id of the message they copy. The original is always read first: a copy
/// is made of a finished message, later, under a later id.
#[derive(Debug, Default)]
pub struct Copies {
    /// Fingerprint -> the first message id that had it.
    first: HashMap<u64, String>,
    /// Message id -> its latest fingerprint (an unfinished message's changes).
    latest: HashMap<String, u64>,
}

impl Copies {
    /// The id of the message that `id` (with `fingerprint`) copies, if any.
    fn original_of(&mut self, id: &str, fingerprint: u64) -> Option<String> {
        if let Some(previous) = self.latest.insert(id.to_string(), fingerprint) {
            if previous != fingerprint && self.first.get(&previous).is_some_and(|f| f == id) {
                self.first.remove(&previous);
            }
        }
        match self.first.get(&fingerprint) {
            Some(original) if original != id => Some(original.clone()),
            Some(_) => None,
            None => {
                self.first.insert(fingerprint, id.to_string());
                None
            }
        }
    }

    /// Messages known.
    pub fn len(&self) -> usize {
        self.latest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.latest.is_empty()
    }

    /// Reads one database row: a fork's copy gets the id of its original.
    pub fn read_row(&mut self, data: &[u8], id: &str, session: Option<&str>) -> Result<Message, LineError> {
        let mut message = read_message(data, Some(id), session)?;
        if let Some(event) = &mut message.event {
            if let Some(original) = self.original_of(id, message.fingerprint) {
                event.id = EventId::from_parts(FORMAT, &[&original]);
            }
        }
        Ok(message)
    }
}

/// One message file of the older storage (`storage/message/<session>/<id>.json`),
/// or one message per line: the JSON carries its own id and session.
#[derive(Debug, Default)]
pub struct OpencodeMessageParser;

impl crate::sources::LineParser for OpencodeMessageParser {
    fn parse(&mut self, line: &[u8]) -> Result<Option<UsageEvent>, LineError> {
        read_message(line, None, None).map(|m| m.event)
    }
}

impl crate::sources::DocumentParser for OpencodeMessageParser {
    /// A file OpenCode is rewriting may be cut short: not JSON as a whole is
    /// "not readable now" (retried); JSON that is no valid message is an
    /// error of its one item.
    fn parse_document(&mut self, bytes: &[u8]) -> Result<Vec<Result<UsageEvent, LineError>>, LineError> {
        serde_json::from_slice::<serde::de::IgnoredAny>(bytes)?;
        Ok(read_message(bytes, None, None).map(|m| m.event).transpose().into_iter().collect())
    }
}

#[cfg(test)]
mod tests;
