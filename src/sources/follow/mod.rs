//! Files to lines: find the files a source's globs match (`discover`), know
//! a file again after a rename by its identity (`fingerprint`), read whole
//! lines from an offset (`reader`) and follow many files at once with
//! checkpoints at committed line boundaries (`tail`), told what changed by
//! inotify with a slow safety scan behind it (`watch`); files rewritten in
//! place are read again whole when they change (`document`).

pub mod database;
pub mod discover;
pub mod document;
pub mod fingerprint;
pub mod reader;
pub mod tail;
pub mod watch;

use std::time::Duration;

use serde::Deserialize;

/// How files are followed (see `crate::sources::follow::tail`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FollowConfig {
    /// A round runs at least this often (files holding events back,
    /// databases); without inotify it also re-lists the globs and stats
    /// every file.
    #[serde(deserialize_with = "crate::common::duration")]
    pub poll_interval: Duration,
    /// With inotify, the globs are re-listed and every file stat-ed this
    /// often anyway: the safety net for changes no notification reported.
    #[serde(deserialize_with = "crate::common::duration")]
    pub rescan_interval: Duration,
    /// Event time after which a seen request id is forgotten.
    #[serde(deserialize_with = "crate::common::duration")]
    pub dedup_retention: Duration,
}

impl Default for FollowConfig {
    fn default() -> FollowConfig {
        FollowConfig {
            poll_interval: Duration::from_secs(1),
            rescan_interval: Duration::from_secs(30),
            dedup_retention: Duration::from_secs(45 * 86400),
        }
    }
}
