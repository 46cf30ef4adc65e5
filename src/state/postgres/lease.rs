//! The writer's lease: one replica at a time books, reloads and notifies.
//!
//! Holding it is two things at once. A session-level advisory lock on a
//! connection of its own: PostgreSQL releases it the moment that session
//! ends (the process killed, the host gone), so another replica can take
//! over within its polling interval. And an epoch in `creditwatch_lease`,
//! raised by every new holder and checked inside every commit's transaction
//! (`Backend::commit`): a holder that *believes* it still holds the lock
//! (paused by SIGSTOP, partitioned) finds a newer epoch and cannot commit.
//!
//! A paused process keeps its TCP connection (the kernel still answers
//! keepalives), so the lock session is given `idle_session_timeout` equal to
//! the lease: the server ends a session that sent nothing for that long, and
//! `renew`, sent a few times per lease, is what keeps a live holder's
//! session busy.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_postgres::Client;

use super::{connect, DbUrl, PgError};

/// Session-level advisory lock key of the writer's lease ("cw-lead").
const LEASE_LOCK: i64 = 0x0063_772d_6c65_6164;

pub struct Lease {
    client: Client,
    connection: JoinHandle<()>,
    epoch: i64,
}

impl Lease {
    /// Takes the lease if no live session holds it: `None` when another
    /// replica is the writer.
    pub async fn try_acquire(url: &DbUrl, holder: &str, lease: Duration) -> Result<Option<Lease>, PgError> {
        Ok(Candidate::connect(url, lease).await?.try_take(holder).await?.ok())
    }

    pub fn epoch(&self) -> i64 {
        self.epoch
    }

    /// Keeps the session alive and checks that the epoch is still ours; an
    /// error means the lease is gone (the caller stops writing).
    pub async fn renew(&self) -> Result<(), PgError> {
        if self.connection.is_finished() {
            return Err(PgError::LeaseLost { mine: self.epoch, current: None });
        }
        let current: i64 = self.client.query_one("SELECT epoch FROM creditwatch_lease WHERE id = 1", &[]).await?.get(0);
        if current != self.epoch {
            return Err(PgError::LeaseLost { mine: self.epoch, current: Some(current) });
        }
        Ok(())
    }

    /// Gives the lease up at once (a stopping writer): the next replica need
    /// not wait for the session to end.
    pub async fn release(self) {
        if let Err(e) = self.client.execute("SELECT pg_advisory_unlock($1)", &[&LEASE_LOCK]).await {
            tracing::debug!("releasing the lease: {e} (the session's end releases it)");
        }
    }

    /// How often to `renew` so that a live holder's session never idles out.
    pub fn renew_every(lease: Duration) -> Duration {
        lease / 4
    }
}

/// A replica waiting for the lease, on the connection that will hold it:
/// asking again every half second costs one query, not a new session. (Its
/// connection ends when the candidate is dropped: the client goes with it.)
pub struct Candidate {
    client: Client,
    connection: JoinHandle<()>,
}

impl Candidate {
    pub async fn connect(url: &DbUrl, lease: Duration) -> Result<Candidate, PgError> {
        let (client, connection) = connect(url).await?;
        let ms = lease.as_millis().max(1);
        client.batch_execute(&format!("SET idle_session_timeout = {ms}")).await?;
        Ok(Candidate { client, connection })
    }

    /// The lease, or the candidate back when a live session holds it. An
    /// error means the connection is unusable: connect again.
    pub async fn try_take(self, holder: &str) -> Result<Result<Lease, Candidate>, PgError> {
        if self.connection.is_finished() {
            return Err(PgError::Url("the candidate's connection has ended".into()));
        }
        let locked: bool = self.client.query_one("SELECT pg_try_advisory_lock($1)", &[&LEASE_LOCK]).await?.get(0);
        if !locked {
            return Ok(Err(self));
        }
        // Waits for a commit of the previous holder still in flight (it holds
        // the lease row FOR SHARE): that commit lands before the new epoch,
        // and nothing of the old holder can land after it.
        let epoch: i64 = self
            .client
            .query_one(
                "UPDATE creditwatch_lease SET epoch = epoch + 1, holder = $1, since = now() WHERE id = 1 RETURNING epoch",
                &[&holder],
            )
            .await?
            .get(0);
        tracing::info!(epoch, holder, "took the writer's lease");
        Ok(Ok(Lease { client: self.client, connection: self.connection, epoch }))
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Ending the session releases the advisory lock at once.
        self.connection.abort();
    }
}
