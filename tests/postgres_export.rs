//! `creditwatch state export`: the state directory of the shared fixtures
//! (`tests/fixtures/state-format-1`) into a real PostgreSQL and back into a
//! new directory, with the same balance and history (and the `ledger`
//! commands reading the database say the same); a non-empty database and a
//! non-empty directory refused.

mod common;
mod postgres_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::BIN;
use postgres_support::Postgres;
use rust_decimal::Decimal;
use serde_json::Value;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/state-format-1");

fn cw(config: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).arg("--config").arg(config).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// The fixture's config with `state_dir` at `state` and the database's URL
/// file: `ledger` commands read the database.
fn config(dir: &Path, state: &Path, url_file: &Path) -> PathBuf {
    let path = local(dir, state);
    let text = std::fs::read_to_string(&path).unwrap();
    let path = path.with_extension("pg.yaml");
    std::fs::write(&path, format!("{text}postgres:\n  url_file: {}\n", url_file.display())).unwrap();
    path
}

/// The fixture's config with `state_dir` at `state` alone: `ledger`
/// commands read the directory.
fn local(dir: &Path, state: &Path) -> PathBuf {
    let text = std::fs::read_to_string(Path::new(FIXTURE).join("config.yaml"))
        .unwrap()
        .replace("{port}", "1")
        .replace("{dir}/state", &state.display().to_string())
        .replace("{logs}", &dir.join("empty").display().to_string());
    let path = dir.join(format!("config-{}.yaml", state.file_name().unwrap().to_str().unwrap()));
    std::fs::write(&path, text).unwrap();
    path
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

/// Rows other than debits, as written, and the sum of the debits.
fn money(rows: &[Value]) -> (Vec<Value>, Decimal) {
    let debit = |r: &&Value| r["entry"]["type"] == "debit";
    let others = rows.iter().filter(|r| !debit(r)).cloned().collect();
    let spent = rows.iter().filter(debit).map(|r| r["entry"]["cost"].as_str().unwrap().parse::<Decimal>().unwrap()).sum();
    (others, spent)
}

#[test]
fn the_fixture_state_directory_moves_into_postgres_and_back_with_the_same_balance_and_history() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("empty")).unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    for name in ["journal.cwj", "snapshot.cws"] {
        std::fs::copy(Path::new(FIXTURE).join("state").join(name), state.join(name)).unwrap();
    }
    let url_file = dir.path().join("postgres.url");
    pg.write_url_file(&url_file);
    let source = config(dir.path(), &state, &url_file);
    let fixture_history: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(Path::new(FIXTURE).join("history.json")).unwrap()).unwrap();

    let (code, out, err) = cw(&source, &["state", "export", "--to-postgres"]);
    assert_eq!(code, 0, "{err}");
    let seen = pg.psql("SELECT count(*) FROM creditwatch_requests");
    let shown = format!("postgres://127.0.0.1:{}/postgres", pg.port);
    assert_eq!(
        out,
        format!("exported {} to {shown}: 1 accounts, {seen} requests, {} history rows\n", state.display(), history(&source).len())
    );
    assert!(seen.parse::<u64>().unwrap() > 0);
    assert!(!out.contains(postgres_support::PASSWORD) && !err.contains(postgres_support::PASSWORD), "the password is never shown");
    assert_eq!(pg.psql("SELECT string_agg(seq::text, ',') FROM creditwatch_snapshots"), "0");
    // Top-up and reconcile ids travel, so a retried top-up stays booked once.
    let ids = pg.psql("SELECT string_agg(kind, ',' ORDER BY kind) FROM creditwatch_receipts");
    let journaled = fixture_history.iter().filter(|r| matches!(r["entry"]["type"].as_str(), Some("top_up" | "reconcile"))).count();
    assert_eq!(ids.split(',').filter(|s| !s.is_empty()).count(), journaled);

    // A second export finds the database in use and changes nothing.
    let (code, _, err) = cw(&source, &["state", "export", "--to-postgres"]);
    assert_eq!(code, 1);
    assert!(err.contains("the database already holds a creditwatch state"), "{err}");
    assert_eq!(pg.psql("SELECT count(*) FROM creditwatch_snapshots"), "1");

    // Back into a new directory: the same balance and history as the source.
    let back = dir.path().join("back");
    let (code, out, err) = cw(&source, &["state", "export", "--to-dir", back.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(&format!("exported {shown} to {}: 1 accounts, {seen} requests, ", back.display())), "{out}");
    let restored = local(dir.path(), &back);
    let original = local(dir.path(), &state);
    assert_eq!(balance(&restored), "41.17");
    assert_eq!(balance(&original), "41.17");
    assert_eq!(history(&restored), history(&original));
    let (fixture_others, fixture_spent) = money(&fixture_history);
    let (others, spent) = money(&history(&restored));
    assert_eq!(others, fixture_others);
    assert_eq!(spent, fixture_spent);
    let (code, out, err) = cw(&restored, &["ledger", "verify"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("personal: balance $41.17"), "{out}");

    // With `postgres:` the ledger commands read the database: the same
    // balance, the same entries and money.
    assert_eq!(balance(&source), "41.17");
    let (others, spent) = money(&history(&source));
    assert_eq!(others, fixture_others);
    assert_eq!(spent, fixture_spent);
    let (code, out, err) = cw(&source, &["ledger", "verify"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("personal: balance $41.17"), "{out}");

    // A directory that holds anything is refused.
    let (code, _, err) = cw(&source, &["state", "export", "--to-dir", back.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("is not empty: export into a new state directory"), "{err}");
}
