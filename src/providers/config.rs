//! A provider as `config.yaml` writes it (`providers:`): read by
//! `crate::config`, checked here, turned into a poller by the daemon.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The shortest poll interval accepted: the Claude subscription endpoint is
/// undocumented and shared with Claude Code's own `/usage`; polling it harder
/// than once a minute gains nothing and risks being throttled.
pub const MIN_POLL_EVERY: Duration = Duration::from_secs(60);

fn default_poll_every() -> Duration {
    Duration::from_secs(300)
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

/// Which API a provider is: each kind has one reader (`providers::reader`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A Claude subscription: `GET /api/oauth/usage` with Claude Code's OAuth token.
    ClaudeOauth,
    /// Anthropic Admin API (cost report), `key_file` with an admin key.
    AnthropicAdmin,
    /// OpenAI organization costs, `key_file` with an admin key.
    OpenaiAdmin,
    /// OpenRouter credits, `key_file` with a management key.
    Openrouter,
    /// DeepSeek balance, `key_file` with an API key.
    Deepseek,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ClaudeOauth => "claude_oauth",
            Kind::AnthropicAdmin => "anthropic_admin",
            Kind::OpenaiAdmin => "openai_admin",
            Kind::Openrouter => "openrouter",
            Kind::Deepseek => "deepseek",
        }
    }

    /// The API base when `url` is not given.
    pub fn default_url(self) -> &'static str {
        match self {
            Kind::ClaudeOauth | Kind::AnthropicAdmin => "https://api.anthropic.com",
            Kind::OpenaiAdmin => "https://api.openai.com",
            Kind::Openrouter => "https://openrouter.ai",
            Kind::Deepseek => "https://api.deepseek.com",
        }
    }
}

/// `reconcile:` what the ledger does with the provider's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reconcile {
    /// Observe and compare; the ledger is not changed.
    #[default]
    Off,
    /// The ledger follows the provider (a stated balance is reconciled to;
    /// unseen spend is booked as app `unattributed`).
    Auto,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// The `provider` label value.
    pub name: String,
    pub kind: Kind,
    /// The ledger account the figures belong to.
    pub account: String,
    /// `claude_oauth`: Claude Code's credentials file (default: its own,
    /// see `secret::claude_code_credentials`), re-read at every poll.
    #[serde(default)]
    pub credentials_file: Option<PathBuf>,
    /// A file holding the bearer token (instead of a credentials file).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// A file holding the API key (the API-account kinds).
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// The API base; the endpoint's path is appended.
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default = "default_poll_every", deserialize_with = "crate::common::duration")]
    pub poll_every: Duration,
    /// One request's deadline, connect to last byte.
    #[serde(default = "default_timeout", deserialize_with = "crate::common::duration")]
    pub timeout: Duration,
    #[serde(default)]
    pub reconcile: Reconcile,
    /// `anthropic_admin`: only these workspaces' costs (`default`: the
    /// default workspace).
    #[serde(default)]
    pub workspace_ids: Vec<String>,
    /// `openai_admin`: only these projects' costs.
    #[serde(default)]
    pub project_ids: Vec<String>,
    /// `openai_admin`: only these API keys' costs.
    #[serde(default)]
    pub api_key_ids: Vec<String>,
}

impl ProviderConfig {
    /// The base URL, without a trailing `/`.
    pub fn base_url(&self) -> String {
        self.url.as_deref().unwrap_or(self.kind.default_url()).trim_end_matches('/').to_string()
    }

    /// Which of the provider's costs are the account's.
    pub fn filters(&self) -> super::spend::Filters {
        super::spend::Filters {
            workspace_ids: self.workspace_ids.clone(),
            project_ids: self.project_ids.clone(),
            api_key_ids: self.api_key_ids.clone(),
        }
    }

    /// Checks what serde cannot; errors are (key below the provider, message).
    pub fn validate(&self) -> Result<(), (String, String)> {
        let filters = [
            ("workspace_ids", !self.workspace_ids.is_empty(), Kind::AnthropicAdmin),
            ("project_ids", !self.project_ids.is_empty(), Kind::OpenaiAdmin),
            ("api_key_ids", !self.api_key_ids.is_empty(), Kind::OpenaiAdmin),
        ];
        if let Some((key, _, kind)) = filters.iter().find(|(_, set, kind)| *set && *kind != self.kind) {
            return Err(((*key).into(), format!("`{key}` is only for kind `{}`", kind.as_str())));
        }
        if self.name.trim().is_empty() || !self.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err(("name".into(), format!("`{}` is not a provider name (letters, digits, `_`, `-`)", self.name)));
        }
        if !super::supported(self.kind) {
            return Err(("kind".into(), format!("kind `{}` is not yet supported by this build", self.kind.as_str())));
        }
        if self.poll_every < MIN_POLL_EVERY {
            return Err(("poll_every".into(), "must be at least 1m".into()));
        }
        if self.timeout < Duration::from_secs(1) || self.timeout > Duration::from_secs(300) {
            return Err(("timeout".into(), "must be between 1s and 5m".into()));
        }
        let url = self.base_url();
        if !(url.starts_with("https://") || url.starts_with("http://")) || reqwest::Url::parse(&url).is_err() {
            return Err(("url".into(), format!("`{url}` is not an http(s) URL")));
        }
        let files = [
            ("credentials_file", self.credentials_file.is_some()),
            ("token_file", self.token_file.is_some()),
            ("key_file", self.key_file.is_some()),
        ];
        let given: Vec<&str> = files.iter().filter(|(_, set)| *set).map(|(k, _)| *k).collect();
        if given.len() > 1 {
            return Err((given[1].into(), format!("give one of {}, not both", given.join(" and "))));
        }
        match self.kind {
            Kind::ClaudeOauth if self.key_file.is_some() => {
                Err(("key_file".into(), "kind `claude_oauth` uses Claude Code's credentials_file (default) or a token_file".into()))
            }
            Kind::ClaudeOauth => Ok(()),
            _ if self.credentials_file.is_some() => Err((
                "credentials_file".into(),
                format!("`credentials_file` is only for kind `claude_oauth`; `{}` uses key_file", self.kind.as_str()),
            )),
            _ if given.is_empty() => Err(("key_file".into(), format!("kind `{}` needs a key_file (the API key)", self.kind.as_str()))),
            _ => Ok(()),
        }
    }

    /// `~` and paths relative to the config file's folder.
    pub fn resolve_paths(&mut self, base: &Path) {
        for p in [&mut self.credentials_file, &mut self.token_file, &mut self.key_file].into_iter().flatten() {
            *p = crate::common::resolve_path(base, p);
        }
    }
}
