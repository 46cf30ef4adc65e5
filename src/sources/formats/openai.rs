//! OpenAI-compatible API logs (OpenAI, OpenRouter, most gateways): one
//! response per line, bare or under `response` with `timestamp`, `app`,
//! `user_agent` beside it. Chat Completions usage (`prompt_tokens`,
//! `completion_tokens`) and Responses API usage (`input_tokens`,
//! `output_tokens`) are both read; a Responses API event line
//! (`{"type":"response.completed","response":{...}}`) is a wrapped response.
//! The Batch API's output file (`{"custom_id", "response": {"status_code",
//! "body": {...}}}`) is read too: a 2xx body at batch rates, any other line
//! skipped with its status or error (a failed batch request costs nothing).
//!
//! Token counts follow `openai_usage` (which cache counts `prompt_tokens`
//! contains, reasoning outside `completion_tokens`). A `usage.cost`
//! (OpenRouter reports what it charged) is the cost, read from the number's
//! text. `service_tier` (on the response or in the usage), `speed` and
//! `inference_geo` become the event's modifiers.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::Utc;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::attribution::Attribution;
use super::fields::{self, FieldSet};
use super::openai_usage::Usage;
use crate::sources::{LineError, LineParser};
use crate::usage::{EventId, ServiceTier, UsageEvent};

#[derive(Deserialize)]
struct Response<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow)]
    created: Option<&'a RawValue>,
    #[serde(borrow)]
    created_at: Option<&'a RawValue>,
    /// Boxed: the usage object is large and the line's structs are moved
    /// several times while deserializing.
    #[serde(borrow)]
    usage: Option<Box<Usage<'a>>>,
    #[serde(borrow)]
    service_tier: Option<Cow<'a, str>>,
    /// Batch output: the HTTP status and body of one request.
    status_code: Option<u64>,
    #[serde(borrow)]
    body: Option<Box<Response<'a>>>,
    /// Batch output: an error body (`{"error": {...}}`).
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

/// The usual shapes in one pass: a wrapper's fields beside `response`, or a
/// bare response (its fields at the top). Anything else (a response logged
/// as a JSON string, a malformed line) takes the general path.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    timestamp: Option<&'a RawValue>,
    #[serde(borrow)]
    app: Option<&'a RawValue>,
    #[serde(borrow)]
    user_agent: Option<&'a RawValue>,
    #[serde(borrow)]
    response: Option<Box<Response<'a>>>,
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow)]
    created: Option<&'a RawValue>,
    #[serde(borrow)]
    created_at: Option<&'a RawValue>,
    #[serde(borrow)]
    usage: Option<Box<Usage<'a>>>,
    #[serde(borrow)]
    service_tier: Option<Cow<'a, str>>,
    #[serde(borrow)]
    custom_id: Option<&'a RawValue>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

pub struct OpenAiParser {
    fields: FieldSet,
    attribution: Arc<Attribution>,
    /// Why the last line was not booked (see `LineParser::skip_reason`).
    skipped: Option<String>,
}

const TIMESTAMP: usize = 0;
const APP: usize = 1;
const USER_AGENT: usize = 2;
const RESPONSE: usize = 3;
const USAGE: usize = 4;
const CUSTOM_ID: usize = 5;
const ERROR: usize = 6;

/// A batch output line's `custom_id` and top-level `error`.
type BatchParts<'a> = (Option<&'a RawValue>, Option<&'a RawValue>);

impl OpenAiParser {
    pub fn new(attribution: Arc<Attribution>) -> OpenAiParser {
        let fields = FieldSet::new(&["/timestamp", "/app", "/user_agent", "/response", "/usage", "/custom_id", "/error"])
            .expect("fixed pointers are valid (unit-tested)");
        OpenAiParser { fields, attribution, skipped: None }
    }
}

impl LineParser for OpenAiParser {
    fn parse(&mut self, line: &[u8]) -> Result<Option<UsageEvent>, LineError> {
        self.skipped = None;
        if let Ok(l) = serde_json::from_slice::<Line>(line) {
            let wrapper = [l.timestamp, l.app, l.user_agent];
            if l.custom_id.is_some() {
                return self.batch(l.response.as_deref(), (l.custom_id, l.error), wrapper, line);
            }
            let response = match l.response {
                Some(response) => *response,
                None => Response {
                    id: l.id,
                    model: l.model,
                    created: l.created,
                    created_at: l.created_at,
                    usage: l.usage,
                    service_tier: l.service_tier,
                    status_code: None,
                    body: None,
                    error: None,
                },
            };
            return self.event(&response, wrapper, line);
        }
        self.parse_general(line)
    }

    fn skip_reason(&mut self) -> Option<String> {
        self.skipped.take()
    }
}

impl OpenAiParser {
    /// Any shape, through JSON pointers: slower, for what `Line` refuses.
    fn parse_general(&mut self, line: &[u8]) -> Result<Option<UsageEvent>, LineError> {
        let f = self.fields.extract(line)?;
        let wrapper = [f[TIMESTAMP], f[APP], f[USER_AGENT]];
        let text = match (f[RESPONSE], f[USAGE]) {
            (Some(raw), _) if raw.get() != "null" => Some(fields::object_text(raw, "response")?),
            (_, Some(_)) if f[CUSTOM_ID].is_none() => Some(String::from_utf8_lossy(line)),
            _ => None,
        };
        let response: Option<Response> = text.as_deref().map(serde_json::from_str).transpose()?;
        if f[CUSTOM_ID].is_some() {
            return self.batch(response.as_ref(), (f[CUSTOM_ID], f[ERROR]), wrapper, line);
        }
        match response {
            Some(response) => self.event(&response, wrapper, line),
            None => Ok(None),
        }
    }

    /// A Batch API output line: the body of a 2xx response at batch rates,
    /// else skipped with its status or error.
    fn batch(
        &mut self,
        response: Option<&Response>,
        (custom_id, error): BatchParts,
        wrapper: [Option<&RawValue>; 3],
        line: &[u8],
    ) -> Result<Option<UsageEvent>, LineError> {
        let custom_id = fields::string(custom_id, "custom_id")?.unwrap_or_default();
        let status = response.and_then(|r| r.status_code);
        match (response, status) {
            (Some(Response { body: Some(body), .. }), Some(200..=299)) => {
                let event = self.event(body, wrapper, line)?;
                Ok(event.map(|mut e| {
                    e.modifiers.tier = ServiceTier::Batch;
                    e
                }))
            }
            (_, Some(status)) => {
                let why =
                    error_code(response.and_then(|r| r.body.as_ref()).and_then(|b| b.error)).map(|e| format!(" ({e})")).unwrap_or_default();
                self.skipped = Some(format!("batch request `{custom_id}` failed with status {status}{why}: not billed"));
                Ok(None)
            }
            (_, None) => {
                let why = error_code(error).map(|e| format!(" ({e})")).unwrap_or_default();
                self.skipped = Some(format!("batch request `{custom_id}` has no response{why}: not billed"));
                Ok(None)
            }
        }
    }

    /// The event of a response, given the wrapper's timestamp, app and user agent.
    fn event(
        &self,
        response: &Response,
        [timestamp, app, user_agent]: [Option<&RawValue>; 3],
        line: &[u8],
    ) -> Result<Option<UsageEvent>, LineError> {
        let Some(usage) = &response.usage else {
            return Ok(None);
        };
        let model = response.model.as_deref().ok_or_else(|| LineError::new("response without model"))?;
        let timestamp = match fields::timestamp(timestamp, "timestamp")? {
            Some(t) => t,
            None => fields::timestamp(response.created.or(response.created_at), "response.created")?.unwrap_or_else(Utc::now),
        };
        let id = match response.id.as_deref() {
            Some(id) if !id.is_empty() => EventId::from_parts("openai", &[id]),
            _ => EventId::from_parts("openai/line", &[&String::from_utf8_lossy(line)]),
        };
        let mut event = UsageEvent::new(id, timestamp, model.to_string(), usage.tokens());
        event.web_searches = usage.web_searches();
        event.modifiers = usage.modifiers(response.service_tier.as_deref());
        event.stated_cost = fields::decimal(usage.cost, "usage.cost")?;
        let app = fields::string(app, "app")?;
        let user_agent = fields::string(user_agent, "user_agent")?;
        event.app = self.attribution.app_of_line(app.as_deref(), user_agent.as_deref());
        Ok(Some(event))
    }
}

/// `code` (else `type`) of an error object, bare or under `error`.
fn error_code(error: Option<&RawValue>) -> Option<String> {
    #[derive(Deserialize)]
    struct Error {
        code: Option<serde_json::Value>,
        #[serde(rename = "type")]
        kind: Option<String>,
        error: Option<Box<Error>>,
    }
    let e: Error = serde_json::from_str(error?.get()).ok()?;
    let e = match e.error {
        Some(inner) => *inner,
        None => e,
    };
    let code = e.code.and_then(|c| match c {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    code.or(e.kind)
}

#[cfg(test)]
#[path = "openai_tests.rs"]
mod tests;
