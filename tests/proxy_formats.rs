//! Every proxy fixture (`shared/fixtures/proxy/`, one file per log format)
//! read by the real binary through `report --json`, by app and by model: the
//! request count, the total and every group must equal `expected.json` to the
//! last decimal digit.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_creditwatch");

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/proxy")
}

/// The two non-Claude prices of `prices.yaml`, as config `prices:`.
const PRICES: &str = r#"
prices:
  acme-gpt-large: { input_usd: "2.50", output_usd: "10", cache_read_usd: "1.25" }
  acme-gpt-mini: { input_usd: "0.15", output_usd: "0.60", cache_read_usd: "0.075" }
"#;

/// The source section for each fixture: how a user would configure it.
fn source(format: &str) -> &'static str {
    match format {
        "anthropic" => "format: anthropic\n    streams: { id_field: /stream_id, timeout: 5m }",
        "openai" => {
            r#"format: openai
    app_from: user_agent
    app_rules:
      - { match: "^claude-cli/", app: claude-code }
      - { match: "^Cursor/", app: cursor }
      - { match: "^Windsurf/", app: windsurf }
      - { match: "^python-requests/", app: scripts }
    app: unattributed"#
        }
        "litellm" => "format: litellm\n    litellm: { app_key: team_alias }",
        "generic" => {
            "format: jsonl\n    field_map: { id: /req/id, model: /req/llm, input_tokens: /tok/in, output_tokens: /tok/out, timestamp: /ts, app: /svc/name }"
        }
        other => panic!("no fixture {other}"),
    }
}

fn write_config(dir: &Path, format: &str) -> PathBuf {
    let file = fixtures().join(format!("{format}.jsonl"));
    let text = format!(
        "state_dir: {state}\naccounts:\n  - name: team\nsources:\n  - name: {format}\n    {source}\n    paths: [{file:?}]\n    account: team\n{PRICES}",
        state = dir.join("state").display(),
        source = source(format),
        file = file.display().to_string(),
    );
    let path = dir.join(format!("{format}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// `report --json --by BY`: (parsed JSON, stderr).
fn report(config: &Path, by: &str) -> (Value, String) {
    let out = Command::new(BIN)
        .args(["report", "--config"])
        .arg(config)
        .args(["--json", "--by", by, "--tz", "UTC"])
        .env("CREDITWATCH_LOG_LEVEL", "error")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "report failed: {stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(v.as_str().unwrap_or_else(|| panic!("{v} is not a decimal string"))).unwrap()
}

/// Checks one format against `expected.json`; returns report's stderr.
fn check(format: &str) -> String {
    let expected: Value = serde_json::from_slice(&std::fs::read(fixtures().join("expected.json")).unwrap()).unwrap();
    let want = &expected[format];
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), format);
    let mut stderr = String::new();
    for (by, key) in [("app", "by_app"), ("model", "by_model")] {
        let (got, err) = report(&config, by);
        stderr = err;
        assert_eq!(got["totals"]["requests"], want["requests"], "{format} --by {by}: requests");
        assert_eq!(dec(&got["totals"]["cost_usd"]), dec(&want["cost_usd"]), "{format} --by {by}: total");
        let groups: Vec<(String, Decimal)> =
            got["groups"].as_array().unwrap().iter().map(|g| (g["key"].as_str().unwrap().to_string(), dec(&g["cost_usd"]))).collect();
        let wanted: Vec<(String, Decimal)> = want[key].as_object().unwrap().iter().map(|(k, v)| (k.clone(), dec(v))).collect();
        assert_eq!(groups, wanted, "{format} --by {by}");
        assert_eq!(got["totals"]["unpriced_requests"], 0, "{format}: every model priced or stated");
    }
    stderr
}

#[test]
fn anthropic_fixture_totals_exactly_and_counts_bad_lines() {
    let stderr = check("anthropic");
    // 150 requests in 206 JSON lines (56 streams take two) and 5 non-JSON lines.
    assert!(stderr.contains("5 of 211 lines could not be read"), "{stderr}");
}

#[test]
fn openai_fixture_totals_exactly() {
    let stderr = check("openai");
    assert!(!stderr.contains("could not be read"), "{stderr}");
}

#[test]
fn litellm_fixture_totals_exactly() {
    let stderr = check("litellm");
    assert!(!stderr.contains("could not be read"), "{stderr}");
}

#[test]
fn generic_fixture_totals_exactly() {
    let stderr = check("generic");
    assert!(!stderr.contains("could not be read"), "{stderr}");
}

/// `check-config` on a config with one proxy source: exit status and stderr.
fn check_config(dir: &Path, source: &str) -> (bool, String, PathBuf) {
    let path = dir.join("config.yaml");
    let text = format!("accounts:\n  - name: team\nsources:\n  - name: gw\n    paths: [/var/log/gw/*.jsonl]\n    account: team\n{source}");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(BIN).args(["check-config", "--config"]).arg(&path).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned(), path)
}

#[test]
fn config_errors_name_the_source_field() {
    // Table: the source's format-specific lines (from line 7), the error after `file:`.
    let cases: &[(&str, &str)] = &[
        (
            "    format: openai\n    app_from: user_agent\n    app_rules:\n      - { match: \"^Cursor/(\", app: cursor }\n",
            ":10: sources[0].app_rules[0].match: bad regex `^Cursor/(`",
        ),
        ("    format: openai\n    app_from: user_agent\n", ":4: sources[0].app_rules: app_from: user_agent needs app_rules"),
        (
            "    format: litellm\n    app_from: user_agent\n    app_rules: [{ match: x, app: y }]\n",
            ":8: sources[0].app_from: format `litellm` has no user agent",
        ),
        (
            "    format: jsonl\n    app_from: path\n    app_path: \"/gw/(.*)\"\n    field_map: { model: /m }\n",
            ":9: sources[0].app_path: `/gw/(.*)` has no named capture `app`",
        ),
        ("    format: jsonl\n", ":4: sources[0].field_map: format `jsonl` needs a field_map"),
        ("    format: jsonl\n    field_map: { model: /m, cost: usd }\n", ":8: sources[0].field_map.cost: `usd` is not a JSON pointer"),
        ("    format: jsonl\n    field_map: { model: /m, tokens: /t }\n", ":8: sources[0].field_map.tokens: unknown field `tokens`"),
        ("    format: jsonl\n    field_map: { cost: /c }\n", ":8: sources[0].field_map: missing field `model`"),
        (
            "    format: anthropic\n    litellm: { app_key: team_alias }\n",
            ":8: sources[0].litellm: `litellm` is only for format `litellm`, not `anthropic`",
        ),
        (
            "    format: anthropic\n    streams: { id_field: stream_id }\n",
            ":8: sources[0].streams.id_field: `stream_id` is not a JSON pointer",
        ),
        ("    format: anthropic\n    streams: { timeout: soon }\n", ":8: sources[0].streams.timeout: `soon` is not a duration"),
        ("    format: litellm\n    litellm: { app_key: team }\n", ":8: sources[0].litellm.app_key: invalid value: string \"team\", expected one of key_alias"),
        ("    format: litellm\n    litellm: { app_key: { label: x } }\n", ":8: sources[0].litellm.app_key: unknown field `label`, expected `tag`"),
        ("    format: litellm\n    litellm: { timezone: Mars/Base }\n", ":8: sources[0].litellm.timezone: unknown time zone `Mars/Base`"),
        (
            "    format: jsonl\n    field_map:\n      model: /m\n      skip:\n        - { field: /cache, equals: HIT }\n        - { field: status, equals: 1 }\n",
            ":12: sources[0].field_map.skip[1].field: `status` is not a JSON pointer",
        ),
        (
            "    format: jsonl\n    field_map:\n      model: /m\n      skip: [{ field: /s, outside: [299, 200] }]\n",
            ":10: sources[0].field_map.skip[0].outside: [299, 200] is not a range",
        ),
        ("    format: jsonl\n    field_map: { model: /m, cost_scale: cents }\n", ":8: sources[0].field_map.cost_scale: `cents` is not a decimal amount"),
        ("    format: jsonl\n    field_map: { model: /m, timezone: Moon/Base }\n", ":8: sources[0].field_map.timezone: unknown time zone `Moon/Base`"),
        ("    format: jsonl\n    field_map: { model: /m, service_tier: tier }\n", ":8: sources[0].field_map.service_tier: `tier` is not a JSON pointer"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (source, want) in cases {
        let (ok, stderr, path) = check_config(dir.path(), source);
        assert!(!ok, "{source}");
        let want = format!("creditwatch: config error: {}{want}", path.display());
        assert!(stderr.starts_with(&want), "{source}\n got: {stderr}\nwant: {want}");
    }
    let (ok, stderr, _) = check_config(
        dir.path(),
        "    format: openai\n    app_from: user_agent\n    app_rules: [{ match: \"^Cursor/\", app: cursor }]\n    app: other\n",
    );
    assert!(ok, "{stderr}");
}

#[test]
fn app_from_the_file_path() {
    // One log per app: the generic fixture copied as `etl.jsonl`, its app field ignored.
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::copy(fixtures().join("generic.jsonl"), logs.join("etl.jsonl")).unwrap();
    let config = dir.path().join("config.yaml");
    let text = format!(
        r#"state_dir: {state}
accounts: [{{ name: team }}]
sources:
  - name: gw
    format: jsonl
    field_map: {{ model: /req/llm, id: /req/id, input_tokens: /tok/in, output_tokens: /tok/out, timestamp: /ts, app: /svc/name }}
    paths: ["{logs}/*.jsonl"]
    account: team
    app_from: path
    app_path: "/(?P<app>[^/]+)\\.jsonl$"
"#,
        state = dir.path().join("state").display(),
        logs = logs.display(),
    );
    std::fs::write(&config, text).unwrap();
    let (got, _) = report(&config, "app");
    let groups = got["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{got}");
    assert_eq!(groups[0]["key"], "etl");
    assert_eq!(groups[0]["requests"], 150);
    assert_eq!(dec(&groups[0]["cost_usd"]), Decimal::from_str("3.719991").unwrap());
}
