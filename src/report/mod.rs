//! `creditwatch report`: one read-only pass over the configured sources,
//! printed as a table or JSON, grouped by day, month, model, app or session.
//!
//! Files are read in parallel (one worker per core). Every copy of a request
//! is merged by id into its booked view (kind-wise maximum, attributes of the
//! earliest copy), so the result does not depend on which worker read which
//! file first; pricing and grouping happen once at the end. Nothing is written:
//! not the ledger, not the checkpoints.

mod output;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use crate::event::{EventId, Tokens, UsageEvent};
use crate::pricing::PriceTable;
use crate::sources::reader::LineReader;
use crate::sources::{parse_item, ErrorLog, LineResult, SourceSpec};

pub use output::{print_json, print_table};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupBy {
    Day,
    Month,
    Model,
    App,
    Session,
}

#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub by: GroupBy,
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub tz: Tz,
    pub max_line_bytes: usize,
}

/// Totals of one group (or of everything).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub cost: Decimal,
    pub requests: u64,
    pub tokens: Tokens,
    pub unpriced_requests: u64,
}

impl Totals {
    fn add(&mut self, cost: Decimal, tokens: &Tokens, priced: bool) {
        self.cost += cost;
        self.requests += 1;
        self.tokens.add(tokens);
        if !priced {
            self.unpriced_requests += 1;
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Group {
    pub totals: Totals,
    pub models: BTreeSet<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub groups: BTreeMap<String, Group>,
    pub totals: Totals,
    pub files: usize,
    pub bytes: u64,
    pub lines: u64,
    pub error_lines: u64,
    pub unpriced_models: BTreeSet<String>,
}

/// One request's booked view, merged over its copies.
#[derive(Debug, Clone)]
struct Request {
    at: DateTime<Utc>,
    model: Arc<str>,
    app: Arc<str>,
    session: Arc<str>,
    tokens: Tokens,
    web_searches: u64,
    stated_cost: Option<Decimal>,
    batch: bool,
}

impl Request {
    /// Merges another copy; commutative, so reading order does not matter.
    fn merge(&mut self, other: Request) {
        self.tokens = self.tokens.max(&other.tokens);
        self.web_searches = self.web_searches.max(other.web_searches);
        self.stated_cost = match (self.stated_cost, other.stated_cost) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.batch &= other.batch;
        if (other.at, &other.session, &other.app) < (self.at, &self.session, &self.app) {
            self.at = other.at;
            self.model = other.model;
            self.app = other.app;
            self.session = other.session;
        }
    }
}

/// Files of all sources, each once (the first source that lists it wins).
pub fn files_of(sources: &[SourceSpec]) -> Vec<(PathBuf, usize)> {
    let mut seen = BTreeSet::new();
    let mut files = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        let (found, errors) = crate::sources::discover::find_files(&source.patterns);
        for e in errors {
            tracing::warn!(source = %source.name, path = %e.path.display(), "cannot list: {}", e.message);
        }
        for f in found {
            if seen.insert(f.clone()) {
                files.push((f, i));
            }
        }
    }
    files
}

#[derive(Default)]
struct WorkerResult {
    requests: HashMap<EventId, Request>,
    bytes: u64,
    lines: u64,
    error_lines: u64,
}

/// Reads every file once, in parallel, and builds the report.
pub fn build(sources: &[SourceSpec], prices: &PriceTable, opts: &ReportOptions, progress: &indicatif::ProgressBar) -> Report {
    let files = files_of(sources);
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(files.len().max(1));
    let results: Vec<WorkerResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = WorkerResult::default();
                    let mut interner = Interner::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((path, source)) = files.get(i) else {
                            break;
                        };
                        read_file(path, &sources[*source], opts.max_line_bytes, &mut interner, &mut out);
                        progress.inc(1);
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
    });

    let mut merged: HashMap<EventId, Request> = HashMap::new();
    let mut report = Report { files: files.len(), ..Report::default() };
    for result in results {
        report.bytes += result.bytes;
        report.lines += result.lines;
        report.error_lines += result.error_lines;
        if merged.is_empty() {
            merged = result.requests;
            continue;
        }
        for (id, request) in result.requests {
            match merged.entry(id) {
                std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().merge(request),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(request);
                }
            }
        }
    }
    for request in merged.into_values() {
        add_request(&mut report, request, prices, opts);
    }
    report
}

fn add_request(report: &mut Report, r: Request, prices: &PriceTable, opts: &ReportOptions) {
    let local = r.at.with_timezone(&opts.tz);
    let day = local.date_naive();
    if opts.since.is_some_and(|s| day < s) || opts.until.is_some_and(|u| day > u) {
        return;
    }
    let priced = match r.stated_cost {
        Some(cost) => crate::pricing::Priced { cost, priced: true },
        None => prices.price_tokens(&r.model, &r.tokens, r.web_searches, r.batch),
    };
    if !priced.priced {
        report.unpriced_models.insert(r.model.to_string());
    }
    let key = match opts.by {
        GroupBy::Day => day.format("%Y-%m-%d").to_string(),
        GroupBy::Month => day.format("%Y-%m").to_string(),
        GroupBy::Model => r.model.to_string(),
        GroupBy::App => r.app.to_string(),
        GroupBy::Session => r.session.to_string(),
    };
    let group = report.groups.entry(key).or_default();
    group.totals.add(priced.cost, &r.tokens, priced.priced);
    if !group.models.contains(&*r.model) {
        group.models.insert(r.model.to_string());
    }
    report.totals.add(priced.cost, &r.tokens, priced.priced);
}

fn read_file(path: &PathBuf, source: &SourceSpec, max_line: usize, interner: &mut Interner, out: &mut WorkerResult) {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(file = %path.display(), "cannot open: {e}");
            return;
        }
    };
    let mut reader = LineReader::new(file, 0, 1, max_line);
    let mut parser = source.parser();
    let mut errors = ErrorLog::default();
    let file_session: Arc<str> = path.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default().into();
    let book = |event: UsageEvent, out: &mut WorkerResult, interner: &mut Interner| {
        let app = interner.get(&source.app_of(&event, path));
        let session = event.session.as_deref().map(|s| interner.get(s)).unwrap_or_else(|| file_session.clone());
        let request = Request {
            at: event.timestamp,
            model: interner.get(&event.model),
            app,
            session,
            tokens: event.tokens,
            web_searches: event.web_searches,
            stated_cost: event.stated_cost,
            batch: event.batch,
        };
        match out.requests.entry(event.id) {
            std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().merge(request),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(request);
            }
        }
    };
    loop {
        let item = match reader.next_item() {
            Ok(Some(item)) => item,
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(file = %path.display(), "read error: {e}");
                break;
            }
        };
        out.lines += 1;
        let number = match &item {
            crate::sources::reader::Item::Line { number, .. } | crate::sources::reader::Item::Oversized { number, .. } => *number,
        };
        match parse_item(parser.as_mut(), &item, max_line) {
            LineResult::Event(event) => book(event, out, interner),
            LineResult::Skipped => {}
            LineResult::Error(e) => {
                out.error_lines += 1;
                errors.record(path, number, &e);
            }
        }
    }
    // A last line without its newline: in a one-shot read it is complete.
    let tail = reader.pending().to_vec();
    if !tail.is_empty() {
        out.lines += 1;
        match parser.parse(&tail) {
            Ok(Some(event)) => book(event, out, interner),
            Ok(None) => {}
            Err(e) => {
                out.error_lines += 1;
                errors.record(path, reader.next_line_number(), &e);
            }
        }
    }
    for event in parser.drain_pending(None) {
        book(event, out, interner);
    }
    out.bytes += reader.offset() + tail.len() as u64;
}

/// Shares the few distinct model, app and session names between requests.
#[derive(Default)]
struct Interner {
    names: std::collections::HashSet<Arc<str>>,
}

impl Interner {
    fn get(&mut self, name: &str) -> Arc<str> {
        if let Some(existing) = self.names.get(name) {
            return existing.clone();
        }
        let new: Arc<str> = name.into();
        self.names.insert(new.clone());
        new
    }
}
