//! The daemon pages by itself: an agent burning money (lines with recent
//! timestamps) makes AgentRunaway fire at a real webhook receiver and
//! resolve when the spend leaves the 5m window; a reconcile to a low balance
//! makes CreditBalanceLow fire. Top-up API errors are checked on the way.

mod alerting_support;
mod common;

use std::time::Duration;

use alerting_support::{Reply, TestReceiver};
use chrono::{SecondsFormat, Utc};
use common::*;

const TOKEN: &str = "test-admin-token-0123456789";

/// Opus 4.1, 20,000 output tokens: $1.50 (plus 1000 input: $0.015).
fn expensive_line(id: &str, at: chrono::DateTime<Utc>) -> String {
    assistant_line(id, 20_000, &at.to_rfc3339_opts(SecondsFormat::Secs, true))
        .replace("claude-haiku-4-5-20251001", "claude-opus-4-1-20250805")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runaway_fires_and_resolves_and_low_balance_pages() {
    let receiver = TestReceiver::start(vec![Reply::Status(500)]).await;
    let dir = tempfile::tempdir().unwrap();
    let projects = dir.path().join("projects/-w");
    std::fs::create_dir_all(&projects).unwrap();
    std::fs::write(dir.path().join("token"), TOKEN).unwrap();
    let config = format!(
        "{FOLLOW_CONFIG}admin_token_file: \"{{dir}}/token\"\nalerting:\n  evaluate_every: \"200ms\"\n  repeat_every: \"1h\"\n  low_balance_usd: \"10\"\n  runaway_usd_per_hour: \"15\"\n  runaway_for: \"1s\"\n  delivery: {{ retry_base: \"50ms\", retry_max: \"200ms\", max_attempts: 5 }}\n  receivers:\n    - {{ name: oncall, type: webhook, url: \"{}\" }}\n",
        receiver.url("/hook")
    );
    let d = tokio::task::block_in_place(|| Daemon::start(dir.path(), &config));

    // $6.06 of Opus spend stamped 4m40s ago: $72.72/h over 5m, 20 s before
    // it leaves the window.
    let at = Utc::now() - chrono::Duration::seconds(280);
    let lines: String = (0..4).map(|i| expensive_line(&format!("x{i}"), at)).collect();
    append(&projects.join("s.jsonl"), &lines);

    // The receiver answers 500 once: the retry delivers the same alert.
    let firing = receiver.wait_for(2, Duration::from_secs(20)).await;
    assert_eq!(firing[0].body, firing[1].body);
    let body = &firing[1].body;
    assert_eq!(firing[1].path, "/hook");
    assert_eq!(body["status"], "firing");
    let alert = &body["alerts"][0];
    assert_eq!(alert["labels"]["alertname"], "AgentRunaway");
    assert_eq!(alert["labels"]["account"], "personal");
    assert_eq!(alert["labels"]["app"], "claude-code");
    assert_eq!(alert["labels"]["model"], "claude-opus-4-1-20250805");
    tokio::task::block_in_place(|| {
        d.wait_metric(r#"creditwatch_alert_firing{account="personal",alert="AgentRunaway"}"#, "1");
        d.wait_metric(r#"creditwatch_notifications_total{outcome="failed",receiver="oncall"}"#, "1");
        d.wait_metric(r#"creditwatch_notifications_total{outcome="sent",receiver="oncall"}"#, "1");
        d.wait_metric(r#"creditwatch_balance_usd{account="personal"}"#, "43.94");
    });

    // The spend leaves the 5m window: resolved.
    let all = receiver.wait_for(3, Duration::from_secs(40)).await;
    assert_eq!(all[2].body["status"], "resolved");
    assert_eq!(all[2].body["alerts"][0]["labels"]["alertname"], "AgentRunaway");

    // Admin API: no token 401, wrong token 403, bad JSON 400, then a
    // reconcile to $5.00 makes CreditBalanceLow fire.
    let post = |path: &str, auth: Option<&str>, body: &str| {
        let bearer = auth.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = bearer.iter().map(|b| ("Authorization", b.as_str())).collect();
        http(d.port, "POST", path, &headers, body).expect("a response")
    };
    tokio::task::block_in_place(|| {
        assert_eq!(post("/api/v1/accounts/personal/reconcile", None, "{}").0, 401);
        assert_eq!(post("/api/v1/accounts/personal/reconcile", Some("wrong-token-wrong-token"), "{}").0, 403);
        assert_eq!(post("/api/v1/accounts/personal/reconcile", Some(TOKEN), "{not json").0, 400);
        let (status, body) = post("/api/v1/accounts/personal/reconcile", Some(TOKEN), r#"{"id":"r-1","balance_usd":"5.00"}"#);
        assert_eq!(status, 201, "{body}");
    });
    let all = receiver.wait_for(4, Duration::from_secs(20)).await;
    let low = &all[3].body["alerts"][0];
    assert_eq!(low["labels"]["alertname"], "CreditBalanceLow");
    assert_eq!(low["labels"]["account"], "personal");
    assert_eq!(all[3].body["status"], "firing");
}
