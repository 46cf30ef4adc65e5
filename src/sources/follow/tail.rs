//! The follower: keeps reading every file of every source as it grows.
//!
//! Each `poll` re-lists the globs (new sessions, new dated logs), recognises
//! files by identity (`fingerprint`), reads the complete lines added since
//! the last poll, and hands them on with the offset just past them: the
//! checkpoint that the caller commits *together with* what it booked from
//! those lines. The follower itself never persists anything; after a failed
//! commit the caller rebuilds it from the committed checkpoints (`reset`).
//!
//! Rotation: a path that now names another inode (rename-and-create,
//! delete-and-recreate) makes a new file; the old one, no longer listed, is
//! read to its end through its open descriptor and then dropped. A file that
//! shrinks below its offset was truncated (copytruncate): it is read again
//! from the start — lines written between logrotate's copy and its truncate
//! are lost by that method itself, which is why rename rotation is advised.
//! Only recently active files keep a descriptor open, so following ten
//! thousand idle files does not take ten thousand descriptors.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::discover::find_files;
use super::document::Documents;
use super::fingerprint::{identify, FileId};
use super::reader::{Item, LineReader};
use crate::sources::{parse_item, LineParser, LineResult, SourceSpec};

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

struct Tracked {
    source: usize,
    path: PathBuf,
    reader: Option<LineReader<File>>,
    offset: u64,
    next_line: u64,
    size: u64,
    parser: Box<dyn LineParser>,
    last_growth: Instant,
    /// Where the parser began holding events back (offset, line number):
    /// the checkpoint stays there until it holds nothing.
    hold_from: Option<(u64, u64)>,
}

/// How long the checkpoint of a file that is no longer listed is kept.
const FORGET_MISSING_AFTER: Duration = Duration::from_secs(600);

pub struct Follower {
    sources: Vec<SourceSpec>,
    files: HashMap<FileId, Tracked>,
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
        }
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
        self.documents.reset();
    }

    /// One round: list, recognise, read. `committed` gives the checkpoint of
    /// a file identity, if any.
    pub fn poll(&mut self, committed: &dyn Fn(&FileId) -> Option<Checkpoint>) -> Poll {
        let mut poll = Poll::default();
        let mut documents = Vec::new();
        let listed = self.scan(committed, &mut documents, &mut poll);
        let now = Instant::now();
        let ids: Vec<FileId> = self.files.keys().copied().collect();
        // Lines read this round, across files: one round is one journal
        // record, so a large backlog is booked in bounded pieces.
        let mut budget = self.max_lines_per_poll;
        for id in ids {
            if budget == 0 {
                poll.more = true;
                break;
            }
            let gone = !listed.contains(&id);
            budget = budget.saturating_sub(self.read_file(id, gone, budget, now, &mut poll));
        }
        let sources = &self.sources;
        let names: Vec<String> = sources.iter().map(|s| s.name.clone()).collect();
        self.documents.poll(&documents, &names, &|i| sources.get(i).and_then(SourceSpec::document_parser), &mut poll);
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

    /// Lists every source's files; starts tracking new identities. The files
    /// of document sources go to `documents` instead.
    fn scan(
        &mut self,
        committed: &dyn Fn(&FileId) -> Option<Checkpoint>,
        documents: &mut Vec<(usize, PathBuf)>,
        poll: &mut Poll,
    ) -> HashSet<FileId> {
        let mut listed = HashSet::new();
        let by_inode: HashMap<(u64, u64), FileId> = self.files.keys().map(|id| ((id.dev, id.ino), *id)).collect();
        for source_index in 0..self.sources.len() {
            let (paths, errors) = find_files(&self.sources[source_index].patterns);
            for e in errors {
                poll.problems.push(FileProblem { source: source_index, path: e.path, message: e.message });
            }
            let source = &self.sources[source_index];
            if paths.is_empty() && self.said_empty.insert(source_index) {
                let globs: Vec<&str> = source.patterns.iter().map(|p| p.pattern.as_str()).collect();
                tracing::info!(source = %source.name, "no files match {} (yet): following them when they appear", globs.join(", "));
            }
            // Files read whole go to `documents`; the rest are followed line by line.
            let (whole, paths): (Vec<PathBuf>, Vec<PathBuf>) = paths.into_iter().partition(|p| source.reads_document(p));
            documents.extend(whole.into_iter().map(|p| (source_index, p)));
            for path in paths {
                if self.sources[source_index].reads_database(&path) {
                    continue; // followed by `database::DatabaseFollower`
                }
                let meta = match std::fs::metadata(&path) {
                    Ok(m) => m,
                    Err(_) => continue, // vanished since listing
                };
                if let Some(id) = by_inode.get(&(meta.dev(), meta.ino())) {
                    if let Some(t) = self.files.get_mut(id) {
                        if listed.insert(*id) {
                            t.path = path;
                            t.size = meta.len();
                        }
                        continue;
                    }
                }
                match self.start(source_index, &path, committed) {
                    Ok(Some(id)) => {
                        listed.insert(id);
                    }
                    Ok(None) => {}
                    Err(message) => poll.problems.push(FileProblem { source: source_index, path, message }),
                }
            }
        }
        listed
    }

    /// Opens a newly listed file at its committed offset (or 0).
    fn start(&mut self, source: usize, path: &Path, committed: &dyn Fn(&FileId) -> Option<Checkpoint>) -> Result<Option<FileId>, String> {
        let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
        let Some(id) = identify(&file).map_err(|e| format!("cannot read: {e}"))? else {
            return Ok(None); // first line not complete yet
        };
        self.missing.remove(&id);
        if self.files.contains_key(&id) {
            // Same identity listed under a second path (a hard link or a
            // second matching glob): read it once.
            return Ok(Some(id));
        }
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let (offset, next_line) = match committed(&id) {
            Some(cp) if cp.offset <= size => (cp.offset, cp.next_line),
            _ => (0, 1),
        };
        let mut parser = self.sources[source].parser();
        if offset > 0 && parser.needs_earlier_lines() {
            // Resumed mid-way: the parser reads the lines before the
            // checkpoint for their context; what they yield was booked.
            use std::io::Read;
            let before = (&file).take(offset);
            super::reader::each_line(before, self.max_line, |line| drop(parser.parse(line))).map_err(|e| format!("cannot read: {e}"))?;
            parser.drain_pending(None);
        }
        // Not kept open: reading reopens it by path (a first scan of
        // thousands of files must not hold thousands of descriptors).
        drop(file);
        let tracked = Tracked {
            source,
            path: path.to_path_buf(),
            reader: None,
            offset,
            next_line,
            size,
            parser,
            last_growth: Instant::now().checked_sub(Duration::from_secs(3600)).unwrap_or_else(Instant::now),
            hold_from: None,
        };
        self.files.insert(id, tracked);
        Ok(Some(id))
    }

    /// Reads what a file gained; a file no longer listed is read to its end
    /// and dropped.
    /// Returns how many lines it read.
    fn read_file(&mut self, id: FileId, gone: bool, max_lines: usize, now: Instant, poll: &mut Poll) -> usize {
        let max_line = self.max_line;
        let Some(t) = self.files.get_mut(&id) else { return 0 };
        if t.reader.is_none() {
            // No longer listed and not open: renamed (logrotate renames in
            // place, to a name the glob may not match) or deleted. A rename
            // is found among the siblings and read to its end there.
            let renamed = if gone { find_renamed(&t.path, id) } else { None };
            if (gone && renamed.is_none()) || (!gone && t.size == t.offset) {
                if gone {
                    self.files.remove(&id);
                    self.missing.insert(id, now);
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
                Ok(Reopened::Reader(reader)) => t.reader = Some(reader),
                Ok(Reopened::Rewritten) => {
                    // Same inode, another first line: truncated and written
                    // anew (copytruncate). Start it afresh at the next scan.
                    tracing::info!(file = %t.path.display(), "file truncated: reading it again from the start");
                    self.files.remove(&id);
                    poll.dropped.push(id);
                    return 0;
                }
                Ok(Reopened::Elsewhere) => {
                    self.files.remove(&id);
                    self.missing.insert(id, now);
                    return 0;
                }
                Err(message) => {
                    poll.problems.push(FileProblem { source: t.source, path: t.path.clone(), message });
                    return 0;
                }
            }
        }
        let Some(reader) = t.reader.as_mut() else { return 0 };
        let size = reader.get_ref().metadata().map(|m| m.len()).unwrap_or(t.offset);
        // Truncated (copytruncate): the file shrank, or — when the writer
        // refilled it past our offset before we looked — its first line is
        // another one. Forget this identity; the next scan starts the file
        // afresh from 0 under its new head.
        let rewritten = size > reader.offset() && reader.offset() > 0 && identify(reader.get_ref()).ok().flatten() != Some(id);
        if size < reader.offset() || rewritten {
            tracing::info!(file = %t.path.display(), size, offset = reader.offset(), "file truncated: reading it again from the start");
            self.files.remove(&id);
            poll.dropped.push(id);
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
        if finished || (gone && !grew) {
            self.files.remove(&id);
            self.missing.insert(id, now);
        } else if !more && !was_hot {
            // Offsets are at line boundaries: a partial line held in the
            // buffer is read again after the reopen.
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

/// The path a file now has in its folder, by device and inode, with its
/// first line unchanged; `None` when it left the folder or is gone.
fn find_renamed(old: &Path, id: FileId) -> Option<PathBuf> {
    let dir = old.parent()?;
    std::fs::read_dir(dir).ok()?.flatten().map(|e| e.path()).find(|p| {
        std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file() && m.dev() == id.dev && m.ino() == id.ino)
            && File::open(p).ok().and_then(|f| identify(&f).ok().flatten()) == Some(id)
    })
}

enum Reopened {
    Reader(LineReader<File>),
    /// The same inode with another first line: truncated and written anew.
    Rewritten,
    /// The path names another file now, or none.
    Elsewhere,
}

/// Opens a file again by path for a closed entry, if the path still names
/// the same identity.
fn reopen(path: &Path, id: FileId, offset: u64, next_line: u64, max_line: usize) -> Result<Reopened, String> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Reopened::Elsewhere),
        Err(e) => return Err(format!("cannot open: {e}")),
    };
    match identify(&file).map_err(|e| format!("cannot read: {e}"))? {
        Some(found) if found == id => {}
        _ => {
            let meta = file.metadata().map_err(|e| format!("cannot stat: {e}"))?;
            let same_inode = meta.dev() == id.dev && meta.ino() == id.ino;
            return Ok(if same_inode { Reopened::Rewritten } else { Reopened::Elsewhere });
        }
    }
    file.seek(SeekFrom::Start(offset)).map_err(|e| format!("cannot seek: {e}"))?;
    Ok(Reopened::Reader(LineReader::new(file, offset, next_line, max_line)))
}
