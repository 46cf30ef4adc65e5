//! The follower: keeps reading every file of every source as it grows.
//!
//! Each `poll` is one round: find what changed (`listing`), recognise files
//! by identity (`fingerprint`), read the complete lines added since the last
//! round, and hand them on with the offset just past them: the checkpoint
//! that the caller commits *together with* what it booked from those lines.
//! The follower itself never persists anything; after a failed commit the
//! caller rebuilds it from the committed checkpoints (`reset`).
//!
//! What changed comes from inotify once `follow_changes` is on (`watch`): a
//! round then looks only at the paths notifications named, plus the files
//! it owes a read (a backlog larger than one round, a parser holding events
//! back); a full scan — re-list the globs, stat every file — runs at the
//! start, every `rescan_interval` as a safety net, and every round when
//! notifications cannot be trusted. Without `follow_changes`, every round
//! is a full scan.
//!
//! Rotation: a path that now names another inode (rename-and-create,
//! delete-and-recreate) makes a new file; the old one, no longer listed, is
//! read to its end through its open descriptor and then dropped. A file that
//! shrinks below its offset was truncated (copytruncate): it is read again
//! from the start — lines written between logrotate's copy and its truncate
//! are lost by that method itself, which is why rename rotation is advised.
//! Only recently active files keep a descriptor open, so following ten
//! thousand idle files does not take ten thousand descriptors.

mod listing;
mod reopen;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::document::Documents;
use super::fingerprint::{identify, FileId};
use super::reader::{Item, LineReader};
use super::watch::{ChangeFeed, Plan, Why};
use crate::sources::{parse_item, LineParser, LineResult, SourceSpec};
use reopen::{find_renamed, reopen, Reopened};

/// Where reading of one file stands: committed with what it produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub id: FileId,
    pub source: String,
    pub path: PathBuf,
    /// Just past the last complete line handled.
    pub offset: u64,
    /// Number of the next line (1-based), for error messages.
    pub next_line: u64,
}

/// Lines read from one file in one poll.
pub struct FileBatch {
    pub source: usize,
    pub path: PathBuf,
    pub lines: Vec<(u64, LineResult)>,
    pub checkpoint: Checkpoint,
}

/// A file that could not be opened or read; logged by the caller and
/// retried on the next poll.
#[derive(Debug, Clone)]
pub struct FileProblem {
    pub source: usize,
    pub path: PathBuf,
    pub message: String,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SourceStats {
    pub files: u64,
    /// Bytes written to the files and not read yet.
    pub lag_bytes: u64,
    /// Bytes read so far from the files followed now: it moves when they grow.
    pub read_bytes: u64,
}

#[derive(Default)]
pub struct Poll {
    pub batches: Vec<FileBatch>,
    /// Files gone for good: their checkpoints can be forgotten.
    pub dropped: Vec<FileId>,
    pub problems: Vec<FileProblem>,
    /// True when some file has more to read than one poll takes.
    pub more: bool,
}

/// Device and inode: the key of a followed file (one entry per inode; a
/// new first line on the same inode is found when the file is read).
type Inode = (u64, u64);

struct Tracked {
    id: FileId,
    source: usize,
    path: PathBuf,
    /// Boxed: most of ten thousand followed files have none.
    reader: Option<Box<LineReader<File>>>,
    offset: u64,
    next_line: u64,
    size: u64,
    parser: Box<dyn LineParser>,
    last_growth: Instant,
    /// Where the parser began holding events back (offset, line number):
    /// the checkpoint stays there until it holds nothing.
    hold_from: Option<(u64, u64)>,
    /// No longer listed: read to its end (renamed or deleted), then dropped.
    gone: bool,
}

/// How long the checkpoint of a file that is no longer listed is kept.
const FORGET_MISSING_AFTER: Duration = Duration::from_secs(600);

pub struct Follower {
    sources: Vec<SourceSpec>,
    files: HashMap<Inode, Tracked>,
    max_line: usize,
    /// Lines taken from one file per poll, so batches stay bounded.
    max_lines_per_poll: usize,
    /// Files that grew within this long keep their descriptor open.
    idle_close: Duration,
    stats: Vec<SourceStats>,
    /// Files no longer listed, read to their end, with when they went.
    /// Their checkpoints are kept a while: a directory listing racing a
    /// rename can miss a file once, and it must then resume, not restart.
    missing: HashMap<FileId, Instant>,
    /// The files of `Reading::Documents` sources, read whole (`document`).
    documents: Documents,
    /// Sources whose paths matched nothing, said once.
    said_empty: HashSet<usize>,
    /// inotify, once `follow_changes` is on.
    feed: Option<ChangeFeed>,
    /// Files read next round whatever was notified: more lines than one
    /// round takes, a parser holding events, a file gone but not finished.
    due: HashSet<Inode>,
    /// Paths looked at again next round: a truncated file started afresh,
    /// a file that could not be opened.
    recheck: HashSet<PathBuf>,
}

impl Follower {
    pub fn new(sources: Vec<SourceSpec>, max_line: usize) -> Follower {
        let stats = vec![SourceStats::default(); sources.len()];
        Follower {
            sources,
            files: HashMap::new(),
            max_line,
            max_lines_per_poll: 20_000,
            idle_close: Duration::from_secs(5),
            stats,
            missing: HashMap::new(),
            documents: Documents::default(),
            said_empty: HashSet::new(),
            feed: None,
            due: HashSet::new(),
            recheck: HashSet::new(),
        }
    }

    /// From now on, rounds look at what inotify reports (each report also
    /// sends on `wake`), with a full scan every `rescan_every`.
    pub fn follow_changes(&mut self, wake: Sender<()>, rescan_every: Duration) {
        let patterns: Vec<_> = self.sources.iter().flat_map(|s| s.patterns.iter()).collect();
        self.feed = Some(ChangeFeed::start(&patterns, wake, rescan_every));
    }

    pub fn sources(&self) -> &[SourceSpec] {
        &self.sources
    }

    pub fn stats(&self) -> &[SourceStats] {
        &self.stats
    }

    /// Forgets every open file; the next poll starts from the checkpoints.
    pub fn reset(&mut self) {
        self.files.clear();
        self.due.clear();
        self.documents.reset();
        if let Some(feed) = &mut self.feed {
            feed.rescan();
        }
    }

    /// One round: list, recognise, read. `committed` gives the checkpoint of
    /// a file identity, if any.
    pub fn poll(&mut self, committed: &dyn Fn(&FileId) -> Option<Checkpoint>) -> Poll {
        let now = Instant::now();
        let plan = match &mut self.feed {
            Some(feed) => feed.plan(now),
            None => Plan { full: Some(Why::Polling), changed: HashSet::new() },
        };
        let mut poll = Poll::default();
        let mut documents = Vec::new();
        let full = plan.full.is_some();
        let to_read = match plan.full {
            Some(why) => {
                self.scan(&plan.changed, why, committed, &mut documents, &mut poll);
                self.due.clear();
                self.files.keys().copied().collect()
            }
            None => self.look_at(plan.changed, committed, &mut documents, &mut poll),
        };
        // Lines read this round, across files: one round is one journal
        // record, so a large backlog is booked in bounded pieces.
        let mut budget = self.max_lines_per_poll;
        let mut left = Vec::new();
        for ino in to_read {
            if budget == 0 {
                left.push(ino);
                continue;
            }
            budget = budget.saturating_sub(self.read_file(ino, budget, now, &mut poll));
        }
        if !left.is_empty() {
            poll.more = true;
            self.due.extend(left);
        }
        let sources = &self.sources;
        let names: Vec<String> = sources.iter().map(|s| s.name.clone()).collect();
        let parser = |i: usize| sources.get(i).and_then(SourceSpec::document_parser);
        if full {
            self.documents.poll(&documents, &names, &parser, &mut poll);
        } else {
            documents.extend(self.documents.retrying());
            self.documents.refresh(&documents, &names, &parser, &mut poll);
        }
        // Files missing for long enough are gone for good.
        let forget_after = FORGET_MISSING_AFTER;
        self.missing.retain(|id, since| {
            let keep = now.duration_since(*since) < forget_after;
            if !keep {
                poll.dropped.push(*id);
            }
            keep
        });
        self.update_stats();
        poll
    }

    /// Forgets a file; a file that went missing keeps its checkpoint a while.
    fn forget(&mut self, ino: Inode, missing_since: Option<Instant>, poll: &mut Poll) {
        if let Some(t) = self.files.remove(&ino) {
            match missing_since {
                Some(now) => {
                    self.missing.insert(t.id, now);
                }
                None => {
                    // Truncated and written anew: start it afresh in the
                    // next round, at once — what the writer wrote since may
                    // already be there, and its notification is spent.
                    poll.dropped.push(t.id);
                    poll.more = true;
                    self.recheck.insert(t.path);
                }
            }
        }
    }

    /// Reads what a file gained; a file no longer listed is read to its end
    /// and dropped. Returns how many lines it read.
    fn read_file(&mut self, ino: Inode, max_lines: usize, now: Instant, poll: &mut Poll) -> usize {
        let max_line = self.max_line;
        let Some(t) = self.files.get_mut(&ino) else { return 0 };
        let (id, gone) = (t.id, t.gone);
        if t.reader.is_none() {
            // No longer listed and not open: renamed (logrotate renames in
            // place, to a name the glob may not match) or deleted. A rename
            // is found among the siblings and read to its end there.
            let renamed = if gone { find_renamed(&t.path, id) } else { None };
            // Nothing new, unless the parser holds events whose wait may
            // be over (it is asked below, after reading).
            if (gone && renamed.is_none()) || (!gone && t.size == t.offset && !t.parser.holding()) {
                if gone {
                    self.forget(ino, Some(now), poll);
                }
                return 0;
            }
            let path = renamed.unwrap_or_else(|| t.path.clone());
            let reopened = match reopen(&path, id, t.offset, t.next_line, max_line) {
                // Renamed between the listing and now: follow it there.
                Ok(Reopened::Elsewhere) => match find_renamed(&t.path, id) {
                    Some(p) => reopen(&p, id, t.offset, t.next_line, max_line),
                    None => Ok(Reopened::Elsewhere),
                },
                other => other,
            };
            match reopened {
                Ok(Reopened::Reader(reader)) => t.reader = Some(Box::new(reader)),
                Ok(Reopened::Rewritten) => {
                    // Same inode, another first line: truncated and written
                    // anew (copytruncate).
                    tracing::info!(file = %t.path.display(), "file truncated: reading it again from the start");
                    self.forget(ino, None, poll);
                    return 0;
                }
                Ok(Reopened::Elsewhere) => {
                    self.forget(ino, Some(now), poll);
                    return 0;
                }
                Err(message) => {
                    poll.problems.push(FileProblem { source: t.source, path: t.path.clone(), message });
                    self.recheck.insert(t.path.clone());
                    return 0;
                }
            }
        }
        let Some(reader) = t.reader.as_mut() else { return 0 };
        let size = reader.get_ref().metadata().map(|m| m.len()).unwrap_or(t.offset);
        // Truncated (copytruncate): the file shrank, or — when the writer
        // refilled it past our offset before we looked — its first line is
        // another one. Forget this identity; the file starts afresh from 0
        // under its new head.
        let rewritten = size > reader.offset() && reader.offset() > 0 && identify(reader.get_ref()).ok().flatten() != Some(id);
        if size < reader.offset() || rewritten {
            tracing::info!(file = %t.path.display(), size, offset = reader.offset(), "file truncated: reading it again from the start");
            self.forget(ino, None, poll);
            return 0;
        }
        let mut lines = Vec::new();
        let mut more = false;
        let mut line_start = reader.offset();
        loop {
            if lines.len() >= max_lines {
                more = true;
                break;
            }
            match reader.next_item() {
                Ok(Some(item)) => {
                    let (number, end) = match &item {
                        Item::Line { number, end_offset, .. } | Item::Oversized { number, end_offset } => (*number, *end_offset),
                    };
                    let start = line_start;
                    line_start = end;
                    lines.push((number, parse_item(t.parser.as_mut(), &item, max_line)));
                    if t.hold_from.is_none() && t.parser.holding() {
                        t.hold_from = Some((start, number));
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    poll.problems.push(FileProblem { source: t.source, path: t.path.clone(), message: format!("read error: {e}") });
                    break;
                }
            }
        }
        for event in t.parser.drain_pending(Some(chrono::Utc::now())) {
            lines.push((reader.next_line_number(), LineResult::Event(event)));
        }
        if !t.parser.holding() {
            t.hold_from = None;
        }
        let grew = reader.offset() != t.offset;
        // Hot: it grew in an earlier poll not long ago (an agent writing
        // now). Only hot files keep their descriptor and buffer; a first
        // catch-up or a rare append reopens by path next time.
        let was_hot = now.duration_since(t.last_growth) < self.idle_close;
        t.offset = reader.offset();
        t.next_line = reader.next_line_number();
        t.size = size;
        if grew {
            t.last_growth = now;
        }
        poll.more |= more;
        let finished = gone && !more;
        let read = lines.len();
        if !lines.is_empty() || grew {
            if lines.capacity() > 2 * lines.len() {
                lines.shrink_to_fit(); // ten thousand one-line files must not hold four slots each
            }
            poll.batches.push(FileBatch {
                source: t.source,
                path: t.path.clone(),
                lines,
                checkpoint: Checkpoint {
                    id,
                    source: self.sources[t.source].name.clone(),
                    path: t.path.clone(),
                    offset: t.hold_from.map_or(t.offset, |(offset, _)| offset),
                    next_line: t.hold_from.map_or(t.next_line, |(_, line)| line),
                },
            });
        }
        if more || t.parser.holding() {
            self.due.insert(ino);
        }
        if finished || (gone && !grew) {
            self.forget(ino, Some(now), poll);
        } else if !more && !was_hot && !t.parser.holding() {
            // Offsets are at line boundaries: a partial line held in the
            // buffer is read again after the reopen. A parser holding events
            // (a stream without its last delta, telemetry waiting for its
            // twin) keeps the file open: each round asks it again, so what
            // it holds is booked when its wait is over, not when the file
            // next grows.
            t.reader = None;
        } else if let Some(r) = t.reader.as_mut() {
            r.shrink();
        }
        read
    }

    fn update_stats(&mut self) {
        for s in &mut self.stats {
            *s = SourceStats::default();
        }
        for t in self.files.values() {
            let s = &mut self.stats[t.source];
            s.files += 1;
            s.lag_bytes += t.size.saturating_sub(t.offset);
            s.read_bytes += t.offset;
        }
        for (source, read) in self.documents.sizes() {
            if let Some(s) = self.stats.get_mut(source) {
                s.files += 1;
                s.read_bytes += read;
            }
        }
    }

    /// Held-back events of every file (end of input: at shutdown).
    pub fn drain_all_pending(&mut self) -> Vec<(usize, PathBuf, crate::usage::UsageEvent)> {
        let mut out = Vec::new();
        for t in self.files.values_mut() {
            out.extend(t.parser.drain_pending(None).into_iter().map(|e| (t.source, t.path.clone(), e)));
        }
        out
    }
}
