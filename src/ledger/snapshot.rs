//! Atomic file replacement and ledger snapshots.
//!
//! A snapshot, `STATE_DIR/snapshot.cws`, is the state (opaque bytes) as of
//! a journal offset, so a start replays only the records after it. It is
//! framed with its own checksum: `b"CWSNAP2\n"`, u64 LE journal offset, u32
//! LE payload length, u32 LE crc32c of (offset bytes + payload), payload.
//! Releases before format 2 wrote `b"CWSNAP1\n"` (a JSON `State`); it is
//! still read, and told apart by `Snapshot::format`.
//!
//! Saving keeps the snapshot before it as `snapshot.prev.cws`: the new one
//! is written to a temp file and synced first (a full disk fails here and
//! changes nothing), then the current one is renamed to the previous, then
//! the temp file to the current. The store removes journal segments only
//! up to the *previous* snapshot's offset, so a current snapshot that turns
//! out unreadable falls back to the previous one and the records after it.
//! A bad snapshot is a warning naming the file; `load_snapshots` returns
//! the good ones, newest first.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::journal::{io_error, JournalError};

pub const SNAPSHOT_FILE: &str = "snapshot.cws";
pub const PREVIOUS_FILE: &str = "snapshot.prev.cws";
const MAGIC_V1: &[u8; 8] = b"CWSNAP1\n";
const MAGIC: &[u8; 8] = b"CWSNAP2\n";
const FRAME_LEN: usize = 8 + 8 + 4 + 4;

/// A snapshot read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// 1: a JSON `State` of a release before format 2; 2: this release's.
    pub format: u32,
    pub offset: u64,
    pub bytes: Vec<u8>,
    pub path: PathBuf,
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the
/// new content: write a temp file in the same folder, fsync it, rename it
/// over `path`, fsync the folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), JournalError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(".{name}.tmp"));
    if let Err(e) = write_synced(&temp, bytes) {
        let _ = std::fs::remove_file(&temp);
        return Err(io_error(&temp, "write")(e));
    }
    if let Err(e) = std::fs::rename(&temp, path) {
        let _ = std::fs::remove_file(&temp);
        return Err(io_error(path, "replace")(e));
    }
    sync_dir(dir)
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).create(true).truncate(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Makes a folder's entries (new and renamed files) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_error(dir, "sync the folder"))
}

/// Saves the state as of `journal_offset` (the journal's `end()` after the
/// last record the state includes); the snapshot it replaces becomes the
/// previous one. On an error the snapshots on disk are as they were, or
/// (cut between the two renames) the new one is missing and the previous
/// one is the last good state.
pub fn save_snapshot(dir: &Path, journal_offset: u64, state: &[u8]) -> Result<(), JournalError> {
    let path = dir.join(SNAPSHOT_FILE);
    let len = u32::try_from(state.len())
        .map_err(|_| io_error(&path, "write")(io::Error::new(io::ErrorKind::InvalidInput, "a snapshot must be under 4 GiB")))?;
    let mut bytes = Vec::with_capacity(FRAME_LEN + state.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&journal_offset.to_le_bytes());
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes.extend_from_slice(&checksum(journal_offset, state).to_le_bytes());
    bytes.extend_from_slice(state);
    let temp = dir.join(format!(".{SNAPSHOT_FILE}.tmp"));
    if let Err(e) = write_synced(&temp, &bytes) {
        let _ = std::fs::remove_file(&temp);
        return Err(io_error(&temp, "write")(e));
    }
    match std::fs::rename(&path, dir.join(PREVIOUS_FILE)) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(&path, "keep as the previous snapshot")(e)),
    }
    std::fs::rename(&temp, &path).map_err(io_error(&path, "replace"))?;
    sync_dir(dir)
}

/// The good snapshots, newest first (the current, then the previous); a
/// bad one is skipped with a warning naming it.
pub fn load_snapshots(dir: &Path) -> Result<Vec<Snapshot>, JournalError> {
    let mut found = Vec::new();
    for name in [SNAPSHOT_FILE, PREVIOUS_FILE] {
        let path = dir.join(name);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error(&path, "read")(e)),
        };
        match parse(&bytes) {
            Ok((format, offset, bytes)) => found.push(Snapshot { format, offset, bytes, path }),
            Err(reason) => tracing::warn!(file = %path.display(), reason, "ignoring a bad snapshot"),
        }
    }
    Ok(found)
}

/// The newest good snapshot: `(journal offset, state)`.
pub fn load_snapshot(dir: &Path) -> Result<Option<(u64, Vec<u8>)>, JournalError> {
    Ok(load_snapshots(dir)?.into_iter().next().map(|s| (s.offset, s.bytes)))
}

fn parse(bytes: &[u8]) -> Result<(u32, u64, Vec<u8>), String> {
    let (frame, state) = bytes.split_at_checked(FRAME_LEN).ok_or_else(|| format!("{} bytes, shorter than its header", bytes.len()))?;
    let format = match &frame[..8] {
        m if m == MAGIC => 2,
        m if m == MAGIC_V1 => 1,
        m if m.starts_with(b"CWSNAP") => return Err("a snapshot of a newer creditwatch (upgrade creditwatch)".into()),
        _ => return Err("not a creditwatch snapshot (wrong magic bytes)".into()),
    };
    let word = |at: usize| -> u32 { u32::from_le_bytes([frame[at], frame[at + 1], frame[at + 2], frame[at + 3]]) };
    let offset = u64::from(word(8)) | (u64::from(word(12)) << 32);
    let len = word(16) as usize;
    if state.len() != len {
        return Err(format!("says {len} bytes of state but holds {}", state.len()));
    }
    if checksum(offset, state) != word(20) {
        return Err("checksum does not match".into());
    }
    Ok((format, offset, state.to_vec()))
}

fn checksum(offset: u64, state: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&offset.to_le_bytes()), state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoints.json");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        assert_eq!(names, ["checkpoints.json"]);
    }

    #[test]
    fn write_atomic_names_the_file_it_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-folder").join("x.json");
        let err = write_atomic(&path, b"x").unwrap_err().to_string();
        assert!(err.contains("no-such-folder/.x.json.tmp: cannot write"), "{err}");
    }

    #[test]
    fn snapshot_round_trips_and_a_missing_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load_snapshot(dir.path()).unwrap(), None);
        save_snapshot(dir.path(), 4242, b"{\"state\":1}").unwrap();
        assert_eq!(load_snapshot(dir.path()).unwrap(), Some((4242, b"{\"state\":1}".to_vec())));
    }

    #[test]
    fn a_damaged_snapshot_is_refused_and_the_journal_replayed_from_zero() {
        let dir = tempfile::tempdir().unwrap();
        save_snapshot(dir.path(), 4242, b"{\"state\":1}").unwrap();
        let path = dir.path().join(SNAPSHOT_FILE);
        let good = std::fs::read(&path).unwrap();
        // A flipped bit in the state, in the offset, a cut file, a foreign file.
        let mut flipped_state = good.clone();
        *flipped_state.last_mut().unwrap() ^= 1;
        let mut flipped_offset = good.clone();
        flipped_offset[8] ^= 1;
        for bad in [flipped_state, flipped_offset, good[..good.len() - 1].to_vec(), b"{}".to_vec()] {
            std::fs::write(&path, &bad).unwrap();
            assert_eq!(load_snapshot(dir.path()).unwrap(), None);
        }
        for bad in [&good[..10], b"CWSNAP2\nxxxxxxxxxxxxxxxxxxx"] {
            assert!(parse(bad).is_err());
        }
    }

    #[test]
    fn saving_keeps_the_previous_snapshot_and_a_bad_current_one_falls_back_to_it() {
        let dir = tempfile::tempdir().unwrap();
        save_snapshot(dir.path(), 10, b"one").unwrap();
        save_snapshot(dir.path(), 20, b"two").unwrap();
        let found = load_snapshots(dir.path()).unwrap();
        let seen: Vec<(u32, u64, &[u8])> = found.iter().map(|s| (s.format, s.offset, s.bytes.as_slice())).collect();
        assert_eq!(seen, [(2, 20, &b"two"[..]), (2, 10, &b"one"[..])]);
        let path = dir.path().join(SNAPSHOT_FILE);
        let mut bad = std::fs::read(&path).unwrap();
        *bad.last_mut().unwrap() ^= 1;
        std::fs::write(&path, bad).unwrap();
        assert_eq!(load_snapshot(dir.path()).unwrap(), Some((10, b"one".to_vec())));
    }

    #[test]
    fn a_snapshot_of_the_release_before_format_2_reads_as_format_1() {
        let dir = tempfile::tempdir().unwrap();
        let state = b"{\"ledger\":{}}";
        let mut bytes = MAGIC_V1.to_vec();
        bytes.extend_from_slice(&7u64.to_le_bytes());
        bytes.extend_from_slice(&(state.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&checksum(7, state).to_le_bytes());
        bytes.extend_from_slice(state);
        std::fs::write(dir.path().join(SNAPSHOT_FILE), bytes).unwrap();
        let found = load_snapshots(dir.path()).unwrap();
        assert_eq!((found[0].format, found[0].offset, found[0].bytes.as_slice()), (1, 7, &state[..]));
    }
}
