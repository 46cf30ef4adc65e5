//! The `alerting:` section as the config file reads it.

use std::path::Path;
use std::time::Duration;

use crate::alerting::config::*;
use crate::alerting::hours::WorkingHours;
use crate::config::{Config, ConfigError};
use crate::usage::money;

const GOOD: &str = r#"
accounts:
  - name: personal
alerting:
  evaluate_every: "15s"
  repeat_every: "4h"
  low_balance_usd: "10"
  runway_short: 6h
  runaway_usd_per_hour: 15
  runaway_for: "10m"
  working_hours: { days: "mon-fri", start: "08:00", end: "19:00" }
  outside_hours_usd_per_hour: "2"
  delivery: { retry_base: 50ms, retry_max: 2s }
  receivers:
    - { name: oncall, type: webhook, url: "http://127.0.0.1:9000/hook" }
    - { name: pager, type: pagerduty, routing_key_file: "pd.key" }
    - { name: am, type: alertmanager, url: "http://127.0.0.1:9093", send_resolved: false }
"#;

fn parse(dir: &Path, text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, &dir.join("config.yaml"))
}

#[test]
fn reads_the_contract_keys_and_resolves_the_routing_key_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pd.key"), "R0UTING\n").unwrap();
    let config = parse(dir.path(), GOOD).unwrap();
    let a = config.alerting.unwrap();
    assert_eq!(a.evaluate_every, Duration::from_secs(15));
    assert_eq!(a.repeat_every, Duration::from_secs(4 * 3600));
    assert_eq!(a.low_balance_usd.map(money::format).as_deref(), Some("10"));
    assert_eq!(a.runway_short, Some(Duration::from_secs(6 * 3600)));
    assert_eq!(a.runaway_usd_per_hour.map(money::format).as_deref(), Some("15"));
    assert_eq!(a.runaway_for, Duration::from_secs(600));
    assert_eq!(a.working_hours, Some(WorkingHours::parse("mon-fri", "08:00", "19:00").unwrap()));
    assert_eq!(a.reload_cap_warning_percent, 80);
    assert_eq!(a.source_stale_after, Duration::from_secs(1800));
    assert_eq!(
        (a.delivery.retry_base, a.delivery.retry_max, a.delivery.max_attempts),
        (Duration::from_millis(50), Duration::from_secs(2), 10)
    );
    assert_eq!(
        a.receivers.iter().map(|r| r.kind).collect::<Vec<_>>(),
        [ReceiverType::Webhook, ReceiverType::Pagerduty, ReceiverType::Alertmanager]
    );
    assert_eq!(a.receivers[1].routing_key_file.as_deref(), Some(dir.path().join("pd.key").as_path()));
    assert!(a.receivers[0].send_resolved);
    assert!(!a.receivers[2].send_resolved);
}

#[test]
fn errors_name_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pd.key"), "R0UTING\n").unwrap();
    let cases: &[(&str, &str, &str)] = &[
        ("runaway_for: \"10m\"", "runaway_for: \"10 parsecs\"", ":10: alerting.runaway_for: `10 parsecs` is not a duration"),
        ("runway_short: 6h", "runway_short: 6h\n  page_me: yes", ":9: alerting.page_me: unknown field `page_me`"),
        ("days: \"mon-fri\"", "days: \"mon-fry\"", ":11: alerting.working_hours: `fry` is not a day"),
        ("end: \"19:00\"", "end: \"7pm\"", ":11: alerting.working_hours: end: `7pm` is not a time"),
        ("low_balance_usd: \"10\"", "low_balance_usd: \"ten\"", ":7: alerting.low_balance_usd: `ten` is not a decimal amount"),
        ("type: webhook", "type: email", ":15: alerting.receivers[0].type: unknown variant `email`"),
        ("name: am", "name: oncall", ":17: alerting.receivers[2].name: receiver `oncall` is defined twice"),
        ("http://127.0.0.1:9000/hook", "127.0.0.1:9000/hook", ":15: alerting.receivers[0].url: `127.0.0.1:9000/hook` is not a URL"),
        ("http://127.0.0.1:9093", "ftp://127.0.0.1", ":17: alerting.receivers[2].url: `ftp://127.0.0.1` is not an http or https URL"),
        ("\"pd.key\"", "\"missing.key\"", ":16: alerting.receivers[1].routing_key_file: "),
        (
            "routing_key_file: \"pd.key\"",
            "url: \"http://127.0.0.1:1\"",
            ":16: alerting.receivers[1].routing_key_file: pagerduty needs routing_key_file",
        ),
        ("retry_base: 50ms", "retry_base: 5s", ":13: alerting.delivery.retry_base: must not be longer than retry_max"),
        (
            "outside_hours_usd_per_hour: \"2\"",
            "outside_hours_usd_per_hour: \"-2\"",
            ":12: alerting.outside_hours_usd_per_hour: must not be negative",
        ),
    ];
    for (from, to, want) in cases {
        assert!(GOOD.contains(from), "{from}");
        let err = parse(dir.path(), &GOOD.replacen(from, to, 1)).expect_err(to).to_string();
        let want = format!("{}{want}", dir.path().join("config.yaml").display());
        assert!(err.starts_with(&want), "edit {to:?}\n got: {err}\nwant: {want}");
    }
}

#[test]
fn outside_hours_needs_working_hours() {
    let dir = tempfile::tempdir().unwrap();
    let text = "alerting:\n  outside_hours_usd_per_hour: 2\n";
    let err = parse(dir.path(), text).unwrap_err().to_string();
    assert!(err.ends_with(":2: alerting.outside_hours_usd_per_hour: needs working_hours: { days, start, end }"), "{err}");
}

/// The commented `burn_rate:` and `alerting:` examples in the shipped
/// config.yaml stay valid when uncommented.
#[test]
fn shipped_example_is_valid_when_uncommented() {
    let shipped = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.yaml")).unwrap();
    let start = shipped.find("# burn_rate:").expect("the example is in config.yaml");
    let example: Vec<&str> = shipped[start..]
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| l.starts_with(' ') || l.starts_with("burn_rate:") || l.starts_with("alerting:"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("pagerduty.key");
    std::fs::write(&key, "R0UTING\n").unwrap();
    let text =
        format!("{}\n{}\n", &shipped[..start], example.join("\n")).replace("/etc/creditwatch/pagerduty.key", &key.display().to_string());
    let config = parse(dir.path(), &text).unwrap();
    let alerting = config.alerting.unwrap();
    assert_eq!(alerting.receivers.len(), 4);
    assert_eq!(alerting.runway_short, Some(Duration::from_secs(6 * 3600)));
    assert_eq!(config.burn_rate.windows.len(), 2);
}
