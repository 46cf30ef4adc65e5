//! Gemini CLI chat recordings (`${GEMINI_CLI_HOME:-~}/.gemini/tmp/<project>/chats/`).
//!
//! Two forms, both read as whole documents (`DocumentParser`): the file is
//! read again each time it changes and every request in it is reported with
//! its message id, so a re-read yields duplicates, never new bills.
//! - The older `session-*.json`: one JSON object whose `messages[]` is
//!   rewritten in place as the chat grows.
//! - The newer `session-*.jsonl` (and subagents' `chats/<parent>/<id>.jsonl`):
//!   a header line (`sessionId`, `projectHash`, ...), message lines, `$set`
//!   lines updating the header (one may carry the whole `messages` list
//!   again) and `$rewindTo` lines. A message id written again replaces the
//!   earlier copy (its tokens often arrive in the second copy). A rewind
//!   hides messages from the chat, but they were billed: they stay booked.
//!   Resuming an old `.json` session migrates it to `<name>.jsonl` with every
//!   message copied under the same ids: not billed twice.
//!
//! A `gemini` message's `tokens.{input, output, cached, thoughts, tool}` are
//! the response's `usageMetadata` (see `google_usage`): cached is a cache
//! read inside input, thoughts are billed as output, tool is prompt on top.
//! Messages without tokens (errors, cancelled turns) are not requests.
//!
//! Resumes and rewinds (chatRecordingService.ts, Gemini CLI 0.61): `--resume`
//! appends a `$set` of the whole message list in which the old messages have
//! no `tokens` and new timestamps. A later copy without tokens therefore never
//! replaces a copy that had them: the billed copy (its tokens and its time)
//! stays, so the request is neither erased nor booked again.
//!
//! Qwen Code's legacy chats (`~/.qwen/tmp/<hash>/chats/session-*.json`,
//! Qwen Code before 0.5) are this same document with message type `qwen`:
//! `GeminiCliParser::qwen_legacy` reads them under the `qwen_code` format.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::google_usage::GoogleUsage;
use crate::sources::{parse_timestamp, DocumentParser, LineError};
use crate::usage::{EventId, UsageEvent};

/// A reader of one chat document; `kind` is the message type of the
/// model's replies, `format` the id namespace of its requests.
#[derive(Debug, Clone, Copy)]
pub struct GeminiCliParser {
    kind: &'static str,
    format: &'static str,
}

impl Default for GeminiCliParser {
    fn default() -> GeminiCliParser {
        GeminiCliParser::gemini()
    }
}

impl GeminiCliParser {
    pub fn gemini() -> GeminiCliParser {
        GeminiCliParser { kind: "gemini", format: "gemini_cli" }
    }

    /// Qwen Code's legacy `session-*.json` (replies typed `qwen`).
    pub fn qwen_legacy() -> GeminiCliParser {
        GeminiCliParser { kind: "qwen", format: "qwen_code/legacy" }
    }
}

#[derive(Deserialize)]
struct Legacy<'a> {
    #[serde(rename = "sessionId")]
    session_id: Option<String>,
    #[serde(borrow)]
    messages: Option<Vec<&'a RawValue>>,
}

/// A JSON-lines record: the header, a message, a `$set` or a `$rewindTo`.
#[derive(Deserialize)]
struct Record<'a> {
    #[serde(rename = "sessionId")]
    session_id: Option<String>,
    id: Option<serde::de::IgnoredAny>,
    #[serde(rename = "$set", borrow)]
    set: Option<Set<'a>>,
}

#[derive(Deserialize)]
struct Set<'a> {
    #[serde(rename = "sessionId")]
    session_id: Option<String>,
    #[serde(borrow)]
    messages: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct Message {
    id: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    timestamp: Option<String>,
    model: Option<String>,
    tokens: Option<TokensSummary>,
}

/// `usageMetadata` as the CLI copies it; any count may be absent or null.
#[derive(Deserialize)]
struct TokensSummary {
    input: Option<u64>,
    output: Option<u64>,
    cached: Option<u64>,
    thoughts: Option<u64>,
    tool: Option<u64>,
    total: Option<u64>,
}

/// The messages of one document, each id once (its latest copy), in the
/// order ids first appeared.
#[derive(Default)]
struct Messages {
    index: HashMap<String, usize>,
    items: Vec<Result<Message, LineError>>,
}

impl Messages {
    fn put(&mut self, raw: &RawValue) {
        let parsed: Result<Message, LineError> = serde_json::from_str(raw.get()).map_err(|e| LineError::new(format!("message: {e}")));
        let Some(id) = parsed.as_ref().ok().map(|m| m.id.clone()).or_else(|| loose_id(raw.get())) else {
            self.items.push(Err(LineError::new("message without an id")));
            return;
        };
        match self.index.get(&id) {
            // A copy without tokens (a resume's `$set`) keeps the billed copy.
            Some(&at) if billed(&self.items[at]) && !billed(&parsed) && parsed.is_ok() => {}
            Some(&at) => self.items[at] = parsed,
            None => {
                self.index.insert(id, self.items.len());
                self.items.push(parsed);
            }
        }
    }
}

fn billed(message: &Result<Message, LineError>) -> bool {
    message.as_ref().is_ok_and(|m| m.tokens.is_some())
}

/// The id of a message that did not parse as one, so a bad copy still
/// replaces (and is reported in place of) its earlier copies.
fn loose_id(json: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    value.get("id")?.as_str().map(str::to_string)
}

impl DocumentParser for GeminiCliParser {
    fn parse_document(&mut self, bytes: &[u8]) -> Result<Vec<Result<UsageEvent, LineError>>, LineError> {
        let text = super::fields::utf8(bytes)?;
        if text.trim().is_empty() {
            return Ok(Vec::new());
        }
        let mut messages = Messages::default();
        let session = match serde_json::from_str::<Legacy>(text) {
            Ok(Legacy { session_id, messages: Some(list) }) => {
                list.into_iter().for_each(|m| messages.put(m));
                session_id
            }
            Ok(Legacy { session_id, messages: None }) => session_id, // a JSON-lines file of its header alone
            // Caught half-written (the legacy form is rewritten in place):
            // read again when it next changes.
            Err(e) if e.is_eof() => return Err(LineError::new(format!("incomplete JSON document: {e}"))),
            Err(e) => {
                let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
                if serde_json::from_str::<serde::de::IgnoredAny>(first).is_err() {
                    return Err(LineError::new(format!("neither a JSON document nor JSON lines: {e}")));
                }
                json_lines(text, &mut messages)
            }
        };
        Ok(messages.items.into_iter().filter_map(|m| event(m, session.as_deref(), *self).transpose()).collect())
    }
}

/// Reads the JSON-lines form into `messages`; returns the session id. Bad
/// lines become errors in place; an unterminated last line that does not
/// parse is still being written and is left for the next read.
fn json_lines(text: &str, messages: &mut Messages) -> Option<String> {
    let mut session = None;
    let mut lines = text.split('\n').enumerate().peekable();
    while let Some((index, line)) = lines.next() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        let unterminated = lines.peek().is_none();
        let record = match serde_json::from_str::<Record>(line) {
            Ok(record) => record,
            Err(_) if unterminated => break,
            Err(e) => {
                messages.items.push(Err(LineError::new(format!("line {}: {e}", index + 1))));
                continue;
            }
        };
        if let Some(set) = record.set {
            session = set.session_id.or(session);
            set.messages.into_iter().flatten().for_each(|m| messages.put(m));
        } else if record.id.is_some() {
            match serde_json::from_str::<&RawValue>(line) {
                Ok(raw) => messages.put(raw),
                Err(e) => messages.items.push(Err(LineError::new(format!("line {}: {e}", index + 1)))),
            }
        } else if session.is_none() {
            session = record.session_id; // the header
        }
        // `$rewindTo`: the messages it hides were billed all the same.
    }
    session
}

/// A `gemini` (Qwen: `qwen`) message with tokens is one request.
fn event(message: Result<Message, LineError>, session: Option<&str>, reader: GeminiCliParser) -> Result<Option<UsageEvent>, LineError> {
    let m = message?;
    if m.kind.as_deref() != Some(reader.kind) {
        return Ok(None);
    }
    let Some(t) = m.tokens else { return Ok(None) };
    let model = m.model.filter(|s| !s.trim().is_empty()).ok_or_else(|| LineError::new(format!("message {}: no model", m.id)))?;
    let timestamp = m.timestamp.ok_or_else(|| LineError::new(format!("message {}: no timestamp", m.id)))?;
    let usage = GoogleUsage {
        prompt: t.input.unwrap_or(0),
        candidates: t.output.unwrap_or(0),
        cached: t.cached.unwrap_or(0),
        thoughts: t.thoughts.unwrap_or(0),
        tool_prompt: t.tool.unwrap_or(0),
        total: t.total,
    };
    let tokens = usage.tokens();
    if tokens.total() == 0 {
        return Ok(None);
    }
    let mut event = UsageEvent::new(EventId::from_parts(reader.format, &[&m.id]), parse_timestamp(&timestamp)?, model, tokens);
    event.reasoning_tokens = usage.reasoning();
    event.session = session.map(str::to_string);
    Ok(Some(event))
}

#[cfg(test)]
#[path = "gemini_cli_tests.rs"]
mod tests;
