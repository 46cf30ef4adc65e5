//! `plan_windows`: a subscriber's direct app is covered by the plan until a
//! window is exhausted at the request's time, then draws on the balance.

use super::*;
use crate::usage::plan::{PlanObservation, PlanWindow};

fn subscriber() -> Ledger {
    let mut settings = account("50", Some(("5", amount("20"), "100")));
    settings.direct_apps = vec!["claude-code".into()];
    settings.plan_windows = true;
    ledger_with(chrono_tz::UTC, settings)
}

fn snapshot(at: &str, five_hour: &str, resets: &str) -> PlanObservation {
    PlanObservation {
        session: "s1".into(),
        at: t(at),
        windows: vec![PlanWindow { name: "five_hour".into(), used_percent: d(five_hour), resets_at: t(resets) }],
    }
}

#[test]
fn direct_requests_are_covered_until_a_window_is_exhausted_and_again_after_its_reset() {
    let mut ledger = subscriber();
    assert!(ledger.observe_plan("personal", &snapshot("2026-02-01T10:00:00Z", "97", "2026-02-01T14:00:00Z")).unwrap().is_some());
    assert!(ledger.observe_plan("personal", &snapshot("2026-02-01T12:00:00Z", "100", "2026-02-01T14:00:00Z")).unwrap().is_some());
    assert!(ledger.observe_plan("personal", &snapshot("2026-02-01T12:30:00Z", "100", "2026-02-01T14:00:00Z")).unwrap().is_none());
    // (time, app, cost, balance after, covered by the plan this month after)
    let cases = [
        ("2026-02-01T11:00:00Z", "claude-code", "1.25", "50", "1.25"), // before exhaustion: covered
        ("2026-02-01T11:00:00Z", "claude.ai-api", "2", "48", "1.25"),  // not a direct app: balance
        ("2026-02-01T12:00:00Z", "claude-code", "3.5", "44.5", "1.25"), // exhausted: extra usage
        ("2026-02-01T13:59:59Z", "claude-code", "0.5", "44", "1.25"),  // still before the reset
        ("2026-02-01T14:00:00Z", "claude-code", "0.75", "44", "2"),    // reset: covered again
        ("2026-02-01T11:59:59Z", "claude-code", "1", "44", "3"),       // booked late, before: covered
    ];
    for (at, app, cost, balance, covered) in cases {
        let entries = ledger.book_usage("personal", app, t(at), d(cost)).unwrap();
        let v = view(&ledger, at);
        assert_eq!(
            (money::format(v.balance_usd), v.plan_covered_this_month_usd.map(money::format)),
            (balance.to_string(), Some(covered.to_string())),
            "{at} {app} {cost}: {}",
            summary(&entries).join("; ")
        );
    }
    assert_eq!(money::format(view(&ledger, "2026-02-02T00:00:00Z").spend_this_month_usd), "9", "all of it is spend");
}

#[test]
fn covered_usage_triggers_no_reload_and_replays_to_the_same_books() {
    let mut live = subscriber();
    let mut journal = Vec::new();
    journal.extend(live.observe_plan("personal", &snapshot("2026-02-01T12:00:00Z", "101", "2026-02-01T14:00:00Z")).unwrap());
    journal.extend(live.book_usage("personal", "claude-code", t("2026-02-01T11:00:00Z"), d("60")).unwrap());
    assert_eq!(money::format(view(&live, "2026-02-01T11:00:00Z").balance_usd), "50", "covered: no debit, no reload");
    journal.extend(live.book_usage("personal", "claude-code", t("2026-02-01T12:10:00Z"), d("46")).unwrap());
    assert_eq!(money::format(view(&live, "2026-02-01T12:10:00Z").balance_usd), "24", "extra usage: 50 - 46 + one reload");
    let json = serde_json::to_string(&journal[0]).unwrap();
    assert_eq!(
        json,
        r#"{"type":"plan_windows","account":"personal","session":"s1","at":"2026-02-01T12:00:00Z","windows":[{"name":"five_hour","used_percent":"101","resets_at":"2026-02-01T14:00:00Z"}]}"#
    );
    let mut replayed = subscriber();
    for entry in &journal {
        let entry: Entry = serde_json::from_str(&serde_json::to_string(entry).unwrap()).unwrap();
        replayed.apply(&entry).unwrap();
    }
    assert_eq!(replayed, live);
    assert!(replayed.plan("personal").unwrap().exhausted_at(t("2026-02-01T13:00:00Z")));
}

#[test]
fn without_plan_windows_snapshots_change_no_booking() {
    let mut ledger = ledger_with(chrono_tz::UTC, account("50", None));
    ledger.observe_plan("personal", &snapshot("2026-02-01T10:00:00Z", "50", "2026-02-01T14:00:00Z")).unwrap();
    ledger.book_usage("personal", "claude-code", t("2026-02-01T11:00:00Z"), d("1.5")).unwrap();
    let v = view(&ledger, "2026-02-01T11:00:00Z");
    assert_eq!((money::format(v.balance_usd), v.plan_covered_this_month_usd), ("48.5".to_string(), None));
    assert!(matches!(
        ledger.observe_plan("ghost", &snapshot("2026-02-01T10:00:00Z", "1", "2026-02-01T14:00:00Z")),
        Err(LedgerError::UnknownAccount(_))
    ));
}
