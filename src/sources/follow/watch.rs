//! The watcher: which paths changed since the last round, from inotify
//! (`notify`), so that following ten thousand idle files costs nothing
//! while they stay idle.
//!
//! Each round asks for a `Plan`: either the paths notifications named, or a
//! full scan (re-list the globs, stat every file) — at the start, every
//! `rescan_interval` as a safety net (inotify misses writes made through a
//! hard link in another folder, over NFS and other network file systems, or
//! by `mmap`), and whenever notifications cannot be trusted:
//! - the kernel's event queue overflowed (`fs.inotify.max_queued_events`):
//!   events were lost, so every round is a full scan for one
//!   `rescan_interval`, then notifications are trusted again;
//! - a watch could not be added (`fs.inotify.max_user_watches` reached, no
//!   inotify instance left) or reading events failed: notifications are
//!   given up and every round is a full scan from then on.
//!
//! Each is logged once. Vector's `file` source and mtail make the same
//! choice: notifications for speed, a poll for correctness.
//!
//! Invariant: a change made after `plan` returned is reported by a later
//! `plan` (the set is swapped out under the lock the callback writes
//! through), so a round never loses a notification that arrives while it
//! reads.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher};

use super::discover::PathPattern;
use crate::common::lock;

/// Past this many distinct changed paths between two rounds, a full scan is
/// cheaper than the set (and bounds its memory).
const MAX_PENDING_PATHS: usize = 50_000;

/// What the next round looks at.
#[derive(Debug)]
pub struct Plan {
    /// A full scan, and why; `None`: only `changed`.
    pub full: Option<Why>,
    /// Paths named by notifications since the last round: files, or
    /// folders (created or moved in) whose files are all new.
    pub changed: HashSet<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The first round, or after the follower forgot its files.
    Start,
    /// The safety scan every `rescan_interval`.
    Safety,
    /// Notifications cannot be trusted now (see the module doc).
    Polling,
}

/// Written by notify's thread, taken by each round.
#[derive(Default)]
struct Pending {
    paths: HashSet<PathBuf>,
    overflowed: bool,
    failed: Option<String>,
}

/// A folder watched for one or more patterns.
struct Root {
    dir: PathBuf,
    recursive: bool,
    /// (device, inode) of the folder when its watch was added: another
    /// folder under the same name (deleted and made again) needs its own.
    watched: Option<(u64, u64)>,
}

pub struct ChangeFeed {
    watcher: Option<notify::RecommendedWatcher>,
    pending: Arc<Mutex<Pending>>,
    roots: Vec<Root>,
    rescan_every: Duration,
    last_full: Option<Instant>,
    /// After an overflow, every round is a full scan until then.
    polling_until: Option<Instant>,
    said_overflow: bool,
}

impl ChangeFeed {
    /// Starts watching the folders under `patterns`; every notification
    /// also sends on `wake`. Without inotify, every round is a full scan.
    pub fn start(patterns: &[&PathPattern], wake: Sender<()>, rescan_every: Duration) -> ChangeFeed {
        let pending = Arc::new(Mutex::new(Pending::default()));
        let shared = pending.clone();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let mut p = lock(&shared);
            match event {
                Ok(e) if e.need_rescan() => p.overflowed = true,
                // Opens, reads and closes (the follower's own among them)
                // change nothing.
                Ok(e) if matches!(e.kind, EventKind::Access(_)) => return,
                Ok(e) => {
                    p.paths.extend(e.paths);
                    if p.paths.len() > MAX_PENDING_PATHS {
                        p.paths = HashSet::new();
                        p.overflowed = true;
                    }
                }
                Err(e) => p.failed = Some(e.to_string()),
            }
            drop(p);
            let _ = wake.send(());
        });
        let watcher = match watcher {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!("no file-change notifications ({e}): re-listing the globs every follow.poll_interval");
                None
            }
        };
        let mut feed = ChangeFeed {
            watcher,
            pending,
            roots: roots(patterns),
            rescan_every,
            last_full: None,
            polling_until: None,
            said_overflow: false,
        };
        feed.watch_roots();
        feed
    }

    /// The next round's work. A full scan also covers every change noted
    /// so far; they are returned too, so the scan can tell a change that
    /// was notified from one that was missed.
    pub fn plan(&mut self, now: Instant) -> Plan {
        let (changed, overflowed, failed) = {
            let mut p = lock(&self.pending);
            (std::mem::take(&mut p.paths), std::mem::take(&mut p.overflowed), p.failed.take())
        };
        if let Some(e) = failed {
            self.give_up(&e);
        }
        let new_root = self.watch_roots();
        if overflowed {
            if !self.said_overflow {
                self.said_overflow = true;
                tracing::warn!(
                    "file-change notifications overflowed (raise fs.inotify.max_queued_events): re-listing the globs every follow.poll_interval for {:?}",
                    self.rescan_every
                );
            }
            self.polling_until = Some(now + self.rescan_every);
        }
        let why = if self.last_full.is_none() {
            Some(Why::Start)
        } else if self.watcher.is_none() || new_root || self.polling_until.is_some_and(|t| now < t) {
            Some(Why::Polling)
        } else if self.last_full.is_some_and(|t| now.duration_since(t) >= self.rescan_every) {
            Some(Why::Safety)
        } else {
            None
        };
        if why.is_some() {
            self.last_full = Some(now);
        }
        Plan { full: why, changed }
    }

    /// The next round is a full scan (the follower forgot its files).
    pub fn rescan(&mut self) {
        self.last_full = None;
    }

    /// True while notifications are used (not given up).
    pub fn notifying(&self) -> bool {
        self.watcher.is_some()
    }

    /// Adds a watch to every root folder that exists and is not watched
    /// (yet, or any more: deleted and made again). True when one was added:
    /// the files already in it were never notified.
    fn watch_roots(&mut self) -> bool {
        let mut added = false;
        for i in 0..self.roots.len() {
            let Some(watcher) = self.watcher.as_mut() else { return added };
            let root = &mut self.roots[i];
            let now = std::fs::metadata(&root.dir).ok().filter(|m| m.is_dir()).map(|m| (m.dev(), m.ino()));
            if now == root.watched {
                continue;
            }
            if root.watched.is_some() {
                let _ = watcher.unwatch(&root.dir); // gone already, most likely
            }
            root.watched = None;
            if now.is_none() {
                continue;
            }
            let mode = if root.recursive { RecursiveMode::Recursive } else { RecursiveMode::NonRecursive };
            match watcher.watch(&root.dir, mode) {
                Ok(()) => {
                    root.watched = now;
                    added = true;
                }
                Err(e) => {
                    let message = format!("cannot watch {} ({e})", root.dir.display());
                    self.give_up(&message);
                    return true;
                }
            }
        }
        added
    }

    fn give_up(&mut self, why: &str) {
        if self.watcher.take().is_some() {
            tracing::warn!(
                "file-change notifications given up: {why} (raise fs.inotify.max_user_watches or max_user_instances); re-listing the globs every follow.poll_interval"
            );
        }
    }
}

/// The folders to watch for a set of patterns: the literal base of a glob
/// (recursively when the glob spans folders), the parent of a literal
/// path; a folder inside a recursive one is left to it.
fn roots(patterns: &[&PathPattern]) -> Vec<Root> {
    let mut wanted: Vec<(PathBuf, bool)> = Vec::new();
    for p in patterns {
        let base = p.base();
        let (dir, recursive) = if p.is_literal() {
            (base.parent().map(Path::to_path_buf).unwrap_or_else(|| base.to_path_buf()), false)
        } else {
            (base.to_path_buf(), p.depth().is_none_or(|d| d > 1))
        };
        match wanted.iter_mut().find(|(d, _)| *d == dir) {
            Some(w) => w.1 |= recursive,
            None => wanted.push((dir, recursive)),
        }
    }
    let covered = |dir: &Path, wanted: &[(PathBuf, bool)]| wanted.iter().any(|(d, r)| *r && d != dir && dir.starts_with(d));
    wanted
        .iter()
        .filter(|(dir, _)| !covered(dir, &wanted))
        .map(|(dir, recursive)| Root { dir: dir.clone(), recursive: *recursive, watched: None })
        .collect()
}

#[cfg(test)]
mod tests;
