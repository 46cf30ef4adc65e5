//! GitHub Copilot CLI's own session log, `~/.copilot/session-state/<session>/events.jsonl`:
//! written by every Copilot CLI (and the Copilot agent hosted in VS Code)
//! with no opt-in. One JSON event per line: `{"type", "data", "id",
//! "timestamp", "parentId"}` (Copilot CLI 1.0.10 to 1.0.60 in
//! `shared/real/agents/copilot/`; the CLI is closed source, so the facts
//! below come from those files, see `shared/real/agents/SOURCES.md`).
//!
//! - A *run* of the process starts at `session.start` or `session.resume`
//!   and ends at `session.shutdown`. The shutdown's `modelMetrics` holds, per
//!   model, that run's requests (`requests.count`), premium requests
//!   (`requests.cost`, fractional: 0.33) and tokens (`usage.inputTokens`
//!   including cache reads and writes, `outputTokens`, `cacheReadTokens`,
//!   `cacheWriteTokens`, `reasoningTokens` inside output). Per run, not
//!   cumulative: after a resume the next shutdown reports only the new run.
//! - Each `assistant.message` is one response with its `outputTokens` (and,
//!   since about 1.0.50, its `model`). A run that crashed has no shutdown:
//!   what its messages carry (output tokens) is all that is known, and is
//!   what is booked (a warning says so when such a run is seen to end).
//!
//! The ids tie both together: the j-th response of model M in run R is the
//! request (session, R, M, j), whether it is read from the message or from
//! the shutdown. The shutdown's figures go onto request 1 (its input, cache
//! and premium requests, and the output its messages did not carry), and
//! requests it counts beyond the messages are booked with no tokens, so a
//! live run's messages grow into the shutdown's totals, never twice.
//! Messages that name no model, in a run whose model is not known yet
//! (1.0.10 writes none), wait for the run's end: the shutdown's figures
//! replace them; without a shutdown they are booked under the model known
//! by then, else `unknown`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::copilot_cli::api_model_name;
use crate::sources::{parse_timestamp, LineError};
use crate::usage::{EventId, Tokens, UsageEvent};

/// The model of messages whose run never named one.
const UNKNOWN_MODEL: &str = "unknown";

/// One `events.jsonl` file's reader.
#[derive(Debug, Default)]
pub struct SessionLog {
    session: String,
    run: String,
    /// The model requests go to now (`selectedModel`, `newModel`, a
    /// message's `model`, the last shutdown's `currentModel`).
    model: Option<String>,
    /// Per model, the output tokens of each response booked in this run.
    outputs: BTreeMap<String, Vec<u64>>,
    /// Messages of this run that wait for a model (see the module docs).
    waiting: Vec<UsageEvent>,
    shut_down: bool,
    /// `messageId`s of this run, so a line written twice is one response.
    messages: HashSet<String>,
    /// Events ready beyond the one a line returns.
    due: Vec<UsageEvent>,
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Data {
    session_id: Option<String>,
    message_id: Option<String>,
    selected_model: Option<String>,
    new_model: Option<String>,
    current_model: Option<String>,
    model: Option<String>,
    output_tokens: Option<u64>,
    model_metrics: Option<BTreeMap<String, ModelMetrics>>,
}

#[derive(Deserialize)]
struct ModelMetrics {
    requests: Requests,
    #[serde(default)]
    usage: Usage,
}

#[derive(Deserialize)]
struct Requests {
    count: u64,
    /// Premium requests: a JSON number, read as its decimal text.
    cost: Option<serde_json::Number>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Usage {
    input_tokens: u64,
    output_tokens: u64,
    cache_read_tokens: u64,
    cache_write_tokens: u64,
    reasoning_tokens: u64,
}

/// Event types whose lines are read; all others carry no usage.
const READ: [&str; 6] = ["session.start", "session.resume", "session.model_change", "session.shutdown", "assistant.message", "abort"];

impl SessionLog {
    /// Whether a line's type is one of this log's (not the OTel export's).
    pub fn owns(kind: &str) -> bool {
        kind.contains('.') || kind == "abort"
    }

    /// Reads one event line already known to be this log's.
    pub fn parse(&mut self, line: &[u8]) -> Result<Option<UsageEvent>, LineError> {
        let event: Event = serde_json::from_slice(line)?;
        if !READ.contains(&event.kind.as_ref()) {
            return Ok(None);
        }
        let data: Data = match event.data {
            Some(raw) => serde_json::from_str(raw.get()).map_err(|e| LineError::new(format!("{}: data: {e}", event.kind)))?,
            None => Data::default(),
        };
        let mut events = match event.kind.as_ref() {
            "session.start" | "session.resume" => {
                self.end_run();
                self.run = event.id.map(Cow::into_owned).unwrap_or_default();
                if let Some(session) = data.session_id {
                    self.session = session;
                }
                self.set_model(data.selected_model);
                std::mem::take(&mut self.due)
            }
            "session.model_change" => {
                self.set_model(data.new_model);
                Vec::new()
            }
            "assistant.message" => self.message(data, event.timestamp)?,
            "session.shutdown" => self.shutdown(data, event.timestamp)?,
            _ => Vec::new(),
        };
        if events.is_empty() {
            return Ok(None);
        }
        let first = events.remove(0);
        self.due.extend(events);
        Ok(Some(first))
    }

    /// Events ready now; at the end of input (`end`), also the messages of
    /// a run that never shut down.
    pub fn drain(&mut self, end: bool) -> Vec<UsageEvent> {
        if end {
            self.end_run();
        }
        std::mem::take(&mut self.due)
    }

    pub fn holding(&self) -> bool {
        !self.waiting.is_empty() || !self.due.is_empty()
    }

    fn set_model(&mut self, model: Option<String>) {
        if let Some(model) = model.filter(|m| !m.trim().is_empty()) {
            self.model = Some(api_model_name(model.trim()));
        }
    }

    /// The run ends without a shutdown (the next one starts, or the input
    /// ends): its waiting messages are booked under the model known now.
    fn end_run(&mut self) {
        let waiting = std::mem::take(&mut self.waiting);
        let booked: usize = self.outputs.values().map(Vec::len).sum::<usize>() + waiting.len();
        if !self.shut_down && booked > 0 {
            tracing::warn!(
                session = %self.session,
                "Copilot CLI run without session.shutdown: its {booked} responses are booked with the output tokens their \
                 messages carry; their input, cache and premium requests were never written"
            );
        }
        let model = self.model.clone().unwrap_or_else(|| UNKNOWN_MODEL.to_string());
        for mut event in waiting {
            event.id = self.request_id(&model, self.outputs.get(&model).map_or(0, Vec::len) + 1);
            self.outputs.entry(model.clone()).or_default().push(event.tokens.output);
            event.model = model.clone();
            self.due.push(event);
        }
        self.outputs.clear();
        self.messages.clear();
        self.shut_down = false;
    }

    fn request_id(&self, model: &str, index: usize) -> EventId {
        EventId::from_parts("copilot_cli/session", &[&self.session, &self.run, model, &index.to_string()])
    }

    fn event(&self, model: &str, index: usize, timestamp: chrono::DateTime<chrono::Utc>, tokens: Tokens) -> UsageEvent {
        let mut event = UsageEvent::new(self.request_id(model, index), timestamp, model.to_string(), tokens);
        event.session = (!self.session.is_empty()).then(|| self.session.clone());
        event
    }

    fn message(&mut self, data: Data, timestamp: Option<Cow<'_, str>>) -> Result<Vec<UsageEvent>, LineError> {
        let at = parse_timestamp(&timestamp.ok_or_else(|| LineError::new("assistant.message without timestamp"))?)?;
        let tokens = Tokens { output: data.output_tokens.unwrap_or(0), ..Tokens::default() };
        if let Some(id) = data.message_id.filter(|id| !id.is_empty()) {
            if !self.messages.insert(id) {
                return Ok(Vec::new()); // the same response written again
            }
        }
        self.set_model(data.model);
        let Some(model) = self.model.clone() else {
            self.waiting.push(self.event(UNKNOWN_MODEL, 0, at, tokens));
            return Ok(Vec::new());
        };
        let outputs = self.outputs.entry(model.clone()).or_default();
        outputs.push(tokens.output);
        let index = outputs.len();
        Ok(vec![self.event(&model, index, at, tokens)])
    }

    /// The run's figures per model: onto request 1 the input, cache,
    /// premium requests and the output its messages did not carry; a
    /// request per count beyond the messages.
    fn shutdown(&mut self, data: Data, timestamp: Option<Cow<'_, str>>) -> Result<Vec<UsageEvent>, LineError> {
        let at = parse_timestamp(&timestamp.ok_or_else(|| LineError::new("session.shutdown without timestamp"))?)?;
        let mut events = Vec::new();
        // The shutdown's figures cover the messages that waited for a model.
        self.waiting.clear();
        for (name, metrics) in data.model_metrics.unwrap_or_default() {
            let model = api_model_name(&name);
            let u = &metrics.usage;
            let outputs = self.outputs.get(&model).cloned().unwrap_or_default();
            let carried_by_others: u64 = outputs.iter().skip(1).fold(0, |a, b| a.saturating_add(*b));
            let first = Tokens {
                input: u.input_tokens.saturating_sub(u.cache_read_tokens).saturating_sub(u.cache_write_tokens),
                output: u.output_tokens.saturating_sub(carried_by_others),
                cache_write_5m: u.cache_write_tokens,
                cache_write_1h: 0,
                cache_read: u.cache_read_tokens,
            };
            if metrics.requests.count == 0 && first.total() == 0 {
                continue;
            }
            let mut event = self.event(&model, 1, at, first);
            // Reasoning is shown, not priced: the run's whole figure, on request 1.
            event.reasoning_tokens = u.reasoning_tokens.min(u.output_tokens);
            event.premium_requests = premium(metrics.requests.cost.as_ref())?;
            events.push(event);
            let already = outputs.len().max(1);
            let count = usize::try_from(metrics.requests.count).unwrap_or(usize::MAX).min(already + MAX_REQUESTS_PER_RUN);
            for index in already + 1..=count {
                events.push(self.event(&model, index, at, Tokens::default()));
            }
            self.outputs.entry(model).or_default().resize(count.max(already), 0);
        }
        self.set_model(data.current_model);
        self.shut_down = true;
        Ok(events)
    }
}

/// `requests.cost` as a decimal (0.33 stays 0.33); never negative.
fn premium(cost: Option<&serde_json::Number>) -> Result<Decimal, LineError> {
    let Some(cost) = cost else { return Ok(Decimal::ZERO) };
    let text = cost.to_string();
    let value = Decimal::from_str_exact(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|_| LineError::new(format!("session.shutdown: premium requests `{text}` is not a decimal")))?;
    if value.is_sign_negative() {
        return Err(LineError::new(format!("session.shutdown: negative premium requests `{text}`")));
    }
    Ok(value)
}

/// A bound on the requests one shutdown line may add, so a damaged count
/// cannot make one line yield billions of events.
const MAX_REQUESTS_PER_RUN: usize = 100_000;

#[cfg(test)]
#[path = "copilot_session_tests.rs"]
mod tests;
