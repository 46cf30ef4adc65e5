//! `creditwatch report`: one read-only pass over the configured sources,
//! printed as a table or JSON, grouped by day, month, model, app, session or user.
//!
//! Files are read in parallel (one worker per core). Every copy of a request
//! is merged by id into its booked view (kind-wise maximum, attributes of the
//! earliest copy), so the result does not depend on which worker read which
//! file first; pricing and grouping happen once at the end. Nothing is written:
//! not the ledger, not the checkpoints.

pub mod advise;
mod daily;
mod output;
mod price_memo;

pub use daily::{daily_costs, DailyCosts};
pub(crate) use price_memo::PriceMemo;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use crate::pricing::PriceTable;
use crate::sources::follow::reader::LineReader;
use crate::sources::{parse_item, ErrorLog, LineResult, SourceSpec};
use crate::usage::{EventId, Modifiers, ServiceTier, Tokens, UsageEvent};

pub use output::{print_json, print_table};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GroupBy {
    Day,
    Month,
    Model,
    App,
    Session,
    /// The person: a record's `user.email`, else the source's `user`.
    User,
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
    /// Of `tokens.output`, the reasoning tokens (where the log says).
    pub reasoning_tokens: u64,
    pub unpriced_requests: u64,
}

impl Totals {
    fn add(&mut self, cost: Decimal, tokens: &Tokens, reasoning: u64, priced: bool) {
        self.cost += cost;
        self.requests += 1;
        self.tokens.add(tokens);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(reasoning);
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

/// One request's booked view, merged over its copies. Kept small (names are
/// numbers into `Names`, time is whole seconds): a large tree holds one of
/// these per distinct request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request {
    pub(crate) at: i64,
    /// Breaks ties between copies with the same time without depending on
    /// reading order: a hash of the copy's names.
    tie: u64,
    pub(crate) model: u32,
    pub(crate) app: u32,
    pub(crate) session: u32,
    pub(crate) user: u32,
    pub(crate) web_searches: u32,
    pub(crate) modifiers: Modifiers,
    pub(crate) reasoning: u64,
    pub(crate) tokens: Tokens,
    pub(crate) stated_cost: Option<Decimal>,
    // For `advise`: where from, and whether the line named its session.
    pub(crate) account: u32,
    pub(crate) file: u32,
    pub(crate) has_session: bool,
    /// Whether a copy named the person (`user` is then theirs).
    pub(crate) user_named: bool,
}

impl Request {
    /// Merges another copy; commutative, so reading order does not matter.
    fn merge(&mut self, other: Request) {
        self.tokens = self.tokens.merged(&other.tokens);
        self.web_searches = self.web_searches.max(other.web_searches);
        self.reasoning = self.reasoning.max(other.reasoning);
        self.stated_cost = match (self.stated_cost, other.stated_cost) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        // Copies of one request state the same modifiers; an early copy may
        // leave one out (`speed: null`), so a later copy's word counts.
        self.modifiers = Modifiers {
            tier: if self.modifiers.tier == other.modifiers.tier { self.modifiers.tier } else { ServiceTier::Standard },
            fast: self.modifiers.fast || other.modifiers.fast,
            us_only: self.modifiers.us_only || other.modifiers.us_only,
        };
        // The request's person is whoever a copy names, even when the
        // earliest copy names nobody (as the daemon books it).
        let user = match (self.user_named, other.user_named) {
            (true, false) => Some((self.user, true)),
            (false, true) => Some((other.user, true)),
            _ => None,
        };
        if (other.at, other.tie) < (self.at, self.tie) {
            self.at = other.at;
            self.tie = other.tie;
            self.model = other.model;
            self.app = other.app;
            self.session = other.session;
            self.account = other.account;
            self.user = other.user;
            self.file = other.file;
            self.has_session = other.has_session;
            self.user_named = other.user_named;
        }
        if let Some((user, named)) = user {
            (self.user, self.user_named) = (user, named);
        }
    }
}

/// Model, app and session names, numbered; shared by the workers, who ask
/// it only for names they have not seen before.
#[derive(Default)]
struct Names {
    numbers: HashMap<String, u32>,
    names: Vec<String>,
}

impl Names {
    fn number(&mut self, name: &str) -> u32 {
        if let Some(n) = self.numbers.get(name) {
            return *n;
        }
        let n = self.names.len() as u32;
        self.names.push(name.to_string());
        self.numbers.insert(name.to_string(), n);
        n
    }
}

/// A worker's cache in front of the shared `Names`, and in front of that
/// the last name of each field (a file's requests mostly repeat them).
struct Interner<'a> {
    shared: &'a std::sync::Mutex<Names>,
    local: HashMap<String, u32>,
    last: [Option<(String, u32)>; Field::COUNT],
}

#[derive(Clone, Copy)]
enum Field {
    File,
    Model,
    App,
    Session,
    User,
    Account,
}

impl Field {
    const COUNT: usize = 6;
}

impl<'a> Interner<'a> {
    fn new(shared: &'a std::sync::Mutex<Names>) -> Interner<'a> {
        Interner { shared, local: HashMap::new(), last: Default::default() }
    }

    fn get(&mut self, field: Field, name: &str) -> u32 {
        let last = &mut self.last[field as usize];
        if let Some((_, n)) = last.as_ref().filter(|(text, _)| text == name) {
            return *n;
        }
        let n = match self.local.get(name) {
            Some(n) => *n,
            None => {
                let n = self.shared.lock().unwrap_or_else(|e| e.into_inner()).number(name);
                self.local.insert(name.to_string(), n);
                n
            }
        };
        match last {
            Some((text, number)) => {
                text.clear();
                text.push_str(name);
                *number = n;
            }
            None => *last = Some((name.to_string(), n)),
        }
        n
    }
}

/// Files of all sources, each once (the first source that lists it wins).
pub fn files_of(sources: &[SourceSpec]) -> Vec<(PathBuf, usize)> {
    let mut seen = BTreeSet::new();
    let mut files = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        let (found, errors) = crate::sources::follow::discover::find_files(&source.patterns);
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

/// What one file contributed: its requests (copies within the file already
/// merged) and its counts.
#[derive(Default)]
struct FileResult {
    requests: HashMap<EventId, Request>,
    bytes: u64,
    lines: u64,
    error_lines: u64,
}

/// Every distinct request of the sources, merged over its copies, with the
/// names its numbers point to and the reading counts.
pub struct Requests {
    pub(crate) requests: Vec<(EventId, Request)>,
    pub(crate) names: Vec<String>,
    pub(crate) files: usize,
    pub(crate) bytes: u64,
    pub(crate) lines: u64,
    pub(crate) error_lines: u64,
}

/// Reads every file once and builds the report.
pub fn build(sources: &[SourceSpec], prices: &PriceTable, opts: &ReportOptions, progress: &indicatif::ProgressBar) -> Report {
    let read = read(sources, opts.max_line_bytes, progress);
    let mut report = Report { files: read.files, bytes: read.bytes, lines: read.lines, error_lines: read.error_lines, ..Report::default() };
    let mut memo = PriceMemo::new(prices, read.names.len());
    for (_, request) in read.requests {
        add_request(&mut report, request, &mut memo, opts, &read.names);
    }
    report
}

/// Reads every file once. Workers (one per core) read files and send each
/// file's requests to this thread, which alone holds the merged list: memory
/// is one entry per distinct request, whatever the tree.
pub(crate) fn read(sources: &[SourceSpec], max_line_bytes: usize, progress: &indicatif::ProgressBar) -> Requests {
    let files = files_of(sources);
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(files.len().max(1));
    let names = std::sync::Mutex::new(Names::default());
    let mut all: Vec<(EventId, Request)> = Vec::new();
    let (mut bytes, mut lines, mut error_lines) = (0, 0, 0);
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<FileResult>(workers * 2);
        for _ in 0..workers {
            let tx = tx.clone();
            let (next, files, names) = (&next, &files, &names);
            scope.spawn(move || {
                let mut interner = Interner::new(names);
                while let Some((path, source)) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let result = read_file(path, &sources[*source], max_line_bytes, &mut interner);
                    if tx.send(result).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for result in rx {
            bytes += result.bytes;
            lines += result.lines;
            error_lines += result.error_lines;
            all.extend(result.requests);
            progress.inc(1);
        }
    });
    // Copies of one request in several files (resumed sessions) meet here.
    all.sort_unstable_by_key(|(id, _)| *id);
    all.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            kept.1.merge(later.1);
        }
        same
    });
    let names = names.into_inner().unwrap_or_else(|e| e.into_inner()).names;
    Requests { requests: all, names, files: files.len(), bytes, lines, error_lines }
}

fn add_request(report: &mut Report, r: Request, prices: &mut PriceMemo, opts: &ReportOptions, names: &[String]) {
    let name = |n: u32| names.get(n as usize).map(String::as_str).unwrap_or("");
    let (model, app, session, user) = (name(r.model), name(r.app), name(r.session), name(r.user));
    let Some(at) = DateTime::<Utc>::from_timestamp(r.at, 0) else { return };
    let local = at.with_timezone(&opts.tz);
    let day = local.date_naive();
    if opts.since.is_some_and(|s| day < s) || opts.until.is_some_and(|u| day > u) {
        return;
    }
    let priced = prices.price(&r, model, at);
    if !priced.priced {
        report.unpriced_models.insert(model.to_string());
    }
    let key = match opts.by {
        GroupBy::Day => day.format("%Y-%m-%d").to_string(),
        GroupBy::Month => day.format("%Y-%m").to_string(),
        GroupBy::Model => model.to_string(),
        GroupBy::App => app.to_string(),
        GroupBy::Session => session.to_string(),
        GroupBy::User if user.is_empty() => "(no user)".to_string(),
        GroupBy::User => user.to_string(),
    };
    let group = report.groups.entry(key).or_default();
    group.totals.add(priced.cost, &r.tokens, r.reasoning, priced.priced);
    if !group.models.contains(model) {
        group.models.insert(model.to_string());
    }
    report.totals.add(priced.cost, &r.tokens, r.reasoning, priced.priced);
}

fn read_file(path: &PathBuf, source: &SourceSpec, max_line: usize, interner: &mut Interner) -> FileResult {
    use std::hash::{Hash, Hasher};
    let mut result = FileResult::default();
    let out = &mut result;
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(file = %path.display(), "cannot open: {e}");
            return result;
        }
    };
    let mut reader = LineReader::new(file, 0, 1, max_line);
    let mut parser = source.parser();
    let mut errors = ErrorLog::default();
    let file_session = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let file = interner.get(Field::File, &path.to_string_lossy());
    let book = |event: UsageEvent, out: &mut FileResult, interner: &mut Interner| {
        let app = source.app_name(&event, path);
        let session = event.session.as_deref().unwrap_or(&file_session);
        let mut tie = std::hash::DefaultHasher::new();
        (session, &app, &event.model).hash(&mut tie);
        let request = Request {
            at: event.timestamp.timestamp(),
            tie: tie.finish(),
            model: interner.get(Field::Model, &event.model),
            app: interner.get(Field::App, &app),
            session: interner.get(Field::Session, session),
            user: interner.get(Field::User, source.user_name(&event).unwrap_or("")),
            user_named: source.user_name(&event).is_some_and(|u| !u.is_empty()),
            tokens: event.tokens,
            web_searches: u32::try_from(event.web_searches).unwrap_or(u32::MAX),
            reasoning: event.reasoning_tokens,
            stated_cost: event.stated_cost,
            modifiers: event.modifiers,
            account: interner.get(Field::Account, source.account_name(&event)),
            file,
            has_session: event.session.is_some(),
        };
        match out.requests.entry(event.id) {
            std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().merge(request),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(request);
            }
        }
    };
    if source.reads_database(path) {
        // A SQLite database (OpenCode): every row once, from the first.
        for row in crate::sources::follow::database::read_all(path) {
            out.lines += 1;
            match row.result {
                LineResult::Event(event) => book(event, out, interner),
                LineResult::Skipped | LineResult::NotBooked(_) | LineResult::PlanWindows(_) => {}
                LineResult::Error(e) => {
                    out.error_lines += 1;
                    errors.record(path, u64::try_from(row.rowid).unwrap_or(0), &e);
                }
            }
        }
        out.bytes += std::fs::metadata(path).map_or(0, |m| m.len());
        return result;
    }
    if let Some(mut document) = source.document_parser_for(path) {
        // A whole-file format: the file is one document.
        use std::io::Read;
        let mut bytes = Vec::new();
        if let Err(e) = reader.get_ref().take(crate::sources::follow::document::MAX_DOCUMENT_BYTES).read_to_end(&mut bytes) {
            tracing::warn!(file = %path.display(), "cannot read: {e}");
            return result;
        }
        out.bytes += bytes.len() as u64;
        let items = document.parse_document(&bytes).unwrap_or_else(|e| vec![Err(e)]);
        for (i, item) in items.into_iter().enumerate() {
            out.lines += 1;
            match item {
                Ok(event) => book(event, out, interner),
                Err(e) => {
                    out.error_lines += 1;
                    errors.record(path, i as u64 + 1, &e);
                }
            }
        }
        return result;
    }
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
            crate::sources::follow::reader::Item::Line { number, .. } | crate::sources::follow::reader::Item::Oversized { number, .. } => {
                *number
            }
        };
        match parse_item(parser.as_mut(), &item, max_line) {
            LineResult::Event(event) => book(event, out, interner),
            // Plan windows bill nothing: the report is about cost.
            LineResult::Skipped | LineResult::PlanWindows(_) => {}
            LineResult::NotBooked(reason) => errors.not_booked(path, number, &reason),
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
        let parsed = parser.parse(&tail);
        match crate::sources::line_result(parser.as_mut(), parsed) {
            LineResult::Event(event) => book(event, out, interner),
            LineResult::Skipped | LineResult::PlanWindows(_) => {}
            LineResult::NotBooked(reason) => errors.not_booked(path, reader.next_line_number(), &reason),
            LineResult::Error(e) => {
                out.error_lines += 1;
                errors.record(path, reader.next_line_number(), &e);
            }
        }
    }
    for event in parser.drain_pending(None) {
        book(event, out, interner);
    }
    out.bytes += reader.offset() + tail.len() as u64;
    result
}
