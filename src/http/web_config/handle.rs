//! Keeps the web config current while the server runs.
//!
//! exporter-toolkit re-reads its file on every request; here `current()`
//! does the cheap part of that — hashing the web config and the files it
//! names — at most once per check interval, and rebuilds only when the bytes
//! changed, so a renewed certificate or a new password is live within a
//! second. `reload()` re-reads unconditionally (SIGHUP). Invariant: a new
//! file that does not build leaves the previous configuration serving; the
//! reason is logged once per bad version of the files, not once per request.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use xxhash_rust::xxh3::Xxh3;

use super::{WebConfig, WebConfigError};

/// How often `current()` looks at the files unless told otherwise.
pub const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The live web config, shared by every connection.
#[derive(Debug)]
pub struct WebConfigHandle {
    /// `None`: no web config file configured; nothing to watch.
    path: Option<PathBuf>,
    current: ArcSwap<WebConfig>,
    watch: Mutex<Watch>,
    check_every: Duration,
}

#[derive(Debug)]
struct Watch {
    last_check: Instant,
    /// Hash of the bytes of the files the last load attempt saw, good or bad.
    seen: u64,
}

impl WebConfigHandle {
    /// Loads `path` (or serves plain HTTP without auth for `None`); an error
    /// here should stop the start, as a bad file at start has no previous
    /// version to fall back on.
    pub fn open(path: Option<&Path>) -> Result<WebConfigHandle, WebConfigError> {
        let config = match path {
            Some(p) => WebConfig::load(p)?,
            None => WebConfig::disabled(),
        };
        let seen = content_hash(config.files());
        Ok(WebConfigHandle {
            path: path.map(Path::to_path_buf),
            current: ArcSwap::from_pointee(config),
            watch: Mutex::new(Watch { last_check: Instant::now(), seen }),
            check_every: DEFAULT_CHECK_INTERVAL,
        })
    }

    /// Looks at the files at most this often (zero: on every `current()`).
    pub fn with_check_interval(mut self, every: Duration) -> WebConfigHandle {
        self.check_every = every;
        self
    }

    /// The configuration to use for this connection or request, after
    /// picking up a change to the files if the check interval has passed.
    /// Never blocks on another caller's check: that caller reloads.
    pub fn current(&self) -> Arc<WebConfig> {
        self.reload_if_changed();
        self.current.load_full()
    }

    /// Re-reads the file now (SIGHUP). On error the previous configuration
    /// stays in use; the error is logged and returned.
    pub fn reload(&self) -> Result<(), WebConfigError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let mut watch = self.watch.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        watch.last_check = Instant::now();
        self.load(path, &mut watch)
    }

    fn reload_if_changed(&self) {
        let Some(path) = &self.path else {
            return;
        };
        let Ok(mut watch) = self.watch.try_lock() else {
            return;
        };
        if watch.last_check.elapsed() < self.check_every {
            return;
        }
        watch.last_check = Instant::now();
        if content_hash(self.current.load().files()) == watch.seen {
            return;
        }
        // Already logged by `load`; the old configuration keeps serving.
        let _ = self.load(path, &mut watch);
    }

    fn load(&self, path: &Path, watch: &mut Watch) -> Result<(), WebConfigError> {
        match load_nonempty(path) {
            Ok(config) => {
                watch.seen = content_hash(config.files());
                self.current.store(Arc::new(config));
                tracing::info!(file = %path.display(), "web config loaded");
                Ok(())
            }
            Err(error) => {
                // Remember what was seen, so the same bad files are not
                // retried (and logged) on every check.
                watch.seen = content_hash(self.current.load().files());
                tracing::warn!(%error, "web config not reloaded; keeping the previous one");
                Err(error)
            }
        }
    }
}

/// An empty file at reload is most likely one being rewritten in place
/// (truncated, not yet written); taking it would switch TLS and auth off for
/// that moment, so it is refused like any bad file. `{}` is the deliberate
/// way to say "no TLS, no auth".
fn load_nonempty(path: &Path) -> Result<WebConfig, WebConfigError> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() == 0) {
        return Err(WebConfigError {
            file: path.display().to_string(),
            line: None,
            field: String::new(),
            message: "the file is empty (still being written?); write `{}` to serve without TLS and auth".into(),
        });
    }
    WebConfig::load(path)
}

/// One hash over the bytes of all files; a missing or unreadable file hashes
/// as its error, so its return is a change too.
fn content_hash(files: &[PathBuf]) -> u64 {
    let mut hasher = Xxh3::new();
    for file in files {
        hasher.update(file.as_os_str().as_encoded_bytes());
        match std::fs::read(file) {
            Ok(bytes) => {
                hasher.update(&(bytes.len() as u64).to_le_bytes());
                hasher.update(&bytes);
            }
            Err(e) => hasher.update(format!("\0error {:?}", e.kind()).as_bytes()),
        }
    }
    hasher.digest()
}
