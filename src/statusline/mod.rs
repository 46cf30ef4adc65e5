//! `creditwatch statusline`: Claude Code's `statusLine` command.
//!
//! ```json
//! {"statusLine": {"type": "command", "command": "creditwatch statusline --config ~/.config/creditwatch/config.yaml"}}
//! ```
//!
//! Reads the status JSON on stdin, prints one line (`render`), and leaves a
//! snapshot of the session's plan windows for the daemon's
//! `claude_statusline` source. Invariants:
//! - it never fails Claude Code: every error (stdin not JSON, no config, a
//!   folder it cannot write, no daemon) makes the line shorter, and the exit
//!   status is 0;
//! - it is fast, because it runs on every status update: no async runtime,
//!   no TLS, one small file write, one loopback request with an 80 ms
//!   deadline (`daemon_api`);
//! - the snapshot holds the session id, the time, the model id, the windows
//!   and the session cost, never paths or prompt text; it is written to a
//!   temporary file and renamed over `<folder>/<session>.json`, so the
//!   daemon never reads half of one (the replaced one stays as `.prev` until
//!   the next write, so its inode is not reused at once); figures unchanged since the last
//!   snapshot are not rewritten; snapshots untouched for `STALE_DAYS` days
//!   are removed when a new session starts.
//!
//! The folder is the base of the first `format: claude_statusline` source of
//! the config (`paths: ["<folder>/*.json"]`), else `default_folder()`. The
//! config is `--config`, else `~/.config/creditwatch/config.yaml`, else
//! `/etc/creditwatch/config.yaml`: not `./config.yaml`, since Claude Code
//! runs the command in the project's folder.

pub mod daemon_api;
pub mod render;
pub mod status;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::sources::follow::discover::PathPattern;
use crate::sources::formats::claude_statusline::{Snapshot, SnapshotWindow, SNAPSHOT_VERSION};
use crate::sources::Format;
use status::Status;

/// Status JSON larger than this is not read (Claude Code sends a few KiB).
const MAX_INPUT: u64 = 1 << 20;
/// Snapshots of sessions quiet for this long are removed.
const STALE_DAYS: u64 = 8;
const DEFAULT_LISTEN: &str = "127.0.0.1:9947";

/// Where snapshots go without a `claude_statusline` source:
/// `$XDG_STATE_HOME/creditwatch/statusline`, by default
/// `~/.local/state/creditwatch/statusline`.
pub fn default_folder() -> PathBuf {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| PathBuf::from(crate::common::expand_tilde("~/.local/state")));
    state.join("creditwatch").join("statusline")
}

/// What the command takes from the config.
#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    pub folder: PathBuf,
    pub account: Option<String>,
    pub listen: String,
}

impl Setup {
    pub fn from_config(config: Option<&Config>) -> Setup {
        let source = config.and_then(|c| c.sources.iter().find(|s| s.format == Format::ClaudeStatusline));
        let folder = source
            .and_then(|s| s.paths.first())
            .and_then(|p| PathPattern::new(p).ok())
            .map(|p| p.base().to_path_buf())
            .unwrap_or_else(default_folder);
        Setup {
            folder,
            account: source.map(|s| s.account.clone()),
            listen: config.map_or_else(|| DEFAULT_LISTEN.to_string(), |c| c.listen.clone()),
        }
    }
}

/// The config the command reads, if there is one that loads.
fn load_config(explicit: Option<&Path>) -> Option<Config> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => [PathBuf::from(crate::common::expand_tilde("~/.config/creditwatch/config.yaml")), "/etc/creditwatch/config.yaml".into()]
            .into_iter()
            .find(|p| p.is_file())?,
    };
    Config::load(&path).ok()
}

/// Runs the command: prints the line; never fails.
pub fn run(config: Option<&Path>) {
    let mut input = Vec::new();
    let _ = std::io::stdin().take(MAX_INPUT).read_to_end(&mut input);
    let now = Utc::now();
    let status = Status::parse(&input);
    let config = load_config(config);
    let setup = Setup::from_config(config.as_ref());
    if let Some(s) = &status {
        // A snapshot that cannot be written costs the daemon one update, not the line.
        let _ = write_snapshot(&setup.folder, s, now);
    }
    let figures = daemon_api::target(&setup.listen).and_then(|addr| daemon_api::figures(addr, setup.account.as_deref()));
    println!("{}", render::line(status.as_ref(), figures.as_ref(), now));
}

/// A session id that is safe as a file name.
fn file_stem(session: &str) -> Option<&str> {
    let ok = !session.is_empty()
        && session.len() <= 128
        && !session.starts_with('.')
        && session.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    ok.then_some(session)
}

/// The snapshot of `status`, when it has a session and windows to tell.
pub fn snapshot_of(status: &Status, now: DateTime<Utc>) -> Option<Snapshot> {
    let session = file_stem(status.session_id.as_deref()?)?;
    if status.windows.is_empty() {
        return None;
    }
    let windows = status
        .windows
        .iter()
        .map(|w| (w.name.clone(), SnapshotWindow { used_percentage: w.used_percent, resets_at: w.resets_at.timestamp() }))
        .collect();
    Some(Snapshot {
        v: SNAPSHOT_VERSION,
        session_id: session.to_string(),
        at: now,
        model: status.model_id.clone(),
        cost_usd: status.cost_usd,
        windows,
    })
}

/// Writes `<folder>/<session>.json` by temp file and rename. Returns whether
/// it wrote (unchanged figures are left as they are).
pub fn write_snapshot(folder: &Path, status: &Status, now: DateTime<Utc>) -> std::io::Result<bool> {
    let Some(snapshot) = snapshot_of(status, now) else { return Ok(false) };
    let path = folder.join(format!("{}.json", snapshot.session_id));
    let previous = std::fs::read(&path).ok();
    let unchanged = previous.as_deref().and_then(|b| serde_json::from_slice::<Snapshot>(b).ok()).is_some_and(|old| {
        old.v == snapshot.v && old.model == snapshot.model && old.cost_usd == snapshot.cost_usd && old.windows == snapshot.windows
    });
    if unchanged {
        return Ok(false);
    }
    if previous.is_none() {
        std::fs::create_dir_all(folder)?;
        remove_stale(folder);
    }
    // The temporary name does not end in `.json`, so the source's glob never lists it.
    let tmp = folder.join(format!("{}.json.tmp.{}", snapshot.session_id, std::process::id()));
    std::fs::write(&tmp, snapshot.to_line())?;
    if previous.is_some() {
        // Keep the replaced snapshot's inode alive (as `<session>.json.prev`) until the next
        // write: the next temporary file then cannot reuse the inode of the snapshot the
        // daemon may have seen last, which it would take for the same file (ext4 reuses freed
        // inodes at once, and two snapshots often have the same size).
        let prev = folder.join(format!("{}.json.prev", snapshot.session_id));
        let _ = std::fs::remove_file(&prev);
        let _ = std::fs::hard_link(&path, &prev);
    }
    std::fs::rename(&tmp, &path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    Ok(true)
}

/// Removes snapshots (and leftover temporary files) not written for
/// `STALE_DAYS`: old sessions age out.
fn remove_stale(folder: &Path) {
    let Ok(entries) = std::fs::read_dir(folder) else { return };
    let cutoff = SystemTime::now().checked_sub(Duration::from_secs(STALE_DAYS * 86400));
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.ends_with(".json") || name.ends_with(".json.prev") || name.contains(".json.tmp.")) {
            continue;
        }
        let old = entry.metadata().ok().and_then(|m| m.modified().ok()).zip(cutoff).is_some_and(|(m, c)| m < c);
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests;
