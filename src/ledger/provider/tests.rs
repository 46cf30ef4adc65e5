use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::ledger::{AccountSettings, Entry, Ledger};

fn t(s: &str) -> DateTime<Utc> {
    format!("2026-12-{s}:00Z").parse().unwrap()
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn ledger() -> Ledger {
    let mut l = Ledger::new(chrono_tz::UTC);
    let settings = AccountSettings {
        name: "personal".into(),
        opening_balance: d("50"),
        opening_as_of: Some(t("01T00:00")),
        auto_reload: None,
        monthly_allowance: None,
        direct_apps: Vec::new(),
        plan_windows: false,
    };
    l.configure(vec![settings], t("01T00:00"));
    l
}

fn observe(l: &mut Ledger, at: &str, spent: &str) -> Option<Entry> {
    l.observe_provider("personal", "claude", t(at), d(spent), Some(d("100")), None).unwrap()
}

fn unseen(l: &Ledger) -> String {
    l.provider_spend("personal").unwrap().unseen().to_string()
}

#[test]
fn the_first_figure_is_the_baseline_and_the_gap_is_what_the_logs_missed() {
    let mut l = ledger();
    assert!(observe(&mut l, "02T10:00", "30.00").is_some());
    assert_eq!(unseen(&l), "0", "what came before the first poll is the opening's");
    l.book_usage("personal", "claude-code", t("02T10:05"), d("2.50")).unwrap();
    assert!(observe(&mut l, "02T10:10", "36.00").is_some());
    assert_eq!(unseen(&l), "3.5", "6 more at the provider, 2.50 in the logs");
    assert!(observe(&mut l, "02T10:15", "36.0").is_none(), "same figures journal nothing");
    // A debit from before the period started is not in it.
    l.book_usage("personal", "claude-code", t("02T09:00"), d("1")).unwrap();
    assert_eq!(unseen(&l), "3.5");
    // The logs counting more than the provider never shows below zero.
    l.book_usage("personal", "claude-code", t("02T10:20"), d("10")).unwrap();
    assert_eq!(unseen(&l), "0");
    assert_eq!(l.provider_spend("personal").unwrap().gap().to_string(), "-6.50");
}

#[test]
fn a_drop_starts_a_new_period_from_the_observation_before_it() {
    let mut l = ledger();
    observe(&mut l, "02T10:00", "30");
    observe(&mut l, "31T23:50", "80");
    l.book_usage("personal", "claude-code", t("31T23:55"), d("0.40")).unwrap();
    observe(&mut l, "31T23:59", "80");
    l.book_usage("personal", "claude-code", t("31T23:58"), d("0.10")).unwrap();
    let e = l.observe_provider("personal", "claude", "2027-01-01T00:05:00Z".parse().unwrap(), d("1.25"), None, None).unwrap();
    assert!(e.is_some());
    let p = l.provider_spend("personal").unwrap();
    assert_eq!((p.period_from, p.baseline.to_string(), p.booked.to_string()), (t("31T23:50"), "0".into(), "0.50".into()));
    assert_eq!(unseen(&l), "0.75");
    assert_eq!(p.limit, None);
}

#[test]
fn replaying_the_entries_gives_the_same_gap() {
    let mut l = ledger();
    let mut journal = Vec::new();
    journal.extend(observe(&mut l, "02T10:00", "30"));
    journal.extend(l.book_usage("personal", "claude-code", t("02T10:05"), d("2.5")).unwrap());
    journal.extend(observe(&mut l, "02T10:10", "36"));
    let mut replayed = ledger();
    for e in &journal {
        replayed.apply(e).unwrap();
    }
    assert_eq!(replayed.provider_spend("personal"), l.provider_spend("personal"));
    assert_eq!(unseen(&replayed), "3.5");
    assert_eq!(replayed.view("personal", t("02T11:00")).unwrap().balance_usd.to_string(), "47.5");
}
