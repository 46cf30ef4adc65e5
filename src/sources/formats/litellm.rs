//! LiteLLM proxy logs: one `StandardLoggingPayload` per line (its JSON logs
//! or a custom callback's file), or one row of its spend log
//! (`LiteLLM_SpendLogs` exported as JSON lines: `request_id`, `spend`, a
//! naive `startTime`, `metadata` as a JSON string).
//!
//! Cost: `response_cost` (or `spend`) is what LiteLLM charged and is taken as
//! the cost (read from the number's text), unless the source asks to
//! recompute it from the tokens with our price table. A line with
//! `response_cost_failure_debug_info` is one LiteLLM could not price (it
//! logged 0): it is priced by the table, or counted unpriced, never free. A
//! `cache_hit` is answered from LiteLLM's own cache: it costs nothing.
//! `status: "failure"` lines are calls that were not billed: skipped, and
//! the reason logged.
//!
//! Tokens come from the usage object LiteLLM logged (`metadata.usage_object`,
//! else `response.usage`), read as `openai_usage` reads any proxy's usage,
//! so Claude's cache reads and writes are not priced as input; without one,
//! from `prompt_tokens` and `completion_tokens`.
//!
//! The app (and optionally the account) comes from a name the payload
//! carries (`litellm_options::MetadataKey`).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

pub use super::litellm_options::{LitellmOptions, MetadataKey};

use super::attribution::Attribution;
use super::fields;
use super::litellm_options::tag_value;
use super::openai_usage::Usage;
use crate::sources::{LineError, LineParser};
use crate::usage::{EventId, Tokens, UsageEvent};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(rename = "request_id", borrow)]
    request_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(rename = "response_cost", borrow)]
    response_cost: Option<&'a RawValue>,
    #[serde(borrow)]
    spend: Option<&'a RawValue>,
    #[serde(rename = "response_cost_failure_debug_info", borrow)]
    cost_failure: Option<&'a RawValue>,
    #[serde(rename = "prompt_tokens")]
    prompt_tokens: Option<u64>,
    #[serde(rename = "completion_tokens")]
    completion_tokens: Option<u64>,
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(rename = "model_group", borrow)]
    model_group: Option<Cow<'a, str>>,
    #[serde(borrow)]
    start_time: Option<&'a RawValue>,
    #[serde(borrow)]
    metadata: Option<MaybeText<'a, Metadata<'a>>>,
    #[serde(rename = "cache_hit", borrow)]
    cache_hit: Option<&'a RawValue>,
    #[serde(rename = "end_user", borrow)]
    end_user: Option<Cow<'a, str>>,
    #[serde(rename = "request_tags", borrow)]
    request_tags: Option<&'a RawValue>,
    #[serde(borrow)]
    response: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
struct Metadata<'a> {
    #[serde(borrow)]
    user_api_key_alias: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_api_key_team_alias: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_api_key_team_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_api_key_user_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_api_key_user_email: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_api_key_org_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_api_key_org_alias: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_api_key_project_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_api_key_project_alias: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_api_key_end_user_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    usage_object: Option<Box<Usage<'a>>>,
}

/// A value logged as itself or as a JSON string of itself (spend-log rows
/// store `metadata` and `request_tags` as text).
enum MaybeText<'a, T> {
    Value(T),
    Text(Cow<'a, str>),
}

impl<'de: 'a, 'a, T: Deserialize<'de>> Deserialize<'de> for MaybeText<'a, T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a, T>(PhantomData<(&'a (), T)>);
        impl<'de: 'a, 'a, T: Deserialize<'de>> Visitor<'de> for V<'a, T> {
            type Value = MaybeText<'a, T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object, or a JSON string of one")
            }
            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Self::Value, M::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(MaybeText::Value)
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(MaybeText::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(MaybeText::Text(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

pub struct LitellmParser {
    options: LitellmOptions,
    attribution: Arc<Attribution>,
    /// Why the last line was not booked (see `LineParser::skip_reason`).
    skipped: Option<String>,
}

impl LitellmParser {
    pub fn new(options: LitellmOptions, attribution: Arc<Attribution>) -> LitellmParser {
        LitellmParser { options, attribution, skipped: None }
    }
}

impl LineParser for LitellmParser {
    fn parse(&mut self, line: &[u8]) -> Result<Option<UsageEvent>, LineError> {
        self.skipped = None;
        let p: Payload = serde_json::from_slice(line)?;
        if p.status.as_deref() == Some("failure") {
            self.skipped = Some("LiteLLM call failed (status: failure): not billed".into());
            return Ok(None);
        }
        match &p.metadata {
            Some(MaybeText::Text(text)) => {
                let metadata: Metadata = serde_json::from_str(text).map_err(|e| LineError::new(format!("metadata: {e}")))?;
                self.event(&p, &metadata, line)
            }
            Some(MaybeText::Value(metadata)) => self.event(&p, metadata, line),
            None => self.event(&p, &Metadata::default(), line),
        }
    }

    fn skip_reason(&mut self) -> Option<String> {
        self.skipped.take()
    }
}

impl LitellmParser {
    fn event(&self, p: &Payload, metadata: &Metadata, line: &[u8]) -> Result<Option<UsageEvent>, LineError> {
        let model = p.model.as_deref().filter(|m| !m.is_empty()).ok_or_else(|| LineError::new("payload without model"))?;
        let timestamp = fields::timestamp_in(p.start_time, "startTime", self.options.timezone)?
            .ok_or_else(|| LineError::new("payload without startTime"))?;
        let id = match p.id.as_deref().or(p.request_id.as_deref()) {
            Some(id) if !id.is_empty() => EventId::from_parts("litellm", &[id]),
            _ => EventId::from_parts("litellm/line", &[&String::from_utf8_lossy(line)]),
        };
        let response_usage = match (&metadata.usage_object, p.response) {
            (None, Some(raw)) => response_usage(raw),
            _ => None,
        };
        let usage = metadata.usage_object.as_deref().or(response_usage.as_ref().and_then(|r| r.usage.as_deref())).filter(|u| has_counts(u));
        let tokens = match usage {
            Some(u) => u.tokens(),
            None => Tokens { input: p.prompt_tokens.unwrap_or(0), output: p.completion_tokens.unwrap_or(0), ..Tokens::default() },
        };
        let mut event = UsageEvent::new(id, timestamp, model.to_string(), tokens);
        if let Some(u) = usage {
            event.web_searches = u.web_searches();
            event.modifiers = u.modifiers(None);
        }
        let stated = fields::decimal(p.response_cost.or(p.spend), "response_cost")?;
        event.stated_cost = match () {
            _ if is_true(p.cache_hit) => Some(Decimal::ZERO),
            _ if self.options.recompute_cost => None,
            // LiteLLM could not price the model and logged 0: not free.
            _ if p.cost_failure.is_some_and(|d| d.get() != "null") => None,
            _ => Some(stated.ok_or_else(|| LineError::new("payload without response_cost"))?),
        };
        let tags = match &self.options.app_key {
            MetadataKey::RequestTag | MetadataKey::Tag(_) => request_tags(p.request_tags)?,
            _ if matches!(self.options.account_key, Some(MetadataKey::RequestTag | MetadataKey::Tag(_))) => request_tags(p.request_tags)?,
            _ => Vec::new(),
        };
        let name = |key: &MetadataKey| -> Option<String> { name_of(key, p, metadata, &tags).filter(|v| !v.is_empty()).map(str::to_string) };
        event.app = self.attribution.app_of_line(name(&self.options.app_key).as_deref(), None);
        event.account = self.options.account_key.as_ref().and_then(name);
        Ok(Some(event))
    }
}

/// The value a key names in one payload.
fn name_of<'m>(key: &MetadataKey, p: &'m Payload, m: &'m Metadata, tags: &'m [String]) -> Option<&'m str> {
    match key {
        MetadataKey::KeyAlias => m.user_api_key_alias.as_deref(),
        MetadataKey::TeamAlias => m.user_api_key_team_alias.as_deref(),
        MetadataKey::TeamId => m.user_api_key_team_id.as_deref(),
        MetadataKey::UserId => m.user_api_key_user_id.as_deref(),
        MetadataKey::UserEmail => m.user_api_key_user_email.as_deref(),
        MetadataKey::OrgId => m.user_api_key_org_id.as_deref(),
        MetadataKey::OrgAlias => m.user_api_key_org_alias.as_deref(),
        MetadataKey::ProjectId => m.user_api_key_project_id.as_deref(),
        MetadataKey::ProjectAlias => m.user_api_key_project_alias.as_deref(),
        MetadataKey::EndUser => p.end_user.as_deref().filter(|u| !u.is_empty()).or(m.user_api_key_end_user_id.as_deref()),
        MetadataKey::ModelGroup => p.model_group.as_deref(),
        MetadataKey::RequestTag => tags.first().map(String::as_str),
        MetadataKey::Tag(name) => tag_value(tags, name),
    }
}

/// A usage object that states counts (LiteLLM logs `{}` or zeros for some calls).
fn has_counts(u: &Usage) -> bool {
    [u.prompt_tokens, u.completion_tokens, u.input_tokens, u.output_tokens].iter().any(|c| c.get().is_some_and(|n| n > 0))
}

#[derive(Deserialize)]
struct ResponseUsage<'a> {
    #[serde(borrow)]
    usage: Option<Box<Usage<'a>>>,
}

/// `response.usage`, when the response is an object that has one (it may be
/// text, a list, or have no usage: then none).
fn response_usage(raw: &RawValue) -> Option<ResponseUsage<'_>> {
    serde_json::from_str(raw.get()).ok()
}

/// `cache_hit`: true, or `"True"` as spend logs write it.
fn is_true(raw: Option<&RawValue>) -> bool {
    raw.is_some_and(|r| matches!(r.get(), "true" | "\"True\"" | "\"true\""))
}

/// `request_tags`: a list of strings, or a JSON string of one.
fn request_tags(raw: Option<&RawValue>) -> Result<Vec<String>, LineError> {
    let Some(raw) = raw.filter(|r| r.get() != "null") else {
        return Ok(Vec::new());
    };
    let text = fields::object_text(raw, "request_tags")?;
    serde_json::from_str(&text).map_err(|e| LineError::new(format!("request_tags: {e}")))
}

#[cfg(test)]
#[path = "litellm_tests.rs"]
mod tests;
