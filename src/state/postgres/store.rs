//! The state folded from PostgreSQL: what `state::store::Store` is for a
//! state directory, for a replica that shares the database with others.
//!
//! Every replica folds the same records in the same order (`catch_up`); the
//! writer also commits (`commit`), each record numbered one after the last
//! it folded, under its lease's epoch. As with the local store the caller
//! changes the state first and commits after: on any commit error the state
//! may be ahead of the database, and `reload` throws that away.

use std::time::Duration;

use chrono::Utc;
use chrono_tz::Tz;

use super::backend::Backend;
use super::{DbUrl, PgError};
use crate::ledger::snapshot::Snapshot;
use crate::ledger::Ledger;
use crate::state::history::History;
use crate::state::recent::RecentSpend;
use crate::state::snapshot::{self, Image};
use crate::state::store::note;
use crate::state::{Record, State};

/// Records read per query while catching up.
const READ_BATCH: i64 = 2_000;

pub struct PgStore {
    backend: Backend,
    tz: Tz,
    pub state: State,
    history: History,
    recent: RecentSpend,
    /// The last record folded in (0: none).
    seq: i64,
    records_since_snapshot: u64,
}

impl PgStore {
    /// Connects, migrates, and folds the newest snapshot and the records
    /// after it.
    pub async fn open(url: DbUrl, lease: Duration, tz: Tz) -> Result<PgStore, PgError> {
        let backend = Backend::open(url, lease).await?;
        let empty = Image::empty(State::new(Ledger::new(tz)));
        let mut store =
            PgStore { backend, tz, state: empty.state, history: empty.history, recent: empty.recent, seq: 0, records_since_snapshot: 0 };
        store.reload().await?;
        Ok(store)
    }

    /// Throws the state away and folds it again from the database.
    pub async fn reload(&mut self) -> Result<(), PgError> {
        let image = match self.backend.newest_snapshot().await? {
            Some(stored) => {
                let snap =
                    Snapshot { format: stored.format as u32, offset: stored.seq as u64, bytes: stored.image, path: Default::default() };
                let image =
                    snapshot::decode(&snap).map_err(|e| PgError::Corrupt { seq: stored.seq, reason: format!("snapshot: {e:#}") })?;
                (stored.seq, image)
            }
            None => (0, Image::empty(State::new(Ledger::new(self.tz)))),
        };
        let (seq, Image { state, history, recent, .. }) = image;
        self.state = state;
        self.history = history;
        self.recent = recent;
        self.seq = seq;
        self.records_since_snapshot = 0;
        self.catch_up().await?;
        Ok(())
    }

    /// Folds in what was committed since the last call (a replica that is
    /// not the writer calls this every so often). Returns how many records.
    pub async fn catch_up(&mut self) -> Result<usize, PgError> {
        let mut folded = 0;
        loop {
            let records = self.backend.read_after(self.seq, READ_BATCH).await?;
            let n = records.len();
            for (seq, record) in records {
                self.state.apply(&record).map_err(|e| PgError::Corrupt { seq, reason: e.to_string() })?;
                note(&mut self.history, &mut self.recent, &record);
                self.seq = seq;
                self.records_since_snapshot += 1;
            }
            folded += n;
            if (n as i64) < READ_BATCH {
                return Ok(folded);
            }
        }
    }

    /// Commits a record the caller has already folded into `state`, under
    /// the lease `epoch`. On error, call `reload`.
    pub async fn commit(&mut self, epoch: i64, record: &Record) -> Result<(), PgError> {
        let seq = self.seq + 1;
        self.backend.commit(epoch, seq, record).await?;
        self.seq = seq;
        self.state.records += 1;
        self.records_since_snapshot += 1;
        note(&mut self.history, &mut self.recent, record);
        Ok(())
    }

    /// Stores a snapshot of the state as of the last record folded.
    pub async fn snapshot(&mut self) -> Result<(), PgError> {
        self.recent.prune(Utc::now());
        let image = snapshot::encode(&self.state, &self.history, &self.recent)
            .map_err(|e| PgError::Corrupt { seq: self.seq, reason: format!("encoding a snapshot: {e:#}") })?;
        self.backend.save_snapshot(self.seq, snapshot::FORMAT as i32, &image).await?;
        self.records_since_snapshot = 0;
        Ok(())
    }

    /// A snapshot when `every` records were folded since the last one.
    pub async fn maybe_snapshot(&mut self, every: u64) {
        if self.records_since_snapshot >= every {
            if let Err(e) = self.snapshot().await {
                tracing::warn!("cannot store a snapshot in PostgreSQL (will retry): {e}");
            }
        }
    }

    /// The last record folded in.
    pub fn seq(&self) -> i64 {
        self.seq
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    pub fn recent(&self) -> &RecentSpend {
        &self.recent
    }

    pub fn backend(&mut self) -> &mut Backend {
        &mut self.backend
    }
}
