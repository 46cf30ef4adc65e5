//! The `copilot_cli` format (Copilot CLI's OpenTelemetry file export) end to
//! end: `report` from the fixture (exact requests, tokens and cost, grouped
//! by the source's `user`), and the daemon following a file written while
//! it runs (the same span in another file is not booked again).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{metric, wait_for, Daemon};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/copilot-cli");

fn config(dir: &Path) -> String {
    format!(
        r#"
listen: "127.0.0.1:{{port}}"
state_dir: "{d}/state"
accounts: [{{ name: personal, opening_balance_usd: "10.00", opening_balance_as_of: "2020-01-01T00:00:00Z" }}]
sources:
  - {{ name: copilot, format: copilot_cli, paths: ["{d}/otel/*.jsonl"], account: personal, app: copilot-cli, user: "ana@example.com" }}
follow: {{ poll_interval: "100ms" }}
"#,
        d = dir.display()
    )
}

#[test]
fn report_reads_the_fixture_exactly_and_groups_by_user() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("otel")).unwrap();
    for f in ["session-1.jsonl", "session-2.jsonl"] {
        std::fs::copy(Path::new(FIXTURE).join(f), dir.path().join("otel").join(f)).unwrap();
    }
    let cfg = dir.path().join("config.yaml");
    std::fs::write(&cfg, config(dir.path()).replace("{port}", "19999")).unwrap();
    let out = Command::new(common::BIN).args(["report", "--by", "user", "--json", "--config"]).arg(&cfg).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let group = &report["groups"][0];
    assert_eq!(group["key"], "ana@example.com");
    // chat spans only: sonnet 4.6 $0.093582 + $0.024855, gpt-5-mini $0.0021.
    assert_eq!(group["cost_usd"], "0.120537");
    assert_eq!(group["requests"], 3);
    assert_eq!(
        group["tokens"],
        serde_json::json!({"input": 5494, "output": 1902, "cache_write_5m": 22900, "cache_write_1h": 0, "cache_read": 29000})
    );
    assert_eq!(report["totals"]["cost_usd"], "0.120537");
}

#[test]
fn the_daemon_follows_an_export_written_while_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("otel")).unwrap();
    let daemon = Daemon::start(dir.path(), &config(dir.path()));
    let text = std::fs::read_to_string(Path::new(FIXTURE).join("session-1.jsonl")).unwrap();
    let export = dir.path().join("otel/copilot.jsonl");
    for line in text.lines().take(4) {
        common::append(&export, &format!("{line}\n"));
    }
    let lines =
        |outcome: &str| metric(&daemon.scrape(), &format!(r#"creditwatch_source_lines_total{{outcome="{outcome}",source="copilot"}}"#));
    wait_for("the first spans", Duration::from_secs(20), || lines("booked").as_deref() == Some("2"));
    for line in text.lines().skip(4) {
        common::append(&export, &format!("{line}\n"));
    }
    common::append(&dir.path().join("otel/again.jsonl"), &std::fs::read_to_string(Path::new(FIXTURE).join("session-2.jsonl")).unwrap());
    wait_for("the rest", Duration::from_secs(20), || lines("duplicate").as_deref() == Some("1") && lines("booked").as_deref() == Some("3"));
    assert_eq!(lines("error").as_deref(), Some("2"));
    assert_eq!(lines("skipped").as_deref(), Some("4"));
    let scrape = daemon.scrape();
    assert_eq!(
        metric(&scrape, r#"creditwatch_spend_usd_total{account="personal",app="copilot-cli",model="claude-sonnet-4-6"}"#).as_deref(),
        Some("0.118437")
    );
    assert_eq!(
        metric(&scrape, r#"creditwatch_user_spend_usd_total{account="personal",user="ana@example.com"}"#).as_deref(),
        Some("0.120537")
    );
}

/// Copilot CLI's own session logs (real files from `shared/real/agents`,
/// read where they are): premium requests counted per account, app and
/// model; with `premium_requests` the month's allowance covers the first
/// ones and the rest are drawn from the balance at the overage price.
#[test]
fn premium_requests_past_the_allowance_are_drawn_from_the_balance() {
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/real/agents/copilot/XEFF09__dotfiles/.copilot/session-state");
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
listen: "127.0.0.1:{{port}}"
state_dir: "{d}/state"
accounts:
  - {{ name: dev, opening_balance_usd: "10.00", opening_balance_as_of: "2020-01-01T00:00:00Z",
      premium_requests: {{ monthly_allowance: 3, overage_usd: "0.04" }} }}
sources:
  - {{ name: copilot, format: copilot_cli, paths: ["{real}/*/events.jsonl"], account: dev }}
follow: {{ poll_interval: "100ms" }}
"#,
        d = dir.path().display(),
        real = real.display()
    );
    let daemon = Daemon::start(dir.path(), &config);
    let labels = r#"account="dev",app="copilot-cli",model="claude-sonnet-4-6""#;
    wait_for("the four sessions", Duration::from_secs(30), || {
        metric(&daemon.scrape(), &format!("creditwatch_requests_total{{{labels}}}")).as_deref() == Some("41")
    });
    let scrape = daemon.scrape();
    // Sessions of 1 + 1 + 1 + 2 premium requests (session.shutdown
    // `requests.cost`): 3 covered, 2 at $0.04.
    assert_eq!(metric(&scrape, &format!("creditwatch_premium_requests_total{{{labels}}}")).as_deref(), Some("5"));
    assert_eq!(metric(&scrape, &format!("creditwatch_spend_usd_total{{{labels}}}")).as_deref(), Some("0.2"));
    assert_eq!(metric(&scrape, r#"creditwatch_balance_usd{account="dev"}"#).as_deref(), Some("9.92"));
    assert_eq!(
        metric(&scrape, r#"creditwatch_tokens_total{account="dev",app="copilot-cli",kind="cache_write_5m",model="claude-sonnet-4-6"}"#)
            .as_deref(),
        Some("154425")
    );
}

/// A live run of Copilot CLI, followed as it writes: its messages are
/// booked as they come (output only), then its shutdown brings the run's
/// figures; the shutdown read again (a restart re-reading the file) books
/// nothing more.
#[test]
fn a_live_session_log_grows_into_its_shutdown_figures_once() {
    let real = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/real/agents/copilot/XEFF09__dotfiles/.copilot/session-state/b87feda8-379e-4f8c-aa42-b4f7d12f253a/events.jsonl");
    let text = std::fs::read_to_string(&real).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let shutdown = lines.iter().position(|l| l.contains("\"session.shutdown\"")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("session-state/b87feda8/events.jsonl");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    let config = format!(
        r#"
listen: "127.0.0.1:{{port}}"
state_dir: "{d}/state"
accounts: [{{ name: dev, opening_balance_usd: "10.00", opening_balance_as_of: "2020-01-01T00:00:00Z" }}]
sources:
  - {{ name: copilot, format: copilot_cli, paths: ["{d}/session-state/*/events.jsonl"], account: dev }}
follow: {{ poll_interval: "100ms" }}
"#,
        d = dir.path().display()
    );
    let daemon = Daemon::start(dir.path(), &config);
    let series =
        |kind: &str| format!(r#"creditwatch_tokens_total{{account="dev",app="copilot-cli",kind="{kind}",model="claude-sonnet-4-6"}}"#);
    let requests = r#"creditwatch_requests_total{account="dev",app="copilot-cli",model="claude-sonnet-4-6"}"#;
    for line in &lines[..shutdown] {
        common::append(&log, &format!("{line}\n"));
    }
    // The 11 responses so far, with their output tokens only.
    wait_for("the messages", Duration::from_secs(30), || metric(&daemon.scrape(), requests).as_deref() == Some("11"));
    assert_eq!(metric(&daemon.scrape(), &series("output")).as_deref(), Some("2314"));
    assert_eq!(metric(&daemon.scrape(), &series("cache_read")).as_deref(), Some("0"));
    for line in &lines[shutdown..] {
        common::append(&log, &format!("{line}\n"));
    }
    common::append(&log, &format!("{}\n", lines[shutdown]));
    wait_for("the shutdown", Duration::from_secs(30), || metric(&daemon.scrape(), &series("cache_read")).as_deref() == Some("321789"));
    let scrape = daemon.scrape();
    assert_eq!(metric(&scrape, requests).as_deref(), Some("11"));
    assert_eq!(metric(&scrape, &series("output")).as_deref(), Some("2314"));
    assert_eq!(metric(&scrape, &series("input")).as_deref(), Some("3528"));
    assert_eq!(metric(&scrape, &series("cache_write_5m")).as_deref(), Some("37826"));
    assert_eq!(
        metric(&scrape, r#"creditwatch_premium_requests_total{account="dev",app="copilot-cli",model="claude-sonnet-4-6"}"#).as_deref(),
        Some("1")
    );
}
