//! `providers:` end to end: the real daemon polls a Claude subscription's
//! usage endpoint played by a local server (127.0.0.1, real socket) that
//! serves the captured answer and each variant of issue 21; each case
//! asserts the exact metrics, the ledger, that ingestion goes on, and that
//! the token shows up in no log line and no HTTP answer.

mod common;
mod providers_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{append, assistant_line, metric, wait_for, Daemon, BIN, SERIES_SPEND};
use providers_support::{captured, Answer, ProviderServer, UNAUTHORIZED_BODY};

const TOKEN: &str = "sk-ant-oat01-TEST-never-shown-4f9a27";

fn config(url: &str, secret: &str, reconcile: &str) -> String {
    format!(
        r#"
listen: "127.0.0.1:{{port}}"
state_dir: "{{dir}}/state"
accounts:
  - name: personal
    opening_balance_usd: "50.00"
    opening_balance_as_of: "2020-01-01T00:00:00Z"
sources:
  - name: claude-code
    format: claude_code
    paths: ["{{dir}}/projects/**/*.jsonl"]
    account: personal
    app: claude-code
follow:
  poll_interval: "200ms"
providers:
  - name: claude
    kind: claude_oauth
    account: personal
    {secret}
    url: "{url}"
    poll_every: 1m
    timeout: 2s
    reconcile: {reconcile}
"#
    )
}

fn series(name: &str, labels: &str) -> String {
    format!("{name}{{{labels}}}")
}

fn requests(outcome: &str) -> String {
    series("creditwatch_provider_requests_total", &format!(r#"outcome="{outcome}",provider="claude""#))
}

fn account(name: &str) -> String {
    series(name, r#"account="personal""#)
}

fn window(name: &str, window: &str) -> String {
    series(name, &format!(r#"account="personal",window="{window}""#))
}

/// SIGHUP: the providers restart and poll at once.
fn repoll(d: &Daemon) {
    let status = Command::new("kill").args(["-HUP", &d.child.id().to_string()]).status().expect("kill -HUP");
    assert!(status.success());
}

/// One Claude Code line now (the provider's period started before it).
fn ingest(dir: &Path, id: &str) {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    append(&dir.join("projects/p/s.jsonl"), &assistant_line(id, 1000, &now));
}

/// The token is in no log line and no answer the daemon gives.
fn assert_no_token(d: &Daemon) {
    assert!(!d.log().contains(TOKEN), "the token is in the log");
    for path in ["/metrics", "/api/v1/accounts", "/", "/readyz"] {
        let body = d.get(path).map(|(_, b)| b).unwrap_or_default();
        assert!(!body.contains(TOKEN), "the token is in {path}");
    }
}

fn flat(used_credits: &str, places: &str) -> String {
    format!(
        r#"{{"five_hour":{{"utilization":20.0,"resets_at":"2099-07-19T03:39:59.570750+00:00"}},"seven_day":{{"utilization":48.0,"resets_at":"2099-07-23T14:59:59.570774+00:00"}},
        "seven_day_opus":null,"nimbus_quill":{{"utilization":7,"resets_at":"2099-07-20T00:00:00Z"}},
        "extra_usage":{{"is_enabled":true,"monthly_limit":50000,"used_credits":{used_credits},"utilization":82.0{places}}}}}"#
    )
}

/// Sets the answer, polls again and waits until the outcome's counter shows `n`.
fn answer(d: &Daemon, server: &ProviderServer, a: Answer, outcome: &str, n: u32) {
    server.set(a);
    repoll(d);
    d.wait_metric(&requests(outcome), &n.to_string());
}

fn assert_figures(d: &Daemon, spent: &str, unseen: &str, up: &str) {
    let scrape = d.scrape();
    let got = [
        metric(&scrape, &account("creditwatch_provider_extra_usage_spent_usd")),
        metric(&scrape, &account("creditwatch_unseen_spend_usd")),
        metric(&scrape, r#"creditwatch_provider_up{provider="claude"}"#),
    ];
    assert_eq!(got, [Some(spent.into()), Some(unseen.into()), Some(up.into())], "\n{}", d.log());
}

#[test]
fn every_answer_is_observed_exactly_while_ingestion_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("projects/p")).unwrap();
    std::fs::write(dir.path().join("claude.token"), format!("{TOKEN}\n")).unwrap();
    let server = ProviderServer::start(Answer::json(&captured()));
    let text = config(&server.url(), &format!("token_file: \"{}/claude.token\"", dir.path().display()), "off");
    let d = Daemon::start(dir.path(), &text);

    // The captured answer: limits[] and spend.
    d.wait_metric(&requests("ok"), "1");
    d.wait_metric(&account("creditwatch_provider_extra_usage_spent_usd"), "408.43");
    assert_figures(&d, "408.43", "0", "1");
    let scrape = d.scrape();
    let windows: Vec<_> = ["five_hour", "seven_day", "weekly_fable"]
        .iter()
        .map(|w| metric(&scrape, &window("creditwatch_plan_window_used_ratio", w)).unwrap_or_default())
        .collect();
    assert_eq!(windows, ["0.15", "0.48", "0.81"]);
    let resets = chrono::DateTime::parse_from_rfc3339("2099-07-19T03:39:59Z").unwrap().timestamp().to_string();
    assert_eq!(metric(&scrape, &window("creditwatch_plan_window_resets_at_timestamp_seconds", "five_hour")), Some(resets));
    assert_eq!(metric(&scrape, &account("creditwatch_provider_extra_usage_limit_usd")), None, "unlimited: absent");
    let asked = server.requests();
    assert_eq!(asked.len(), 1);
    assert!(asked[0].starts_with("GET /api/oauth/usage HTTP/1.1\r\n"), "{}", asked[0]);
    assert!(asked[0].contains(&format!("authorization: Bearer {TOKEN}\r\n")), "{}", asked[0]);
    assert!(asked[0].contains("anthropic-beta: oauth-2025-04-20\r\n"), "{}", asked[0]);

    // Ingestion: $0.006 booked against the balance in the provider's period.
    ingest(dir.path(), "m1");
    d.wait_metric(SERIES_SPEND, "0.006");

    // The flat form: an unknown window name, a limit, more spend.
    answer(&d, &server, Answer::json(&flat("41000.0", "")), "ok", 2);
    d.wait_metric(&account("creditwatch_provider_extra_usage_spent_usd"), "410");
    assert_figures(&d, "410", "1.564", "1");
    let scrape = d.scrape();
    assert_eq!(metric(&scrape, &account("creditwatch_provider_extra_usage_limit_usd")).as_deref(), Some("500"));
    assert_eq!(metric(&scrape, &window("creditwatch_plan_window_used_ratio", "nimbus_quill")).as_deref(), Some("0.07"));
    assert_eq!(metric(&scrape, &window("creditwatch_plan_window_used_ratio", "five_hour")).as_deref(), Some("0.2"));

    // limits[] only: windows, no money (the figures stay).
    let limits = r#"{"limits":[{"kind":"session","percent":25,"resets_at":"2099-07-19T03:39:59Z","scope":null},
        {"kind":"weekly_scoped","percent":90,"resets_at":"2099-07-23T14:59:59Z","scope":{"model":{"display_name":"Fable"}}}]}"#;
    answer(&d, &server, Answer::json(limits), "ok", 3);
    d.wait_metric(&window("creditwatch_plan_window_used_ratio", "weekly_fable"), "0.9");
    d.wait_metric(&window("creditwatch_plan_window_used_ratio", "five_hour"), "0.25");
    assert_figures(&d, "410", "1.564", "1");

    // Every window null: a good answer that says nothing new.
    answer(
        &d,
        &server,
        Answer::json(r#"{"five_hour":null,"seven_day":null,"seven_day_opus":null,"extra_usage":null,"limits":null}"#),
        "ok",
        4,
    );
    assert_figures(&d, "410", "1.564", "1");

    // Strings where numbers belong: refused whole, counted as an error.
    let strings = r#"{"five_hour":{"utilization":"30","resets_at":"2099-07-19T03:39:59Z"},"extra_usage":{"is_enabled":true,"used_credits":"99999","decimal_places":2}}"#;
    answer(&d, &server, Answer::json(strings), "error", 1);
    assert_figures(&d, "410", "1.564", "0");
    assert_eq!(metric(&d.scrape(), &window("creditwatch_plan_window_used_ratio", "five_hour")).as_deref(), Some("0.25"));
    assert_eq!(metric(&d.scrape(), &requests("ok")).as_deref(), Some("4"), "a refused answer is not ok");

    // used_credits with 3 and 0 decimal places.
    answer(&d, &server, Answer::json(&flat("410500", r#","currency":"USD","decimal_places":3"#)), "ok", 5);
    d.wait_metric(&account("creditwatch_provider_extra_usage_spent_usd"), "410.5");
    assert_figures(&d, "410.5", "2.064", "1");
    answer(&d, &server, Answer::json(&flat("411", r#","currency":"USD","decimal_places":0"#)), "ok", 6);
    d.wait_metric(&account("creditwatch_provider_extra_usage_spent_usd"), "411");
    assert_figures(&d, "411", "2.564", "1");

    // Refusals and failures: counted by outcome, nothing changes.
    answer(&d, &server, Answer::Http(401, vec!["Content-Type: application/json".into()], UNAUTHORIZED_BODY.into()), "unauthorized", 1);
    answer(&d, &server, Answer::Http(403, vec![], b"{}".to_vec()), "unauthorized", 2);
    answer(&d, &server, Answer::Http(429, vec!["Retry-After: 120".into()], b"{}".to_vec()), "throttled", 1);
    answer(&d, &server, Answer::Http(500, vec![], b"oops".to_vec()), "error", 2);
    answer(&d, &server, Answer::Http(200, vec![], b"<html>not json</html>".to_vec()), "error", 3);
    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(5 << 20));
    answer(&d, &server, Answer::json(&huge), "error", 4);
    assert_figures(&d, "411", "2.564", "0");
    // One that never answers: the daemon goes on ingesting meanwhile.
    server.set(Answer::Silent);
    repoll(&d);
    ingest(dir.path(), "m2");
    d.wait_metric(SERIES_SPEND, "0.012");
    d.wait_metric(&requests("error"), "5");
    assert_figures(&d, "411", "2.558", "0");
    let log = d.log();
    for want in ["answered 401: the token or key is not accepted", "answered 429: throttled", "no answer within 2s", "answer larger than"] {
        assert!(log.contains(want), "log lacks `{want}`:\n{log}");
    }
    assert_no_token(&d);

    // A restart replays to the same figures (the provider is down meanwhile).
    d.wait_metric(&account("creditwatch_balance_usd"), "49.988");
    server.set(Answer::Http(503, vec![], Vec::new()));
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));
    let d = Daemon::start(dir.path(), &text);
    d.wait_metric(&requests("error"), "1");
    assert_figures(&d, "411", "2.558", "0");
    let scrape = d.scrape();
    assert_eq!(metric(&scrape, &account("creditwatch_balance_usd")).as_deref(), Some("49.988"));
    assert_eq!(metric(&scrape, &window("creditwatch_plan_window_used_ratio", "weekly_fable")).as_deref(), Some("0.9"));
    assert_no_token(&d);
}

/// History entries of the ledger: (type, app or id, amount, balance after).
fn history(dir: &Path) -> Vec<String> {
    let out = Command::new(BIN).args(["ledger", "history", "--json", "--config"]).arg(dir.join("config.yaml")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let e = &r["entry"];
            let what = e["app"].as_str().or(e["id"].as_str()).unwrap_or("-");
            let amount = e["cost"].as_str().or(e["adjustment"].as_str()).or(e["balance"].as_str()).unwrap_or("-");
            format!("{} {what} {amount} -> {}", e["type"].as_str().unwrap_or("?"), r["balance_after_usd"].as_str().unwrap_or("?"))
        })
        .collect()
}

#[test]
fn reconcile_auto_follows_the_provider_and_books_each_observation_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("projects/p")).unwrap();
    std::fs::write(dir.path().join("claude.token"), TOKEN).unwrap();
    let server = ProviderServer::start(Answer::json(&captured()));
    let text = config(&server.url(), &format!("token_file: \"{}/claude.token\"", dir.path().display()), "auto");
    let d = Daemon::start(dir.path(), &text);
    d.wait_metric(&requests("ok"), "1");
    d.wait_metric(&account("creditwatch_provider_extra_usage_spent_usd"), "408.43");

    // Spend only: the unseen $1.57 is booked as app `unattributed`, twice asked, once booked.
    let unattributed = r#"creditwatch_spend_usd_total{account="personal",app="unattributed",model="unknown"}"#;
    answer(&d, &server, Answer::json(&flat("41000.0", "")), "ok", 2);
    d.wait_metric(unattributed, "1.57");
    answer(&d, &server, Answer::json(&flat("41000.0", "")), "ok", 3);
    assert_figures(&d, "410", "0", "1");
    assert_eq!(metric(&d.scrape(), unattributed).as_deref(), Some("1.57"));
    assert_eq!(metric(&d.scrape(), &account("creditwatch_balance_usd")).as_deref(), Some("48.43"));

    // A stated balance: the ledger follows it, once per observation.
    let balance = r#"{"spend":{"used":{"amount_minor":41000,"currency":"USD","exponent":2},"limit":null,"balance":{"amount_minor":4117,"currency":"USD","exponent":2},"enabled":true}}"#;
    answer(&d, &server, Answer::json(balance), "ok", 4);
    d.wait_metric(&account("creditwatch_balance_usd"), "41.17");
    answer(&d, &server, Answer::json(balance), "ok", 5);
    assert_eq!(metric(&d.scrape(), &account("creditwatch_provider_balance_usd")).as_deref(), Some("41.17"));
    let (_, body) = d.get("/api/v1/accounts").unwrap();
    let accounts: serde_json::Value = serde_json::from_str(&body).unwrap();
    let p = &accounts["accounts"][0]["provider"];
    let got = ["provider", "extra_usage_spent_usd", "extra_usage_limit_usd", "balance_usd", "unseen_spend_usd"].map(|k| p[k].to_string());
    assert_eq!(got, [r#""claude""#, r#""410""#, "null", r#""41.17""#, r#""0""#]);
    let want =
        ["opened - 50.00 -> 50", "debit unattributed 1.57 -> 48.43", "reconcile provider:claude:balance:41.17:spent:410 -7.26 -> 41.17"];
    assert_eq!(history(dir.path()), want);

    // A restart replays to the same balance and books nothing again.
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));
    let d = Daemon::start(dir.path(), &text);
    d.wait_metric(&requests("ok"), "1");
    let scrape = d.scrape();
    assert_eq!(metric(&scrape, &account("creditwatch_balance_usd")).as_deref(), Some("41.17"));
    assert_eq!(metric(&scrape, unattributed).as_deref(), Some("1.57"));
    drop(d);
    assert_eq!(history(dir.path()), want);
}

fn credentials(dir: &Path, token: &str, expires_at: chrono::DateTime<chrono::Utc>) {
    let text = format!(
        r#"{{"claudeAiOauth":{{"accessToken":"{token}","refreshToken":"sk-ant-ort01-REFRESH-never-shown","expiresAt":{},"scopes":["user:inference"],"subscriptionType":"max"}}}}"#,
        expires_at.timestamp_millis()
    );
    std::fs::write(dir.join(".credentials.json"), text).unwrap();
}

#[test]
fn an_expired_claude_code_login_makes_no_request_until_claude_code_renews_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("projects/p")).unwrap();
    let now = chrono::Utc::now();
    credentials(dir.path(), TOKEN, now - chrono::Duration::hours(1));
    let server = ProviderServer::start(Answer::json(&captured()));
    let mut text = config(&server.url(), &format!("credentials_file: \"{}/.credentials.json\"", dir.path().display()), "off");
    text.push_str("alerting:\n  evaluate_every: 1s\n");
    let d = Daemon::start(dir.path(), &text);
    wait_for("the expired-login log line", Duration::from_secs(20), || d.log().contains("open Claude Code once"));
    assert_eq!(metric(&d.scrape(), r#"creditwatch_provider_up{provider="claude"}"#).as_deref(), Some("0"));
    d.wait_metric(r#"creditwatch_alert_firing{account="personal",alert="ProviderDown"}"#, "1");
    assert!(server.requests().is_empty(), "no request with an expired token");

    let summary = Command::new(BIN).args(["check-config", "--config"]).arg(dir.path().join("config.yaml")).output().unwrap();
    let summary = String::from_utf8_lossy(&summary.stdout).to_string();
    assert!(summary.contains("\n  provider   claude (claude_oauth, account personal, every 1m, reconcile off)\n"), "{summary}");

    // `providers check` says so too, exit 1, no secret.
    let check = || Command::new(BIN).args(["providers", "check", "--config"]).arg(dir.path().join("config.yaml")).output().unwrap();
    let out = check();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.starts_with("provider claude (claude_oauth, account personal): FAILED: the Claude Code login in "), "{stdout}");
    assert!(!stdout.contains(TOKEN) && !String::from_utf8_lossy(&out.stderr).contains(TOKEN));

    // Claude Code renews its token: the next poll reads it.
    let renewed = "sk-ant-oat01-RENEWED-never-shown-77";
    credentials(dir.path(), renewed, now + chrono::Duration::hours(8));
    repoll(&d);
    d.wait_metric(&requests("ok"), "1");
    d.wait_metric(&account("creditwatch_provider_extra_usage_spent_usd"), "408.43");
    wait_for("ProviderDown to resolve", Duration::from_secs(20), || {
        metric(&d.scrape(), r#"creditwatch_alert_firing{account="personal",alert="ProviderDown"}"#).is_none()
    });
    assert!(server.requests()[0].contains(&format!("authorization: Bearer {renewed}\r\n")));
    let out = check();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let want = "provider claude (claude_oauth, account personal): ok\n  windows      five_hour 15% (resets 2099-07-19 03:39 UTC), seven_day 48% (resets 2099-07-23 14:59 UTC), weekly_fable 81% (resets 2099-07-23 14:59 UTC)\n  extra usage  $408.43 spent of no limit\n";
    assert!(stdout.starts_with(want), "{stdout}");
    assert!(stdout.contains("  gap          $0 unseen (provider $0 since the baseline $408.43"), "{stdout}");
    assert!(!stdout.contains(renewed) && !d.log().contains(renewed) && !d.log().contains("REFRESH"));
    assert_no_token(&d);
}
