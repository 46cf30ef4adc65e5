//! The ledger rules as tables: events in, exact decimals out.

use super::*;
use crate::ledger::settings::ReloadSize;
use crate::ledger::view::AccountView;
use crate::usage::money;

mod plan;
mod props;
mod replay;

pub(super) fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

pub(super) fn d(s: &str) -> Decimal {
    money::parse(s).unwrap()
}

pub(super) fn account(opening: &str, reload: Option<(&str, ReloadSize, &str)>) -> AccountSettings {
    AccountSettings {
        name: "personal".into(),
        opening_balance: d(opening),
        opening_as_of: Some(t("2026-01-01T00:00:00Z")),
        auto_reload: reload.map(|(threshold, size, cap)| AutoReload { threshold: d(threshold), size, monthly_cap: d(cap) }),
        monthly_allowance: None,
        direct_apps: vec![],
        plan_windows: false,
        premium_requests: None,
    }
}

pub(super) fn amount(a: &str) -> ReloadSize {
    ReloadSize::Amount(d(a))
}

pub(super) fn ledger_with(tz: Tz, settings: AccountSettings) -> Ledger {
    let mut ledger = Ledger::new(tz);
    assert_eq!(ledger.configure(vec![settings], t("2026-06-01T00:00:00Z")).len(), 1);
    ledger
}

fn view(ledger: &Ledger, now: &str) -> AccountView {
    ledger.view("personal", t(now)).unwrap()
}

/// The entries as short text, for exact comparison.
fn summary(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| match e {
            Entry::Debit { cost, from_allowance, from_balance, deducted, month, .. } => format!(
                "debit {} = allowance {} + balance {}{} in {month}",
                money::format(*cost),
                money::format(*from_allowance),
                money::format(*from_balance),
                if *deducted { "" } else { " (not deducted)" }
            ),
            Entry::AutoReload { amount, month, .. } => format!("reload {} in {month}", money::format(*amount)),
            Entry::ReloadCapReached { month, .. } => format!("cap reached in {month}"),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn auto_reload_follows_threshold_and_cap() {
    struct Case {
        name: &'static str,
        opening: &'static str,
        size: ReloadSize,
        cap: &'static str,
        costs: &'static [&'static str],
        balance: &'static str,
        reloads: u32,
        reload_usd: &'static str,
        cap_reached: usize,
    }
    let cases = [
        Case {
            name: "just above the threshold",
            opening: "10",
            size: amount("20"),
            cap: "100",
            costs: &["4.99"],
            balance: "5.01",
            reloads: 0,
            reload_usd: "0",
            cap_reached: 0,
        },
        Case {
            name: "threshold exactly hit",
            opening: "10",
            size: amount("20"),
            cap: "100",
            costs: &["5"],
            balance: "25",
            reloads: 1,
            reload_usd: "20",
            cap_reached: 0,
        },
        Case {
            name: "cap exactly reached",
            opening: "10",
            size: amount("20"),
            cap: "40",
            costs: &["5", "20"],
            balance: "25",
            reloads: 2,
            reload_usd: "40",
            cap_reached: 0,
        },
        Case {
            name: "no partial reload past the cap",
            opening: "10",
            size: amount("20"),
            cap: "50",
            costs: &["5", "20", "20", "1"],
            balance: "4",
            reloads: 2,
            reload_usd: "40",
            cap_reached: 1,
        },
        Case {
            name: "several reloads from one event",
            opening: "10",
            size: amount("20"),
            cap: "100",
            costs: &["50.000001"],
            balance: "19.999999",
            reloads: 3,
            reload_usd: "60",
            cap_reached: 0,
        },
        Case {
            name: "the cap stops a run of reloads",
            opening: "10",
            size: amount("20"),
            cap: "40",
            costs: &["50"],
            balance: "0",
            reloads: 2,
            reload_usd: "40",
            cap_reached: 1,
        },
        Case {
            name: "reload to a target",
            opening: "10",
            size: ReloadSize::Target(d("30")),
            cap: "100",
            costs: &["7.5", "40"],
            balance: "30",
            reloads: 2,
            reload_usd: "67.5",
            cap_reached: 0,
        },
        Case {
            name: "a zero cap never reloads",
            opening: "1",
            size: amount("20"),
            cap: "0",
            costs: &["2"],
            balance: "-1",
            reloads: 0,
            reload_usd: "0",
            cap_reached: 1,
        },
    ];
    for c in cases {
        let mut ledger = ledger_with(chrono_tz::UTC, account(c.opening, Some(("5", c.size, c.cap))));
        let mut entries = Vec::new();
        for cost in c.costs {
            entries.extend(ledger.book_usage("personal", "claude-code", t("2026-03-10T12:00:00Z"), d(cost)).unwrap());
        }
        let v = view(&ledger, "2026-03-31T00:00:00Z");
        assert_eq!(money::format(v.balance_usd), c.balance, "{}", c.name);
        assert_eq!(v.reloads_this_month, c.reloads, "{}", c.name);
        assert_eq!(money::format(v.reload_usd_this_month), c.reload_usd, "{}", c.name);
        assert_eq!(money::format(v.topups.auto_usd), c.reload_usd, "{}", c.name);
        let caps = entries.iter().filter(|e| matches!(e, Entry::ReloadCapReached { .. })).count();
        assert_eq!(caps, c.cap_reached, "{}", c.name);
        assert_eq!(v.reload_cap_reached_this_month, c.cap_reached == 1, "{}", c.name);
    }
}

#[test]
fn one_expensive_event_books_its_debit_then_each_reload() {
    let mut ledger = ledger_with(chrono_tz::UTC, account("10", Some(("5", amount("20"), "100"))));
    let entries = ledger.book_usage("personal", "claude-code", t("2026-03-10T12:00:00Z"), d("50")).unwrap();
    assert_eq!(
        summary(&entries),
        ["debit 50 = allowance 0 + balance 50 in 2026-03", "reload 20 in 2026-03", "reload 20 in 2026-03", "reload 20 in 2026-03"]
    );
    let v = view(&ledger, "2026-03-10T12:00:00Z");
    assert_eq!(money::format(v.balance_usd), "20");
    assert_eq!(v.remaining_reload_usd.map(money::format).as_deref(), Some("40"));
}

#[test]
fn the_reload_month_is_the_events_month_in_the_configured_zone() {
    // 06:30Z on 1 November is 23:30 on 31 October in Los Angeles.
    let la: Tz = "America/Los_Angeles".parse().unwrap();
    let events = ["2026-10-20T12:00:00Z", "2026-11-01T06:30:00Z", "2026-11-01T08:00:00Z"];
    let cases = [
        (la, vec!["reload 20 in 2026-10", "cap reached in 2026-10", "reload 20 in 2026-11"], "25", "20"),
        (chrono_tz::UTC, vec!["reload 20 in 2026-10", "reload 20 in 2026-11", "cap reached in 2026-11"], "5", "20"),
    ];
    for (tz, want, balance, reload_usd_in_november) in cases {
        let mut ledger = ledger_with(tz, account("10", Some(("5", amount("20"), "20"))));
        let mut reloads = Vec::new();
        for at in events {
            // Each event leaves the balance at the threshold.
            let cost = ledger.view("personal", t(at)).unwrap().balance_usd - d("5");
            let entries = ledger.book_usage("personal", "claude-code", t(at), cost).unwrap();
            reloads.extend(summary(&entries[1..]));
        }
        assert_eq!(reloads, want, "{tz}");
        let november = view(&ledger, "2026-11-15T00:00:00Z");
        assert_eq!(money::format(november.balance_usd), balance, "{tz}");
        assert_eq!(money::format(november.reload_usd_this_month), reload_usd_in_november, "{tz}");
    }
}

#[test]
fn a_new_month_shows_zeros_without_any_event() {
    let mut settings = account("100", Some(("5", amount("20"), "60")));
    settings.monthly_allowance = Some(d("10"));
    settings.direct_apps = vec!["claude.ai".into()];
    let mut ledger = ledger_with(chrono_tz::UTC, settings);
    ledger.book_usage("personal", "claude.ai", t("2026-03-30T12:00:00Z"), d("106")).unwrap();
    let march = view(&ledger, "2026-03-31T23:59:59Z");
    assert_eq!(
        (money::format(march.spend_this_month_usd), march.reloads_this_month, march.allowance_remaining_usd.map(money::format)),
        ("106".to_string(), 1, Some("0".to_string()))
    );
    let april = view(&ledger, "2026-04-01T00:00:00Z");
    assert_eq!(april.month.to_string(), "2026-04");
    assert_eq!(money::format(april.spend_this_month_usd), "0");
    assert_eq!((april.reloads_this_month, money::format(april.reload_usd_this_month)), (0, "0".to_string()));
    assert_eq!(april.remaining_reload_usd.map(money::format).as_deref(), Some("60"));
    assert_eq!(april.allowance_remaining_usd.map(money::format).as_deref(), Some("10"));
    assert_eq!(money::format(april.balance_usd), "24");
}

#[test]
fn allowance_is_used_first_by_direct_apps_split_to_the_last_digit() {
    let mut settings = account("50", None);
    settings.monthly_allowance = Some(d("10"));
    settings.direct_apps = vec!["claude.ai".into()];
    let mut ledger = ledger_with(chrono_tz::UTC, settings);
    let mut entries = Vec::new();
    for (app, cost) in [("claude.ai", "7.123456"), ("claude-code", "1.5"), ("claude.ai", "4.000001"), ("claude.ai", "0.25")] {
        entries.extend(ledger.book_usage("personal", app, t("2026-05-02T00:00:00Z"), d(cost)).unwrap());
    }
    assert_eq!(
        summary(&entries),
        [
            "debit 7.123456 = allowance 7.123456 + balance 0 in 2026-05",
            "debit 1.5 = allowance 0 + balance 1.5 in 2026-05",
            "debit 4.000001 = allowance 2.876544 + balance 1.123457 in 2026-05",
            "debit 0.25 = allowance 0 + balance 0.25 in 2026-05",
        ]
    );
    let v = view(&ledger, "2026-05-31T00:00:00Z");
    assert_eq!(money::format(v.balance_usd), "47.126543");
    assert_eq!(money::format(v.spend_this_month_usd), "12.873457");
    assert_eq!(v.allowance_remaining_usd.map(money::format).as_deref(), Some("0"));
    // Unused allowance is lost: June starts from the full allowance.
    assert_eq!(view(&ledger, "2026-06-01T00:00:00Z").allowance_remaining_usd.map(money::format).as_deref(), Some("10"));
}

#[test]
fn usage_before_the_opening_time_is_reported_not_deducted() {
    let mut ledger = ledger_with(chrono_tz::UTC, account("50", Some(("45", amount("20"), "100"))));
    let before = ledger.book_usage("personal", "claude-code", t("2025-12-31T23:59:59Z"), d("12.5")).unwrap();
    let at_opening = ledger.book_usage("personal", "claude-code", t("2026-01-01T00:00:00Z"), d("2.25")).unwrap();
    assert_eq!(summary(&before), ["debit 12.5 = allowance 0 + balance 12.5 (not deducted) in 2025-12"]);
    assert_eq!(summary(&at_opening), ["debit 2.25 = allowance 0 + balance 2.25 in 2026-01"]);
    assert_eq!(money::format(view(&ledger, "2026-01-02T00:00:00Z").balance_usd), "47.75");
    assert_eq!(money::format(view(&ledger, "2025-12-31T00:00:00Z").spend_this_month_usd), "12.5");
}

#[test]
fn a_top_up_repays_a_negative_balance() {
    let mut ledger = ledger_with(chrono_tz::UTC, account("1", None));
    ledger.book_usage("personal", "claude-code", t("2026-02-01T00:00:00Z"), d("3.42")).unwrap();
    assert_eq!(money::format(view(&ledger, "2026-02-01T00:00:00Z").balance_usd), "-2.42");
    let booked = ledger.topup("personal", "t-1", d("5"), Some("card".into()), t("2026-02-02T00:00:00Z")).unwrap();
    assert_eq!(money::format(booked.receipt.balance_after_usd), "2.58");
    let v = view(&ledger, "2026-02-02T00:00:00Z");
    assert_eq!((money::format(v.balance_usd), money::format(v.topups.manual_usd)), ("2.58".to_string(), "5".to_string()));
}

#[test]
fn top_ups_and_reconciles_are_idempotent_by_id() {
    let mut ledger = ledger_with(chrono_tz::UTC, account("10", None));
    let first = ledger.topup("personal", "t-1", d("20"), None, t("2026-02-01T00:00:00Z")).unwrap();
    assert!(first.entry.is_some());
    ledger.book_usage("personal", "claude-code", t("2026-02-01T01:00:00Z"), d("1")).unwrap();
    let again = ledger.topup("personal", "t-1", d("20.00"), Some("retry".into()), t("2026-02-01T02:00:00Z")).unwrap();
    assert_eq!((again.entry, &again.receipt), (None, &first.receipt));
    // The original result, and the account as it is now.
    assert_eq!(money::format(again.receipt.balance_after_usd), "30");
    assert_eq!(money::format(again.view.balance_usd), "29");
    assert_eq!(money::format(view(&ledger, "2026-02-02T00:00:00Z").balance_usd), "29");

    let r1 = ledger.reconcile("personal", "r-1", d("41.17"), t("2026-02-03T00:00:00Z")).unwrap();
    let r2 = ledger.reconcile("personal", "r-1", d("41.170"), t("2026-02-03T00:05:00Z")).unwrap();
    assert_eq!((r2.entry, r2.receipt), (None, r1.receipt));
}

#[test]
fn a_reused_id_with_another_request_is_a_conflict() {
    let mut settings = vec![account("10", None), account("0", None)];
    settings[1].name = "work".into();
    let at = t("2026-02-01T00:00:00Z");
    let mut ledger = Ledger::new(chrono_tz::UTC);
    ledger.configure(settings, at);
    ledger.topup("personal", "t-1", d("20"), None, at).unwrap();
    let before = ledger.clone();
    let conflicts = [
        ledger.topup("personal", "t-1", d("25"), None, at).unwrap_err(),
        ledger.topup("work", "t-1", d("20"), None, at).unwrap_err(),
        ledger.reconcile("personal", "t-1", d("20"), at).unwrap_err(),
    ];
    for err in conflicts {
        assert!(matches!(err, LedgerError::Conflict { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "id `t-1` was already used for a top-up of 20 on account `personal`; a different request needs a new id"
        );
    }
    assert_eq!(ledger, before);
}

#[test]
fn bad_requests_are_refused_and_change_nothing() {
    let mut ledger = ledger_with(chrono_tz::UTC, account("10", None));
    let before = ledger.clone();
    let at = t("2026-02-01T00:00:00Z");
    let errors = [
        (ledger.topup("personal", "a", d("0"), None, at).unwrap_err(), "bad amount 0: a top-up must be more than 0"),
        (ledger.topup("personal", "b", d("-5"), None, at).unwrap_err(), "bad amount -5: a top-up must be more than 0"),
        (ledger.topup("nobody", "c", d("5"), None, at).unwrap_err(), "unknown account `nobody`"),
        (ledger.reconcile("nobody", "d", d("5"), at).unwrap_err(), "unknown account `nobody`"),
        (ledger.topup("personal", "", d("5"), None, at).unwrap_err(), "the request id is empty: give each top-up or reconcile a unique id"),
        (ledger.book_usage("personal", "x", at, d("-0.01")).unwrap_err(), "bad amount -0.01: a usage cost cannot be negative"),
        (ledger.book_usage("nobody", "x", at, d("1")).unwrap_err(), "unknown account `nobody`"),
    ];
    for (err, want) in errors {
        assert_eq!(err.to_string(), want);
    }
    assert_eq!(ledger, before);
    assert!(ledger.receipt("a").is_none());
}

#[test]
fn an_overflowing_amount_is_an_error_and_changes_nothing() {
    let mut ledger = ledger_with(chrono_tz::UTC, account("10", None));
    ledger.topup("personal", "big", Decimal::MAX - d("20"), None, t("2026-02-01T00:00:00Z")).unwrap();
    let before = ledger.clone();
    let err = ledger.topup("personal", "more", d("20"), None, t("2026-02-01T00:00:00Z"));
    assert_eq!(err.unwrap_err(), LedgerError::Overflow("personal".into()));
    assert_eq!(ledger, before);
}

#[test]
fn reconcile_books_the_signed_adjustment() {
    let mut ledger = ledger_with(chrono_tz::UTC, account("12.5", None));
    let up = ledger.reconcile("personal", "r-1", d("41.17"), t("2026-02-03T00:00:00Z")).unwrap();
    let down = ledger.reconcile("personal", "r-2", d("-1.5"), t("2026-02-04T00:00:00Z")).unwrap();
    let adjustments: Vec<_> = [&up, &down].iter().map(|b| money::format(b.receipt.adjustment_usd)).collect();
    assert_eq!(adjustments, ["28.67", "-42.67"]);
    let v = view(&ledger, "2026-02-04T00:00:00Z");
    assert_eq!((money::format(v.balance_usd), money::format(v.topups.reconcile_usd)), ("-1.5".to_string(), "-14".to_string()));
}

#[test]
fn only_the_last_thirteen_months_of_figures_are_kept() {
    let mut ledger = ledger_with(chrono_tz::UTC, account("1000", None));
    for month in 1..=12 {
        ledger.book_usage("personal", "x", t(&format!("2026-{month:02}-15T00:00:00Z")), d("1")).unwrap();
    }
    ledger.book_usage("personal", "x", t("2027-01-15T00:00:00Z"), d("1")).unwrap();
    assert_eq!(money::format(view(&ledger, "2026-01-20T00:00:00Z").spend_this_month_usd), "1");
    ledger.book_usage("personal", "x", t("2027-02-15T00:00:00Z"), d("1")).unwrap();
    assert_eq!(money::format(view(&ledger, "2026-01-20T00:00:00Z").spend_this_month_usd), "0");
    assert_eq!(money::format(view(&ledger, "2026-02-20T00:00:00Z").spend_this_month_usd), "1");
    assert_eq!(money::format(view(&ledger, "2027-02-20T00:00:00Z").balance_usd), "986");
}

#[test]
fn an_account_without_an_opening_time_opens_when_configured() {
    let mut settings = account("50", None);
    settings.opening_as_of = None;
    let mut ledger = Ledger::new(chrono_tz::UTC);
    let opened = ledger.configure(vec![settings.clone()], t("2026-11-20T08:00:00Z"));
    assert_eq!(opened, [Entry::Opened { account: "personal".into(), balance: d("50"), as_of: t("2026-11-20T08:00:00Z") }]);
    // A later start neither reopens it nor moves its opening time.
    assert!(ledger.configure(vec![settings], t("2026-11-21T08:00:00Z")).is_empty());
    let backfilled = ledger.book_usage("personal", "claude-code", t("2026-11-19T00:00:00Z"), d("3")).unwrap();
    assert_eq!(summary(&backfilled), ["debit 3 = allowance 0 + balance 3 (not deducted) in 2026-11"]);
    assert_eq!(view(&ledger, "2026-11-21T00:00:00Z").opening_as_of, t("2026-11-20T08:00:00Z"));
}
