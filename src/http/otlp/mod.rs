//! The OTLP logs receiver: Claude Code's (and GenAI agents') telemetry
//! pushed to one central creditwatch, so a team's one balance sees every
//! machine's requests.
//!
//! Two transports share one `Receiver`: OTLP/HTTP `POST /v1/logs` on the
//! main listener (`http`), OTLP/gRPC `LogsService/Export` on
//! `otlp.grpc_listen` (`grpc`). Exactly once: an export is answered with
//! success only after its bookings are committed to the journal (fsync); a
//! commit that fails is answered 503 / `UNAVAILABLE`, so the exporter sends
//! the batch again; and a batch sent again books nothing twice, because its
//! records have the same ids and the seen-id index already holds them.

mod failpoint;
pub mod grpc;
pub mod http;

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;

use crate::sources::formats::otlp::{self as mapping, Record};
use crate::sources::{Outcome, SourceSpec};
use crate::state::store::Store;
use crate::state::Booking;

/// Largest request body accepted, compressed or not (a Claude Code batch of
/// 512 events is about 250 KiB of protobuf).
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// Why an export was not taken.
#[derive(Debug)]
pub enum Refused {
    /// The journal could not be written: nothing was booked, send again.
    Unavailable(String),
}

/// What an accepted export did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub records: usize,
    pub booked: usize,
    pub duplicates: usize,
    pub skipped: usize,
    /// Records that are model calls we could not read: the partial-success count.
    pub rejected: usize,
    /// The first reason, for `error_message`.
    pub first_error: Option<String>,
}

pub struct Receiver {
    token: Option<String>,
    source: SourceSpec,
    store: Arc<Mutex<Store>>,
    prices: arc_swap::ArcSwap<crate::pricing::PriceTable>,
    limits: crate::state::labels::Limits,
    live: Option<crate::live::Shared>,
    unpriced_warned: Mutex<HashSet<String>>,
    errors_logged: std::sync::atomic::AtomicU64,
}

/// Reads `otlp.token_file` (at least 16 characters, like the admin token).
pub fn read_token(path: &Path) -> Result<String> {
    let token = std::fs::read_to_string(path).with_context(|| format!("otlp.token_file {}", path.display()))?;
    let token = token.trim().to_string();
    if token.len() < 16 {
        bail!("otlp.token_file {}: the token must be at least 16 characters", path.display());
    }
    Ok(token)
}

/// Compares without an early exit, so timing does not reveal how much of a
/// token was right.
fn same_token(given: &[u8], expected: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    given.len() == expected.len() && bool::from(given.ct_eq(expected))
}

impl Receiver {
    pub fn new(
        token: Option<String>,
        source: SourceSpec,
        store: Arc<Mutex<Store>>,
        prices: Arc<crate::pricing::PriceTable>,
        limits: crate::state::labels::Limits,
        live: Option<crate::live::Shared>,
    ) -> Receiver {
        Receiver {
            token,
            source,
            store,
            prices: arc_swap::ArcSwap::new(prices),
            limits,
            live,
            unpriced_warned: Mutex::new(HashSet::new()),
            errors_logged: Default::default(),
        }
    }

    /// A downloaded price list or a reloaded config.
    pub fn set_prices(&self, prices: Arc<crate::pricing::PriceTable>) {
        self.prices.store(prices);
    }

    /// `Authorization: Bearer <token>`; everything passes without a token file.
    pub fn authorized(&self, header: Option<&str>) -> bool {
        let Some(expected) = &self.token else { return true };
        let given = header.and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer "))).map(str::trim);
        given.is_some_and(|t| same_token(t.as_bytes(), expected.as_bytes()))
    }

    /// Books a request and commits it before returning (blocking: fsync).
    pub fn ingest(&self, request: &ExportLogsServiceRequest) -> Result<Accepted, Refused> {
        let records = mapping::read_request(request, self.source.options.account_from.as_ref());
        let mut accepted = Accepted { records: records.len(), ..Accepted::default() };
        let prices = self.prices.load_full();
        let mut warned = self.unpriced_warned.lock().unwrap_or_else(|e| e.into_inner());
        let mut guard = crate::common::lock(&self.store);
        let store = &mut *guard;
        let mut booking = Booking::new(&mut store.state, &prices, &self.limits, &mut warned);
        let path = Path::new("otlp");
        for record in &records {
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
                    self.log_error(&e.0);
                    accepted.first_error.get_or_insert_with(|| e.0.clone());
                }
            }
        }
        let batch = booking.finish();
        if batch.usage.is_empty() && batch.lines.is_empty() && batch.ledger.is_empty() {
            return Ok(accepted);
        }
        let record = crate::state::Record::Batch(batch);
        failpoint::hold("before-commit");
        if let Err(e) = store.commit(&record) {
            tracing::error!("OTLP export not booked, cannot commit ({e:#}); the sender will retry");
            if let Err(e) = store.reload() {
                tracing::error!("cannot read the state back: {e:#}");
            }
            return Err(Refused::Unavailable(format!("cannot write the journal: {e}")));
        }
        store.maybe_snapshot();
        drop(guard);
        failpoint::hold("after-commit");
        if let (Some(live), crate::state::Record::Batch(batch)) = (&self.live, &record) {
            crate::live::lock_live(live).record(chrono::Utc::now(), &batch.usage);
        }
        Ok(accepted)
    }

    /// The first few bad records in full, then one in a thousand.
    fn log_error(&self, message: &str) {
        let n = self.errors_logged.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if n <= 10 || n.is_multiple_of(1000) {
            tracing::warn!(source = %self.source.name, errors = n, "bad OTLP record: {message}");
        }
    }
}
