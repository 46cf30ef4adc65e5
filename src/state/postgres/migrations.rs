//! The schema, as numbered migrations applied in order at start.
//!
//! A migration is never edited once released: a change is a new entry at
//! the end. `creditwatch_schema` records what was applied; replicas starting
//! together serialise on a transaction-level advisory lock, so each
//! migration runs once, in its own transaction with its record.

use tokio_postgres::Client;

use super::PgError;

/// Transaction-level lock key for migrations ("cw-migr" in ASCII).
const MIGRATION_LOCK: i64 = 0x0063_772d_6d69_6772;

/// (version, what it does, SQL).
pub(super) const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "records, unique request/receipt ids, snapshots, the writer's lease",
        r#"
CREATE TABLE creditwatch_lease (
    id       integer PRIMARY KEY CHECK (id = 1),
    epoch    bigint NOT NULL,
    holder   text NOT NULL,
    since    timestamptz NOT NULL
);
INSERT INTO creditwatch_lease VALUES (1, 0, '', now());

-- One committed `Record` (the compact encoding of `state::codec`) per row;
-- `seq` is chosen by the writer (the one after the last it read), so a
-- writer that missed a commit conflicts instead of writing past it.
CREATE TABLE creditwatch_records (
    seq          bigint PRIMARY KEY CHECK (seq > 0),
    epoch        bigint NOT NULL,
    committed_at timestamptz NOT NULL DEFAULT now(),
    payload      bytea NOT NULL
);

-- Exactly once across replicas, retries and replays: a request is booked
-- new once, a top-up or reconcile id is used once.
CREATE TABLE creditwatch_requests (
    event_id bytea PRIMARY KEY,
    seq      bigint NOT NULL
);
CREATE TABLE creditwatch_receipts (
    id   text PRIMARY KEY,
    kind text NOT NULL,
    seq  bigint NOT NULL
);

-- The state folded up to and including record `seq` (`state::snapshot`).
CREATE TABLE creditwatch_snapshots (
    seq      bigint PRIMARY KEY,
    format   integer NOT NULL,
    taken_at timestamptz NOT NULL DEFAULT now(),
    image    bytea NOT NULL
);
"#,
    ),
    (
        2,
        "request ids forgotten by event time as the seen index forgets them; the daemon's firing alerts",
        r#"
ALTER TABLE creditwatch_requests ADD COLUMN at bigint NOT NULL DEFAULT 0;
CREATE INDEX creditwatch_requests_at ON creditwatch_requests (at);

-- The firing set of the daemon's alerts (`alerting::state`), written by the
-- writer under its epoch, read by the next writer at takeover, so a page
-- is sent once whichever replica sends it.
CREATE TABLE creditwatch_alerts (
    id       integer PRIMARY KEY CHECK (id = 1),
    epoch    bigint NOT NULL,
    saved_at timestamptz NOT NULL DEFAULT now(),
    body     bytea NOT NULL
);
"#,
    ),
];

/// Applies the migrations the database lacks; returns the schema version.
pub(super) async fn migrate(client: &mut Client) -> Result<i32, PgError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS creditwatch_schema (
                 version    integer PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now(),
                 about      text NOT NULL)",
        )
        .await
        .or_else(ignore_concurrent_create)?;
    let mut version = 0;
    for &(number, about, sql) in MIGRATIONS {
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
        let done: i64 = tx.query_one("SELECT count(*) FROM creditwatch_schema WHERE version = $1", &[&number]).await?.get(0);
        if done == 0 {
            tx.batch_execute(sql).await?;
            tx.execute("INSERT INTO creditwatch_schema (version, about) VALUES ($1, $2)", &[&number, &about]).await?;
            tracing::info!(version = number, "PostgreSQL schema migrated: {about}");
        }
        tx.commit().await?;
        version = number;
    }
    let newest: Option<i32> = client.query_one("SELECT max(version) FROM creditwatch_schema", &[]).await?.get(0);
    match newest {
        Some(v) if v > version => Err(PgError::NewerSchema { database: v, known: version }),
        _ => Ok(version),
    }
}

/// Two replicas creating the schema table at once: one of them gets a
/// unique violation on the catalog, and the table exists all the same.
fn ignore_concurrent_create(e: tokio_postgres::Error) -> Result<(), PgError> {
    use tokio_postgres::error::SqlState;
    match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION || *c == SqlState::DUPLICATE_TABLE => Ok(()),
        _ => Err(e.into()),
    }
}
