//! Finding a closed file again: by path, or among its siblings when it was
//! renamed (logrotate renames in place, to a name the glob may not match).

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::sources::follow::fingerprint::{identify, FileId};
use crate::sources::follow::reader::LineReader;

/// The path a file now has in its folder, by device and inode, with its
/// first line unchanged; `None` when it left the folder or is gone.
pub(super) fn find_renamed(old: &Path, id: FileId) -> Option<PathBuf> {
    let dir = old.parent()?;
    std::fs::read_dir(dir).ok()?.flatten().map(|e| e.path()).find(|p| {
        std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file() && m.dev() == id.dev && m.ino() == id.ino)
            && File::open(p).ok().and_then(|f| identify(&f).ok().flatten()) == Some(id)
    })
}

pub(super) enum Reopened {
    Reader(LineReader<File>),
    /// The same inode with another first line: truncated and written anew.
    Rewritten,
    /// The path names another file now, or none.
    Elsewhere,
}

/// Opens a file again by path for a closed entry, if the path still names
/// the same identity.
pub(super) fn reopen(path: &Path, id: FileId, offset: u64, next_line: u64, max_line: usize) -> Result<Reopened, String> {
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
