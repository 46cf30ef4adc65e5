//! File identity: device + inode + a checksum of the first line.
//!
//! The inode alone is reused after a delete; a head checksum alone conflates
//! the many JSONL files that start with the same first record (a known Vector
//! pitfall). Together they recognise a renamed file (same identity, new
//! path: not read again) and a new file on a reused inode (new identity: read
//! from the start). A file without a complete first line yet (and shorter
//! than `HEAD_BYTES`) has no identity and is looked at again on the next scan.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};

use serde::{Deserialize, Serialize};

/// At most this much of the first line is checksummed.
pub const HEAD_BYTES: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
    pub head: u64,
}

/// The identity of an open file, or `None` while its first line is incomplete.
pub fn identify(file: &File) -> io::Result<Option<FileId>> {
    let meta = file.metadata()?;
    let mut head = [0u8; HEAD_BYTES];
    let mut filled = 0;
    while filled < HEAD_BYTES {
        match file.read_at(&mut head[filled..], filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    let first_line = match memchr::memchr(b'\n', &head[..filled]) {
        Some(end) => &head[..end],
        None if filled == HEAD_BYTES => &head[..],
        None => return Ok(None),
    };
    Ok(Some(FileId { dev: meta.dev(), ino: meta.ino(), head: xxhash_rust::xxh3::xxh3_64(first_line) }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn same_first_line_in_two_files_gives_two_identities() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, "{\"same\":1}\nx\n").unwrap();
        std::fs::write(&b, "{\"same\":1}\ny\n").unwrap();
        let ia = identify(&File::open(&a).unwrap()).unwrap().unwrap();
        let ib = identify(&File::open(&b).unwrap()).unwrap().unwrap();
        assert_eq!(ia.head, ib.head);
        assert_ne!(ia, ib);
        // A rename keeps the identity.
        let c = dir.path().join("c");
        std::fs::rename(&a, &c).unwrap();
        assert_eq!(identify(&File::open(&c).unwrap()).unwrap(), Some(ia));
    }

    #[test]
    fn no_identity_until_the_first_line_is_complete() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.jsonl");
        let mut f = File::create(&p).unwrap();
        f.write_all(b"{\"partial\":").unwrap();
        assert_eq!(identify(&File::open(&p).unwrap()).unwrap(), None);
        f.write_all(b"1}\n").unwrap();
        assert!(identify(&File::open(&p).unwrap()).unwrap().is_some());
    }
}
