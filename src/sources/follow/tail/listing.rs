//! Which files a round reads. A full scan re-lists every glob and stats
//! every file; a round after notifications looks only at the paths they
//! named: a file is recognised by its inode, a folder that appeared is
//! walked (nothing in it was notified), and a path that vanished or now
//! names another inode makes the file followed there a suspect — read to
//! its end and dropped unless it was listed under another name.

use std::collections::HashSet;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Checkpoint, FileProblem, Follower, Inode, Poll, Tracked};
use crate::sources::follow::discover::{find_files, find_files_under};
use crate::sources::follow::fingerprint::{identify, FileId};
use crate::sources::follow::watch::Why;
use crate::sources::SourceSpec;

/// What one listed path names now.
enum Listed {
    /// A file followed already; its size changed since it was last seen.
    Followed { resized: bool },
    /// Another file than the one followed under this path, if any.
    New,
    /// Nothing (gone since), or a file read by another follower.
    Other,
}

impl Follower {
    /// Lists every source's files; starts following new identities; files
    /// no longer listed are gone. `notified`: paths notifications named,
    /// so that a safety scan can say what they missed.
    pub(super) fn scan(
        &mut self,
        notified: &HashSet<PathBuf>,
        why: Why,
        committed: &dyn Fn(&FileId) -> Option<Checkpoint>,
        documents: &mut Vec<(usize, PathBuf)>,
        poll: &mut Poll,
    ) {
        self.recheck.clear();
        let mut listed = HashSet::new();
        let mut missed = Vec::new();
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
            for path in paths {
                let Listed::Followed { resized: true } = self.list(source_index, &path, committed, documents, &mut listed, poll) else {
                    continue;
                };
                if why == Why::Safety && !notified.contains(&path) {
                    missed.push(path);
                }
            }
        }
        for (ino, t) in &mut self.files {
            t.gone = !listed.contains(ino);
        }
        if let Some(first) = missed.first() {
            // inotify does not see writes through a hard link in another
            // folder, over network file systems, or by mmap.
            tracing::info!(
                files = missed.len(),
                first = %first.display(),
                "safety scan: files changed without a notification (network file system? then lower follow.rescan_interval)"
            );
        }
    }

    /// Looks at the paths notifications named (and those owed a second
    /// look). Returns the files to read this round.
    pub(super) fn look_at(
        &mut self,
        changed: HashSet<PathBuf>,
        committed: &dyn Fn(&FileId) -> Option<Checkpoint>,
        documents: &mut Vec<(usize, PathBuf)>,
        poll: &mut Poll,
    ) -> Vec<Inode> {
        let mut changed = changed;
        changed.extend(self.recheck.drain());
        let mut suspects: HashSet<PathBuf> = HashSet::new();
        let mut candidates = Vec::new();
        for path in changed {
            match std::fs::metadata(&path) {
                Ok(m) if m.is_dir() => {
                    for (i, source) in self.sources.iter().enumerate() {
                        let (found, errors) = find_files_under(&source.patterns, &path);
                        for e in errors {
                            poll.problems.push(FileProblem { source: i, path: e.path, message: e.message });
                        }
                        candidates.extend(found.into_iter().map(|f| (i, f)));
                    }
                }
                Ok(_) => {
                    for (i, source) in self.sources.iter().enumerate() {
                        if source.patterns.iter().any(|p| p.matches(&path)) {
                            candidates.push((i, path.clone()));
                        }
                    }
                }
                Err(_) => {
                    suspects.insert(path);
                }
            }
        }
        let mut listed = HashSet::new();
        for (source, path) in candidates {
            if let Listed::New = self.list(source, &path, committed, documents, &mut listed, poll) {
                suspects.insert(path);
            }
        }
        let mut to_read = listed.clone();
        to_read.extend(self.due.drain());
        if !suspects.is_empty() {
            for (ino, t) in &mut self.files {
                if !listed.contains(ino) && t.path.ancestors().any(|a| suspects.contains(a)) {
                    t.gone = true;
                    to_read.insert(*ino);
                }
            }
        }
        to_read.into_iter().collect()
    }

    /// Lists one path of a source: a followed file (maybe under a new
    /// name), a new one, or a document for `documents`.
    fn list(
        &mut self,
        source: usize,
        path: &Path,
        committed: &dyn Fn(&FileId) -> Option<Checkpoint>,
        documents: &mut Vec<(usize, PathBuf)>,
        listed: &mut HashSet<Inode>,
        poll: &mut Poll,
    ) -> Listed {
        let spec: &SourceSpec = &self.sources[source];
        if spec.reads_database(path) {
            return Listed::Other; // followed by `database::DatabaseFollower`
        }
        if spec.reads_document(path) {
            documents.push((source, path.to_path_buf()));
            return Listed::Other;
        }
        let meta = match std::fs::metadata(path) {
            Ok(m) if m.is_file() => m,
            _ => return Listed::Other, // vanished since listing
        };
        let ino = (meta.dev(), meta.ino());
        if let Some(t) = self.files.get_mut(&ino) {
            if !listed.insert(ino) {
                return Listed::Followed { resized: false }; // a second name (hard link, two globs): read once
            }
            let resized = t.size != meta.len();
            if t.path != path {
                t.path = path.to_path_buf();
            }
            t.size = meta.len();
            t.gone = false;
            return Listed::Followed { resized };
        }
        match self.start(source, path, committed) {
            Ok(Some(ino)) => {
                listed.insert(ino);
            }
            Ok(None) => {} // first line not complete yet: its next write is notified
            Err(message) => {
                poll.problems.push(FileProblem { source, path: path.to_path_buf(), message });
                self.recheck.insert(path.to_path_buf());
            }
        }
        Listed::New
    }

    /// Starts following a newly listed file at its committed offset (or 0).
    fn start(&mut self, source: usize, path: &Path, committed: &dyn Fn(&FileId) -> Option<Checkpoint>) -> Result<Option<Inode>, String> {
        let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
        let Some(id) = identify(&file).map_err(|e| format!("cannot read: {e}"))? else {
            return Ok(None); // first line not complete yet
        };
        self.missing.remove(&id);
        let ino = (id.dev, id.ino);
        if self.files.contains_key(&ino) {
            // Replaced between the stat and the open by a file followed
            // already: read it once.
            return Ok(Some(ino));
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
            crate::sources::follow::reader::each_line(before, self.max_line, |line| drop(parser.parse(line)))
                .map_err(|e| format!("cannot read: {e}"))?;
            parser.drain_pending(None);
        }
        // Not kept open: reading reopens it by path (a first scan of
        // thousands of files must not hold thousands of descriptors).
        drop(file);
        let tracked = Tracked {
            id,
            source,
            path: path.to_path_buf(),
            reader: None,
            offset,
            next_line,
            size,
            parser,
            last_growth: Instant::now().checked_sub(Duration::from_secs(3600)).unwrap_or_else(Instant::now),
            hold_from: None,
            gone: false,
        };
        self.files.insert(ino, tracked);
        Ok(Some(ino))
    }
}
