//! What the ingestion thread shares with the HTTP side and the alert task:
//! whether the first scan is done, per-source read figures, failed commits.

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Mutex;

use crate::sources::follow::tail::SourceStats;

/// What the ingestion thread shares with the HTTP side.
#[derive(Default)]
pub struct Progress {
    /// True after the first full scan of every source.
    pub ready: AtomicBool,
    pub sources: Mutex<Vec<SourceStats>>,
    /// Failed commits (disk full, I/O errors), for the log and tests.
    pub commit_failures: AtomicU64,
    /// Completed polls, so tests and tools can wait for "caught up".
    pub polls: AtomicU64,
}
