//! Alert state across a restart: a still-firing alert is not sent again
//! before `repeat_every`, one that cleared while the daemon was down gets
//! its resolve, and the state file is what the next start reads.

mod alerting_support;

use std::time::Duration;

use alerting_support::{eventually, TestReceiver};
use chrono::{DateTime, Utc};
use creditwatch::alerting::{AccountInput, AlertInputs, AlertStore, Alerting, AlertingConfig, Status};
use rust_decimal::Decimal;

const WAIT: Duration = Duration::from_secs(10);

fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn account(name: &str, balance: &str) -> AccountInput {
    AccountInput {
        name: name.into(),
        balance: balance.parse::<Decimal>().unwrap(),
        runway_seconds: f64::INFINITY,
        account_burn_5m_usd_per_hour: 0.0,
        reload_usd_this_month: Decimal::ZERO,
        reload_cap_usd: None,
        cap_reached_this_month: false,
    }
}

fn inputs(now: &str, accounts: Vec<AccountInput>) -> AlertInputs {
    AlertInputs { now: t(now), accounts, burn: vec![], sources: vec![], plan_windows: vec![], providers: vec![] }
}

/// (status, alertname, account) of each request the receiver got.
fn seen(receiver: &TestReceiver) -> Vec<(String, String, String)> {
    receiver
        .requests()
        .iter()
        .map(|r| {
            let a = &r.body["alerts"][0];
            let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
            (s(&a["status"]), s(&a["labels"]["alertname"]), s(&a["labels"]["account"]))
        })
        .collect()
}

fn row(status: &str, alert: &str, account: &str) -> (String, String, String) {
    (status.into(), alert.into(), account.into())
}

#[tokio::test]
async fn a_restart_neither_repages_nor_loses_a_resolve() {
    let receiver = TestReceiver::start(vec![]).await;
    let state = tempfile::tempdir().unwrap();
    let yaml = format!(
        "low_balance_usd: \"10\"\nrepeat_every: 4h\ndelivery: {{ retry_base: 10ms, retry_max: 40ms }}\n\
         receivers:\n  - {{ name: oncall, type: webhook, url: \"{}\" }}\n",
        receiver.url("/hook")
    );
    let config: AlertingConfig = serde_yaml_ng::from_str(&yaml).unwrap();

    let mut first = Alerting::start(&config, chrono_tz::UTC, state.path(), "http://127.0.0.1:9947").unwrap();
    let fired = first.evaluate(&inputs("2026-11-25T12:00:00Z", vec![account("personal", "4"), account("work", "3")]));
    assert_eq!(fired.len(), 2);
    receiver.wait_for(2, WAIT).await;
    let counts = first.counts().clone();
    eventually(WAIT, "both sent", || counts.sent("oncall") == 2).await;
    first.shutdown(Duration::from_secs(1)).await;
    let saved = AlertStore::new(state.path()).load().unwrap();
    assert_eq!(saved.iter().map(|f| f.alert.label("account")).collect::<Vec<_>>(), ["personal", "work"]);
    assert!(saved.iter().all(|f| f.last_sent == t("2026-11-25T12:00:00Z")));

    // Down for an hour; `work` was topped up meanwhile.
    let mut second = Alerting::start(&config, chrono_tz::UTC, state.path(), "http://127.0.0.1:9947").unwrap();
    assert_eq!(second.firing(), [("CreditBalanceLow".to_string(), "personal".to_string()), ("CreditBalanceLow".into(), "work".into())]);
    let after = second.evaluate(&inputs("2026-11-25T13:00:00Z", vec![account("personal", "4"), account("work", "50")]));
    assert_eq!(after.len(), 1);
    assert_eq!((after[0].status, after[0].alert.label("account")), (Status::Resolved, "work"));
    receiver.wait_for(3, WAIT).await;
    let counts = second.counts().clone();
    eventually(WAIT, "resolve sent", || counts.sent("oncall") == 1).await;
    assert_eq!(
        seen(&receiver),
        [
            row("firing", "CreditBalanceLow", "personal"),
            row("firing", "CreditBalanceLow", "work"),
            row("resolved", "CreditBalanceLow", "work")
        ]
    );
    assert_eq!(second.firing(), [("CreditBalanceLow".to_string(), "personal".to_string())]);

    // The repeat comes 4h after the send before the restart, not after the restart.
    assert!(second.evaluate(&inputs("2026-11-25T15:59:59Z", vec![account("personal", "4")])).is_empty());
    let repeat = second.evaluate(&inputs("2026-11-25T16:00:00Z", vec![account("personal", "4")]));
    assert_eq!(repeat.len(), 1);
    assert!(repeat[0].repeat);
    let got = receiver.wait_for(4, WAIT).await;
    assert_eq!(got[3].body["alerts"][0]["startsAt"], "2026-11-25T12:00:00Z");
    assert_eq!(receiver.requests().len(), 4);
    second.shutdown(Duration::from_secs(1)).await;
    let saved = AlertStore::new(state.path()).load().unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].last_sent, t("2026-11-25T16:00:00Z"));
}

#[tokio::test]
async fn an_unreadable_state_file_starts_empty_instead_of_failing() {
    let state = tempfile::tempdir().unwrap();
    std::fs::write(state.path().join("alerts.json"), "not json").unwrap();
    let config: AlertingConfig = serde_yaml_ng::from_str("low_balance_usd: 10\n").unwrap();
    let mut alerting = Alerting::start(&config, chrono_tz::UTC, state.path(), "http://127.0.0.1:9947").unwrap();
    assert!(alerting.firing().is_empty());
    assert_eq!(alerting.evaluate(&inputs("2026-11-25T12:00:00Z", vec![account("personal", "4")])).len(), 1);
    // The first change rewrites the file whole.
    assert_eq!(AlertStore::new(state.path()).load().unwrap().len(), 1);
}
