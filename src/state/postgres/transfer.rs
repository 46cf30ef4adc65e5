//! `creditwatch state export`: a state directory into an empty database
//! (moving to PostgreSQL), or the database's state into a new state
//! directory (a backup, or leaving PostgreSQL).
//!
//! Either way what travels is one snapshot: the state, the money history
//! and the last hour's spend (`state::snapshot`). Into the database it goes
//! with every request id the state has booked and every top-up and
//! reconcile id of its history, so exactly once holds across the move. Each
//! direction reads the result back and compares it with what it wrote
//! before it reports success.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use chrono_tz::Tz;

use super::backend::Backend;
use super::{DbUrl, PgStore};
use crate::ledger::snapshot::save_snapshot;
use crate::state::history::History;
use crate::state::snapshot;
use crate::state::store::{read_history, Store};
use crate::state::State;

/// What was moved.
#[derive(Debug, PartialEq, Eq)]
pub struct Moved {
    pub accounts: usize,
    pub requests: usize,
    pub history_rows: usize,
}

/// The state directory `dir` into an empty database. Takes the directory's
/// lock, so no daemon books on it meanwhile.
pub async fn dir_to_postgres(dir: &Path, tz: Tz, url: DbUrl, lease: Duration) -> Result<Moved> {
    let store = Store::open(dir, tz)?;
    let history = read_history(dir)?;
    let image = snapshot::encode(&store.state, &history, store.recent()).context("encoding the state")?;
    let requests: Vec<(Vec<u8>, i64)> = store.state.seen.iter().map(|(id, seen)| (id.0.to_be_bytes().to_vec(), seen.at)).collect();
    let mut backend = Backend::open(url.clone(), lease).await.with_context(|| format!("opening {url}"))?;
    backend.import(snapshot::FORMAT as i32, &image, &requests, &receipts(&history)).await.with_context(|| format!("writing to {url}"))?;
    let written = PgStore::open(url.clone(), lease, tz).await.with_context(|| format!("reading back from {url}"))?;
    same(&store.state, &written.state).with_context(|| format!("{url} does not read back as {}", dir.display()))?;
    Ok(moved(&written.state, written.history()))
}

/// The database's state into `dir`, which must be absent or empty.
pub async fn postgres_to_dir(url: DbUrl, lease: Duration, tz: Tz, dir: &Path) -> Result<Moved> {
    if std::fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(false) {
        bail!("{} is not empty: export into a new state directory", dir.display());
    }
    let pg = PgStore::open(url.clone(), lease, tz).await.with_context(|| format!("reading {url}"))?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let image = snapshot::encode(&pg.state, pg.history(), pg.recent()).context("encoding the state")?;
    save_snapshot(dir, 0, &image).with_context(|| format!("writing the snapshot in {}", dir.display()))?;
    let store = Store::open(dir, tz).with_context(|| format!("reading back {}", dir.display()))?;
    same(&pg.state, &store.state).with_context(|| format!("{} does not read back as {url}", dir.display()))?;
    Ok(moved(&store.state, pg.history()))
}

/// The ids a top-up or reconcile was booked under (the history keeps every
/// one of them as journaled).
fn receipts(history: &History) -> Vec<(String, String)> {
    super::backend::receipts(history.entries())
}

fn moved(state: &State, history: &History) -> Moved {
    Moved { accounts: state.ledger.accounts().count(), requests: state.seen.len(), history_rows: history.entries().len() }
}

/// The parts a reader sees: ledger, usage totals, sources, seen requests.
fn same(a: &State, b: &State) -> Result<()> {
    let parts = |s: &State| -> Result<[serde_json::Value; 4]> {
        Ok([
            serde_json::to_value(&s.ledger)?,
            serde_json::to_value(s.usage.iter().collect::<Vec<_>>())?,
            serde_json::to_value(&s.sources)?,
            serde_json::to_value(s.seen.iter().map(|(id, seen)| (id.0.to_string(), seen)).collect::<std::collections::BTreeMap<_, _>>())?,
        ])
    };
    let names = ["ledger", "usage totals", "source totals", "seen requests"];
    for ((x, y), name) in parts(a)?.iter().zip(parts(b)?.iter()).zip(names) {
        if x != y {
            bail!("the {name} differ");
        }
    }
    Ok(())
}
