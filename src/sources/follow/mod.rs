//! Files to lines: find the files a source's globs match (`discover`), know
//! a file again after a rename by its identity (`fingerprint`), read whole
//! lines from an offset (`reader`) and follow many files at once with
//! checkpoints at committed line boundaries (`tail`); files rewritten in
//! place are read again whole when they change (`document`).

pub mod database;
pub mod discover;
pub mod document;
pub mod fingerprint;
pub mod reader;
pub mod tail;

use std::time::Duration;

use serde::Deserialize;

/// How files are followed (see `crate::sources::follow::tail`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FollowConfig {
    /// Globs are re-listed and files re-checked this often, inotify or not.
    #[serde(deserialize_with = "crate::common::duration")]
    pub poll_interval: Duration,
    /// Event time after which a seen request id is forgotten.
    #[serde(deserialize_with = "crate::common::duration")]
    pub dedup_retention: Duration,
}

impl Default for FollowConfig {
    fn default() -> FollowConfig {
        FollowConfig { poll_interval: Duration::from_secs(1), dedup_retention: Duration::from_secs(45 * 86400) }
    }
}
