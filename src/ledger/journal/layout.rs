//! Where the journal's bytes live in the state directory, and the format
//! version that guards them.
//!
//! ```text
//! STATE_DIR/journal.cwj                      the format marker (one record)
//! STATE_DIR/journal/00000000000000000000.cwj segments, each named by the
//! STATE_DIR/journal/00000000000000812345.cwj journal offset it starts at
//! ```
//!
//! Offsets are journal-wide: a segment starts where the one before it ends,
//! so a snapshot's offset names a place whatever has been removed before it.
//!
//! Releases before format 2 kept the whole journal in `journal.cwj`. That
//! file becomes segment 0 (a hard link, so its offsets stay what they were),
//! then `journal.cwj` is replaced by the marker: one framed record whose JSON
//! payload an older release cannot read as a journal record, and whose
//! serde error ("unknown variant `creditwatch state format 2 ...`") tells
//! its user to upgrade — a downgrade stops instead of starting a fresh
//! ledger beside the real one. Every step of the upgrade can be cut by a
//! crash and redone: until the marker is written, `journal.cwj` is still the
//! old journal and segment 0 is the same file.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{frame, io_error, JournalError};
use crate::ledger::snapshot::{sync_dir, write_atomic};

/// The format marker (and, before format 2, the whole journal).
pub const JOURNAL_FILE: &str = "journal.cwj";
pub const SEGMENTS_DIR: &str = "journal";
/// The state format this release writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 2;
const MARKER_KEY: &str = "creditwatch state format";

/// One segment file and the journal offset of its first byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub base: u64,
    pub path: PathBuf,
}

/// What the state directory holds.
enum Found {
    Nothing,
    /// A journal of a release before format 2.
    Legacy,
    Segments,
}

fn marker_payload() -> Vec<u8> {
    let key =
        format!("{MARKER_KEY} {FORMAT_VERSION} (this state directory was written by a newer creditwatch: upgrade creditwatch to read it)");
    serde_json::to_vec(&BTreeMap::from([(key, FORMAT_VERSION)])).unwrap_or_default()
}

/// The marker's version, or `None` when `journal.cwj` is not a marker.
fn marker_version(bytes: &[u8]) -> Option<u32> {
    let decoded = frame::decode(bytes, 0).ok()?;
    let [record] = decoded.records.as_slice() else { return None };
    let map: BTreeMap<String, u32> = serde_json::from_slice(&record.payload).ok()?;
    let (key, version) = map.into_iter().next()?;
    key.starts_with(MARKER_KEY).then_some(version)
}

fn inspect(dir: &Path) -> Result<Found, JournalError> {
    let path = dir.join(JOURNAL_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => match marker_version(&bytes) {
            Some(v) if v > FORMAT_VERSION => Err(JournalError::Newer { dir: dir.to_path_buf(), found: v, reads: FORMAT_VERSION }),
            Some(_) => Ok(Found::Segments),
            None => Ok(Found::Legacy),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(if dir.join(SEGMENTS_DIR).is_dir() { Found::Segments } else { Found::Nothing }),
        Err(e) => Err(io_error(&path, "read")(e)),
    }
}

pub(super) fn segment_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(SEGMENTS_DIR).join(format!("{base:020}.cwj"))
}

/// The segments in order, without changing anything. A journal of an
/// earlier release reads as one segment at 0; no journal yet is none.
pub fn segments(dir: &Path) -> Result<Vec<Segment>, JournalError> {
    match inspect(dir)? {
        Found::Nothing => Ok(Vec::new()),
        Found::Legacy => Ok(vec![Segment { base: 0, path: dir.join(JOURNAL_FILE) }]),
        Found::Segments => list(dir),
    }
}

fn list(dir: &Path) -> Result<Vec<Segment>, JournalError> {
    let folder = dir.join(SEGMENTS_DIR);
    let entries = match std::fs::read_dir(&folder) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(&folder, "list")(e)),
    };
    let mut segments = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_error(&folder, "list"))?;
        let name = entry.file_name();
        let base = name.to_str().and_then(|n| n.strip_suffix(".cwj")).filter(|n| n.len() == 20).and_then(|n| n.parse().ok());
        if let Some(base) = base {
            segments.push(Segment { base, path: entry.path() });
        }
    }
    segments.sort_by_key(|s| s.base);
    Ok(segments)
}

/// Brings `dir` to the current layout (under the writer's lock) and returns
/// its segments, never none: a new directory gets segment 0.
pub(super) fn prepare(dir: &Path) -> Result<Vec<Segment>, JournalError> {
    let folder = dir.join(SEGMENTS_DIR);
    match inspect(dir)? {
        Found::Legacy => {
            std::fs::create_dir_all(&folder).map_err(io_error(&folder, "create"))?;
            let (old, first) = (dir.join(JOURNAL_FILE), segment_path(dir, 0));
            match std::fs::hard_link(&old, &first) {
                Ok(()) => {}
                // An upgrade cut short after the link: the same file.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && same_file(&old, &first)? => {}
                Err(e) => return Err(io_error(&first, "link the journal of the earlier release as")(e)),
            }
            sync_dir(&folder)?;
            tracing::info!(dir = %dir.display(), "upgrading the state directory to format {FORMAT_VERSION}: journal.cwj is now segment {}", first.display());
        }
        Found::Nothing | Found::Segments => {
            std::fs::create_dir_all(&folder).map_err(io_error(&folder, "create"))?;
            sync_dir(dir)?;
        }
    }
    let mut segments = list(dir)?;
    if segments.is_empty() {
        let path = segment_path(dir, 0);
        File::options().create(true).append(true).open(&path).map_err(io_error(&path, "create"))?;
        sync_dir(&folder)?;
        segments.push(Segment { base: 0, path });
    }
    if !matches!(std::fs::read(dir.join(JOURNAL_FILE)).ok().as_deref().and_then(marker_version), Some(FORMAT_VERSION)) {
        let record = frame::encode(&[marker_payload()]).map_err(io_error(dir, "frame the format marker"))?;
        write_atomic(&dir.join(JOURNAL_FILE), &record)?;
    }
    Ok(segments)
}

fn same_file(a: &Path, b: &Path) -> Result<bool, JournalError> {
    let (ma, mb) = (std::fs::metadata(a).map_err(io_error(a, "read"))?, std::fs::metadata(b).map_err(io_error(b, "read"))?);
    Ok(ma.dev() == mb.dev() && ma.ino() == mb.ino())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_reads_as_its_version_and_a_journal_record_does_not() {
        let marker = frame::encode(&[marker_payload()]).unwrap();
        assert_eq!(marker_version(&marker), Some(FORMAT_VERSION));
        let old = frame::encode(&[br#"{"Ledger":[]}"#.to_vec()]).unwrap();
        assert_eq!(marker_version(&old), None);
        assert_eq!(marker_version(&[]), None);
    }

    /// What a release before format 2 does with the marker: read it as a
    /// journal record (`{"Batch": ..}` or `{"Ledger": ..}`) and fail, with
    /// the upgrade hint in serde's message.
    #[test]
    fn an_earlier_release_cannot_read_the_marker_as_a_record_and_is_told_why() {
        // The shape of `state::Record` (externally tagged, two variants);
        // `state` tests the real type against a real state directory.
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        enum Record {
            Batch(serde_json::Value),
            Ledger(serde_json::Value),
        }
        let err = serde_json::from_slice::<Record>(&marker_payload()).unwrap_err().to_string();
        assert!(err.contains("written by a newer creditwatch: upgrade creditwatch"), "{err}");
    }

    #[test]
    fn a_newer_format_is_refused_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let payload = serde_json::to_vec(&BTreeMap::from([(format!("{MARKER_KEY} 3 (...)"), 3u32)])).unwrap();
        std::fs::write(dir.path().join(JOURNAL_FILE), frame::encode(&[payload]).unwrap()).unwrap();
        for err in [segments(dir.path()).unwrap_err(), prepare(dir.path()).unwrap_err()] {
            let err = err.to_string();
            assert!(err.contains("format 3") && err.contains("reads format 2 and older") && err.contains("Upgrade creditwatch"), "{err}");
        }
    }
}
