//! The whole-file ("document") reading mode: for formats whose files are
//! rewritten in place as they grow (Gemini CLI's chat JSON) or hold one
//! record each (OpenCode's message files), where an offset means nothing.
//!
//! Each poll, a listed document whose version (device, inode, size,
//! modification time) changed since it was last read is read again whole
//! and handed to its `DocumentParser`. The parser gives every request a
//! stable id, so what a re-read finds again is a duplicate, never a new
//! bill; on top of that this reader hands on only events whose (id, tokens)
//! differ from what it already handed on for that file, so rewriting a chat
//! of a hundred messages does not count a hundred duplicate lines.
//!
//! A document caught half-written (it does not parse) is tried again at the
//! next poll; only when the same version fails twice is it an error, counted
//! once. After a restart every document is read once more: its events are
//! duplicates of the persistent seen index. The checkpoint of a document
//! (identity without head checksum, offset = size read) is kept for the
//! state's bookkeeping; it is never used to skip bytes.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::fingerprint::FileId;
use super::tail::{Checkpoint, FileBatch, FileProblem, Poll};
use crate::sources::{DocumentParser, LineError, LineResult};
use crate::usage::{EventId, Tokens};

/// A document larger than this is not read (an error, reported once).
pub const MAX_DOCUMENT_BYTES: u64 = 256 * 1024 * 1024;

/// What is known of a file without reading it: a change of any part means
/// it was written since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Version {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
}

impl Version {
    fn of(meta: &std::fs::Metadata) -> Version {
        let mtime_ns = i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec());
        Version { dev: meta.dev(), ino: meta.ino(), len: meta.len(), mtime_ns }
    }

    /// The identity checkpoints are kept under: the inode alone, since a
    /// document's head changes with every rewrite.
    fn file_id(&self) -> FileId {
        FileId { dev: self.dev, ino: self.ino, head: 0 }
    }
}

struct Document {
    source: usize,
    parser: Box<dyn DocumentParser>,
    /// The version last read to the end (parsed, or failed twice).
    read: Option<Version>,
    /// A version that failed to parse once: tried again before it counts.
    failed_once: Option<Version>,
    /// What was handed on from this file: id -> tokens.
    handed_on: HashMap<EventId, Tokens>,
    /// Errors already reported for this file (by text), so a rewrite does
    /// not report the same bad item again.
    errors_reported: HashSet<String>,
}

/// Every document of every document source, by path.
#[derive(Default)]
pub struct Documents {
    files: HashMap<PathBuf, Document>,
}

impl Documents {
    /// Reads the listed documents that changed. `listed` are (source, path)
    /// pairs of the documents that exist now; `names` the sources' names;
    /// `new_parser` makes a parser for a file of a source.
    pub fn poll(
        &mut self,
        listed: &[(usize, PathBuf)],
        names: &[String],
        new_parser: &dyn Fn(usize) -> Option<Box<dyn DocumentParser>>,
        poll: &mut Poll,
    ) {
        let present: HashSet<&Path> = listed.iter().map(|(_, p)| p.as_path()).collect();
        self.files.retain(|path, doc| {
            let keep = present.contains(path.as_path());
            if !keep {
                if let Some(v) = doc.read {
                    poll.dropped.push(v.file_id());
                }
            }
            keep
        });
        self.refresh(listed, names, new_parser, poll);
    }

    /// Reads the given documents if they changed, and starts following
    /// the new ones; documents not given are kept as they are (a round
    /// after notifications names only what changed).
    pub fn refresh(
        &mut self,
        changed: &[(usize, PathBuf)],
        names: &[String],
        new_parser: &dyn Fn(usize) -> Option<Box<dyn DocumentParser>>,
        poll: &mut Poll,
    ) {
        for (source, path) in changed {
            let doc = match self.files.entry(path.clone()) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    let Some(parser) = new_parser(*source) else { continue };
                    e.insert(Document {
                        source: *source,
                        parser,
                        read: None,
                        failed_once: None,
                        handed_on: HashMap::new(),
                        errors_reported: HashSet::new(),
                    })
                }
            };
            let name = names.get(*source).map(String::as_str).unwrap_or("");
            if let Err(message) = doc.refresh(path, name, poll) {
                poll.problems.push(FileProblem { source: *source, path: path.clone(), message });
            }
        }
    }

    /// Documents caught half-written last time: looked at again next round
    /// whether or not a notification came.
    pub fn retrying(&self) -> Vec<(usize, PathBuf)> {
        self.files.iter().filter(|(_, d)| d.failed_once.is_some()).map(|(p, d)| (d.source, p.clone())).collect()
    }

    /// (source, bytes read) of every document, for the source statistics.
    pub fn sizes(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.files.values().map(|d| (d.source, d.read.map_or(0, |v| v.len)))
    }

    /// Forgets what was handed on: the next poll reads every document again
    /// (after a failed commit, the state is what it was before the round).
    pub fn reset(&mut self) {
        self.files.clear();
    }
}

impl Document {
    /// Reads the file again if it changed; pushes what it yields.
    fn refresh(&mut self, path: &Path, source_name: &str, poll: &mut Poll) -> Result<(), String> {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()), // gone since listing
            Err(e) => return Err(format!("cannot stat: {e}")),
        };
        let version = Version::of(&meta);
        if self.read == Some(version) {
            return Ok(());
        }
        if let Some(old) = self.read.filter(|old| old.file_id() != version.file_id()) {
            // Replaced by another inode (written to a temp file, renamed).
            poll.dropped.push(old.file_id());
        }
        let mut lines = Vec::new();
        if version.len > MAX_DOCUMENT_BYTES {
            self.report(
                LineError::new(format!("document of {} bytes is over the {MAX_DOCUMENT_BYTES} byte limit, not read", version.len)),
                &mut lines,
            );
        } else {
            let bytes = read_whole(path, version.len).map_err(|e| format!("cannot read: {e}"))?;
            match self.parser.parse_document(&bytes) {
                Ok(items) => {
                    self.failed_once = None;
                    for item in items {
                        match item {
                            Ok(event) => {
                                if self.handed_on.get(&event.id) != Some(&event.tokens) {
                                    self.handed_on.insert(event.id, event.tokens);
                                    lines.push(LineResult::Event(event));
                                }
                            }
                            Err(e) => self.report(e, &mut lines),
                        }
                    }
                }
                // Probably caught while being written: look again next poll.
                Err(_) if self.failed_once != Some(version) => {
                    self.failed_once = Some(version);
                    return Ok(());
                }
                Err(e) => self.report(e, &mut lines),
            }
        }
        self.read = Some(version);
        let count = lines.len() as u64;
        poll.batches.push(FileBatch {
            source: self.source,
            path: path.to_path_buf(),
            lines: lines.into_iter().enumerate().map(|(i, l)| (i as u64 + 1, l)).collect(),
            checkpoint: Checkpoint {
                id: version.file_id(),
                source: source_name.to_string(),
                path: path.to_path_buf(),
                offset: version.len,
                next_line: count + 1,
            },
        });
        Ok(())
    }

    fn report(&mut self, error: LineError, lines: &mut Vec<LineResult>) {
        if self.errors_reported.insert(error.0.clone()) {
            lines.push(LineResult::Error(error));
        }
    }
}

/// The whole file, at most `expected` bytes plus what was appended since
/// the stat (bounded by the limit).
fn read_whole(path: &Path, expected: u64) -> std::io::Result<Vec<u8>> {
    let file = File::open(path)?;
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    file.take(MAX_DOCUMENT_BYTES).read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests;
