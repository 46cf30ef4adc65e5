//! The configuration file: loaded with serde, validated before anything
//! starts, every error naming the file, line and field.
//!
//! Structural errors (unknown key, wrong type, bad money, bad timezone) come
//! from the deserializer with their place; cross-field checks (an account a
//! source names but nobody defines) find their line through `locate`.

pub(crate) mod locate;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};

use crate::money;
use crate::pricing::remote::PricingConfig;
use crate::pricing::PriceSpec;
use crate::sources::anthropic::StreamOptions;
use crate::sources::attribution::{AppFrom, AppRule, Attribution};
use crate::sources::discover::PathPattern;
use crate::sources::jsonl::FieldMap;
use crate::sources::litellm::LitellmOptions;
use crate::sources::Format;

/// A configuration error, displayed as `file:line: field: message`.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {field}{}{message}", line.map(|l| format!(":{l}")).unwrap_or_default(), if field.is_empty() { "" } else { ": " })]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_listen")]
    pub listen: String,
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    #[serde(default)]
    pub timezone: TimeZone,
    #[serde(default)]
    pub web_config_file: Option<PathBuf>,
    #[serde(default)]
    pub admin_token_file: Option<PathBuf>,
    #[serde(default)]
    pub accounts: Vec<AccountConfig>,
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// Per-million-token prices that override or add to the built-in table.
    #[serde(default)]
    pub prices: BTreeMap<String, PriceSpec>,
    /// A downloaded price list for models the table lacks; see `pricing::remote`.
    #[serde(default)]
    pub pricing: PricingConfig,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub follow: FollowConfig,
    /// Burn-rate windows and bucket width; see `crate::burn`.
    #[serde(default)]
    pub burn_rate: crate::burn::BurnConfig,
    /// Daemon-side alerting; see `crate::alerting`.
    #[serde(default)]
    pub alerting: Option<crate::alerting::AlertingConfig>,
    /// Where the file was read from (not a key).
    #[serde(skip)]
    pub path: PathBuf,
}

fn default_listen() -> String {
    "127.0.0.1:9947".into()
}

fn default_state_dir() -> PathBuf {
    PathBuf::from("./state")
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    pub name: String,
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub opening_balance_usd: Option<Decimal>,
    #[serde(default)]
    pub opening_balance_as_of: Option<DateTime<Utc>>,
    #[serde(default)]
    pub auto_reload: Option<AutoReloadConfig>,
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub monthly_allowance_usd: Option<Decimal>,
    #[serde(default)]
    pub direct_apps: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoReloadConfig {
    #[serde(deserialize_with = "money::deserialize")]
    pub threshold_usd: Decimal,
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub amount_usd: Option<Decimal>,
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub target_usd: Option<Decimal>,
    #[serde(deserialize_with = "money::deserialize")]
    pub monthly_cap_usd: Decimal,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub name: String,
    pub format: Format,
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
}

/// Bounds that keep memory and series finite whatever the logs say.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Distinct `app` label values; past this, `other`.
    pub max_apps: usize,
    /// Distinct `model` label values; past this, `other`.
    pub max_models: usize,
    /// Longest line read; the rest of a longer one is skipped as an error.
    pub max_line_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_apps: 50, max_models: 50, max_line_bytes: 4 * 1024 * 1024 }
    }
}

/// How files are followed (see `crate::sources::tail`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FollowConfig {
    /// Globs are re-listed and files re-checked this often, inotify or not.
    #[serde(deserialize_with = "duration")]
    pub poll_interval: Duration,
    /// Event time after which a seen request id is forgotten.
    #[serde(deserialize_with = "duration")]
    pub dedup_retention: Duration,
}

impl Default for FollowConfig {
    fn default() -> FollowConfig {
        FollowConfig { poll_interval: Duration::from_secs(1), dedup_retention: Duration::from_secs(45 * 86400) }
    }
}

/// A duration written as `15s`, `10m`, `4h`, `45d`.
pub fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| serde::de::Error::custom(format!("`{text}` is not a duration like 15s, 10m, 4h: {e}")))
}

/// An IANA time zone name, checked when read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(pub chrono_tz::Tz);

impl Default for TimeZone {
    fn default() -> TimeZone {
        TimeZone(chrono_tz::UTC)
    }
}

impl std::str::FromStr for TimeZone {
    type Err = String;
    fn from_str(s: &str) -> Result<TimeZone, String> {
        s.parse::<chrono_tz::Tz>().map(TimeZone).map_err(|_| format!("unknown time zone `{s}` (want an IANA name like Europe/Berlin)"))
    }
}

impl<'de> Deserialize<'de> for TimeZone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TimeZone, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

impl Config {
    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.display().to_string(),
            line: None,
            field: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        Config::parse(&text, path)
    }

    /// Parses and validates config text; `path` names it in errors and
    /// anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let deserializer = serde_yaml_ng::Deserializer::from_str(text);
        let mut config: Config = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner();
            // The field's own line when it is in the text; serde_yaml_ng's
            // location is of the enclosing node for some errors.
            let line = locate::exact_line_of(text, &field).or_else(|| inner.location().map(|l| l.line()));
            let message = strip_location(&inner.to_string(), &field);
            ConfigError { file: file.clone(), line, field: if field == "." { String::new() } else { field }, message }
        })?;
        config.path = path.to_path_buf();
        config.validate().map_err(|(field, message)| ConfigError { file, line: locate::line_of(text, &field), field, message })?;
        config.resolve_paths();
        Ok(config)
    }

    fn validate(&self) -> Result<(), (String, String)> {
        let mut names = HashSet::new();
        for (i, account) in self.accounts.iter().enumerate() {
            if account.name.trim().is_empty() {
                return Err((format!("accounts[{i}].name"), "account name is empty".into()));
            }
            if !names.insert(account.name.as_str()) {
                return Err((format!("accounts[{i}].name"), format!("account `{}` is defined twice", account.name)));
            }
            if let Some(reload) = &account.auto_reload {
                validate_reload(reload).map_err(|m| (format!("accounts[{i}].auto_reload"), m))?;
            }
            if account.monthly_allowance_usd.is_some_and(|a| a < Decimal::ZERO) {
                return Err((format!("accounts[{i}].monthly_allowance_usd"), "must not be negative".into()));
            }
        }
        let mut source_names = HashSet::new();
        for (i, source) in self.sources.iter().enumerate() {
            if !source_names.insert(source.name.as_str()) {
                return Err((format!("sources[{i}].name"), format!("source `{}` is defined twice", source.name)));
            }
            if !names.contains(source.account.as_str()) {
                let known: Vec<_> = self.accounts.iter().map(|a| a.name.as_str()).collect();
                return Err((
                    format!("sources[{i}].account"),
                    format!("account `{}` is not defined under accounts: (defined: {})", source.account, known.join(", ")),
                ));
            }
            if source.paths.is_empty() {
                return Err((format!("sources[{i}].paths"), "no paths: give at least one glob".into()));
            }
            for (j, p) in source.paths.iter().enumerate() {
                PathPattern::new(p).map_err(|m| (format!("sources[{i}].paths[{j}]"), m))?;
            }
            validate_format_options(source).map_err(|(field, m)| (format!("sources[{i}].{field}"), m))?;
        }
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(("listen".into(), format!("`{}` is not an address like 127.0.0.1:9947", self.listen)));
        }
        for (model, spec) in &self.prices {
            if spec.input_usd < Decimal::ZERO || spec.output_usd < Decimal::ZERO {
                return Err((format!("prices.{model}"), "prices must not be negative".into()));
            }
        }
        self.pricing.validate().map_err(|(field, m)| (format!("pricing.{field}"), m))?;
        self.burn_rate.validate("burn_rate")?;
        if let Some(alerting) = &self.alerting {
            alerting.validate(self.path.parent().unwrap_or(Path::new(".")))?;
        }
        if self.limits.max_apps == 0 || self.limits.max_models == 0 {
            return Err(("limits".into(), "max_apps and max_models must be at least 1".into()));
        }
        Ok(())
    }

    /// Relative paths are relative to the config file's folder, as in
    /// Prometheus; `~` is the home folder.
    #[allow(clippy::redundant_closure_call)] // clippy 1.95 false positive: `resolve` is used four times
    fn resolve_paths(&mut self) {
        let base = self.path.parent().map(Path::to_path_buf).unwrap_or_default();
        self.state_dir = resolve_path(&base, &self.state_dir);
        self.web_config_file = self.web_config_file.as_deref().map(|p| resolve_path(&base, p));
        self.admin_token_file = self.admin_token_file.as_deref().map(|p| resolve_path(&base, p));
        if let Some(alerting) = &mut self.alerting {
            alerting.resolve_paths(&base);
        }
        for source in &mut self.sources {
            for p in &mut source.paths {
                *p = resolve_path(&base, Path::new(p)).to_string_lossy().into_owned();
            }
        }
    }

    pub fn account(&self, name: &str) -> Option<&AccountConfig> {
        self.accounts.iter().find(|a| a.name == name)
    }

    /// `./config.yaml`, then `/etc/creditwatch/config.yaml`.
    pub fn default_path() -> PathBuf {
        let local = PathBuf::from("config.yaml");
        if local.exists() {
            local
        } else {
            PathBuf::from("/etc/creditwatch/config.yaml")
        }
    }
}

/// Format-specific keys belong to their format; attribution rules and
/// pointers must compile. Errors name the key below the source.
fn validate_format_options(s: &SourceConfig) -> Result<(), (String, String)> {
    let only = |present: bool, key: &str, format: Format| match present && s.format != format {
        true => Err((key.to_string(), format!("`{key}` is only for format `{}`, not `{}`", format.as_str(), s.format.as_str()))),
        false => Ok(()),
    };
    only(s.streams.is_some(), "streams", Format::Anthropic)?;
    only(s.litellm.is_some(), "litellm", Format::Litellm)?;
    only(s.field_map.is_some(), "field_map", Format::Jsonl)?;
    if s.format == Format::Jsonl && s.field_map.is_none() {
        return Err(("field_map".into(), "format `jsonl` needs a field_map (JSON pointers, at least `model`)".into()));
    }
    if let Some(map) = &s.field_map {
        map.validate().map_err(|(key, m)| (format!("field_map.{key}"), m))?;
    }
    if let Some(streams) = &s.streams {
        crate::sources::fields::parse_pointer(&streams.id_field).map_err(|m| ("streams.id_field".to_string(), m))?;
    }
    Attribution::new(s.app_from, &s.app_rules, s.app_path.as_deref()).map_err(|e| (e.field, e.message))?;
    let has_user_agent = match s.format {
        Format::Anthropic | Format::Openai => true,
        Format::Jsonl => s.field_map.as_ref().is_some_and(|m| m.user_agent.is_some()),
        Format::ClaudeCode | Format::Litellm => false,
    };
    if s.app_from == AppFrom::UserAgent && !has_user_agent {
        return Err(("app_from".into(), format!("format `{}` has no user agent here (jsonl: map `user_agent`)", s.format.as_str())));
    }
    Ok(())
}

/// `~` expanded; relative paths joined to `base` (the config file's folder).
pub fn resolve_path(base: &Path, p: &Path) -> PathBuf {
    let expanded = PathBuf::from(crate::sources::discover::expand_tilde(&p.to_string_lossy()));
    if expanded.is_absolute() {
        expanded
    } else {
        base.join(expanded)
    }
}

fn validate_reload(r: &AutoReloadConfig) -> Result<(), String> {
    match (r.amount_usd, r.target_usd) {
        (Some(_), Some(_)) => return Err("give amount_usd or target_usd, not both".into()),
        (None, None) => return Err("give amount_usd (add this much) or target_usd (reload to this balance)".into()),
        (Some(a), None) if a <= Decimal::ZERO => return Err("amount_usd must be more than 0".into()),
        (None, Some(t)) if t <= r.threshold_usd => return Err("target_usd must be above threshold_usd".into()),
        _ => {}
    }
    if r.monthly_cap_usd < Decimal::ZERO {
        return Err("monthly_cap_usd must not be negative".into());
    }
    Ok(())
}

/// serde_yaml_ng puts its own path before the message and "at line L column
/// C" after it; we print both ourselves.
pub(crate) fn strip_location(message: &str, field: &str) -> String {
    let mut m = message;
    if let Some(i) = m.find(" at line ") {
        m = &m[..i];
    }
    if let Some((head, rest)) = m.split_once(": ") {
        if field.starts_with(head) {
            m = rest;
        }
    }
    m.to_string()
}

#[cfg(test)]
mod tests;
