//! Attribution: which app a request is booked under.
//!
//! A proxy log holds every app's requests, so the app has to come from the
//! line or the file: a field the format carries (`app_from: field`), the
//! client's user agent through ordered regex rules (`user_agent`), or a named
//! capture `app` of the file's path when each app writes its own log
//! (`path`). Whatever finds nothing falls back to the source's `app`, then to
//! the source's name, so every request has an app.

use std::path::Path;

use regex::Regex;
use serde::Deserialize;

/// Where a source's app comes from (`app_from:` of a source).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppFrom {
    /// The app field of the line (Anthropic/OpenAI `app` beside the response,
    /// the LiteLLM metadata key, the field map's `app`); the default.
    #[default]
    Field,
    /// The line's user agent, through `app_rules`.
    UserAgent,
    /// The named capture `app` of `app_path` on the file's path.
    Path,
    /// Always the source's `app`.
    Static,
}

/// One user-agent rule: the first rule whose regex matches names the app.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppRule {
    #[serde(rename = "match")]
    pub pattern: String,
    pub app: String,
}

/// A source's attribution rules, compiled.
#[derive(Debug, Clone, Default)]
pub struct Attribution {
    pub from: AppFrom,
    rules: Vec<(Regex, String)>,
    path: Option<Regex>,
}

/// A bad rule: the field (below the source) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct AttributionError {
    pub field: String,
    pub message: String,
}

impl Attribution {
    pub fn new(from: AppFrom, rules: &[AppRule], path: Option<&str>) -> Result<Attribution, AttributionError> {
        let err = |field: String, message: String| AttributionError { field, message };
        let rules: Vec<(Regex, String)> = rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                Regex::new(&r.pattern)
                    .map(|re| (re, r.app.clone()))
                    .map_err(|e| err(format!("app_rules[{i}].match"), format!("bad regex `{}`: {e}", r.pattern)))
            })
            .collect::<Result<_, _>>()?;
        let path = path
            .map(|p| {
                let re = Regex::new(p).map_err(|e| err("app_path".into(), format!("bad regex `{p}`: {e}")))?;
                match re.capture_names().flatten().any(|n| n == "app") {
                    true => Ok(re),
                    false => Err(err("app_path".into(), format!("`{p}` has no named capture `app`, like (?P<app>[^/]+)"))),
                }
            })
            .transpose()?;
        match from {
            AppFrom::UserAgent if rules.is_empty() => return Err(err("app_rules".into(), "app_from: user_agent needs app_rules".into())),
            AppFrom::Path if path.is_none() => return Err(err("app_path".into(), "app_from: path needs app_path".into())),
            _ => {}
        }
        Ok(Attribution { from, rules, path })
    }

    /// The app a line names, by the configured way, given the line's app field
    /// and user agent; `None` sends the request to the fallback.
    pub fn app_of_line(&self, field: Option<&str>, user_agent: Option<&str>) -> Option<String> {
        match self.from {
            AppFrom::Field => field.filter(|f| !f.is_empty()).map(str::to_string),
            AppFrom::UserAgent => user_agent.and_then(|ua| self.app_of_user_agent(ua)).map(str::to_string),
            AppFrom::Path | AppFrom::Static => None,
        }
    }

    pub fn app_of_user_agent(&self, user_agent: &str) -> Option<&str> {
        self.rules.iter().find(|(re, _)| re.is_match(user_agent)).map(|(_, app)| app.as_str())
    }

    pub fn app_of_path(&self, path: &Path) -> Option<String> {
        let text = path.to_string_lossy();
        let caps = self.path.as_ref()?.captures(&text)?;
        caps.name("app").map(|m| m.as_str().to_string()).filter(|a| !a.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Vec<AppRule> {
        [("^claude-cli/", "claude-code"), ("^Cursor/", "cursor"), ("(?i)windsurf", "windsurf")]
            .map(|(p, a)| AppRule { pattern: p.into(), app: a.into() })
            .to_vec()
    }

    #[test]
    fn user_agent_rules_apply_in_order() {
        let a = Attribution::new(AppFrom::UserAgent, &rules(), None).unwrap();
        let cases = [
            ("claude-cli/2.1.39 (external, cli)", Some("claude-code")),
            ("Cursor/1.7.2", Some("cursor")),
            ("my-windsurf-fork/2", Some("windsurf")),
            ("python-requests/2.32", None),
            ("", None),
        ];
        for (ua, want) in cases {
            assert_eq!(a.app_of_line(Some("ignored"), Some(ua)).as_deref(), want, "{ua}");
        }
        assert_eq!(a.app_of_line(Some("x"), None), None);
    }

    #[test]
    fn field_and_static_and_path() {
        let field = Attribution::new(AppFrom::Field, &[], None).unwrap();
        assert_eq!(field.app_of_line(Some("support"), Some("Cursor/1")).as_deref(), Some("support"));
        assert_eq!(field.app_of_line(Some(""), None), None);
        let fixed = Attribution::new(AppFrom::Static, &rules(), None).unwrap();
        assert_eq!(fixed.app_of_line(Some("support"), Some("Cursor/1")), None);
        let path = Attribution::new(AppFrom::Path, &[], Some(r"/logs/(?P<app>[^/]+)\.jsonl$")).unwrap();
        assert_eq!(path.app_of_path(Path::new("/var/logs/etl.jsonl")).as_deref(), Some("etl"));
        assert_eq!(path.app_of_path(Path::new("/var/other/etl.log")), None);
    }

    #[test]
    fn a_source_falls_back_to_its_app_then_its_name() {
        use crate::sources::{Format, SourceSpec};
        use crate::usage::{EventId, Tokens, UsageEvent};
        let mut spec = SourceSpec::new("gw", Format::Jsonl, Vec::new(), "team");
        let mut event = UsageEvent::new(EventId(1), chrono::DateTime::UNIX_EPOCH, "m".into(), Tokens::default());
        let path = Path::new("/logs/etl.jsonl");
        assert_eq!((spec.app_of(&event, path), spec.account_of(&event)), ("gw".to_string(), "team".to_string()));
        spec.app = Some("default-app".into());
        assert_eq!(spec.app_of(&event, path), "default-app");
        event.app = Some("from-line".into());
        event.account = Some("other-team".into());
        assert_eq!((spec.app_of(&event, path), spec.account_of(&event)), ("from-line".to_string(), "other-team".to_string()));
        // By path, the line's app is not used; an unmatched path falls back.
        spec.attribution = std::sync::Arc::new(Attribution::new(AppFrom::Path, &[], Some(r"/(?P<app>[^/]+)\.jsonl$")).unwrap());
        assert_eq!(spec.app_of(&event, path), "etl");
        assert_eq!(spec.app_of(&event, Path::new("/logs/etl.log")), "default-app");
    }

    #[test]
    fn bad_rules_name_their_field() {
        let bad = [AppRule { pattern: "(".into(), app: "x".into() }];
        assert_eq!(Attribution::new(AppFrom::UserAgent, &bad, None).unwrap_err().field, "app_rules[0].match");
        assert_eq!(Attribution::new(AppFrom::UserAgent, &[], None).unwrap_err().field, "app_rules");
        assert_eq!(Attribution::new(AppFrom::Path, &[], Some("/logs/(.*)")).unwrap_err().field, "app_path");
        assert_eq!(Attribution::new(AppFrom::Path, &[], None).unwrap_err().field, "app_path");
    }
}
