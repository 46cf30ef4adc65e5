//! The daemon with API-account providers, against a local server replaying
//! the documented answers: `reconcile: auto` books a closed day's unseen
//! spend once as app `unattributed`, a revised day only its difference, an
//! outage nothing, and a restart replays to the same balance; a balance
//! provider sets the ledger's balance (dollars) or is shown in its own
//! currency (yuan). The key is never in the log.

mod common;
mod provider_api_support;

use std::time::Duration;

use chrono::{Datelike, NaiveDate, Utc};
use common::{wait_for, Daemon};
use provider_api_support::{cost_page, example, litellm_line, ApiServer, Reply};

const KEY: &str = "sk-ant-admin01-daemon-KEY-never-logged";

fn hup(d: &Daemon) {
    let _ = std::process::Command::new("kill").args(["-HUP", &d.child.id().to_string()]).status();
}

fn config(providers: &str) -> String {
    format!(
        r#"listen: "127.0.0.1:{{port}}"
state_dir: "{{dir}}/state"
accounts:
  - {{ name: team, opening_balance_usd: "1000", opening_balance_as_of: "2026-01-01T00:00:00Z" }}
sources:
  - {{ name: gw, format: litellm, paths: ["{{dir}}/logs/*.jsonl"], account: team, app: gateway }}
providers:
{providers}"#
    )
}

/// A cost-report provider serving `page` for account `team`, whose logs
/// show $800 of claude-opus-4-6 on `day`: the server, the folder and the
/// `providers:` entry.
fn api_account(day: NaiveDate, page: String, reconcile: &str) -> (ApiServer, tempfile::TempDir, String) {
    let server = ApiServer::start(move |_| Reply::json(&page));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("logs")).unwrap();
    std::fs::write(dir.path().join("key"), KEY).unwrap();
    let at = day.and_hms_opt(9, 30, 0).unwrap().and_utc();
    std::fs::write(dir.path().join("logs/spend.jsonl"), litellm_line("r1", "claude-opus-4-6-20260205", "800", at)).unwrap();
    let providers = format!(
        "  - {{ name: anthropic, kind: anthropic_admin, account: team, key_file: \"{{dir}}/key\", url: \"{}\", poll_every: 1h, {reconcile} }}\n",
        server.url()
    );
    (server, dir, providers)
}

#[test]
fn unseen_spend_is_booked_once_a_revision_its_difference_and_an_outage_nothing() {
    let yesterday: NaiveDate = Utc::now().date_naive() - chrono::Duration::days(1);
    let page = |cents: &'static str| cost_page(&[(&yesterday.to_string(), &[("claude-opus-4-6", cents)])], None);
    let (server, dir, providers) = api_account(yesterday, page("83391.52823"), "reconcile: auto");
    let d = Daemon::start(dir.path(), &config(&providers));
    let unattributed = r#"creditwatch_spend_usd_total{account="team",app="unattributed",model="claude-opus-4-6"}"#;
    let balance = r#"creditwatch_balance_usd{account="team"}"#;
    d.wait_metric(unattributed, "33.9152823");
    d.wait_metric(balance, "166.0847177");
    d.wait_metric(r#"creditwatch_provider_last_day_spend_usd{account="team",provider="anthropic"}"#, "833.9152823");
    d.wait_metric(r#"creditwatch_provider_last_day_booked_usd{account="team",provider="anthropic"}"#, "800");
    d.wait_metric(
        r#"creditwatch_provider_last_day_difference_usd{account="team",model="claude-opus-4-6",provider="anthropic"}"#,
        "33.9152823",
    );
    let this_month = if yesterday.month() == Utc::now().month() { "833.9152823" } else { "0" };
    d.wait_metric(r#"creditwatch_provider_spend_this_month_usd{account="team",provider="anthropic"}"#, this_month);
    // Booked: nothing of the month is unseen any more.
    d.wait_metric(r#"creditwatch_unseen_spend_usd{account="team"}"#, "0");

    // The provider revises the day to $850: only the $16.0847177 more is booked.
    let revised = page("85000");
    server.set(move |_| Reply::json(&revised));
    hup(&d);
    d.wait_metric(unattributed, "50");
    d.wait_metric(balance, "150");

    // An outage moves nothing.
    let polls = server.requests().len();
    server.set(|_| Reply::status(503, &[], "down"));
    hup(&d);
    wait_for("a failed poll", Duration::from_secs(20), || server.requests().len() > polls);
    d.wait_metric(r#"creditwatch_provider_up{provider="anthropic"}"#, "0");
    d.wait_metric(balance, "150");
    d.wait_metric(unattributed, "50");
    let (log, port) = (d.log(), d.port);
    d.stop();
    let polls = server.requests().len();

    // A restart replays to the same balance, the provider still down.
    let d = Daemon::start_with(dir.path(), &dir.path().join("config.yaml"), port);
    d.wait_metric(balance, "150");
    d.wait_metric(unattributed, "50");
    wait_for("a poll after the restart", Duration::from_secs(20), || server.requests().len() > polls);
    d.wait_metric(balance, "150");
    assert!(!log.contains(KEY) && !d.log().contains(KEY), "the key is in the log:\n{log}");
    assert!(log.contains("answered 503"), "{log}");
}

#[test]
fn a_balance_provider_sets_the_dollar_balance_and_shows_yuan_apart() {
    let credits = example("openrouter/credits.docs-example.json");
    let yuan = example("deepseek/user_balance.docs-example.json");
    let router = ApiServer::start(move |_| Reply::json(&credits));
    let deepseek = ApiServer::start(move |_| Reply::json(&yuan));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("logs")).unwrap();
    std::fs::write(dir.path().join("key"), KEY).unwrap();
    let text = config(&format!(
        "  - {{ name: router, kind: openrouter, account: team, key_file: \"{{dir}}/key\", url: \"{}\", reconcile: auto }}\n  \
         - {{ name: ds, kind: deepseek, account: cn, key_file: \"{{dir}}/key\", url: \"{}\", reconcile: auto }}\n",
        router.url(),
        deepseek.url()
    ))
    .replace("accounts:\n", "accounts:\n  - { name: cn, opening_balance_usd: \"5\" }\n");
    let d = Daemon::start(dir.path(), &text);
    // OpenRouter: $100.5 bought - $25.75 spent.
    d.wait_metric(r#"creditwatch_balance_usd{account="team"}"#, "74.75");
    d.wait_metric(r#"creditwatch_provider_balance_usd{account="team"}"#, "74.75");
    // DeepSeek's 110 yuan: shown as yuan, the dollar ledger untouched.
    d.wait_metric(r#"creditwatch_provider_balance_cny{account="cn"}"#, "110");
    d.wait_metric(r#"creditwatch_balance_usd{account="cn"}"#, "5");
    assert!(!d.scrape().contains(r#"creditwatch_provider_balance_usd{account="cn"}"#));
    // The summary shows each balance in its own currency.
    let summary: serde_json::Value = serde_json::from_str(&d.get("/api/v1/summary").unwrap().1).unwrap();
    let reports = |account: &str| {
        let a = summary["accounts"].as_array().unwrap().iter().find(|a| a["name"] == account).unwrap().clone();
        a["provider_reports"].clone()
    };
    assert_eq!(reports("team")[0]["balances"], serde_json::json!([{"currency": "USD", "amount": "74.75"}]));
    assert_eq!(reports("cn")[0]["balances"], serde_json::json!([{"currency": "CNY", "amount": "110"}]));
    assert!(d.get("/").unwrap().1.contains("balance 110 CNY"));
    assert!(!d.log().contains(KEY));
}

/// With `reconcile: off`, a cost report's unseen spend of this month stays
/// unseen: the gauge shows it and the daemon's own `SpendUnseenByLogs` fires
/// for the account, as it does for a subscription.
#[test]
fn unseen_spend_of_an_api_account_fires_the_daemon_alert() {
    let now = Utc::now();
    let yesterday: NaiveDate = now.date_naive() - chrono::Duration::days(1);
    let page = cost_page(&[(&yesterday.to_string(), &[("claude-opus-4-6", "83391.52823")])], None);
    let (_server, dir, providers) = api_account(yesterday, page, "reconcile: off");
    let text = format!("{}alerting:\n  evaluate_every: 1s\n  unseen_spend_usd: \"10\"\n  unseen_spend_for: 1s\n", config(&providers));
    let d = Daemon::start(dir.path(), &text);
    d.wait_metric(r#"creditwatch_provider_last_day_booked_usd{account="team",provider="anthropic"}"#, "800");
    let firing = r#"creditwatch_alert_firing{account="team",alert="SpendUnseenByLogs"}"#;
    if yesterday.month() == now.month() {
        d.wait_metric(r#"creditwatch_unseen_spend_usd{account="team"}"#, "33.9152823");
        d.wait_metric(firing, "1");
    } else {
        // The first of a month: yesterday is last month's, nothing of this one is unseen.
        d.wait_metric(r#"creditwatch_unseen_spend_usd{account="team"}"#, "0");
        assert_eq!(common::metric(&d.scrape(), firing), None);
    }
    d.wait_metric(r#"creditwatch_balance_usd{account="team"}"#, "200");
    // The summary and the page say what the provider says, as /metrics does.
    let (unseen, this_month) = if yesterday.month() == now.month() { ("33.9152823", "833.9152823") } else { ("0", "0") };
    let (status, summary) = d.get("/api/v1/summary").unwrap();
    assert_eq!(status, 200);
    let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
    let team = summary["accounts"].as_array().unwrap().iter().find(|a| a["name"] == "team").unwrap();
    let report = &team["provider_reports"][0];
    assert_eq!(
        (report["provider"].as_str(), report["kind"].as_str(), report["spend_this_month_usd"].as_str(), report["unseen_usd"].as_str()),
        (Some("anthropic"), Some("anthropic_admin"), Some(this_month), Some(unseen))
    );
    let (_, page) = d.get("/").unwrap();
    assert!(page.contains("<dt>anthropic says</dt>"), "{page}");
    assert!(page.contains(&format!("data-figure=\"provider_month\" data-usd=\"{this_month}\"")), "{page}");
    assert!(page.contains(&format!("data-figure=\"unseen\" data-usd=\"{unseen}\"")), "{page}");
    assert!(!d.log().contains(KEY));
}
