//! The database for code that blocks: one thread owns the connection
//! (`Backend`, async) on a runtime of its own, and callers on any thread —
//! the ingest thread, the OTLP committer, an HTTP handler holding the store
//! — send it a call and wait for the answer. No caller ever needs to be
//! inside (or outside) a tokio runtime, and calls run one at a time, in the
//! order they were sent, on one connection.
//!
//! Every call has a deadline: a database that stops answering (a network
//! partition without a reset) makes the call fail `Unavailable` after it,
//! and the connection is dropped so the next call opens a new one. A commit
//! whose answer was lost may still have landed: callers read the database
//! back (`Store::reload`) before they trust their state again.

use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::backend::{Backend, Encoded, StoredSnapshot};
use super::{DbUrl, PgError};
use crate::state::Record;

type Reply<T> = std_mpsc::SyncSender<Result<T, PgError>>;

enum Call {
    Commit { epoch: i64, seq: i64, record: Encoded, reply: Reply<()> },
    ReadAfter { seq: i64, limit: i64, reply: Reply<Vec<(i64, Record)>> },
    NewestSnapshot { reply: Reply<Option<StoredSnapshot>> },
    SaveSnapshot { seq: i64, format: i32, image: Vec<u8>, reply: Reply<()> },
    LoadAlerts { reply: Reply<Option<Vec<u8>>> },
    SaveAlerts { epoch: i64, body: Vec<u8>, reply: Reply<()> },
    LeaseHolder { reply: Reply<(i64, String)> },
}

/// A handle on the database thread; clones share it. The thread ends when
/// the last handle is dropped.
#[derive(Clone)]
pub struct PgLink {
    calls: mpsc::UnboundedSender<Call>,
    url: DbUrl,
}

impl PgLink {
    /// Starts the thread, connects and migrates; fails when the database
    /// cannot be reached or its schema is newer than this release's.
    pub fn open(url: DbUrl, lease: Duration) -> Result<PgLink, PgError> {
        let (calls, mut queue) = mpsc::unbounded_channel::<Call>();
        let (ready, opened) = std_mpsc::sync_channel(1);
        let shown = url.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| PgError::Url(format!("cannot start the database thread's runtime: {e}")))?;
        std::thread::Builder::new()
            .name("postgres".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let mut backend = match Backend::open(shown, lease).await {
                        Ok(b) => {
                            let _ = ready.send(Ok(()));
                            b
                        }
                        Err(e) => {
                            let _ = ready.send(Err(e));
                            return;
                        }
                    };
                    // A call gets the lease's length, at least 5 s: longer
                    // and a writer could hold a commit past its lease.
                    let deadline = lease.max(Duration::from_secs(5));
                    while let Some(call) = queue.recv().await {
                        serve(&mut backend, call, deadline).await;
                    }
                })
            })
            .map_err(|e| PgError::Url(format!("cannot start the database thread: {e}")))?;
        match opened.recv() {
            Ok(Ok(())) => Ok(PgLink { calls, url }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(PgError::Url("the database thread stopped while connecting".into())),
        }
    }

    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Call) -> Result<T, PgError> {
        let (reply, answer) = std_mpsc::sync_channel(1);
        if self.calls.send(make(reply)).is_err() {
            return Err(PgError::Url("the database thread has stopped".into()));
        }
        answer.recv().unwrap_or_else(|_| Err(PgError::Url("the database thread has stopped".into())))
    }

    pub fn commit(&self, epoch: i64, seq: i64, record: Encoded) -> Result<(), PgError> {
        self.call(|reply| Call::Commit { epoch, seq, record, reply })
    }

    pub fn read_after(&self, seq: i64, limit: i64) -> Result<Vec<(i64, Record)>, PgError> {
        self.call(|reply| Call::ReadAfter { seq, limit, reply })
    }

    pub fn newest_snapshot(&self) -> Result<Option<StoredSnapshot>, PgError> {
        self.call(|reply| Call::NewestSnapshot { reply })
    }

    pub fn save_snapshot(&self, seq: i64, format: i32, image: Vec<u8>) -> Result<(), PgError> {
        self.call(|reply| Call::SaveSnapshot { seq, format, image, reply })
    }

    pub fn load_alerts(&self) -> Result<Option<Vec<u8>>, PgError> {
        self.call(|reply| Call::LoadAlerts { reply })
    }

    pub fn save_alerts(&self, epoch: i64, body: Vec<u8>) -> Result<(), PgError> {
        self.call(|reply| Call::SaveAlerts { epoch, body, reply })
    }

    /// `(epoch, holder)` of the lease as the database has it.
    pub fn lease_holder(&self) -> Result<(i64, String), PgError> {
        self.call(|reply| Call::LeaseHolder { reply })
    }
}

/// Runs one call within `deadline`; a call that overruns loses its
/// connection and answers a timeout (retryable).
async fn serve(backend: &mut Backend, call: Call, deadline: Duration) {
    // The timed-out future is dropped before `finish` borrows the backend
    // again to close its connection.
    match call {
        Call::Commit { epoch, seq, record, reply } => {
            let answer = tokio::time::timeout(deadline, backend.commit_encoded(epoch, seq, &record)).await;
            finish(backend, deadline, reply, answer);
        }
        Call::ReadAfter { seq, limit, reply } => {
            let answer = tokio::time::timeout(deadline, backend.read_after(seq, limit)).await;
            finish(backend, deadline, reply, answer);
        }
        Call::NewestSnapshot { reply } => {
            let answer = tokio::time::timeout(deadline, backend.newest_snapshot()).await;
            finish(backend, deadline, reply, answer);
        }
        Call::SaveSnapshot { seq, format, image, reply } => {
            let answer = tokio::time::timeout(deadline, backend.save_snapshot(seq, format, &image)).await;
            finish(backend, deadline, reply, answer);
        }
        Call::LoadAlerts { reply } => {
            let answer = tokio::time::timeout(deadline, backend.load_alerts()).await;
            finish(backend, deadline, reply, answer);
        }
        Call::SaveAlerts { epoch, body, reply } => {
            let answer = tokio::time::timeout(deadline, backend.save_alerts(epoch, &body)).await;
            finish(backend, deadline, reply, answer);
        }
        Call::LeaseHolder { reply } => {
            let answer = tokio::time::timeout(deadline, backend.lease_holder()).await;
            finish(backend, deadline, reply, answer);
        }
    }
}

fn finish<T>(backend: &mut Backend, deadline: Duration, reply: Reply<T>, answer: Result<Result<T, PgError>, tokio::time::error::Elapsed>) {
    let answer = answer.unwrap_or_else(|_| {
        backend.disconnect();
        Err(PgError::Timeout(deadline))
    });
    let _ = reply.send(answer);
}
