//! OpenAI-compatible API logs (OpenAI, OpenRouter, most gateways): one
//! response per line, bare or under `response` with `timestamp`, `app`,
//! `user_agent` beside it. Chat Completions usage (`prompt_tokens`,
//! `completion_tokens`) and Responses API usage (`input_tokens`,
//! `output_tokens`) are both read; a Responses API event line
//! (`{"type":"response.completed","response":{...}}`) is a wrapped response.
//!
//! `prompt_tokens` includes `prompt_tokens_details.cached_tokens`, and those
//! are billed at the cached price: they are booked as cache reads and the
//! rest as input, so no token is priced twice. A `usage.cost` (OpenRouter
//! reports what it charged) is the cost, read from the number's text.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::Utc;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::attribution::Attribution;
use super::fields::{self, FieldSet};
use crate::sources::{LineError, LineParser};
use crate::usage::{EventId, Tokens, UsageEvent};

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
    #[serde(borrow)]
    usage: Option<Usage<'a>>,
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
    response: Option<Response<'a>>,
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow)]
    created: Option<&'a RawValue>,
    #[serde(borrow)]
    created_at: Option<&'a RawValue>,
    #[serde(borrow)]
    usage: Option<Usage<'a>>,
}

#[derive(Deserialize)]
struct Usage<'a> {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    prompt_tokens_details: Option<Details>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    input_tokens_details: Option<Details>,
    #[serde(borrow)]
    cost: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Details {
    cached_tokens: Option<u64>,
}

pub struct OpenAiParser {
    fields: FieldSet,
    attribution: Arc<Attribution>,
}

const TIMESTAMP: usize = 0;
const APP: usize = 1;
const USER_AGENT: usize = 2;
const RESPONSE: usize = 3;
const USAGE: usize = 4;

impl OpenAiParser {
    pub fn new(attribution: Arc<Attribution>) -> OpenAiParser {
        let fields =
            FieldSet::new(&["/timestamp", "/app", "/user_agent", "/response", "/usage"]).expect("fixed pointers are valid (unit-tested)");
        OpenAiParser { fields, attribution }
    }
}

impl LineParser for OpenAiParser {
    fn parse(&mut self, line: &[u8]) -> Result<Option<UsageEvent>, LineError> {
        if let Ok(l) = serde_json::from_slice::<Line>(line) {
            let response = match l.response {
                Some(response) => response,
                None => Response { id: l.id, model: l.model, created: l.created, created_at: l.created_at, usage: l.usage },
            };
            return self.event(&response, [l.timestamp, l.app, l.user_agent], line);
        }
        self.parse_general(line)
    }
}

impl OpenAiParser {
    /// Any shape, through JSON pointers: slower, for what `Line` refuses.
    fn parse_general(&self, line: &[u8]) -> Result<Option<UsageEvent>, LineError> {
        let f = self.fields.extract(line)?;
        let text = match (f[RESPONSE], f[USAGE]) {
            (Some(raw), _) => fields::object_text(raw, "response")?,
            (None, Some(_)) => String::from_utf8_lossy(line),
            (None, None) => return Ok(None),
        };
        let response: Response = serde_json::from_str(&text)?;
        self.event(&response, [f[TIMESTAMP], f[APP], f[USER_AGENT]], line)
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
        let mut event = UsageEvent::new(id, timestamp, model.to_string(), tokens(usage)?);
        event.stated_cost = fields::decimal(usage.cost, "usage.cost")?;
        let app = fields::string(app, "app")?;
        let user_agent = fields::string(user_agent, "user_agent")?;
        event.app = self.attribution.app_of_line(app.as_deref(), user_agent.as_deref());
        Ok(Some(event))
    }
}

fn tokens(usage: &Usage) -> Result<Tokens, LineError> {
    let (prompt, output, details) = match (usage.prompt_tokens, usage.completion_tokens) {
        (None, None) => (usage.input_tokens, usage.output_tokens, &usage.input_tokens_details),
        (prompt, completion) => (prompt, completion, &usage.prompt_tokens_details),
    };
    let prompt = prompt.unwrap_or(0);
    let cached = details.as_ref().and_then(|d| d.cached_tokens).unwrap_or(0);
    if cached > prompt {
        return Err(LineError::new(format!("usage: {cached} cached tokens of only {prompt} prompt tokens")));
    }
    Ok(Tokens { input: prompt - cached, output: output.unwrap_or(0), cache_read: cached, ..Tokens::default() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::formats::attribution::{AppFrom, AppRule};

    fn parser(from: AppFrom) -> OpenAiParser {
        let rules = [AppRule { pattern: "^Cursor/".into(), app: "cursor".into() }];
        OpenAiParser::new(Arc::new(Attribution::new(from, &rules, None).unwrap()))
    }

    const CHAT: &str = r#"{"timestamp": "2026-10-01T00:00:13Z", "user_agent": "Cursor/1.7.2", "app": "ide", "response": {"id": "chatcmpl-1", "object": "chat.completion", "created": 1790000000, "model": "acme-gpt-large", "choices": [{"index": 0, "message": {"role": "assistant", "content": "{\"usage\": 1}"}}], "usage": {"prompt_tokens": 46022, "completion_tokens": 2512, "total_tokens": 48534, "prompt_tokens_details": {"cached_tokens": 16297}, "completion_tokens_details": {"reasoning_tokens": 1006}, "cost": 0.03178321}}}"#;

    #[test]
    fn chat_completions_with_cached_tokens_and_stated_cost() {
        let e = parser(AppFrom::UserAgent).parse(CHAT.as_bytes()).unwrap().unwrap();
        assert_eq!(e.tokens, Tokens { input: 29725, output: 2512, cache_read: 16297, ..Tokens::default() });
        assert_eq!(e.stated_cost.map(crate::usage::money::format).as_deref(), Some("0.03178321"));
        assert_eq!((e.model.as_str(), e.app.as_deref()), ("acme-gpt-large", Some("cursor")));
        assert_eq!(e.timestamp.to_rfc3339(), "2026-10-01T00:00:13+00:00");
        assert_eq!(e.id, EventId::from_parts("openai", &["chatcmpl-1"]));
        assert_eq!(parser(AppFrom::Field).parse(CHAT.as_bytes()).unwrap().unwrap().app.as_deref(), Some("ide"));
    }

    /// Table: line, (input, output, cache_read), stated cost, timestamp.
    #[test]
    fn usage_shapes() {
        type Case<'a> = (&'a str, (u64, u64, u64), Option<&'a str>, &'a str);
        let cases: &[Case] = &[
            (
                r#"{"id":"c","object":"chat.completion","created":1790000000,"model":"gpt-4o","usage":{"prompt_tokens":100,"completion_tokens":7}}"#,
                (100, 7, 0),
                None,
                "2026-09-21T14:13:20+00:00",
            ),
            (
                r#"{"id":"r","object":"response","created_at":1790000001,"model":"gpt-4.1","usage":{"input_tokens":50,"input_tokens_details":{"cached_tokens":20},"output_tokens":9,"output_tokens_details":{"reasoning_tokens":3}}}"#,
                (30, 9, 20),
                None,
                "2026-09-21T14:13:21+00:00",
            ),
            (
                r#"{"type":"response.completed","response":{"id":"r2","created_at":1790000002,"model":"o3","usage":{"input_tokens":5,"output_tokens":1}}}"#,
                (5, 1, 0),
                None,
                "2026-09-21T14:13:22+00:00",
            ),
            (
                r#"{"timestamp":1790000003000,"response":{"id":"or","model":"anthropic/claude-sonnet-4.5","usage":{"prompt_tokens":10,"completion_tokens":2,"cost":"1e-5"}}}"#,
                (10, 2, 0),
                Some("0.00001"),
                "2026-09-21T14:13:23+00:00",
            ),
            (
                r#"{"timestamp":"2026-10-01T00:00:00Z","response":"{\"id\":\"s\",\"model\":\"gpt-4o\",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}"}"#,
                (3, 1, 0),
                None,
                "2026-10-01T00:00:00+00:00",
            ),
        ];
        for (line, (input, output, read), cost, at) in cases {
            let e = parser(AppFrom::Field).parse(line.as_bytes()).unwrap().unwrap();
            assert_eq!((e.tokens.input, e.tokens.output, e.tokens.cache_read), (*input, *output, *read), "{line}");
            assert_eq!(e.stated_cost.map(crate::usage::money::format).as_deref(), *cost, "{line}");
            assert_eq!(e.timestamp.to_rfc3339(), *at, "{line}");
        }
    }

    #[test]
    fn the_one_pass_and_general_paths_agree_on_the_fixture() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/proxy/openai.jsonl");
        let text = std::fs::read_to_string(path).unwrap();
        let mut p = parser(AppFrom::UserAgent);
        for line in text.lines() {
            assert_eq!(p.parse(line.as_bytes()), p.parse_general(line.as_bytes()), "{line}");
        }
        assert_eq!(text.lines().count(), 150);
    }

    #[test]
    fn skips_lines_without_usage_and_refuses_bad_ones() {
        let mut p = parser(AppFrom::Field);
        for skipped in [r#"{"object":"chat.completion.chunk","usage":null,"model":"gpt-4o"}"#, r#"{"event":"connect"}"#, "[]"] {
            assert_eq!(p.parse(skipped.as_bytes()), Ok(None), "{skipped}");
        }
        for bad in [
            "not json",
            r#"{"usage":{"prompt_tokens":5}}"#,
            r#"{"model":"m","usage":{"prompt_tokens":5,"prompt_tokens_details":{"cached_tokens":6}}}"#,
            r#"{"model":"m","usage":{"prompt_tokens":-5}}"#,
            r#"{"model":"m","usage":{"prompt_tokens":5,"cost":"free"}}"#,
            r#"{"timestamp":"noon","model":"m","usage":{"prompt_tokens":5}}"#,
        ] {
            assert!(p.parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
