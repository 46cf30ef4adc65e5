//! LiteLLM proxy logs: one `StandardLoggingPayload` per line (its JSON logs
//! or a custom callback's file).
//!
//! `response_cost` is what LiteLLM charged for the call and is taken as the
//! cost (read from the number's text), unless the source asks to recompute it
//! from the tokens with our price table. `status: "failure"` lines are calls
//! that were not billed. The app (and optionally the account) comes from the
//! virtual key's metadata: its alias, its team's alias or its user id.

use std::borrow::Cow;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::attribution::Attribution;
use super::fields;
use crate::sources::{LineError, LineParser};
use crate::usage::{EventId, Tokens, UsageEvent};

/// `litellm:` of a `litellm` source.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LitellmOptions {
    /// The metadata key that names the app (with `app_from: field`).
    pub app_key: MetadataKey,
    /// The metadata key that names the account; the source's `account` when unset.
    pub account_key: Option<MetadataKey>,
    /// Price the tokens with the price table instead of taking `response_cost`.
    pub recompute_cost: bool,
}

/// Which `metadata` field of a LiteLLM virtual key names a thing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetadataKey {
    /// `user_api_key_alias`
    KeyAlias,
    /// `user_api_key_team_alias`
    #[default]
    TeamAlias,
    /// `user_api_key_user_id`
    UserId,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(rename = "response_cost", borrow)]
    response_cost: Option<&'a RawValue>,
    #[serde(rename = "prompt_tokens")]
    prompt_tokens: Option<u64>,
    #[serde(rename = "completion_tokens")]
    completion_tokens: Option<u64>,
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow)]
    start_time: Option<&'a RawValue>,
    #[serde(borrow)]
    metadata: Option<Metadata<'a>>,
}

#[derive(Deserialize)]
struct Metadata<'a> {
    #[serde(borrow)]
    user_api_key_alias: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_api_key_team_alias: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_api_key_user_id: Option<Cow<'a, str>>,
}

impl Metadata<'_> {
    fn get(&self, key: MetadataKey) -> Option<&str> {
        match key {
            MetadataKey::KeyAlias => self.user_api_key_alias.as_deref(),
            MetadataKey::TeamAlias => self.user_api_key_team_alias.as_deref(),
            MetadataKey::UserId => self.user_api_key_user_id.as_deref(),
        }
    }
}

pub struct LitellmParser {
    options: LitellmOptions,
    attribution: Arc<Attribution>,
}

impl LitellmParser {
    pub fn new(options: LitellmOptions, attribution: Arc<Attribution>) -> LitellmParser {
        LitellmParser { options, attribution }
    }
}

impl LineParser for LitellmParser {
    fn parse(&mut self, line: &[u8]) -> Result<Option<UsageEvent>, LineError> {
        let p: Payload = serde_json::from_slice(line)?;
        if p.status.as_deref() == Some("failure") {
            return Ok(None);
        }
        let model = p.model.as_deref().filter(|m| !m.is_empty()).ok_or_else(|| LineError::new("payload without model"))?;
        let timestamp = fields::timestamp(p.start_time, "startTime")?.ok_or_else(|| LineError::new("payload without startTime"))?;
        let id = match p.id.as_deref() {
            Some(id) if !id.is_empty() => EventId::from_parts("litellm", &[id]),
            _ => EventId::from_parts("litellm/line", &[&String::from_utf8_lossy(line)]),
        };
        let tokens = Tokens { input: p.prompt_tokens.unwrap_or(0), output: p.completion_tokens.unwrap_or(0), ..Tokens::default() };
        let mut event = UsageEvent::new(id, timestamp, model.to_string(), tokens);
        if !self.options.recompute_cost {
            let cost = fields::decimal(p.response_cost, "response_cost")?;
            event.stated_cost = Some(cost.ok_or_else(|| LineError::new("payload without response_cost"))?);
        }
        let metadata = p.metadata.as_ref();
        event.app = self.attribution.app_of_line(metadata.and_then(|m| m.get(self.options.app_key)), None);
        event.account = self.options.account_key.and_then(|key| metadata?.get(key)).filter(|a| !a.is_empty()).map(str::to_string);
        Ok(Some(event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::formats::attribution::AppFrom;

    const LINE: &str = r#"{"id": "chatcmpl-8c0e", "trace_id": "caf1", "call_type": "acompletion", "response_cost": 0.1662968634, "status": "success", "total_tokens": 5163, "prompt_tokens": 5004, "completion_tokens": 159, "startTime": 1790000000.25, "endTime": 1790000002.5, "model": "acme-gpt-large", "messages": [{"role": "user", "content": "x"}], "metadata": {"user_api_key_hash": "e792", "user_api_key_alias": "support-key", "user_api_key_team_alias": "support", "user_api_key_user_id": "user-7"}, "cache_hit": false}"#;

    fn parse(options: LitellmOptions, line: &str) -> Result<Option<UsageEvent>, LineError> {
        LitellmParser::new(options, Arc::new(Attribution::default())).parse(line.as_bytes())
    }

    #[test]
    fn takes_response_cost_tokens_time_and_team() {
        let e = parse(LitellmOptions::default(), LINE).unwrap().unwrap();
        assert_eq!(e.stated_cost.map(crate::usage::money::format).as_deref(), Some("0.1662968634"));
        assert_eq!(e.tokens, Tokens { input: 5004, output: 159, ..Tokens::default() });
        assert_eq!(e.timestamp.to_rfc3339(), "2026-09-21T14:13:20.250+00:00");
        assert_eq!((e.model.as_str(), e.app.as_deref(), e.account.as_deref()), ("acme-gpt-large", Some("support"), None));
        assert_eq!(e.id, EventId::from_parts("litellm", &["chatcmpl-8c0e"]));
    }

    #[test]
    fn metadata_keys_and_recompute_are_configurable() {
        let cases = [
            (MetadataKey::KeyAlias, Some(MetadataKey::TeamAlias), "support-key", Some("support")),
            (MetadataKey::UserId, None, "user-7", None),
        ];
        for (app_key, account_key, app, account) in cases {
            let e = parse(LitellmOptions { app_key, account_key, recompute_cost: true }, LINE).unwrap().unwrap();
            assert_eq!((e.app.as_deref(), e.account.as_deref(), e.stated_cost), (Some(app), account, None));
        }
        let fixed = LitellmParser::new(LitellmOptions::default(), Arc::new(Attribution::new(AppFrom::Static, &[], None).unwrap()));
        assert_eq!(fixed.attribution.app_of_line(Some("support"), None), None);
    }

    #[test]
    fn failures_are_not_requests_and_bad_lines_are_errors() {
        let failure = LINE.replace(r#""status": "success""#, r#""status": "failure""#).replace("0.1662968634", "0.0");
        assert_eq!(parse(LitellmOptions::default(), &failure), Ok(None));
        let bad = [
            "{not json".to_string(),
            LINE.replace("0.1662968634", r#""lots""#),
            LINE.replace(r#""response_cost": 0.1662968634, "#, ""),
            LINE.replace(r#""startTime": 1790000000.25, "#, ""),
            LINE.replace(r#""model": "acme-gpt-large", "#, ""),
            LINE.replace("5004", "-5004"),
        ];
        for line in &bad {
            assert!(parse(LitellmOptions::default(), line).is_err(), "{line}");
        }
    }
}
