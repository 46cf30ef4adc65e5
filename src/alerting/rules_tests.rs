use super::*;
use crate::alerting::alert::{SeriesBurn, SourceInput};

const CONFIG: &str = r#"
repeat_every: 4h
low_balance_usd: "10"
runway_short: 6h
runaway_usd_per_hour: "15"
runaway_for: 10m
working_hours: { days: "mon-fri", start: "22:00", end: "06:00" }
outside_hours_usd_per_hour: "2"
source_stale_after: 30m
"#;

fn engine(tz: Tz) -> AlertEngine {
    let config: AlertingConfig = serde_yaml_ng::from_str(CONFIG).unwrap();
    AlertEngine::new(&config, tz)
}

/// Without repeats, to follow firing and resolving over days.
fn engine_no_repeat(tz: Tz) -> AlertEngine {
    let config: AlertingConfig = serde_yaml_ng::from_str(&CONFIG.replace("repeat_every: 4h", "repeat_every: 1000h")).unwrap();
    AlertEngine::new(&config, tz)
}

fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn usd(text: &str) -> Decimal {
    money::parse(text).unwrap()
}

/// A healthy account: nothing fires.
fn account(name: &str) -> AccountInput {
    AccountInput {
        name: name.into(),
        balance: usd("50"),
        runway_seconds: f64::INFINITY,
        account_burn_5m_usd_per_hour: 0.0,
        reload_usd_this_month: Decimal::ZERO,
        reload_cap_usd: Some(usd("100")),
        cap_reached_this_month: false,
    }
}

fn inputs(now: &str, accounts: Vec<AccountInput>, burn: Vec<SeriesBurn>) -> AlertInputs {
    AlertInputs { now: t(now), accounts, burn, sources: vec![], plan_windows: vec![], providers: vec![] }
}

fn burn(rate: f64) -> Vec<SeriesBurn> {
    vec![SeriesBurn { account: "personal".into(), app: "claude-code".into(), model: "claude-opus-4-5".into(), usd_per_hour_5m: rate }]
}

/// (status, alertname, value, threshold, repeat) of each notification.
fn seen(ns: &[Notification]) -> Vec<(&'static str, String, String, String, bool)> {
    ns.iter().map(|n| (n.status.as_str(), n.alert.name().to_string(), n.alert.value.clone(), n.alert.threshold.clone(), n.repeat)).collect()
}

fn one(status: &'static str, name: &str, value: &str, threshold: &str) -> (&'static str, String, String, String, bool) {
    (status, name.into(), value.into(), threshold.into(), false)
}

#[test]
fn runaway_fires_only_after_runaway_for_and_resolves_when_it_stops() {
    let mut e = engine(chrono_tz::UTC);
    // Wednesday 12:00 UTC, inside no night shift: only the runaway rule applies.
    assert!(e.evaluate(&inputs("2026-11-25T12:00:00Z", vec![account("personal")], burn(20.0))).is_empty());
    assert!(e.evaluate(&inputs("2026-11-25T12:09:59Z", vec![account("personal")], burn(18.0))).is_empty());
    let fired = e.evaluate(&inputs("2026-11-25T12:10:00Z", vec![account("personal")], burn(18.4)));
    assert_eq!(seen(&fired), [one("firing", "AgentRunaway", "$18.40/h", "$15.00/h")]);
    let labels: Vec<(&str, &str)> = fired[0].alert.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        labels,
        [
            ("account", "personal"),
            ("alertname", "AgentRunaway"),
            ("app", "claude-code"),
            ("model", "claude-opus-4-5"),
            ("severity", "critical")
        ]
    );
    assert_eq!(e.firing(), [("AgentRunaway".to_string(), "personal".to_string())]);
    assert!(e.take_changed());
    assert!(e.evaluate(&inputs("2026-11-25T12:11:00Z", vec![account("personal")], burn(30.0))).is_empty());
    assert!(!e.take_changed());
    let resolved = e.evaluate(&inputs("2026-11-25T12:12:00Z", vec![account("personal")], burn(15.0)));
    assert_eq!(seen(&resolved), [one("resolved", "AgentRunaway", "$30.00/h", "$15.00/h")]);
    assert_eq!(resolved[0].ends_at, Some(t("2026-11-25T12:12:00Z")));
    assert!(e.firing().is_empty());
}

#[test]
fn a_dip_below_the_limit_restarts_the_runaway_clock() {
    let mut e = engine(chrono_tz::UTC);
    let a = || vec![account("personal")];
    assert!(e.evaluate(&inputs("2026-11-25T12:00:00Z", a(), burn(20.0))).is_empty());
    assert!(e.evaluate(&inputs("2026-11-25T12:05:00Z", a(), burn(1.0))).is_empty());
    assert!(e.evaluate(&inputs("2026-11-25T12:06:00Z", a(), burn(20.0))).is_empty());
    assert!(e.evaluate(&inputs("2026-11-25T12:15:59Z", a(), burn(20.0))).is_empty());
    assert_eq!(e.evaluate(&inputs("2026-11-25T12:16:00Z", a(), burn(20.0))).len(), 1);
    // The series vanishing (no spend left in the window) resolves it.
    assert_eq!(seen(&e.evaluate(&inputs("2026-11-25T12:17:00Z", a(), vec![]))), [one("resolved", "AgentRunaway", "$20.00/h", "$15.00/h")]);
}

#[test]
fn repeat_every_resends_a_still_firing_alert() {
    let mut e = engine(chrono_tz::UTC);
    let low = || vec![AccountInput { balance: usd("4.2"), ..account("personal") }];
    assert_eq!(seen(&e.evaluate(&inputs("2026-11-25T12:00:00Z", low(), vec![]))), [one("firing", "CreditBalanceLow", "$4.20", "$10.00")]);
    assert!(e.evaluate(&inputs("2026-11-25T15:59:59Z", low(), vec![])).is_empty());
    let again = e.evaluate(&inputs("2026-11-25T16:00:00Z", low(), vec![]));
    assert_eq!(seen(&again), [("firing", "CreditBalanceLow".into(), "$4.20".into(), "$10.00".into(), true)]);
    assert_eq!(again[0].alert.starts_at, t("2026-11-25T12:00:00Z"));
    assert!(e.evaluate(&inputs("2026-11-25T19:59:59Z", low(), vec![])).is_empty());
    assert_eq!(e.evaluate(&inputs("2026-11-25T20:00:00Z", low(), vec![])).len(), 1);
}

#[test]
fn account_alerts_carry_their_figures() {
    let mut e = engine(chrono_tz::UTC);
    let broke = AccountInput {
        balance: usd("-0.313"),
        runway_seconds: 0.0,
        reload_usd_this_month: usd("100"),
        cap_reached_this_month: true,
        ..account("personal")
    };
    let near = AccountInput { runway_seconds: 5.0 * 3600.0 + 59.0 * 60.0 + 59.0, reload_usd_this_month: usd("80"), ..account("work") };
    let under = AccountInput { reload_usd_this_month: usd("79.99"), ..account("team") };
    let got = e.evaluate(&inputs("2026-11-25T12:00:00Z", vec![broke, near, under], vec![]));
    assert_eq!(
        seen(&got),
        [
            // In label order: account, then alertname.
            one("firing", "AutoReloadCapReached", "$100.00 of $100.00", "$100.00"),
            one("firing", "CreditBalanceExhausted", "-$0.31", "$0.00"),
            one("firing", "CreditBalanceLow", "-$0.31", "$10.00"),
            one("firing", "CreditRunwayShort", "0s", "6h"),
            one("firing", "AutoReloadCapNearlyReached", "$80.00 of $100.00", "80% of $100.00"),
            one("firing", "CreditRunwayShort", "5h 59m", "6h"),
        ]
    );
    assert_eq!(got[1].alert.severity, Severity::Critical);
    assert_eq!(got[1].alert.description, "CreditBalanceExhausted (account=personal): -$0.31, threshold $0.00");
    assert_eq!(
        e.firing(),
        [
            ("AutoReloadCapNearlyReached".to_string(), "work".to_string()),
            ("AutoReloadCapReached".into(), "personal".into()),
            ("CreditBalanceExhausted".into(), "personal".into()),
            ("CreditBalanceLow".into(), "personal".into()),
            ("CreditRunwayShort".into(), "personal".into()),
            ("CreditRunwayShort".into(), "work".into()),
        ]
    );
    // An account removed from the config resolves its alerts.
    let gone = e.evaluate(&inputs("2026-11-25T12:01:00Z", vec![], vec![]));
    assert_eq!(gone.len(), 6);
    assert!(gone.iter().all(|n| n.status == Status::Resolved));
}

fn spender(rate: f64) -> Vec<AccountInput> {
    vec![AccountInput { account_burn_5m_usd_per_hour: rate, ..account("personal") }]
}

#[test]
fn outside_hours_uses_the_night_span_across_midnight() {
    // Working hours here are the night shift 22:00-06:00 Mon-Fri (UTC).
    let mut e = engine(chrono_tz::UTC);
    let at = |e: &mut AlertEngine, now: &str, rate: f64| seen(&e.evaluate(&inputs(now, spender(rate), vec![])));
    assert!(at(&mut e, "2026-11-24T23:30:00Z", 9.0).is_empty()); // Tue night shift
    assert!(at(&mut e, "2026-11-25T05:59:00Z", 9.0).is_empty()); // Wed 05:59, Tue's shift
    assert_eq!(at(&mut e, "2026-11-25T06:00:00Z", 9.0), [one("firing", "AgentSpendOutsideWorkingHours", "$9.00/h", "$2.00/h")]);
    assert!(at(&mut e, "2026-11-25T09:00:00Z", 2.5).is_empty());
    assert_eq!(at(&mut e, "2026-11-25T22:00:00Z", 9.0), [one("resolved", "AgentSpendOutsideWorkingHours", "$2.50/h", "$2.00/h")]);
    // At or under the limit never fires.
    assert!(at(&mut e, "2026-11-28T12:00:00Z", 2.0).is_empty());
}

#[test]
fn outside_hours_follows_dst_in_the_configured_zone() {
    let mut e = engine_no_repeat(chrono_tz::Europe::Berlin);
    let at = |e: &mut AlertEngine, now: &str| e.evaluate(&inputs(now, spender(5.0), vec![])).len();
    // Friday 2026-03-27 22:00 CET = 21:00 UTC starts the shift; it ends on
    // Saturday at 06:00 CET = 05:00 UTC.
    assert_eq!(at(&mut e, "2026-03-27T20:59:00Z"), 1);
    assert_eq!(at(&mut e, "2026-03-27T21:00:00Z"), 1); // resolved
    assert_eq!(at(&mut e, "2026-03-28T04:59:00Z"), 0);
    assert_eq!(at(&mut e, "2026-03-28T05:00:00Z"), 1); // firing
                                                       // Monday 2026-03-30, after the change to CEST: the shift starts at 20:00 UTC.
    assert_eq!(at(&mut e, "2026-03-30T19:59:00Z"), 0);
    assert_eq!(at(&mut e, "2026-03-30T20:00:00Z"), 1); // resolved
                                                       // Friday 2026-10-23 (CEST) shift ends Saturday 06:00 CEST = 04:00 UTC;
                                                       // Monday 2026-10-26 (CET) shift starts 22:00 CET = 21:00 UTC.
    assert_eq!(at(&mut e, "2026-10-24T03:59:00Z"), 0);
    assert_eq!(at(&mut e, "2026-10-24T04:00:00Z"), 1); // firing
    assert_eq!(at(&mut e, "2026-10-26T20:59:00Z"), 0);
    assert_eq!(at(&mut e, "2026-10-26T21:00:00Z"), 1); // resolved
}

fn source(last_event: Option<&str>, growing: bool, errors: u64, ok: u64) -> SourceInput {
    SourceInput {
        name: "claude-code".into(),
        account: "personal".into(),
        last_event: last_event.map(t),
        files_growing: growing,
        error_lines_recent: errors,
        ok_lines_recent: ok,
    }
}

#[test]
fn source_stale_when_files_grow_without_events_or_only_errors() {
    let mut e = engine(chrono_tz::UTC);
    let at = |e: &mut AlertEngine, now: &str, s: SourceInput| {
        seen(&e.evaluate(&AlertInputs {
            now: t(now),
            accounts: vec![],
            burn: vec![],
            sources: vec![s],
            plan_windows: vec![],
            providers: vec![],
        }))
    };
    // Never booked: staleness counts from when the source was first seen.
    assert!(at(&mut e, "2026-11-25T12:00:00Z", source(None, true, 0, 0)).is_empty());
    assert!(at(&mut e, "2026-11-25T12:29:59Z", source(None, true, 0, 3)).is_empty());
    assert_eq!(
        at(&mut e, "2026-11-25T12:30:00Z", source(None, true, 0, 3)),
        [one("firing", "CreditwatchSourceStale", "30m without an event", "30m")]
    );
    assert_eq!(at(&mut e, "2026-11-25T12:31:00Z", source(Some("2026-11-25T12:30:30Z"), true, 0, 1)).len(), 1); // resolved
                                                                                                               // Old last event but the files are quiet: nothing to worry about.
    assert!(at(&mut e, "2026-11-25T18:00:00Z", source(Some("2026-11-25T12:30:30Z"), false, 0, 0)).is_empty());
    assert_eq!(
        at(&mut e, "2026-11-25T18:01:00Z", source(Some("2026-11-25T18:00:30Z"), true, 7, 0)),
        [one("firing", "CreditwatchSourceStale", "7 error lines, 0 read", "1 line read")]
    );
}

#[test]
fn restored_state_is_not_resent_and_cleared_alerts_resolve() {
    let mut before = engine(chrono_tz::UTC);
    let low = vec![AccountInput { balance: usd("4"), ..account("personal") }, AccountInput { balance: usd("3"), ..account("work") }];
    assert_eq!(before.evaluate(&inputs("2026-11-25T12:00:00Z", low, burn(40.0))).len(), 2);
    assert!(before.evaluate(&inputs("2026-11-25T12:10:00Z", vec![], burn(40.0))).len() == 3); // 2 resolved, 1 runaway
    let low = vec![AccountInput { balance: usd("4"), ..account("personal") }, AccountInput { balance: usd("3"), ..account("work") }];
    before.evaluate(&inputs("2026-11-25T12:11:00Z", low, burn(40.0)));
    let saved = before.firing_alerts();
    assert_eq!(saved.len(), 3);
    // Restart: `work` was topped up while down, the runaway still runs.
    let mut after = engine(chrono_tz::UTC).with_firing(saved);
    let now = vec![AccountInput { balance: usd("4"), ..account("personal") }, account("work")];
    let got = after.evaluate(&inputs("2026-11-25T12:20:00Z", now, burn(40.0)));
    assert_eq!(seen(&got), [one("resolved", "CreditBalanceLow", "$3.00", "$10.00")]);
    assert_eq!(got[0].alert.label("account"), "work");
}
