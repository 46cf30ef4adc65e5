//! Delivery to real HTTP receivers on 127.0.0.1: retries and counters, a
//! hanging receiver, and the bodies of each receiver type checked against
//! their documented schemas.

mod alerting_support;

use std::path::Path;
use std::time::Duration;

use alerting_support::{eventually, Reply, TestReceiver};
use chrono::{DateTime, Utc};
use creditwatch::alerting::{AccountInput, AlertInputs, Alerting, AlertingConfig, Status};
use rust_decimal::Decimal;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);

fn config(receivers: &str) -> AlertingConfig {
    let yaml = format!(
        "low_balance_usd: \"10\"\nexternal_url: \"http://creditwatch.test:9947\"\n\
         delivery: {{ retry_base: 10ms, retry_max: 40ms, timeout: 30s, max_attempts: 5 }}\nreceivers:\n{receivers}"
    );
    serde_yaml_ng::from_str(&yaml).unwrap()
}

fn start(config: &AlertingConfig, state_dir: &Path) -> Alerting {
    Alerting::start(config, chrono_tz::UTC, state_dir, "http://127.0.0.1:9947").unwrap()
}

fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn balance(now: &str, usd: &str) -> AlertInputs {
    let account = AccountInput {
        name: "personal".into(),
        balance: usd.parse::<Decimal>().unwrap(),
        runway_seconds: f64::INFINITY,
        account_burn_5m_usd_per_hour: 0.0,
        reload_usd_this_month: Decimal::ZERO,
        reload_cap_usd: None,
        cap_reached_this_month: false,
    };
    AlertInputs { now: t(now), accounts: vec![account], burn: vec![], sources: vec![], plan_windows: vec![], providers: vec![] }
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort();
    k
}

#[tokio::test]
async fn a_receiver_failing_three_times_gets_the_alert_once() {
    let receiver = TestReceiver::start(vec![Reply::Status(500), Reply::Status(500), Reply::Status(503)]).await;
    let state = tempfile::tempdir().unwrap();
    let config = config(&format!("  - {{ name: oncall, type: webhook, url: \"{}\" }}\n", receiver.url("/hook")));
    let mut alerting = start(&config, state.path());
    let sent = alerting.evaluate(&balance("2026-11-25T12:00:00Z", "4.2"));
    assert_eq!(sent.len(), 1);
    let got = receiver.wait_for(4, WAIT).await;
    let counts = alerting.counts().clone();
    eventually(WAIT, "sent = 1", || counts.sent("oncall") == 1).await;
    assert_eq!(counts.failed("oncall"), 3);
    assert_eq!(receiver.requests().len(), 4);
    // Every attempt carried the same notification.
    assert!(got.iter().all(|r| r.body == got[0].body && r.path == "/hook" && r.method == "POST"));
    assert_eq!(got[0].content_type, "application/json");

    let body = &got[0].body;
    let alert = &body["alerts"][0];
    let labels = json!({"account": "personal", "alertname": "CreditBalanceLow", "severity": "warning"});
    let annotations = json!({
        "summary": "Credit balance of personal is low",
        "description": "CreditBalanceLow (account=personal): $4.20, threshold $10.00",
        "value": "$4.20",
        "threshold": "$10.00",
    });
    assert_eq!(
        keys(body),
        [
            "alerts",
            "commonAnnotations",
            "commonLabels",
            "externalURL",
            "groupKey",
            "groupLabels",
            "receiver",
            "status",
            "truncatedAlerts",
            "version"
        ]
    );
    assert_eq!(body["version"], "4");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["receiver"], "oncall");
    assert_eq!(body["groupLabels"], json!({"alertname": "CreditBalanceLow"}));
    assert_eq!(body["commonLabels"], labels);
    assert_eq!(body["commonAnnotations"], annotations);
    assert_eq!(body["externalURL"], "http://creditwatch.test:9947");
    assert_eq!(body["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(keys(alert), ["annotations", "endsAt", "fingerprint", "generatorURL", "labels", "startsAt", "status"]);
    assert_eq!(alert["status"], "firing");
    assert_eq!(alert["labels"], labels);
    assert_eq!(alert["annotations"], annotations);
    assert_eq!(alert["startsAt"], "2026-11-25T12:00:00Z");
    assert_eq!(alert["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(alert["generatorURL"], "http://creditwatch.test:9947");
    assert_eq!(alert["fingerprint"].as_str().unwrap().len(), 16);

    // The resolve carries its end time.
    alerting.evaluate(&balance("2026-11-25T12:05:00Z", "30"));
    let got = receiver.wait_for(5, WAIT).await;
    assert_eq!(got[4].body["status"], "resolved");
    assert_eq!(got[4].body["alerts"][0]["endsAt"], "2026-11-25T12:05:00Z");
    assert_eq!(got[4].body["alerts"][0]["fingerprint"], alert["fingerprint"]);
    eventually(WAIT, "sent = 2", || counts.sent("oncall") == 2).await;
    alerting.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_client_error_is_not_retried_and_max_attempts_bounds_retries() {
    let rejecting = TestReceiver::start_then(vec![], Reply::Status(400)).await;
    let down = TestReceiver::start_then(vec![], Reply::Status(502)).await;
    let state = tempfile::tempdir().unwrap();
    let config = config(&format!(
        "  - {{ name: bad, type: webhook, url: \"{}\" }}\n  - {{ name: down, type: slack, url: \"{}\" }}\n",
        rejecting.url("/"),
        down.url("/")
    ));
    let mut alerting = start(&config, state.path());
    alerting.evaluate(&balance("2026-11-25T12:00:00Z", "1"));
    down.wait_for(5, WAIT).await;
    let counts = alerting.counts().clone();
    eventually(WAIT, "5 failed attempts", || counts.failed("down") == 5).await;
    eventually(WAIT, "1 failed attempt", || counts.failed("bad") == 1).await;
    assert_eq!((counts.sent("bad"), counts.sent("down")), (0, 0));
    // A later notification still goes to each: nothing is stuck.
    alerting.evaluate(&balance("2026-11-25T12:01:00Z", "50"));
    rejecting.wait_for(2, WAIT).await;
    down.wait_for(6, WAIT).await;
    assert_eq!(rejecting.requests().len(), 2);
    alerting.shutdown(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn a_hanging_receiver_does_not_delay_another() {
    let hanging = TestReceiver::start_then(vec![], Reply::Hang).await;
    let healthy = TestReceiver::start(vec![]).await;
    let state = tempfile::tempdir().unwrap();
    let config = config(&format!(
        "  - {{ name: stuck, type: webhook, url: \"{}\" }}\n  - {{ name: chat, type: slack, url: \"{}\" }}\n",
        hanging.url("/hook"),
        healthy.url("/slack")
    ));
    let mut alerting = start(&config, state.path());
    alerting.evaluate(&balance("2026-11-25T12:00:00Z", "4.2"));
    alerting.evaluate(&balance("2026-11-25T12:01:00Z", "-0.5"));
    let got = healthy.wait_for(2, WAIT).await;
    // The stuck receiver has its first request and has not answered it.
    assert_eq!(hanging.wait_for(1, WAIT).await.len(), 1);
    let counts = alerting.counts();
    assert_eq!((counts.sent("stuck"), counts.failed("stuck")), (0, 0));
    eventually(WAIT, "chat sent = 2", || counts.sent("chat") == 2).await;
    assert_eq!(
        got[0].body,
        json!({"text": "[FIRING] CreditBalanceLow (warning) account=personal\nCredit balance of personal is low\nnow: $4.20 (threshold $10.00) at 2026-11-25T12:00:00Z"})
    );
    assert_eq!(
        got[1].body["text"],
        "[FIRING] CreditBalanceExhausted (critical) account=personal\n\
         Credit balance of personal is exhausted: third-party requests are being rejected\n\
         now: -$0.50 (threshold $0.00) at 2026-11-25T12:01:00Z"
    );
    assert_eq!(hanging.requests().len(), 1);
    alerting.shutdown(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn pagerduty_events_follow_the_events_api_v2() {
    let pd = TestReceiver::start_then(vec![], Reply::Status(202)).await;
    let state = tempfile::tempdir().unwrap();
    let key_file = state.path().join("pd.key");
    std::fs::write(&key_file, "0123456789abcdef0123456789abcdef\n").unwrap();
    let config = config(&format!(
        "  - {{ name: pager, type: pagerduty, url: \"{}\", routing_key_file: \"{}\" }}\n",
        pd.url("/v2/enqueue"),
        key_file.display()
    ));
    let mut alerting = start(&config, state.path());
    alerting.evaluate(&balance("2026-11-25T12:00:00Z", "0"));
    let resolved = alerting.evaluate(&balance("2026-11-25T12:10:00Z", "25"));
    assert!(resolved.iter().all(|n| n.status == Status::Resolved) && resolved.len() == 2);
    let got = pd.wait_for(4, WAIT).await;
    assert!(got.iter().all(|r| r.path == "/v2/enqueue" && r.method == "POST" && r.content_type == "application/json"));

    // Triggers, in label order: CreditBalanceExhausted, then CreditBalanceLow.
    let trigger = &got[0].body;
    assert_eq!(keys(trigger), ["client", "client_url", "dedup_key", "event_action", "payload", "routing_key"]);
    assert_eq!(trigger["routing_key"], "0123456789abcdef0123456789abcdef");
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["dedup_key"], "creditwatch:CreditBalanceExhausted:personal");
    assert_eq!(trigger["client"], "creditwatch");
    assert_eq!(trigger["client_url"], "http://creditwatch.test:9947");
    let payload = &trigger["payload"];
    assert_eq!(keys(payload), ["class", "custom_details", "group", "severity", "source", "summary", "timestamp"]);
    assert_eq!(
        payload["summary"],
        "Credit balance of personal is exhausted: third-party requests are being rejected: $0.00 (threshold $0.00)"
    );
    assert!(!payload["source"].as_str().unwrap().is_empty());
    // The documented severities are critical, error, warning and info.
    assert_eq!(payload["severity"], "critical");
    assert_eq!(got[1].body["payload"]["severity"], "warning");
    assert_eq!(payload["timestamp"], "2026-11-25T12:00:00Z");
    assert_eq!(payload["class"], "CreditBalanceExhausted");
    assert_eq!(payload["group"], "personal");
    assert_eq!(
        payload["custom_details"],
        json!({
            "account": "personal", "alertname": "CreditBalanceExhausted", "severity": "critical",
            "value": "$0.00", "threshold": "$0.00", "firing_since": "2026-11-25T12:00:00Z",
            "description": "CreditBalanceExhausted (account=personal): $0.00, threshold $0.00",
        })
    );
    assert_eq!(got[1].body["dedup_key"], "creditwatch:CreditBalanceLow:personal");

    // Resolves carry only what the API needs, with the trigger's dedup_key.
    for (resolve, trigger) in [(&got[2].body, &got[0].body), (&got[3].body, &got[1].body)] {
        assert_eq!(keys(resolve), ["dedup_key", "event_action", "routing_key"]);
        assert_eq!(resolve["event_action"], "resolve");
        assert_eq!(resolve["dedup_key"], trigger["dedup_key"]);
        assert_eq!(resolve["routing_key"], "0123456789abcdef0123456789abcdef");
    }
    let counts = alerting.counts().clone();
    eventually(WAIT, "sent = 4", || counts.sent("pager") == 4).await;
    alerting.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn alertmanager_gets_postable_alerts_and_periodic_refreshes() {
    let am = TestReceiver::start(vec![]).await;
    let state = tempfile::tempdir().unwrap();
    // `send_resolved: false` does not apply: Alertmanager must hear of the end.
    let config = config(&format!("  - {{ name: am, type: alertmanager, url: \"{}/\", send_resolved: false }}\n", am.url("")));
    let mut alerting = start(&config, state.path());
    alerting.evaluate(&balance("2026-11-25T12:00:00Z", "4.2"));
    let got = am.wait_for(1, WAIT).await;
    assert_eq!(got[0].path, "/api/v2/alerts");
    let firing = &got[0].body;
    assert_eq!(firing.as_array().unwrap().len(), 1);
    let alert = &firing[0];
    // postableAlert: labels (required), annotations, startsAt, endsAt, generatorURL.
    assert_eq!(keys(alert), ["annotations", "endsAt", "generatorURL", "labels", "startsAt"]);
    assert_eq!(alert["labels"], json!({"account": "personal", "alertname": "CreditBalanceLow", "severity": "warning"}));
    assert_eq!(alert["annotations"]["value"], "$4.20");
    assert_eq!(alert["annotations"]["threshold"], "$10.00");
    assert_eq!(alert["startsAt"], "2026-11-25T12:00:00Z");
    // Firing: ends in the future, 4 refresh intervals away.
    assert_eq!(alert["endsAt"], "2026-11-25T12:04:00Z");
    assert_eq!(alert["generatorURL"], "http://creditwatch.test:9947");

    // Nothing new for 59 s; at 60 s the firing alert is posted again.
    alerting.evaluate(&balance("2026-11-25T12:00:59Z", "4.2"));
    alerting.evaluate(&balance("2026-11-25T12:01:00Z", "4.1"));
    let got = am.wait_for(2, WAIT).await;
    assert_eq!(got[1].body[0]["labels"], alert["labels"]);
    assert_eq!(got[1].body[0]["annotations"]["value"], "$4.10");
    assert_eq!(got[1].body[0]["startsAt"], "2026-11-25T12:00:00Z");
    assert_eq!(got[1].body[0]["endsAt"], "2026-11-25T12:05:00Z");

    // Resolved: endsAt is the resolve time, now.
    alerting.evaluate(&balance("2026-11-25T12:01:30Z", "40"));
    let got = am.wait_for(3, WAIT).await;
    assert_eq!(got[2].body[0]["labels"], alert["labels"]);
    assert_eq!(got[2].body[0]["endsAt"], "2026-11-25T12:01:30Z");
    let counts = alerting.counts().clone();
    eventually(WAIT, "sent = 3", || counts.sent("am") == 3).await;
    assert_eq!(am.requests().len(), 3);
    alerting.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_full_queue_drops_the_oldest_and_evaluate_never_waits() {
    let hanging = TestReceiver::start_then(vec![], Reply::Hang).await;
    let state = tempfile::tempdir().unwrap();
    let yaml = format!(
        "low_balance_usd: \"10\"\ndelivery: {{ queue_capacity: 2, timeout: 60s }}\nreceivers:\n  - {{ name: stuck, type: webhook, url: \"{}\" }}\n",
        hanging.url("/hook")
    );
    let config: AlertingConfig = serde_yaml_ng::from_str(&yaml).unwrap();
    let mut alerting = start(&config, state.path());
    alerting.evaluate(&balance("2026-11-25T12:00:00Z", "4"));
    // The first notification is in flight (and hangs); the queue is empty.
    hanging.wait_for(1, WAIT).await;
    // Low -> resolved -> Low -> resolved: four more, two fit.
    for (i, usd) in ["50", "4", "50", "4"].iter().enumerate() {
        let started = std::time::Instant::now();
        assert_eq!(alerting.evaluate(&balance(&format!("2026-11-25T12:0{}:00Z", i + 1), usd)).len(), 1);
        // The receiver hangs for 60 s: anything near that means evaluate waited.
        assert!(started.elapsed() < Duration::from_secs(5), "evaluate waited on the receiver");
    }
    assert_eq!(alerting.dropped("stuck"), 2);
    assert_eq!(hanging.requests().len(), 1);
    alerting.shutdown(Duration::from_millis(100)).await;
}
