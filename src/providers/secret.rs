//! Where a provider's token or key comes from, read again at every poll.
//!
//! Claude Code keeps its OAuth login in `.credentials.json`
//! (`claudeAiOauth.accessToken`, `expiresAt` in epoch milliseconds) and
//! refreshes it itself. creditwatch only reads that file: it never refreshes
//! the token (refresh tokens rotate, so refreshing would log the user out of
//! Claude Code) and never writes it. An expired token means no request: the
//! user opens Claude Code once and the next poll reads the new one.
//!
//! A `Secret` never shows its value in `Debug`, `Display` or an error.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::config::{Kind, ProviderConfig};

/// Files larger than this are not a token or a credentials file.
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// A token or key; its value is reachable only through `expose`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Why there is no usable secret; never holds the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("{path}: {reason}")]
    Malformed { path: String, reason: String },
    #[error("the Claude Code login in {path} expired at {expired_at}: open Claude Code once (it renews its token) and creditwatch reads the new one at its next poll")]
    Expired { path: String, expired_at: DateTime<Utc> },
}

/// Where one provider's secret is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// Claude Code's `.credentials.json`.
    ClaudeCredentials(PathBuf),
    /// A file holding only the token or key (surrounding whitespace dropped).
    File(PathBuf),
}

impl SecretSource {
    /// The configured file, else (claude_oauth) Claude Code's own.
    pub fn of(config: &ProviderConfig) -> SecretSource {
        if let Some(p) = config.token_file.as_ref().or(config.key_file.as_ref()) {
            return SecretSource::File(p.clone());
        }
        match (&config.credentials_file, config.kind) {
            (Some(p), _) => SecretSource::ClaudeCredentials(p.clone()),
            (None, Kind::ClaudeOauth) => SecretSource::ClaudeCredentials(claude_code_credentials()),
            // Refused by validation; an empty path fails at read with a clear error.
            (None, _) => SecretSource::File(PathBuf::new()),
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            SecretSource::ClaudeCredentials(p) | SecretSource::File(p) => p,
        }
    }

    /// Reads the secret now; an expired Claude Code login is an error.
    pub fn read(&self, now: DateTime<Utc>) -> Result<Secret, SecretError> {
        let path = self.path().display().to_string();
        let bytes = read_small(self.path()).map_err(|reason| SecretError::Unreadable { path: path.clone(), reason })?;
        match self {
            SecretSource::File(_) => {
                let text = std::str::from_utf8(&bytes)
                    .map_err(|_| SecretError::Malformed { path: path.clone(), reason: "not UTF-8 text".into() })?;
                let token = text.trim();
                if token.is_empty() || token.chars().any(|c| c.is_control() || c == ' ') {
                    return Err(SecretError::Malformed { path, reason: "want one token on one line".into() });
                }
                Ok(Secret(token.to_string()))
            }
            SecretSource::ClaudeCredentials(_) => claude_access_token(&bytes, now, &path),
        }
    }
}

fn read_small(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_SECRET_FILE {
        return Err(format!("larger than {MAX_SECRET_FILE} bytes"));
    }
    Ok(bytes)
}

/// `$CLAUDE_CONFIG_DIR/.credentials.json` (the first folder, when it lists
/// several), else `~/.claude/.credentials.json`, as Claude Code itself.
pub fn claude_code_credentials() -> PathBuf {
    credentials_in(std::env::var("CLAUDE_CONFIG_DIR").ok())
}

fn credentials_in(claude_config_dir: Option<String>) -> PathBuf {
    let dir = claude_config_dir
        .and_then(|v| v.split(',').map(str::trim).find(|s| !s.is_empty()).map(|s| PathBuf::from(crate::common::expand_tilde(s))))
        .unwrap_or_else(|| PathBuf::from(crate::common::expand_tilde("~/.claude")));
    dir.join(".credentials.json")
}

#[derive(Deserialize)]
struct CredentialsFile {
    #[serde(rename = "claudeAiOauth")]
    oauth: Option<OauthLogin>,
}

#[derive(Deserialize)]
struct OauthLogin {
    #[serde(rename = "accessToken")]
    access_token: Option<String>,
    /// Epoch milliseconds.
    #[serde(rename = "expiresAt")]
    expires_at: Option<i64>,
}

/// The access token of a Claude Code credentials file, unless expired at `now`.
pub fn claude_access_token(bytes: &[u8], now: DateTime<Utc>, path: &str) -> Result<Secret, SecretError> {
    let malformed = |reason: &str| SecretError::Malformed { path: path.to_string(), reason: reason.to_string() };
    // serde_json's message may quote the input; say only where it broke.
    let file: CredentialsFile = serde_json::from_slice(bytes)
        .map_err(|e| malformed(&format!("not a Claude Code credentials file (JSON error at line {} column {})", e.line(), e.column())))?;
    let login = file.oauth.ok_or_else(|| malformed("no `claudeAiOauth` login (log in to Claude Code with a Claude subscription)"))?;
    let token = login.access_token.filter(|t| !t.trim().is_empty()).ok_or_else(|| malformed("`claudeAiOauth.accessToken` is missing"))?;
    if let Some(ms) = login.expires_at {
        let expired_at = DateTime::from_timestamp_millis(ms).ok_or_else(|| malformed("`claudeAiOauth.expiresAt` is not a time"))?;
        if expired_at <= now {
            return Err(SecretError::Expired { path: path.to_string(), expired_at });
        }
    }
    Ok(Secret(token.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-12-03T10:00:00Z";

    fn read(text: &str) -> Result<Secret, SecretError> {
        claude_access_token(text.as_bytes(), NOW.parse().unwrap(), "/h/.claude/.credentials.json")
    }

    #[test]
    fn claude_code_credentials_give_the_access_token_until_it_expires() {
        let good = r#"{"claudeAiOauth":{"accessToken":"sk-ant-oat01-abc","refreshToken":"sk-ant-ort01-x","expiresAt":1796302800000,"scopes":["user:inference"],"subscriptionType":"max"}}"#;
        assert_eq!(read(good).unwrap().expose(), "sk-ant-oat01-abc");
        assert_eq!(format!("{:?}", read(good).unwrap()), "Secret(…)");
        let expired = r#"{"claudeAiOauth":{"accessToken":"sk-ant-oat01-abc","expiresAt":1764700000000}}"#;
        let e = read(expired).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the Claude Code login in /h/.claude/.credentials.json expired at 2025-12-02 18:26:40 UTC: open Claude Code once (it renews its token) and creditwatch reads the new one at its next poll"
        );
        assert!(!format!("{e:?}").contains("sk-ant"));
    }

    #[test]
    fn a_broken_credentials_file_says_what_is_wrong_without_quoting_it() {
        let cases = [
            (
                "{\"claudeAiOauth\": sk-ant-oat01-leak",
                "/h/.claude/.credentials.json: not a Claude Code credentials file (JSON error at line 1 column 19)",
            ),
            ("{}", "/h/.claude/.credentials.json: no `claudeAiOauth` login (log in to Claude Code with a Claude subscription)"),
            (r#"{"claudeAiOauth":{"expiresAt":1}}"#, "/h/.claude/.credentials.json: `claudeAiOauth.accessToken` is missing"),
        ];
        for (text, want) in cases {
            assert_eq!(read(text).unwrap_err().to_string(), want);
        }
    }

    #[test]
    fn the_default_file_follows_claude_config_dir() {
        assert_eq!(credentials_in(Some("/srv/claude-a, /srv/claude-b".into())), PathBuf::from("/srv/claude-a/.credentials.json"));
        let home = std::env::var("HOME").unwrap();
        assert_eq!(credentials_in(None), PathBuf::from(format!("{home}/.claude/.credentials.json")));
        assert_eq!(credentials_in(Some(" ".into())), PathBuf::from(format!("{home}/.claude/.credentials.json")));
    }
}
