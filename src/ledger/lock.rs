//! One writer per state directory: an exclusive lock on `STATE_DIR/lock`.
//!
//! The daemon holds it while it runs; `creditwatch ledger topup` on the
//! state directory takes it too, so the two never append to the journal at
//! once. It is an OS file lock (`File::try_lock`), released when the holder
//! exits, even by kill -9, so a stale lock file never blocks a start. The
//! file holds the holder's pid, to name it in the error.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::journal::{io_error, JournalError};

pub const LOCK_FILE: &str = "lock";

/// Held until dropped.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
    dir: PathBuf,
}

impl StateLock {
    /// Takes the lock without waiting; `JournalError::Locked` names the
    /// directory (and the holder's pid) when another process has it.
    pub fn acquire(dir: &Path) -> Result<StateLock, JournalError> {
        std::fs::create_dir_all(dir).map_err(io_error(dir, "create the state directory"))?;
        let path = dir.join(LOCK_FILE);
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io_error(&path, "open"))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                // Best effort: the pid is only for the message.
                let _ = file.read_to_string(&mut holder);
                let holder = match holder.trim() {
                    "" => "holder unknown".to_string(),
                    pid => format!("pid {pid}"),
                };
                return Err(JournalError::Locked { dir: dir.to_path_buf(), holder });
            }
            Err(TryLockError::Error(e)) => return Err(io_error(&path, "lock")(e)),
        }
        let pid = std::process::id();
        file.set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{pid}"))
            .map_err(io_error(&path, "write the pid to"))?;
        Ok(StateLock { _file: file, dir: dir.to_path_buf() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = StateLock::acquire(dir.path()).unwrap();
        let err = StateLock::acquire(dir.path()).unwrap_err();
        let want = format!(
            "{}: the state directory is locked by another creditwatch (pid {}); stop it, or go through its HTTP API",
            dir.path().display(),
            std::process::id()
        );
        assert_eq!(err.to_string(), want);
        drop(first);
        let again = StateLock::acquire(dir.path()).unwrap();
        assert_eq!(again.dir(), dir.path());
    }
}
