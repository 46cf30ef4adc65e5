//! Group commit: the one thread that books OTLP exports and commits them.
//!
//! Exports arrive on many connections at once. Each is read into records by
//! its own connection task, then queued here; the committer takes every
//! export waiting (up to `MAX_GROUP_RECORDS`), books them in arrival order
//! into one journal record, commits it with one fsync, and only then
//! answers each export. So concurrent exporters share an fsync instead of
//! waiting for one each, and every answer still means "on disk".
//!
//! Invariants: an export is answered success only after the record holding
//! its bookings is committed; if that commit fails, every export of the
//! group is answered `Unavailable` and the state is read back from disk, so
//! nothing of them is booked and their retries book everything once. Two
//! exports of one group carrying the same record book it once (the seen
//! index is updated as each is booked).

use std::collections::HashSet;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::{failpoint, Accepted, Refused};
use crate::pricing::PriceTable;
use crate::sources::formats::otlp::Record;
use crate::sources::{Outcome, SourceSpec};
use crate::state::store::Store;
use crate::state::Booking;

/// A group stops growing at this many records (a few 512-record batches):
/// the journal record and the wait of the first export stay bounded.
const MAX_GROUP_RECORDS: usize = 16 * 1024;

pub(super) type Reply = oneshot::Sender<Result<Accepted, Refused>>;

/// One export, read into records, waiting for its commit.
pub(super) struct Job {
    pub records: Vec<Record>,
    pub reply: Reply,
}

pub(super) struct Committer {
    pub source: SourceSpec,
    pub store: Arc<Mutex<Store>>,
    pub prices: Arc<arc_swap::ArcSwap<PriceTable>>,
    pub limits: crate::state::labels::Limits,
    pub live: Option<crate::live::Shared>,
    pub unpriced_warned: HashSet<String>,
    pub errors_logged: u64,
}

impl Committer {
    /// Starts the committer thread; it ends when every sender is dropped.
    pub fn spawn(self) -> std::io::Result<mpsc::Sender<Job>> {
        let (sender, jobs) = mpsc::channel::<Job>();
        std::thread::Builder::new().name("otlp-commit".into()).spawn(move || self.run(&jobs))?;
        Ok(sender)
    }

    fn run(mut self, jobs: &mpsc::Receiver<Job>) {
        while let Ok(first) = jobs.recv() {
            let mut size = first.records.len();
            let mut group = vec![first];
            while size < MAX_GROUP_RECORDS {
                match jobs.try_recv() {
                    Ok(job) => {
                        size += job.records.len();
                        group.push(job);
                    }
                    Err(_) => break,
                }
            }
            let (records, replies): (Vec<Vec<Record>>, Vec<Reply>) = group.into_iter().map(|j| (j.records, j.reply)).unzip();
            match self.commit(&records) {
                Ok(accepted) => {
                    for (reply, accepted) in replies.into_iter().zip(accepted) {
                        let _ = reply.send(Ok(accepted)); // a sender that gave up retries; its records are booked
                    }
                }
                Err(message) => {
                    for reply in replies {
                        let _ = reply.send(Err(Refused::Unavailable(message.clone())));
                    }
                }
            }
        }
    }

    /// Books the exports of one group and commits them as one record.
    fn commit(&mut self, exports: &[Vec<Record>]) -> Result<Vec<Accepted>, String> {
        let prices = self.prices.load_full();
        let mut guard = crate::common::lock(&self.store);
        let store = &mut *guard;
        // A replica that does not write answers "retry": the exporter sends
        // the batch again, to the writer or to this one once it writes.
        store.writable().map_err(|e| e.to_string())?;
        let mut booking = Booking::new(&mut store.state, &prices, &self.limits, &mut self.unpriced_warned);
        let path = Path::new("otlp");
        let mut answers = Vec::with_capacity(exports.len());
        for records in exports {
            let mut accepted = Accepted { records: records.len(), ..Accepted::default() };
            for record in records {
                match record {
                    Record::Event(event) => match booking.event(&self.source, path, event) {
                        Outcome::Booked => accepted.booked += 1,
                        Outcome::Duplicate => accepted.duplicates += 1,
                        Outcome::Skipped => accepted.skipped += 1,
                        Outcome::Error => {
                            accepted.rejected += 1;
                            accepted.first_error.get_or_insert_with(|| "a record was refused (see the daemon log)".into());
                        }
                    },
                    Record::Skipped => {
                        booking.count(&self.source.name, Outcome::Skipped);
                        accepted.skipped += 1;
                    }
                    Record::Error(e) => {
                        booking.count(&self.source.name, Outcome::Error);
                        accepted.rejected += 1;
                        log_error(&self.source.name, &mut self.errors_logged, &e.0);
                        accepted.first_error.get_or_insert_with(|| e.0.clone());
                    }
                }
            }
            answers.push(accepted);
        }
        let batch = booking.finish();
        if batch.usage.is_empty() && batch.lines.is_empty() && batch.ledger.is_empty() {
            return Ok(answers);
        }
        let record = crate::state::Record::Batch(batch);
        failpoint::hold("before-commit");
        if let Err(e) = store.commit(&record) {
            tracing::error!(exports = exports.len(), "OTLP exports not booked, cannot commit ({e:#}); the senders will retry");
            if let Err(e) = store.reload() {
                tracing::error!("cannot read the state back: {e:#}");
            }
            return Err(format!("cannot write the journal: {e}"));
        }
        store.maybe_snapshot();
        drop(guard);
        failpoint::hold("after-commit");
        if let (Some(live), crate::state::Record::Batch(batch)) = (&self.live, &record) {
            crate::live::lock_live(live).record(chrono::Utc::now(), &batch.usage);
        }
        Ok(answers)
    }
}

/// The first few bad records in full, then one in a thousand.
fn log_error(source: &str, logged: &mut u64, message: &str) {
    *logged += 1;
    let n = *logged;
    if n <= 10 || n.is_multiple_of(1000) {
        tracing::warn!(source = %source, errors = n, "bad OTLP record: {message}");
    }
}
