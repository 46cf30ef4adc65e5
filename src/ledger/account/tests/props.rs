//! Random sequences of usage, top-ups and reconciles against a plain model of
//! the balance: the books always add up, and replay equals live state.

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

#[derive(Debug, Clone)]
enum Op {
    /// `micros` of cost (6 decimals, as prices give), `minutes` after the start.
    Usage {
        direct: bool,
        minutes: u32,
        micros: i64,
    },
    TopUp {
        id: u8,
        cents: i64,
    },
    Reconcile {
        id: u8,
        cents: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<bool>(), 0..200_000u32, 0..40_000_000i64).prop_map(|(direct, minutes, micros)| Op::Usage { direct, minutes, micros }),
        1 => (0..8u8, -200..5_000i64).prop_map(|(id, cents)| Op::TopUp { id, cents }),
        1 => (0..8u8, -2_000..8_000i64).prop_map(|(id, cents)| Op::Reconcile { id, cents }),
    ]
}

fn settings(target: bool) -> AccountSettings {
    let size = if target { ReloadSize::Target(d("30")) } else { amount("20") };
    let mut s = account("10", Some(("5", size, "100")));
    s.monthly_allowance = Some(d("3"));
    s.direct_apps = vec!["claude.ai".into()];
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_books_add_up_and_replay_equals_live(ops in prop::collection::vec(op(), 1..60), target in any::<bool>()) {
        let la: Tz = "America/Los_Angeles".parse().unwrap();
        let start = t("2025-12-25T00:00:00Z");
        let mut live = Ledger::new(la);
        let mut journal = live.configure(vec![settings(target)], start);
        // The model: opening + credits - deducted debits, and each id's request.
        let mut balance = d("10");
        let mut requests: HashMap<u8, (RequestKind, Decimal)> = HashMap::new();
        for op in ops {
            let new_entries = match op {
                Op::Usage { direct, minutes, micros } => {
                    let at = start + chrono::Duration::minutes(i64::from(minutes));
                    let cost = Decimal::new(micros, 6);
                    let entries = live.book_usage("personal", if direct { "claude.ai" } else { "claude-code" }, at, cost).unwrap();
                    let Some(Entry::Debit { from_allowance, from_balance, deducted, .. }) = entries.first() else {
                        panic!("no debit first: {entries:?}");
                    };
                    prop_assert_eq!(*from_allowance + *from_balance, cost);
                    prop_assert!(direct || from_allowance.is_zero());
                    if *deducted {
                        balance -= *from_balance;
                    }
                    for e in &entries[1..] {
                        if let Entry::AutoReload { amount, .. } = e {
                            balance += *amount;
                        }
                    }
                    let v = live.view("personal", at).unwrap();
                    // A due reload was done, or the month's cap kept it out.
                    let reload_due = *deducted && v.balance_usd <= d("5");
                    prop_assert!(!reload_due || v.reload_cap_reached_this_month, "{:?}", v);
                    prop_assert!(v.reload_usd_this_month <= d("100"));
                    prop_assert!(v.allowance_remaining_usd.is_some_and(|a| a >= Decimal::ZERO));
                    entries
                }
                Op::TopUp { id, cents } => {
                    let amount = Decimal::new(cents, 2);
                    let result = live.topup("personal", &id.to_string(), amount, None, start);
                    match (requests.get(&id), result) {
                        (Some(&first), Ok(booked)) => {
                            prop_assert_eq!(first, (RequestKind::TopUp, amount));
                            prop_assert!(booked.entry.is_none());
                            vec![]
                        }
                        (Some(_), Err(e)) => {
                            prop_assert!(matches!(e, LedgerError::Conflict { .. }), "{}", e);
                            vec![]
                        }
                        (None, Ok(booked)) => {
                            prop_assert!(amount > Decimal::ZERO);
                            balance += amount;
                            requests.insert(id, (RequestKind::TopUp, amount));
                            booked.entry.into_iter().collect()
                        }
                        (None, Err(e)) => {
                            prop_assert_eq!(e, LedgerError::BadAmount { amount, reason: "a top-up must be more than 0" });
                            vec![]
                        }
                    }
                }
                Op::Reconcile { id, cents } => {
                    let target = Decimal::new(cents, 2);
                    let result = live.reconcile("personal", &id.to_string(), target, start);
                    match (requests.get(&id), result) {
                        (Some(&first), Ok(booked)) => {
                            prop_assert_eq!(first, (RequestKind::Reconcile, target));
                            prop_assert!(booked.entry.is_none());
                            vec![]
                        }
                        (Some(_), Err(e)) => {
                            prop_assert!(matches!(e, LedgerError::Conflict { .. }), "{}", e);
                            vec![]
                        }
                        (None, result) => {
                            let booked = result.map_err(|e| TestCaseError::fail(e.to_string()))?;
                            balance = target;
                            requests.insert(id, (RequestKind::Reconcile, target));
                            booked.entry.into_iter().collect()
                        }
                    }
                }
            };
            journal.extend(new_entries);
            let v = live.view("personal", start).unwrap();
            prop_assert_eq!(v.balance_usd, balance);
            let booked_changes: Decimal = journal.iter().map(Entry::balance_change).sum();
            prop_assert_eq!(booked_changes, balance);
            let credits = v.topups.manual_usd + v.topups.auto_usd + v.topups.reconcile_usd;
            let debits: Decimal = journal.iter().filter_map(|e| match e {
                Entry::Debit { from_balance, deducted: true, .. } => Some(*from_balance),
                _ => None,
            }).sum();
            prop_assert_eq!(d("10") + credits - debits, balance);
        }

        let mut replayed = Ledger::new(la);
        for entry in &journal {
            replayed.apply(entry).map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        prop_assert!(replayed.configure(vec![settings(target)], start).is_empty());
        prop_assert_eq!(&replayed, &live);
    }
}
