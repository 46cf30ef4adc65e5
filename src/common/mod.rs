//! Leaf helpers every stage's settings and shells use: the config error
//! (`file:line: field: message`) and the YAML field locator behind it, paths
//! (`~`, relative to the config file), durations, time zones, the build's
//! version, the one rustls crypto provider, poison-tolerant locking and
//! giving freed memory back.
//!
//! This module imports nothing of the crate, so any module may use it
//! without creating an import cycle.

pub mod build_info;
pub mod locate;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A configuration error, displayed as `file:line: field: message`.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {field}{}{message}", line.map(|l| format!(":{l}")).unwrap_or_default(), if field.is_empty() { "" } else { ": " })]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub field: String,
    pub message: String,
}

/// A duration written as `15s`, `10m`, `4h`, `45d`.
pub fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| serde::de::Error::custom(format!("`{text}` is not a duration like 15s, 10m, 4h: {e}")))
}

/// An IANA time zone name, checked when read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(pub chrono_tz::Tz);

impl Default for TimeZone {
    fn default() -> TimeZone {
        TimeZone(chrono_tz::UTC)
    }
}

impl std::str::FromStr for TimeZone {
    type Err = String;
    fn from_str(s: &str) -> Result<TimeZone, String> {
        s.parse::<chrono_tz::Tz>().map(TimeZone).map_err(|_| format!("unknown time zone `{s}` (want an IANA name like Europe/Berlin)"))
    }
}

impl<'de> Deserialize<'de> for TimeZone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TimeZone, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// `~/x` with the home folder; anything else as it is.
pub fn expand_tilde(path: &str) -> String {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest).to_string_lossy().into_owned(),
        _ if path == "~" => std::env::var("HOME").unwrap_or_else(|_| path.to_string()),
        _ => path.to_string(),
    }
}

/// `~` expanded; relative paths joined to `base` (the config file's folder).
pub fn resolve_path(base: &Path, p: &Path) -> PathBuf {
    let expanded = PathBuf::from(expand_tilde(&p.to_string_lossy()));
    if expanded.is_absolute() {
        expanded
    } else {
        base.join(expanded)
    }
}

/// serde_yaml_ng puts its own path before the message and "at line L column
/// C" after it; we print both ourselves.
pub fn strip_location(message: &str, field: &str) -> String {
    let mut m = message;
    if let Some(i) = m.find(" at line ") {
        m = &m[..i];
    }
    if let Some((head, rest)) = m.split_once(": ") {
        if field.starts_with(head) {
            m = rest;
        }
    }
    m.to_string()
}

/// One rustls crypto provider for the process (ring), installed before any
/// TLS config is built: with two compiled in, rustls panics otherwise.
pub fn install_crypto_provider() {
    // Err only means a provider is already installed, which is the goal.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Hands the pages the allocator holds free back to the system. Reading a
/// backlog or a snapshot allocates and frees far more than the state keeps,
/// and glibc keeps the freed pages resident in its arenas otherwise: ten
/// thousand files read at start left 30 MiB resident for 9 MiB in use.
/// `malloc_trim` is glibc's; elsewhere this does nothing.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator; it
    // takes the allocator's locks itself and touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// A poisoned lock still holds consistent data here (every writer commits
/// or leaves it as it was), so take it rather than panic.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
