//! What a snapshot holds: the state, the money history before it, and the
//! last hour's spend — the three things the removed journal segments can no
//! longer give. JSON, with the seen index (the one part that grows with
//! requests) as one compact string (`seen::compact`).
//!
//! A snapshot of a release before format 2 (`Snapshot::format` 1) is a JSON
//! `State` alone; its history is the journal from offset 0, which the
//! upgrade keeps as segment 0.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::history::History;
use super::recent::RecentSpend;
use super::State;
use crate::ledger::snapshot::{load_snapshots, Snapshot};

/// `Snapshot::format` of the snapshots this release writes.
pub const FORMAT: u32 = 2;

/// A snapshot, decoded.
pub struct Image {
    pub state: State,
    pub history: History,
    pub recent: RecentSpend,
    /// The journal offset the history covers up to: records from here on
    /// add to it.
    pub history_from: u64,
}

impl Image {
    pub fn empty(state: State) -> Image {
        Image { state, history: History::default(), recent: RecentSpend::default(), history_from: 0 }
    }
}

#[derive(Serialize)]
struct Written<'a> {
    state: &'a State,
    history: &'a History,
    recent: &'a RecentSpend,
}

#[derive(Deserialize)]
struct Read {
    state: State,
    history: History,
    #[serde(default)]
    recent: RecentSpend,
}

#[derive(Deserialize)]
struct HistoryOnly {
    history: History,
}

pub fn encode(state: &State, history: &History, recent: &RecentSpend) -> Result<Vec<u8>> {
    Ok(serde_json::to_vec(&Written { state, history, recent })?)
}

pub fn decode(snap: &Snapshot) -> Result<Image> {
    match snap.format {
        FORMAT => {
            let Read { state, history, recent } = serde_json::from_slice(&snap.bytes)?;
            Ok(Image { state, history, recent, history_from: snap.offset })
        }
        _ => Ok(Image::empty(serde_json::from_slice(&snap.bytes)?)),
    }
}

/// The history of the newest readable snapshot and the offset it covers
/// up to; a snapshot of an earlier release has none (the journal from 0).
pub fn newest_history(dir: &Path) -> Result<Option<(History, u64)>> {
    for snap in load_snapshots(dir).with_context(|| format!("reading the snapshots in {}", dir.display()))? {
        if snap.format != FORMAT {
            return Ok(Some((History::default(), 0)));
        }
        match serde_json::from_slice::<HistoryOnly>(&snap.bytes) {
            Ok(h) => return Ok(Some((h.history, snap.offset))),
            Err(e) => tracing::warn!(file = %snap.path.display(), "ignoring a snapshot that cannot be read: {e}"),
        }
    }
    Ok(None)
}
