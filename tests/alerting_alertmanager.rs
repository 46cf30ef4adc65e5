//! Against a real Alertmanager (Debian's `prometheus-alertmanager`): it
//! accepts what the `alertmanager` receiver posts, shows the alert with the
//! same fingerprint, resolves it on our `endsAt`, and its own webhook bodies
//! have exactly the fields of the ones our `webhook` receiver sends.
//!
//! Skipped, with a message, when no Alertmanager binary is installed
//! (`scripts/test` installs it).

mod alerting_support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use alerting_support::{eventually, TestReceiver};
use chrono::Utc;
use creditwatch::alerting::{payload, AccountInput, AlertInputs, Alerting, AlertingConfig};
use rust_decimal::Decimal;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);

/// Stops the Alertmanager this test started, by its own handle.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn binary() -> Option<&'static str> {
    ["prometheus-alertmanager", "alertmanager"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn inputs(balance: &str) -> AlertInputs {
    let account = AccountInput {
        name: "personal".into(),
        balance: balance.parse::<Decimal>().unwrap(),
        runway_seconds: f64::INFINITY,
        account_burn_5m_usd_per_hour: 0.0,
        reload_usd_this_month: Decimal::ZERO,
        reload_cap_usd: None,
        cap_reached_this_month: false,
    };
    // Alertmanager judges endsAt by its own clock: use the real one.
    AlertInputs { now: Utc::now(), accounts: vec![account], burn: vec![], sources: vec![], plan_windows: vec![], providers: vec![] }
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

async fn get_alerts(client: &reqwest::Client, base: &str) -> Vec<Value> {
    let body: Value = client.get(format!("{base}/api/v2/alerts")).send().await.unwrap().json().await.unwrap();
    body.as_array().unwrap().clone()
}

#[tokio::test]
async fn a_real_alertmanager_accepts_our_alerts_and_resolves_them() {
    let Some(binary) = binary() else {
        eprintln!("SKIPPED: no prometheus-alertmanager or alertmanager binary on PATH");
        return;
    };
    let hook = TestReceiver::start(vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let am_config = dir.path().join("alertmanager.yml");
    std::fs::write(
        &am_config,
        format!(
            "route:\n  receiver: hook\n  group_by: [alertname, account]\n  group_wait: 10ms\n  group_interval: 100ms\n  repeat_interval: 1h\n\
             receivers:\n  - name: hook\n    webhook_configs:\n      - url: \"{}\"\n        send_resolved: true\n",
            hook.url("/am-hook")
        ),
    )
    .unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _am = Running(
        Command::new(binary)
            .arg(format!("--config.file={}", am_config.display()))
            .arg(format!("--storage.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if client.get(format!("{base}/-/ready")).send().await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "Alertmanager did not become ready at {base}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let yaml = format!("low_balance_usd: \"10\"\nexternal_url: \"http://creditwatch.test:9947\"\nreceivers:\n  - {{ name: am, type: alertmanager, url: \"{base}\" }}\n");
    let config: AlertingConfig = serde_yaml_ng::from_str(&yaml).unwrap();
    let mut alerting = Alerting::start(&config, chrono_tz::UTC, dir.path(), "http://127.0.0.1:9947").unwrap();
    let fired = alerting.evaluate(&inputs("4.2"));
    let counts = alerting.counts().clone();
    // A 2xx: Alertmanager validated the body against its API schema.
    eventually(WAIT, "Alertmanager accepted the alert", || counts.sent("am") == 1).await;
    assert_eq!(counts.failed("am"), 0);

    let alerts = get_alerts(&client, &base).await;
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(a["labels"]["alertname"], "CreditBalanceLow");
    assert_eq!(a["labels"]["account"], "personal");
    assert_eq!(a["annotations"]["value"], "$4.20");
    assert_eq!(a["status"]["state"], "active");
    assert_eq!(a["generatorURL"], "http://creditwatch.test:9947");
    assert_eq!(a["fingerprint"], fired[0].alert.fingerprint().as_str());

    // Alertmanager's own webhook body has exactly the fields ours has.
    let got = hook.wait_for(1, WAIT).await;
    let theirs = &got[0].body;
    let ours = payload::webhook("hook", "http://creditwatch.test:9947", &fired[0]);
    assert_eq!(keys(theirs), keys(&ours));
    assert_eq!(keys(&theirs["alerts"][0]), keys(&ours["alerts"][0]));
    assert_eq!(theirs["version"], ours["version"]);
    assert_eq!(theirs["status"], "firing");
    assert_eq!(theirs["alerts"][0]["fingerprint"], ours["alerts"][0]["fingerprint"]);
    assert_eq!(theirs["alerts"][0]["labels"], ours["alerts"][0]["labels"]);
    assert_eq!(theirs["alerts"][0]["annotations"], ours["alerts"][0]["annotations"]);
    assert_eq!(theirs["commonLabels"], ours["commonLabels"]);

    // Resolved on our endsAt, and Alertmanager passes the resolve on.
    let resolved = alerting.evaluate(&inputs("50"));
    assert_eq!(resolved.len(), 1);
    eventually(WAIT, "resolve accepted", || counts.sent("am") == 2).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got = hook.wait_for(hook.requests().len() + 1, deadline - tokio::time::Instant::now()).await;
        if got.last().is_some_and(|r| r.body["status"] == "resolved") {
            assert_eq!(got.last().unwrap().body["alerts"][0]["fingerprint"], ours["alerts"][0]["fingerprint"]);
            break;
        }
    }
    let left = get_alerts(&client, &base).await;
    assert!(left.iter().all(|a| a["status"]["state"] != "active"), "{left:#?}");
    alerting.shutdown(Duration::from_secs(1)).await;
}
