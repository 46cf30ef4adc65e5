//! `providers:` in the config: read, defaults, and errors that name file,
//! line and field.

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::providers::{Kind, Reconcile};

const BASE: &str = r#"
accounts:
  - name: personal
providers:
  - name: claude
    kind: claude_oauth
    account: personal
"#;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/etc/cw/config.yaml"))
}

#[test]
fn a_provider_without_sources_takes_the_defaults() {
    let c = parse(BASE).unwrap();
    assert!(c.sources.is_empty());
    let p = &c.providers[0];
    assert_eq!((p.name.as_str(), p.kind, p.account.as_str()), ("claude", Kind::ClaudeOauth, "personal"));
    assert_eq!((p.poll_every, p.timeout, p.reconcile), (Duration::from_secs(300), Duration::from_secs(30), Reconcile::Off));
    assert_eq!(p.base_url(), "https://api.anthropic.com");
    assert_eq!((&p.credentials_file, &p.token_file), (&None, &None));
}

#[test]
fn files_resolve_against_the_config_folder() {
    let text =
        format!("{BASE}    token_file: secrets/claude.token\n    url: http://127.0.0.1:8080/\n    poll_every: 1m\n    reconcile: auto\n");
    let p = &parse(&text).unwrap().providers[0];
    assert_eq!(p.token_file.as_deref(), Some(Path::new("/etc/cw/secrets/claude.token")));
    assert_eq!((p.base_url().as_str(), p.poll_every, p.reconcile), ("http://127.0.0.1:8080", Duration::from_secs(60), Reconcile::Auto));
}

#[test]
fn provider_errors_name_file_line_and_field() {
    let cases = [
        ("    colour: blue\n", "/etc/cw/config.yaml:8: providers[0].colour: unknown field `colour`"),
        ("    poll_every: 30s\n", "/etc/cw/config.yaml:8: providers[0].poll_every: must be at least 1m"),
        ("    poll_every: soon\n", "/etc/cw/config.yaml:8: providers[0].poll_every: `soon` is not a duration"),
        ("    reconcile: sometimes\n", "/etc/cw/config.yaml:8: providers[0].reconcile: unknown variant `sometimes`"),
        ("    url: ftp://example.com\n", "/etc/cw/config.yaml:8: providers[0].url: `ftp://example.com` is not an http(s) URL"),
        ("    key_file: k\n", "/etc/cw/config.yaml:8: providers[0].key_file: kind `claude_oauth` uses Claude Code's credentials_file"),
        (
            "    token_file: t\n    credentials_file: c\n",
            "/etc/cw/config.yaml:8: providers[0].token_file: give one of credentials_file and token_file",
        ),
        (
            "  - {name: claude, kind: claude_oauth, account: personal}\n",
            "/etc/cw/config.yaml:8: providers[1].name: provider `claude` is defined twice",
        ),
        (
            "  - {name: other, kind: claude_oauth, account: personal}\n",
            "/etc/cw/config.yaml:8: providers[1].account: account `personal` has a claude_oauth provider already",
        ),
        (
            "  - {name: other, kind: claude_oauth, account: nobody}\n",
            "/etc/cw/config.yaml:8: providers[1].account: account `nobody` is not defined",
        ),
        (
            "  - {name: bad name, kind: claude_oauth, account: personal}\n",
            "/etc/cw/config.yaml:8: providers[1].name: `bad name` is not a provider name",
        ),
        ("  - {name: ds, kind: moonshot, account: personal}\n", "/etc/cw/config.yaml:8: providers[1].kind: unknown variant `moonshot`"),
        (
            "  - {name: a, kind: anthropic_admin, account: personal, key_file: k, project_ids: [proj_1]}\n",
            "/etc/cw/config.yaml:8: providers[1].project_ids: `project_ids` is only for kind `openai_admin`",
        ),
        (
            "  - {name: a, kind: anthropic_admin, account: personal, key_file: k}\n  - {name: b, kind: anthropic_admin, account: personal, key_file: k}\n",
            "/etc/cw/config.yaml:9: providers[2].account: account `personal` has a anthropic_admin provider already",
        ),
        (
            "  - {name: a, kind: openai_admin, account: personal, key_file: k, reconcile: auto}\nfollow: {dedup_retention: 30d}\n",
            "/etc/cw/config.yaml:8: providers[1].reconcile: reconcile: auto books each day's unseen spend for 35 days: follow.dedup_retention must be at least 37d",
        ),
    ];
    for (extra, want) in cases {
        let text = format!("{BASE}{extra}");
        let got = parse(&text).map(|_| ()).unwrap_err().to_string();
        assert!(got.starts_with(want), "{extra}\n got: {got}\nwant: {want}");
    }
}
