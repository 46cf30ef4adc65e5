//! The database side of the state: commit a record under the lease, read
//! records from a point, keep snapshots. One connection, opened again after
//! the database comes back; every call either did all of its work in one
//! transaction or none.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

use super::{connect, migrations, DbUrl, PgError};
use crate::ledger::Entry;
use crate::state::{codec, Record};

pub struct Backend {
    url: DbUrl,
    lease: Duration,
    conn: Option<(Client, JoinHandle<()>)>,
}

/// A snapshot row: the state folded up to and including record `seq`.
pub struct StoredSnapshot {
    pub seq: i64,
    pub format: i32,
    pub image: Vec<u8>,
}

impl Backend {
    /// Connects and brings the schema up to date.
    pub async fn open(url: DbUrl, lease: Duration) -> Result<Backend, PgError> {
        let mut backend = Backend { url, lease, conn: None };
        let client = backend.client().await?;
        migrations::migrate(client).await?;
        Ok(backend)
    }

    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    async fn client(&mut self) -> Result<&mut Client, PgError> {
        if self.conn.as_ref().is_none_or(|(c, _)| c.is_closed()) {
            let (client, task) = connect(&self.url).await?;
            // A writer paused inside a commit must not hold the lease row
            // past its lease: the server ends such a transaction.
            let ms = self.lease.as_millis().max(1);
            client.batch_execute(&format!("SET idle_in_transaction_session_timeout = {ms}")).await?;
            if let Some((_, old)) = self.conn.replace((client, task)) {
                old.abort();
            }
        }
        match self.conn.as_mut() {
            Some((client, _)) => Ok(client),
            None => unreachable!("connected just above"),
        }
    }

    /// Drops a connection that failed, so the next call opens a new one.
    fn after<T>(&mut self, result: Result<T, PgError>) -> Result<T, PgError> {
        if let Err(e) = &result {
            if e.is_unavailable() {
                if let Some((_, task)) = self.conn.take() {
                    task.abort();
                }
            }
        }
        result
    }

    /// Whether the database holds no state yet.
    pub async fn is_empty(&mut self) -> Result<bool, PgError> {
        let result = async {
            let row = self
                .client()
                .await?
                .query_one("SELECT (SELECT count(*) FROM creditwatch_records) + (SELECT count(*) FROM creditwatch_snapshots)", &[])
                .await?;
            Ok(row.get::<_, i64>(0) == 0)
        }
        .await;
        self.after(result)
    }

    /// Commits `record` as number `seq` if `epoch` still holds the lease.
    pub async fn commit(&mut self, epoch: i64, seq: i64, record: &Record) -> Result<(), PgError> {
        self.commit_encoded(epoch, seq, &Encoded::of(record)).await
    }

    /// `commit` of a record encoded by the caller (`Encoded::of`), so a
    /// large record crosses to the database's thread without a copy.
    pub async fn commit_encoded(&mut self, epoch: i64, seq: i64, record: &Encoded) -> Result<(), PgError> {
        let Encoded { payload, requests, times, receipts, forget_before } = record;
        let result = async {
            let client = self.client().await?;
            let tx = client.transaction().await?;
            hold_epoch(&tx, epoch).await?;
            tx.execute("INSERT INTO creditwatch_records (seq, epoch, payload) VALUES ($1, $2, $3)", &[&seq, &epoch, payload])
                .await
                .map_err(|e| unique(e, seq))?;
            // The seen index forgets by event time; so does the database, or
            // a request sent again after the retention would be refused here
            // forever. A row's `at` is at most the index's, so every id the
            // index forgets is gone here too.
            if let Some(cutoff) = forget_before {
                tx.execute("DELETE FROM creditwatch_requests WHERE at < $1", &[cutoff]).await?;
            }
            if !requests.is_empty() {
                tx.execute(
                    "INSERT INTO creditwatch_requests (event_id, at, seq) SELECT unnest($1::bytea[]), unnest($2::bigint[]), $3",
                    &[requests, times, &seq],
                )
                .await
                .map_err(|e| unique(e, seq))?;
            }
            if !receipts.is_empty() {
                let (ids, kinds): (Vec<&str>, Vec<&str>) = receipts.iter().map(|(i, k)| (i.as_str(), k.as_str())).unzip();
                tx.execute(
                    "INSERT INTO creditwatch_receipts (id, kind, seq) SELECT unnest($1::text[]), unnest($2::text[]), $3",
                    &[&ids, &kinds, &seq],
                )
                .await
                .map_err(|e| unique(e, seq))?;
            }
            tx.commit().await?;
            Ok(())
        }
        .await;
        self.after(result)
    }

    /// The saved firing set of the daemon's alerts (`alerting::state`).
    pub async fn load_alerts(&mut self) -> Result<Option<Vec<u8>>, PgError> {
        let result = async {
            let row = self.client().await?.query_opt("SELECT body FROM creditwatch_alerts WHERE id = 1", &[]).await?;
            Ok(row.map(|r| r.get(0)))
        }
        .await;
        self.after(result)
    }

    /// Replaces the firing set, if `epoch` still holds the lease: a writer
    /// that lost it must not tell the next one what was sent.
    pub async fn save_alerts(&mut self, epoch: i64, body: &[u8]) -> Result<(), PgError> {
        let result = async {
            let client = self.client().await?;
            let tx = client.transaction().await?;
            hold_epoch(&tx, epoch).await?;
            tx.execute(
                "INSERT INTO creditwatch_alerts (id, epoch, body) VALUES (1, $1, $2)
                 ON CONFLICT (id) DO UPDATE SET epoch = $1, body = $2, saved_at = now()",
                &[&epoch, &body],
            )
            .await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        self.after(result)
    }

    /// The lease as the database has it: `(epoch, holder)`.
    pub async fn lease_holder(&mut self) -> Result<(i64, String), PgError> {
        let result = async {
            let row = self.client().await?.query_one("SELECT epoch, holder FROM creditwatch_lease WHERE id = 1", &[]).await?;
            Ok((row.get(0), row.get(1)))
        }
        .await;
        self.after(result)
    }

    /// Closes the connection (a call that did not answer in time): the next
    /// call opens a new one.
    pub fn disconnect(&mut self) {
        if let Some((_, task)) = self.conn.take() {
            task.abort();
        }
    }

    /// Records after `seq`, in order, at most `limit`.
    pub async fn read_after(&mut self, seq: i64, limit: i64) -> Result<Vec<(i64, Record)>, PgError> {
        let result = async {
            let rows = self
                .client()
                .await?
                .query("SELECT seq, payload FROM creditwatch_records WHERE seq > $1 ORDER BY seq LIMIT $2", &[&seq, &limit])
                .await?;
            rows.iter()
                .map(|row| {
                    let seq: i64 = row.get(0);
                    let payload: &[u8] = row.get(1);
                    codec::decode(payload).map(|r| (seq, r)).map_err(|reason| PgError::Corrupt { seq, reason })
                })
                .collect()
        }
        .await;
        self.after(result)
    }

    /// The newest snapshot, if any.
    pub async fn newest_snapshot(&mut self) -> Result<Option<StoredSnapshot>, PgError> {
        let result = async {
            let row = self
                .client()
                .await?
                .query_opt("SELECT seq, format, image FROM creditwatch_snapshots ORDER BY seq DESC LIMIT 1", &[])
                .await?;
            Ok(row.map(|r| StoredSnapshot { seq: r.get(0), format: r.get(1), image: r.get(2) }))
        }
        .await;
        self.after(result)
    }

    /// Stores a snapshot and keeps only it and the one before it. Records
    /// stay: they are the history `state export --to-dir` and replay read.
    pub async fn save_snapshot(&mut self, seq: i64, format: i32, image: &[u8]) -> Result<(), PgError> {
        let result = async {
            let client = self.client().await?;
            let tx = client.transaction().await?;
            tx.execute(
                "INSERT INTO creditwatch_snapshots (seq, format, image) VALUES ($1, $2, $3) ON CONFLICT (seq) DO NOTHING",
                &[&seq, &format, &image],
            )
            .await?;
            tx.execute(
                "DELETE FROM creditwatch_snapshots WHERE seq < (SELECT min(seq) FROM
                     (SELECT seq FROM creditwatch_snapshots ORDER BY seq DESC LIMIT 2) AS newest)",
                &[],
            )
            .await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        self.after(result)
    }
    /// Stores a whole state as snapshot 0 of an empty database, with the
    /// ids it has booked: one transaction, refused when the database holds
    /// any state (`state export --to-postgres`).
    pub async fn import(
        &mut self,
        format: i32,
        image: &[u8],
        requests: &[(Vec<u8>, i64)],
        receipts: &[(String, String)],
    ) -> Result<(), PgError> {
        let result = async {
            let client = self.client().await?;
            let tx = client.transaction().await?;
            // Keeps a writer from committing while the emptiness holds.
            tx.batch_execute(
                "LOCK TABLE creditwatch_records, creditwatch_snapshots, creditwatch_requests, creditwatch_receipts IN EXCLUSIVE MODE",
            )
            .await?;
            let held: i64 = tx
                .query_one(
                    "SELECT (SELECT count(*) FROM creditwatch_records) + (SELECT count(*) FROM creditwatch_snapshots)
                          + (SELECT count(*) FROM creditwatch_requests) + (SELECT count(*) FROM creditwatch_receipts)",
                    &[],
                )
                .await?
                .get(0);
            if held > 0 {
                return Err(PgError::NotEmpty);
            }
            tx.execute("INSERT INTO creditwatch_snapshots (seq, format, image) VALUES (0, $1, $2)", &[&format, &image]).await?;
            for chunk in requests.chunks(10_000) {
                let (ids, times): (Vec<&[u8]>, Vec<i64>) = chunk.iter().map(|(id, at)| (id.as_slice(), *at)).unzip();
                tx.execute(
                    "INSERT INTO creditwatch_requests (event_id, at, seq) SELECT unnest($1::bytea[]), unnest($2::bigint[]), 0",
                    &[&ids, &times],
                )
                .await?;
            }
            let (ids, kinds): (Vec<&str>, Vec<&str>) = receipts.iter().map(|(i, k)| (i.as_str(), k.as_str())).unzip();
            tx.execute(
                "INSERT INTO creditwatch_receipts (id, kind, seq) SELECT unnest($1::text[]), unnest($2::text[]), 0",
                &[&ids, &kinds],
            )
            .await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        self.after(result)
    }
}

/// Checks, inside `tx`, that `epoch` still holds the lease, and keeps it
/// so until `tx` ends: the row is read FOR SHARE, so a new holder's epoch
/// bump waits for this transaction.
async fn hold_epoch(tx: &tokio_postgres::Transaction<'_>, epoch: i64) -> Result<(), PgError> {
    let current: i64 = tx.query_one("SELECT epoch FROM creditwatch_lease WHERE id = 1 FOR SHARE", &[]).await?.get(0);
    if current != epoch {
        return Err(PgError::LeaseLost { mine: epoch, current: Some(current) });
    }
    Ok(())
}

/// A record as the database stores it: its compact encoding, and what must
/// be unique: the ids of requests booked new (with the event time the seen
/// index forgets them by), of top-ups and reconciles.
pub struct Encoded {
    payload: Vec<u8>,
    requests: Vec<Vec<u8>>,
    times: Vec<i64>,
    receipts: Vec<(String, String)>,
    forget_before: Option<i64>,
}

impl Encoded {
    pub fn of(record: &Record) -> Encoded {
        let (usage, entries, forget_before) = match record {
            Record::Batch(b) => (&b.usage[..], &b.ledger[..], b.forget_before),
            Record::Ledger(entries) => (&[][..], &entries[..], None),
        };
        let (requests, times) = usage.iter().filter(|b| b.new_request).map(|b| (b.id.0.to_be_bytes().to_vec(), b.seen.at)).unzip();
        Encoded { payload: codec::encode(record), requests, times, receipts: receipts(entries), forget_before }
    }

    pub fn len(&self) -> usize {
        self.payload.len()
    }

    pub fn is_empty(&self) -> bool {
        self.payload.is_empty()
    }
}

/// The ids of the top-ups and reconciles among `entries`.
pub(super) fn receipts(entries: &[Entry]) -> Vec<(String, String)> {
    entries
        .iter()
        .filter_map(|e| match e {
            Entry::TopUp { id, .. } => Some((id.clone(), "top-up".to_string())),
            Entry::Reconcile { id, .. } => Some((id.clone(), "reconcile".to_string())),
            _ => None,
        })
        .collect()
}

/// A unique violation says which rule the commit broke.
fn unique(e: tokio_postgres::Error, seq: i64) -> PgError {
    let constraint = e.as_db_error().filter(|d| *d.code() == SqlState::UNIQUE_VIOLATION).and_then(|d| d.constraint().map(str::to_string));
    match constraint.as_deref() {
        Some("creditwatch_records_pkey") => PgError::Behind { seq },
        Some("creditwatch_requests_pkey") => PgError::Duplicate("a request id booked before".into()),
        Some("creditwatch_receipts_pkey") => PgError::Duplicate("a top-up or reconcile id used before".into()),
        _ => PgError::Db(e),
    }
}
