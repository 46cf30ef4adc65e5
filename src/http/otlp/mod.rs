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

mod committer;
mod failpoint;
pub mod grpc;
pub mod http;

use std::collections::HashSet;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};

use anyhow::{bail, Context, Result};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;

use tokio::sync::oneshot;

use crate::sources::formats::otlp as mapping;
use crate::sources::SourceSpec;
use crate::state::store::Store;
use committer::{Committer, Job};

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
    account_from: Option<mapping::AccountFrom>,
    prices: Arc<arc_swap::ArcSwap<crate::pricing::PriceTable>>,
    /// The committer thread's queue (`committer`).
    jobs: mpsc::Sender<Job>,
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
    /// Starts the committer thread (an error only when no thread can be made).
    pub fn new(
        token: Option<String>,
        source: SourceSpec,
        store: Arc<Mutex<Store>>,
        prices: Arc<crate::pricing::PriceTable>,
        limits: crate::state::labels::Limits,
        live: Option<crate::live::Shared>,
    ) -> Result<Receiver> {
        let prices = Arc::new(arc_swap::ArcSwap::new(prices));
        let account_from = source.options.account_from.clone();
        let committer =
            Committer { source, store, prices: prices.clone(), limits, live, unpriced_warned: HashSet::new(), errors_logged: 0 };
        let jobs = committer.spawn().context("starting the OTLP committer thread")?;
        Ok(Receiver { token, account_from, prices, jobs })
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

    /// Reads a request into records here, then books and commits it with
    /// the other exports waiting (group commit); returns once it is on disk.
    pub async fn ingest(&self, request: &ExportLogsServiceRequest) -> Result<Accepted, Refused> {
        let records = mapping::read_request(request, self.account_from.as_ref());
        let (reply, answer) = oneshot::channel();
        if self.jobs.send(Job { records, reply }).is_err() {
            return Err(Refused::Unavailable("the committer has stopped".into()));
        }
        answer.await.unwrap_or_else(|_| Err(Refused::Unavailable("the committer has stopped".into())))
    }
}
