use std::time::Duration;

use super::*;
use crate::usage::money;

const GOOD: &str = r#"
listen: "127.0.0.1:9947"
state_dir: "./state"
timezone: "Europe/Berlin"
accounts:
  - name: personal
    opening_balance_usd: "50.00"
    opening_balance_as_of: "2026-11-01T00:00:00Z"
    auto_reload: { threshold_usd: "5", amount_usd: 20, monthly_cap_usd: "100" }
  - name: work
    monthly_allowance_usd: 200
    direct_apps: [claude.ai]
sources:
  - name: claude-code
    format: claude_code
    paths: ["~/.claude/projects/**/*.jsonl", "logs/*.jsonl"]
    account: personal
    app: claude-code
prices:
  acme-gpt-large: { input_usd: "2.50", output_usd: "10" }
"#;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/etc/cw/config.yaml"))
}

#[test]
fn reads_a_full_config_and_resolves_paths() {
    let c = parse(GOOD).unwrap();
    assert_eq!(c.timezone, TimeZone(chrono_tz::Europe::Berlin));
    assert_eq!(c.state_dir, PathBuf::from("/etc/cw/./state"));
    let home = std::env::var("HOME").unwrap();
    assert_eq!(c.sources[0].paths, [format!("{home}/.claude/projects/**/*.jsonl"), "/etc/cw/logs/*.jsonl".to_string()]);
    let personal = c.account("personal").unwrap();
    assert_eq!(personal.opening_balance_usd.map(money::format).as_deref(), Some("50"));
    assert_eq!(personal.auto_reload.as_ref().unwrap().amount_usd.map(money::format).as_deref(), Some("20"));
    assert_eq!(c.account("work").unwrap().monthly_allowance_usd.map(money::format).as_deref(), Some("200"));
    assert_eq!(c.follow.dedup_retention, Duration::from_secs(45 * 86400));
}

/// Each bad config: (edit of GOOD, expected `file:line: field: message` start).
#[test]
fn errors_name_file_line_and_field() {
    let cases: &[(&str, &str, &str)] = &[
        ("listen:", "colour: blue\nlisten:", "/etc/cw/config.yaml:2: colour: unknown field `colour`"),
        (
            "direct_apps: [claude.ai]",
            "direct_apps: [claude.ai]\n    overdraft: 3",
            "/etc/cw/config.yaml:13: accounts[1].overdraft: unknown field `overdraft`",
        ),
        ("\"50.00\"", "\"fifty\"", "/etc/cw/config.yaml:7: accounts[0].opening_balance_usd: `fifty` is not a decimal amount"),
        ("Europe/Berlin", "Mars/Olympus", "/etc/cw/config.yaml:4: timezone: unknown time zone `Mars/Olympus`"),
        ("    account: personal", "    account: nobody", "/etc/cw/config.yaml:17: sources[0].account: account `nobody` is not defined"),
        ("paths: [\"~/.claude/projects/**/*.jsonl\", \"logs/*.jsonl\"]", "paths: []", "/etc/cw/config.yaml:16: sources[0].paths: no paths"),
        (
            "paths: [\"~/.claude/projects/**/*.jsonl\", \"logs/*.jsonl\"]",
            "paths: [\"\"]",
            "/etc/cw/config.yaml:16: sources[0].paths[0]: empty path pattern",
        ),
        ("format: claude_code", "format: syslog", "/etc/cw/config.yaml:15: sources[0].format: unknown variant `syslog`"),
        (
            "amount_usd: 20,",
            "amount_usd: 20, target_usd: 30,",
            "/etc/cw/config.yaml:9: accounts[0].auto_reload: give amount_usd or target_usd, not both",
        ),
        ("127.0.0.1:9947", "localhost", "/etc/cw/config.yaml:2: listen: `localhost` is not an address"),
        ("  - name: work", "  - name: personal", "/etc/cw/config.yaml:10: accounts[1].name: account `personal` is defined twice"),
    ];
    for (from, to, want) in cases {
        assert!(GOOD.contains(from), "{from}");
        let text = GOOD.replacen(from, to, 1);
        let err = parse(&text).expect_err(to).to_string();
        assert!(err.starts_with(want), "edit {to:?}\n got: {err}\nwant: {want}");
    }
}

#[test]
fn syntax_errors_have_a_line() {
    let err = parse("listen: [\naccounts: x").unwrap_err();
    assert!(err.line.is_some(), "{err}");
}

#[test]
fn shipped_config_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.yaml");
    Config::load(&path).unwrap();
}

/// Regression (found by the `config` fuzz target): an unknown key after
/// invalid UTF-8 made the field locator slice inside a character and panic.
/// The input as the fuzzer found it.
#[test]
fn fuzz_crash_in_the_field_locator_is_an_error() {
    const CRASH: &[u8] =
        b"accounts:\n  - name: a\n    opening_balance []\xff\xff\xff\xff\xff\xff\xff#e []urces:nts:\n  - name: a\n.1::1\nlisen: x\n";
    let err = Config::parse(&String::from_utf8_lossy(CRASH), Path::new("fuzz.yaml")).unwrap_err();
    assert_eq!(err.file, "fuzz.yaml");
}

#[test]
fn config_errors_name_the_pricing_field() {
    for (section, want) in [
        ("{ url: \"ftp://x/p.json\" }", "pricing.url: `ftp://x/p.json`: scheme `ftp`"),
        ("{ url: \"not a url\" }", "pricing.url: `not a url` is not a URL"),
        ("{ url: \"https://x/p.json\", refresh_every: 10s }", "pricing.refresh_every: must be at least 1m"),
        ("{ urls: \"https://x\" }", "pricing.urls: unknown field"),
        ("{ url: [\"https://x/a.json\", \"ftp://y\"] }", "pricing.url: `ftp://y`: scheme `ftp`"),
        ("{ url: 5 }", "pricing.url: invalid type: integer `5`, expected a URL, a list of URLs, or null"),
    ] {
        let err = Config::parse(&format!("pricing: {section}\n"), Path::new("/c.yaml")).unwrap_err().to_string();
        assert!(err.starts_with(&format!("/c.yaml:1: {want}")), "{err}\nwant: {want}");
    }
}

#[test]
fn plan_windows_needs_direct_apps_and_no_dollar_allowance() {
    let cases = [
        (
            "direct_apps: [claude.ai]",
            "direct_apps: [claude.ai]\n    plan_windows: true",
            "/etc/cw/config.yaml:13: accounts[1].plan_windows: plan_windows and monthly_allowance_usd both describe the plan",
        ),
        (
            "    auto_reload: { threshold_usd",
            "    plan_windows: true\n    auto_reload: { threshold_usd",
            "/etc/cw/config.yaml:9: accounts[0].plan_windows: plan_windows needs direct_apps",
        ),
    ];
    for (from, to, want) in cases {
        let err = parse(&GOOD.replacen(from, to, 1)).expect_err(to).to_string();
        assert!(err.starts_with(want), "edit {to:?}\n got: {err}\nwant: {want}");
    }
    let ok = GOOD.replacen(
        "    auto_reload: { threshold_usd",
        "    plan_windows: true\n    direct_apps: [claude-code]\n    auto_reload: { threshold_usd",
        1,
    );
    assert!(parse(&ok).unwrap().account("personal").unwrap().plan_windows);
}

/// GitHub Copilot's premium requests on an account: read as decimals; a
/// negative figure or an unknown key is an error naming file, line and field.
#[test]
fn premium_requests_are_read_and_checked() {
    let with = |rule: &str| {
        GOOD.replace("    direct_apps: [claude.ai]\n", &format!("    direct_apps: [claude.ai]\n    premium_requests: {rule}\n"))
    };
    let config = parse(&with(r#"{ monthly_allowance: 300, overage_usd: "0.04" }"#)).unwrap();
    let rule = config.accounts[1].premium_requests.as_ref().unwrap();
    assert_eq!((money::format(rule.monthly_allowance), money::format(rule.overage_usd)), ("300".to_string(), "0.04".to_string()));
    for (rule, field) in [
        (r#"{ monthly_allowance: 300, overage_usd: "-0.04" }"#, "accounts[1].premium_requests"),
        (r#"{ monthly_allowance: -1, overage_usd: "0.04" }"#, "accounts[1].premium_requests"),
        (r#"{ monthly_allowance: 300, overage: "0.04" }"#, "accounts[1].premium_requests"),
    ] {
        let err = parse(&with(rule)).unwrap_err();
        assert!(err.field.starts_with(field), "{rule}: {err}");
        assert_eq!(err.line, Some(13), "{rule}: {err}");
    }
}

#[test]
fn postgres_reads_url_file_relative_to_the_config_and_names_a_bad_field() {
    let c = parse(&format!("{GOOD}postgres:\n  url_file: postgres.url\n")).unwrap();
    let pg = c.postgres.unwrap();
    assert_eq!(pg.url_file, PathBuf::from("/etc/cw/postgres.url"));
    assert_eq!(pg.lease(), Duration::from_secs(10));
    let err = parse(&format!("{GOOD}postgres:\n  url: postgres://u:p@h/db\n")).unwrap_err().to_string();
    assert_eq!(err, "/etc/cw/config.yaml:22: postgres.url: unknown field `url`, expected `url_file` or `lease_seconds`");
    assert!(parse(GOOD).unwrap().postgres.is_none());
}
