//! Replay: the journaled entries rebuild the same ledger, and entries that do
//! not fit are refused.

use super::*;

#[test]
fn applying_the_entries_to_a_fresh_ledger_gives_the_same_ledger() {
    let la: Tz = "America/Los_Angeles".parse().unwrap();
    let mut settings = account("10", Some(("5", amount("20"), "50")));
    settings.monthly_allowance = Some(d("3"));
    settings.direct_apps = vec!["claude.ai".into()];
    let mut live = Ledger::new(la);
    let mut journal = live.configure(vec![settings.clone()], t("2026-06-01T00:00:00Z"));
    journal.extend(live.book_usage("personal", "claude.ai", t("2025-12-20T00:00:00Z"), d("2")).unwrap());
    journal.extend(live.book_usage("personal", "claude.ai", t("2026-01-05T00:00:00Z"), d("9.999")).unwrap());
    journal.extend(live.book_usage("personal", "claude-code", t("2026-01-06T00:00:00Z"), d("70")).unwrap());
    journal.extend(live.topup("personal", "t-1", d("15"), Some("card".into()), t("2026-01-07T00:00:00Z")).unwrap().entry);
    journal.extend(live.reconcile("personal", "r-1", d("3.33"), t("2026-01-08T00:00:00Z")).unwrap().entry);
    journal.extend(live.book_usage("personal", "claude-code", t("2026-02-01T07:00:00Z"), d("1")).unwrap());

    // Through the journal's form: JSON lines.
    let lines: Vec<String> = journal.iter().map(|e| serde_json::to_string(e).unwrap()).collect();
    let mut replayed = Ledger::new(la);
    for line in &lines {
        replayed.apply(&serde_json::from_str(line).unwrap()).unwrap();
    }
    assert!(replayed.configure(vec![settings.clone()], t("2026-06-01T00:00:00Z")).is_empty());
    assert_eq!(replayed, live);
    for now in ["2026-01-31T00:00:00Z", "2026-02-15T00:00:00Z"] {
        assert_eq!(replayed.view("personal", t(now)), live.view("personal", t(now)));
    }
    // And through a snapshot.
    let mut restored: Ledger = serde_json::from_str(&serde_json::to_string(&live).unwrap()).unwrap();
    assert!(restored.configure(vec![settings], t("2026-06-01T00:00:00Z")).is_empty());
    assert_eq!(restored, live);
}

#[test]
fn entries_have_a_stable_json_form() {
    let entry = Entry::Debit {
        account: "personal".into(),
        app: "claude.ai".into(),
        at: t("2026-01-05T00:00:00Z"),
        month: "2026-01".parse().unwrap(),
        cost: d("4.000001"),
        from_allowance: d("2.876544"),
        from_balance: d("1.123457"),
        deducted: true,
        from_plan: d("0"),
        premium_requests: d("0"),
    };
    let json = serde_json::to_string(&entry).unwrap();
    assert_eq!(
        json,
        r#"{"type":"debit","account":"personal","app":"claude.ai","at":"2026-01-05T00:00:00Z","month":"2026-01","cost":"4.000001","from_allowance":"2.876544","from_balance":"1.123457","deducted":true}"#
    );
    assert_eq!(serde_json::from_str::<Entry>(&json).unwrap(), entry);
}

#[test]
fn apply_refuses_entries_that_do_not_fit_the_ledger() {
    let mut ledger = ledger_with(chrono_tz::UTC, account("10", None));
    ledger.topup("personal", "t-1", d("1"), None, t("2026-01-02T00:00:00Z")).unwrap();
    let before = ledger.clone();
    let at = t("2026-01-03T00:00:00Z");
    let month = "2026-01".parse().unwrap();
    let bad = [
        Entry::Opened { account: "personal".into(), balance: d("1"), as_of: at },
        Entry::TopUp { account: "personal".into(), id: "t-1".into(), amount: d("1"), note: None, at },
        Entry::TopUp { account: "ghost".into(), id: "t-2".into(), amount: d("1"), note: None, at },
        Entry::Debit {
            account: "personal".into(),
            app: "x".into(),
            at,
            month,
            cost: d("2"),
            from_allowance: d("0.5"),
            from_balance: d("1"),
            deducted: true,
            from_plan: d("0"),
            premium_requests: d("0"),
        },
    ];
    for entry in bad {
        assert!(ledger.apply(&entry).is_err(), "{entry:?}");
    }
    assert_eq!(ledger, before);
}
