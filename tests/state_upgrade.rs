//! A state directory of format 1 (one JSON journal, a JSON snapshot),
//! written by the last release of that format from the shared fixtures
//! (`tests/fixtures/state-format-1/make.sh`), read and upgraded by this
//! one: the same balance, history and metrics as that release showed,
//! nothing booked twice, the old journal removed once two snapshots of the
//! new format are durable, and the directory refused by a release that
//! cannot read it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/state-format-1");

fn cw(config: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).arg("--config").arg(config).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// The fixture's state directory in a temp folder, with its config (the
/// sources read an empty folder: nothing new to book).
fn setup(dir: &Path, port: u16) -> PathBuf {
    std::fs::create_dir_all(dir.join("state")).unwrap();
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    for name in ["journal.cwj", "snapshot.cws"] {
        std::fs::copy(Path::new(FIXTURE).join("state").join(name), dir.join("state").join(name)).unwrap();
    }
    let config = std::fs::read_to_string(Path::new(FIXTURE).join("config.yaml"))
        .unwrap()
        .replace("{port}", &port.to_string())
        .replace("{dir}", &dir.display().to_string())
        .replace("{logs}", &dir.join("empty").display().to_string());
    let path = dir.join("config.yaml");
    std::fs::write(&path, config).unwrap();
    path
}

fn expected(name: &str) -> String {
    std::fs::read_to_string(Path::new(FIXTURE).join(name)).unwrap()
}

/// The metric families the fixture recorded, as the daemon shows them now.
fn metrics(d: &Daemon) -> String {
    let families =
        expected("metrics.txt").lines().map(|l| l.split('{').next().unwrap().to_string()).collect::<std::collections::BTreeSet<_>>();
    let mut lines: Vec<String> =
        d.scrape().lines().filter(|l| families.iter().any(|f| l.starts_with(&format!("{f}{{")))).map(str::to_string).collect();
    lines.sort();
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn history(config: &Path) -> Vec<Value> {
    let (code, out, err) = cw(config, &["ledger", "history", "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str::<Value>(&out).unwrap().as_array().unwrap().clone()
}

fn balance(config: &Path) -> String {
    let (code, out, err) = cw(config, &["ledger", "show", "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str::<Value>(&out).unwrap()["accounts"][0]["balance_usd"].as_str().unwrap().to_string()
}

/// Rows that are not debits, as written; debits summed per account and UTC day.
fn money_rows(rows: &[Value]) -> (Vec<Value>, std::collections::BTreeMap<String, rust_decimal::Decimal>) {
    let mut others = Vec::new();
    let mut debits = std::collections::BTreeMap::new();
    for row in rows {
        let entry = &row["entry"];
        if entry["type"] == "debit" {
            let day = format!("{} {}", entry["account"], &entry["at"].as_str().unwrap()[..10]);
            *debits.entry(day).or_default() += entry["cost"].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap();
        } else {
            others.push(row.clone());
        }
    }
    (others, debits)
}

fn segments(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir.join("state/journal")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

#[test]
fn a_format_1_state_directory_is_upgraded_with_the_same_balance_history_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = setup(dir.path(), port);
    let old_history: Vec<Value> = serde_json::from_str(&expected("history.json")).unwrap();
    let old_balance = serde_json::from_str::<Value>(&expected("show.json")).unwrap()["accounts"][0]["balance_usd"].clone();
    assert_eq!(old_balance, "41.17");

    // Read-only commands read the old layout as it is, and change nothing.
    assert_eq!(history(&config), old_history);
    assert_eq!(balance(&config), "41.17");
    assert!(!dir.path().join("state/journal").exists());

    // The daemon upgrades it: the metrics the old release showed.
    let d = Daemon::start_with(dir.path(), &config, port);
    assert_eq!(metrics(&d), expected("metrics.txt"));
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));
    let marker = std::fs::read(dir.path().join("state/journal.cwj")).unwrap();
    let decoded = creditwatch::ledger::journal::decode(&marker, 0).unwrap();
    assert_eq!(decoded.records.len(), 1);
    // What a format-1 release does with the marker: read it as a record, and fail saying why.
    let err = serde_json::from_slice::<creditwatch::state::Record>(&decoded.records[0].payload).unwrap_err().to_string();
    assert!(
        err.contains("creditwatch state format 2 (this state directory was written by a newer creditwatch: upgrade creditwatch"),
        "{err}"
    );
    assert!(std::fs::read(dir.path().join("state/snapshot.cws")).unwrap().starts_with(b"CWSNAP2\n"));

    // History: every top-up, reconcile and opening with the same balance
    // after it; debits the same per day (summed behind the snapshot).
    let (old_others, old_debits) = money_rows(&old_history);
    let (others, debits) = money_rows(&history(&config));
    assert_eq!(others, old_others);
    assert_eq!(debits, old_debits);
    assert_eq!(balance(&config), "41.17");

    // Two more snapshots (each offline top-up writes one): the segment that
    // was the old journal goes; the history still reaches back to the opening.
    for (id, amount) in [("t2", "1.50"), ("t3", "2.25")] {
        let (code, _, err) = cw(&config, &["ledger", "topup", "personal", amount, "--id", id]);
        assert_eq!(code, 0, "{err}");
    }
    assert!(!segments(dir.path()).contains(&"00000000000000000000.cwj".to_string()), "{:?}", segments(dir.path()));
    let rows = history(&config);
    let (others, debits) = money_rows(&rows);
    assert_eq!(&others[..old_others.len()], old_others.as_slice());
    assert_eq!(others.len(), old_others.len() + 2);
    assert_eq!(others.last().unwrap()["balance_after_usd"], "44.92");
    assert_eq!(debits, old_debits);
    let (code, out, err) = cw(&config, &["ledger", "verify"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("all checksums good") && out.contains("personal: balance $44.92"), "{out}");

    // And the daemon shows the same usage as the old release did.
    let d = Daemon::start_with(dir.path(), &config, port);
    let now = metrics(&d);
    let without_money = |text: &str| {
        text.lines()
            .filter(|l| {
                !l.starts_with("creditwatch_balance_usd")
                    && !l.starts_with("creditwatch_topups_usd_total{account=\"personal\",kind=\"manual\"}")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(without_money(&now), without_money(&expected("metrics.txt")));
    assert!(now.contains("creditwatch_balance_usd{account=\"personal\"} 44.92\n"), "{now}");
    drop(d);
}
