//! The state in PostgreSQL, for replicas that share one ledger (issue 25).
//!
//! The same records the local journal holds (`state::codec`), one row per
//! committed `Record` numbered by `seq`, plus snapshots (`state::snapshot`)
//! so a replica starting up replays only what came after the newest one.
//! Invariants the database enforces, whatever the replicas believe:
//! - one writer: every commit checks, in its own transaction, that the
//!   lease's epoch is still the committing writer's (`lease`);
//! - one history: `seq` is the one after the last record the writer read,
//!   so a writer that missed a commit conflicts instead of forking;
//! - exactly once: a request id, a top-up or reconcile id is unique in the
//!   database (`creditwatch_requests`, `creditwatch_receipts`).
//!
//! The connection is plain TCP (no TLS in this client): run it over
//! loopback, a private network or a TLS sidecar (README).

mod backend;
pub mod lease;
pub mod link;
mod migrations;
pub mod store;
pub mod transfer;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

pub use backend::{Backend, Encoded};
pub use lease::Lease;
pub use link::PgLink;
pub use store::PgStore;

/// `postgres:` in the config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// A file holding the `postgres://user:password@host:port/db` URL.
    pub url_file: PathBuf,
    /// How long a writer that stopped answering keeps the lease (seconds).
    #[serde(default = "default_lease_seconds")]
    pub lease_seconds: u64,
}

fn default_lease_seconds() -> u64 {
    10
}

impl PostgresConfig {
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_seconds.max(1))
    }

    pub fn url(&self) -> Result<DbUrl, PgError> {
        DbUrl::read(&self.url_file)
    }
}

/// The database URL with its password: shown nowhere (`Debug` and
/// `Display` print only the host part).
#[derive(Clone)]
pub struct DbUrl {
    config: tokio_postgres::Config,
    shown: String,
}

impl DbUrl {
    pub fn read(path: &Path) -> Result<DbUrl, PgError> {
        let text = std::fs::read_to_string(path).map_err(|e| PgError::Url(format!("cannot read {}: {e}", path.display())))?;
        DbUrl::parse(text.trim()).map_err(|e| PgError::Url(format!("{}: {e}", path.display())))
    }

    pub fn parse(url: &str) -> Result<DbUrl, String> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err("expected a postgres:// URL".into());
        }
        // The parser's own message may quote the URL: never pass it on.
        let mut config = tokio_postgres::Config::from_str(url).map_err(|_| "not a valid postgres:// URL".to_string())?;
        config.application_name("creditwatch").connect_timeout(Duration::from_secs(5)).keepalives_idle(Duration::from_secs(10));
        let host = match config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => "localhost".into(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let db = config.get_dbname().unwrap_or("").to_string();
        Ok(DbUrl { config, shown: format!("postgres://{host}:{port}/{db}") })
    }
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("PostgreSQL URL: {0}")]
    Url(String),
    /// (Not a `source`: `db_message` already says what the cause does.)
    #[error("PostgreSQL: {}", db_message(.0))]
    Db(tokio_postgres::Error),
    #[error("the writer's lease is lost (this replica's epoch {mine}, the database's {}): this replica no longer commits", current.map_or("unknown".to_string(), |c| c.to_string()))]
    LeaseLost { mine: i64, current: Option<i64> },
    #[error("record {seq} was committed by another writer: this replica's state is behind the database")]
    Behind { seq: i64 },
    #[error("already in the database: {0}")]
    Duplicate(String),
    #[error("the database's schema is version {database}, newer than this release knows ({known}): upgrade creditwatch")]
    NewerSchema { database: i32, known: i32 },
    #[error("the database already holds a creditwatch state: export into an empty database only")]
    NotEmpty,
    #[error("PostgreSQL did not answer within {0:?}")]
    Timeout(Duration),
    #[error("record {seq} in the database cannot be read: {reason}")]
    Corrupt { seq: i64, reason: String },
}

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> PgError {
        PgError::Db(e)
    }
}

/// The driver's own `Display` says only "db error" or "error
/// communicating with the server": the server's message and the cause are
/// what an operator needs.
fn db_message(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    let text = e.to_string();
    match std::error::Error::source(e).map(|c| c.to_string()) {
        Some(cause) if cause.starts_with(&text) => cause,
        Some(cause) => format!("{text}: {cause}"),
        None => text,
    }
}

impl PgError {
    /// The database is unreachable or restarting: retry later, nothing is
    /// wrong with what was asked.
    pub fn is_unavailable(&self) -> bool {
        match self {
            PgError::Db(e) => match e.code() {
                None => true,
                Some(code) => {
                    let c = code.code();
                    c.starts_with("08") || c.starts_with("57P") || *code == SqlState::IDLE_SESSION_TIMEOUT
                }
            },
            PgError::Timeout(_) => true,
            _ => false,
        }
    }
}

/// Opens one connection, its driver running as a task of its own; the task
/// ends when the connection does.
pub(crate) async fn connect(url: &DbUrl) -> Result<(Client, JoinHandle<()>), PgError> {
    let (client, connection) = url.config.connect(NoTls).await?;
    let shown = url.shown.clone();
    let task = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(database = %shown, "PostgreSQL connection ended: {}", db_message(&e));
        }
    });
    Ok((client, task))
}
