//! From booked costs to a page: an agent spending $0.10 every 15 s ($24/h)
//! goes through `BurnRates`, the runway and the rules, with an injected
//! clock ticking every `evaluate_every`, into a real webhook receiver.

mod alerting_support;

use std::time::Duration;

use alerting_support::TestReceiver;
use chrono::{DateTime, Utc};
use creditwatch::alerting::{AccountInput, AlertInputs, Alerting, AlertingConfig, SeriesBurn, Status};
use creditwatch::live::burn::{runway_seconds, BurnConfig, BurnRates, SeriesKey, WINDOW_1H, WINDOW_5M};
use creditwatch::usage::money;
use rust_decimal::Decimal;

const WAIT: Duration = Duration::from_secs(10);

fn inputs(now: DateTime<Utc>, burn: &mut BurnRates, balance: Decimal) -> AlertInputs {
    let snap = burn.rates(now);
    let series = SeriesBurn::from_snapshot(&snap);
    let account = AccountInput {
        name: "personal".into(),
        balance,
        runway_seconds: runway_seconds(balance, snap.account_rate("personal", WINDOW_1H), None),
        account_burn_5m_usd_per_hour: snap.account_rate("personal", WINDOW_5M),
        reload_usd_this_month: Decimal::ZERO,
        reload_cap_usd: None,
        cap_reached_this_month: false,
    };
    AlertInputs { now, accounts: vec![account], burn: series, sources: vec![], plan_windows: vec![], providers: vec![] }
}

#[tokio::test]
async fn an_agent_burning_24_usd_an_hour_pages_after_runaway_for_and_resolves_when_it_stops() {
    let receiver = TestReceiver::start(vec![]).await;
    let state = tempfile::tempdir().unwrap();
    let yaml = format!(
        "evaluate_every: 15s\nrunaway_usd_per_hour: 15\nrunaway_for: 2m\n\
         receivers:\n  - {{ name: oncall, type: webhook, url: \"{}\" }}\n",
        receiver.url("/hook")
    );
    let config: AlertingConfig = serde_yaml_ng::from_str(&yaml).unwrap();
    let mut alerting = Alerting::start(&config, chrono_tz::UTC, state.path(), "http://127.0.0.1:9947").unwrap();
    let mut burn = BurnRates::new(&BurnConfig::default());
    let key = SeriesKey { account: "personal".into(), app: "claude-code".into(), model: "claude-opus-4-5".into() };
    let t0 = DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z").unwrap().with_timezone(&Utc);
    let mut balance = money::parse("500").unwrap();
    let mut log = Vec::new();
    // Ticks every 15 s for 10 minutes; the agent spends on ticks 0..=20.
    for tick in 0..=40i64 {
        let now = t0 + chrono::Duration::seconds(15 * tick);
        if tick <= 20 {
            let cost = money::parse("0.10").unwrap();
            burn.record(now, &key, now, cost);
            balance -= cost;
        }
        for n in alerting.evaluate(&inputs(now, &mut burn, balance)) {
            log.push((tick * 15, n.status, n.alert.name().to_string(), n.alert.value.clone()));
        }
    }
    // 13 events in 5m ($15.60/h) first pass $15/h at 180 s; 2 minutes later it
    // fires. After the last event at 300 s the window thins out until 420 s,
    // when 12 events ($14.40/h) remain.
    assert_eq!(
        log,
        [
            (300, Status::Firing, "AgentRunaway".to_string(), "$24.00/h".to_string()),
            (420, Status::Resolved, "AgentRunaway".into(), "$15.60/h".into())
        ]
    );
    let got = receiver.wait_for(2, WAIT).await;
    let labels = &got[0].body["alerts"][0]["labels"];
    assert_eq!(labels["app"], "claude-code");
    assert_eq!(labels["model"], "claude-opus-4-5");
    assert_eq!(got[1].body["status"], "resolved");
    assert_eq!(money::format(balance), "497.9");
    alerting.shutdown(Duration::from_secs(1)).await;
}
