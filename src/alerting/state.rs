//! The firing set on disk, so a restart neither re-pages nor loses a resolve.
//! With replicas on PostgreSQL it is kept in the database instead
//! (`SharedFiring`), written by the writer under its lease, so the replica
//! that takes over knows what was sent and neither re-pages nor forgets.
//!
//! `STATE_DIR/alerts.json` holds every firing instance with its labels,
//! figures, `since` and `last_sent`. It is replaced atomically after each
//! change: write a temp file, fsync it, rename it over the old one, fsync the
//! directory. A reader sees the old set or the new one, never half of one.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::alert::FiringAlert;

const FILE_NAME: &str = "alerts.json";
const VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not an alert state file: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("{path}: version {found}, this creditwatch reads version {VERSION}")]
    Version { path: PathBuf, found: u32 },
    /// The shared firing set could not be written (the lease lost, the
    /// database down): this replica must not notify.
    #[error("{0}")]
    Shared(String),
}

/// Where replicas keep one firing set.
pub trait SharedFiring: Send + Sync {
    /// What it is called in messages (the database, without password).
    fn name(&self) -> String;
    fn load(&self) -> Result<Option<Vec<u8>>, String>;
    /// Refused unless this process holds the writer's lease.
    fn save(&self, body: Vec<u8>) -> Result<(), String>;
}

#[derive(Serialize, Deserialize)]
struct StateFile {
    version: u32,
    firing: Vec<FiringAlert>,
}

/// `alerts.json` in the state directory, or the shared set.
#[derive(Clone)]
pub struct AlertStore {
    path: PathBuf,
    shared: Option<std::sync::Arc<dyn SharedFiring>>,
}

impl AlertStore {
    pub fn new(state_dir: &Path) -> AlertStore {
        AlertStore { path: state_dir.join(FILE_NAME), shared: None }
    }

    pub fn shared(shared: std::sync::Arc<dyn SharedFiring>) -> AlertStore {
        AlertStore { path: PathBuf::from(shared.name()), shared: Some(shared) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a failed save must hold the notifications back (shared: the
    /// replica that could not save may no longer be the one that sends).
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// The saved firing set; empty when there is no file yet.
    pub fn load(&self) -> Result<Vec<FiringAlert>, StateError> {
        let read = match &self.shared {
            Some(shared) => shared.load().map_err(StateError::Shared)?.ok_or(std::io::ErrorKind::NotFound),
            None => fs::read(&self.path).map_err(|e| e.kind()),
        };
        let bytes = match read {
            Ok(b) => b,
            Err(std::io::ErrorKind::NotFound) => return Ok(Vec::new()),
            Err(kind) => return Err(StateError::Io { path: self.path.clone(), source: kind.into() }),
        };
        let file: StateFile = serde_json::from_slice(&bytes).map_err(|source| StateError::Parse { path: self.path.clone(), source })?;
        if file.version != VERSION {
            return Err(StateError::Version { path: self.path.clone(), found: file.version });
        }
        Ok(file.firing)
    }

    /// Replaces the saved set atomically.
    pub fn save(&self, firing: &[FiringAlert]) -> Result<(), StateError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StateError::Io { path, source }
        };
        let body = serde_json::to_vec_pretty(&StateFile { version: VERSION, firing: firing.to_vec() })
            .map_err(|source| StateError::Parse { path: self.path.clone(), source })?;
        if let Some(shared) = &self.shared {
            return shared.save(body).map_err(StateError::Shared);
        }
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(io(dir))?;
        let temp = self.path.with_extension("json.tmp");
        let mut file = File::create(&temp).map_err(io(&temp))?;
        file.write_all(&body).map_err(io(&temp))?;
        file.sync_all().map_err(io(&temp))?;
        drop(file);
        fs::rename(&temp, &self.path).map_err(io(&self.path))?;
        // The rename is durable only once the directory entry is.
        File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::alert::{Alert, Severity};
    use chrono::{DateTime, Utc};

    fn t(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn round_trips_and_replaces_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let store = AlertStore::new(&dir.path().join("state"));
        assert!(store.load().unwrap().is_empty());
        let alert = Alert {
            labels: [("alertname", "CreditBalanceLow"), ("account", "personal"), ("severity", "warning")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            severity: Severity::Warning,
            summary: "s".into(),
            description: "d".into(),
            value: "$4.20".into(),
            threshold: "$10.00".into(),
            starts_at: t("2026-11-25T12:00:00Z"),
        };
        let firing = vec![FiringAlert { alert, since: t("2026-11-25T12:00:00Z"), last_sent: t("2026-11-25T16:00:00Z") }];
        store.save(&firing).unwrap();
        assert_eq!(store.load().unwrap(), firing);
        store.save(&[]).unwrap();
        assert!(store.load().unwrap().is_empty());
        let names: Vec<_> = fs::read_dir(dir.path().join("state")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["alerts.json"]);
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = AlertStore::new(dir.path());
        fs::write(store.path(), "{\"version\":1,\"firing\":[").unwrap();
        let err = store.load().unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}: not an alert state file", store.path().display())), "{err}");
        fs::write(store.path(), "{\"version\":9,\"firing\":[]}").unwrap();
        assert!(store.load().unwrap_err().to_string().ends_with("version 9, this creditwatch reads version 1"));
    }
}
