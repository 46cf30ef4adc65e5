//! A source as `config.yaml` writes it (`sources:`): the sources' own
//! settings type, read by `crate::config` and turned into a `SourceSpec`.

use serde::Deserialize;

use super::formats::anthropic::StreamOptions;
use super::formats::attribution::{AppFrom, AppRule, Attribution};
use super::formats::jsonl::FieldMap;
use super::formats::litellm::LitellmOptions;
use super::Format;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub name: String,
    pub format: Format,
    /// Globs of the files; a coding agent's format has default ones
    /// (`Format::default_paths`) used when this is left out.
    #[serde(default)]
    pub paths: Vec<String>,
    pub account: String,
    /// The app of this source's requests; with `app_from`, the fallback.
    #[serde(default)]
    pub app: Option<String>,
    /// Where each request's app comes from (see `sources::attribution`).
    #[serde(default)]
    pub app_from: AppFrom,
    /// `app_from: user_agent`: ordered `{ match: REGEX, app: NAME }` rules.
    #[serde(default)]
    pub app_rules: Vec<AppRule>,
    /// `app_from: path`: a regex with a named capture `app`.
    #[serde(default)]
    pub app_path: Option<String>,
    /// `anthropic`: how streamed responses are tied together.
    #[serde(default)]
    pub streams: Option<StreamOptions>,
    /// `litellm`: metadata keys and cost.
    #[serde(default)]
    pub litellm: Option<LitellmOptions>,
    /// `jsonl`: JSON pointers to each field.
    #[serde(default)]
    pub field_map: Option<FieldMap>,
    /// The person this source's requests belong to (`report --by user`,
    /// `creditwatch_user_spend_usd_total`), unless a record names one.
    #[serde(default)]
    pub user: Option<String>,
    /// `otlp`: the record or resource attribute that names the account.
    #[serde(default)]
    pub account_from: Option<crate::sources::formats::otlp::AccountFrom>,
}

impl SourceConfig {
    /// Format-specific keys belong to their format; attribution rules and
    /// pointers must compile. Errors name the key below the source.
    pub fn validate_format_options(&self) -> Result<(), (String, String)> {
        let s = self;
        let only = |present: bool, key: &str, format: Format| match present && s.format != format {
            true => Err((key.to_string(), format!("`{key}` is only for format `{}`, not `{}`", format.as_str(), s.format.as_str()))),
            false => Ok(()),
        };
        only(s.streams.is_some(), "streams", Format::Anthropic)?;
        only(s.litellm.is_some(), "litellm", Format::Litellm)?;
        only(s.field_map.is_some(), "field_map", Format::Jsonl)?;
        only(s.account_from.is_some(), "account_from", Format::Otlp)?;
        if s.format == Format::Otlp && !s.paths.is_empty() {
            return Err((
                "paths".into(),
                "an `otlp` source receives its events over OTLP (POST /v1/logs, otlp.grpc_listen): no paths".into(),
            ));
        }
        if s.format == Format::Jsonl && s.field_map.is_none() {
            return Err(("field_map".into(), "format `jsonl` needs a field_map (JSON pointers, at least `model`)".into()));
        }
        if let Some(map) = &s.field_map {
            map.validate().map_err(|(key, m)| (format!("field_map.{key}"), m))?;
        }
        if let Some(streams) = &s.streams {
            crate::sources::formats::fields::parse_pointer(&streams.id_field).map_err(|m| ("streams.id_field".to_string(), m))?;
        }
        Attribution::new(s.app_from, &s.app_rules, s.app_path.as_deref()).map_err(|e| (e.field, e.message))?;
        let has_user_agent = match s.format {
            Format::Anthropic | Format::Openai => true,
            Format::Jsonl => s.field_map.as_ref().is_some_and(|m| m.user_agent.is_some()),
            Format::ClaudeCode
            | Format::Litellm
            | Format::ClaudeStatusline
            | Format::Codex
            | Format::GeminiCli
            | Format::QwenCode
            | Format::Opencode
            | Format::CopilotCli
            | Format::Otlp => false,
        };
        if s.app_from == AppFrom::UserAgent && !has_user_agent {
            return Err(("app_from".into(), format!("format `{}` has no user agent here (jsonl: map `user_agent`)", s.format.as_str())));
        }
        Ok(())
    }
}
