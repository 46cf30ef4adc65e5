//! Sources: find, follow and read log files, and parse their lines.
//!
//! Each log format is a `LineParser`: a function from one complete line
//! (without its newline) to zero or one `UsageEvent`. Parsers do no I/O; the
//! readers around them (`reader` for one pass, `tail` for following) own
//! files, offsets and line splitting.

pub mod config;
mod default_paths;
pub mod follow;
pub mod formats;
mod timestamp;

pub use timestamp::parse_timestamp;

use follow::{discover, reader};
use formats::{
    anthropic, attribution, claude_code, claude_statusline, codex, copilot_cli, gemini_cli, jsonl, litellm, openai, opencode, qwen_code,
};

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::usage::plan::PlanObservation;
use crate::usage::UsageEvent;

/// The log formats a source can have (`format:` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    ClaudeCode,
    Anthropic,
    Openai,
    Litellm,
    Jsonl,
    /// Plan-window snapshots left by `creditwatch statusline`.
    ClaudeStatusline,
    Codex,
    GeminiCli,
    QwenCode,
    /// OpenCode's database (`opencode.db`) and older message files.
    Opencode,
    /// GitHub Copilot CLI's OpenTelemetry file export.
    CopilotCli,
    /// Events pushed over OTLP (`crate::http::otlp`); no files.
    Otlp,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::ClaudeCode => "claude_code",
            Format::Anthropic => "anthropic",
            Format::Openai => "openai",
            Format::Litellm => "litellm",
            Format::Jsonl => "jsonl",
            Format::ClaudeStatusline => "claude_statusline",
            Format::Codex => "codex",
            Format::GeminiCli => "gemini_cli",
            Format::QwenCode => "qwen_code",
            Format::Opencode => "opencode",
            Format::CopilotCli => "copilot_cli",
            Format::Otlp => "otlp",
        }
    }

    /// The app a coding agent's requests are booked under when its source
    /// names none (`app:`); `None`: the source's name, as before.
    pub fn agent_app(self) -> Option<&'static str> {
        match self {
            Format::Codex => Some("codex"),
            Format::GeminiCli => Some("gemini-cli"),
            Format::QwenCode => Some("qwen-code"),
            Format::Opencode => Some("opencode"),
            Format::CopilotCli => Some("copilot-cli"),
            Format::ClaudeCode
            | Format::Anthropic
            | Format::Openai
            | Format::Litellm
            | Format::Jsonl
            | Format::ClaudeStatusline
            | Format::Otlp => None,
        }
    }

    /// Where the agent writes its logs, for a source that lists no `paths`
    /// (and `report --format F` without `--paths`), honouring the agent's own
    /// home variable. Empty: the format has no default place.
    pub fn default_paths(self) -> Vec<String> {
        default_paths::of(self)
    }

    /// Formats whose log can be a SQLite database (see
    /// `follow::database`); their other paths are files.
    pub fn reads_databases(self) -> bool {
        self == Format::Opencode
    }

    /// Whether this format's files are appended lines or whole documents.
    pub fn reading(self) -> Reading {
        match self {
            // OpenCode: older message files; `*.db` paths are read as databases.
            Format::GeminiCli | Format::Opencode => Reading::Documents,
            Format::ClaudeCode
            | Format::Anthropic
            | Format::Openai
            | Format::Litellm
            | Format::Jsonl
            | Format::ClaudeStatusline
            | Format::Codex
            | Format::QwenCode
            | Format::CopilotCli
            | Format::Otlp => Reading::Lines,
        }
    }
}

/// Why a line could not be read as usage. Shown with file and line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LineError(pub String);

impl LineError {
    pub fn new(msg: impl Into<String>) -> LineError {
        LineError(msg.into())
    }
}

impl From<serde_json::Error> for LineError {
    fn from(e: serde_json::Error) -> LineError {
        LineError(format!("invalid JSON: {e}"))
    }
}

/// One log format's reader of lines.
pub trait LineParser: Send {
    /// Parses one complete line. `Ok(None)`: a line that is not a billed
    /// request (or one held back, see `drain_pending`).
    fn parse(&mut self, line: &[u8]) -> Result<Option<UsageEvent>, LineError>;

    /// Parses one line that may hold something other than usage (a plan
    /// window snapshot); formats of usage alone keep this default.
    fn parse_any(&mut self, line: &[u8]) -> Result<Parsed, LineError> {
        Ok(match self.parse(line)? {
            Some(event) => Parsed::Usage(event),
            None => Parsed::Nothing,
        })
    }

    /// Events held back (a stream still waiting for its final delta) that are
    /// due at `now`, or all of them at end of input (`now == None`).
    fn drain_pending(&mut self, _now: Option<DateTime<Utc>>) -> Vec<UsageEvent> {
        Vec::new()
    }

    /// True while events are held back: the follower then keeps the
    /// checkpoint at the line where holding began, so a crash re-reads
    /// (and holds again) what memory alone knew.
    fn holding(&self) -> bool {
        false
    }

    /// Why the line `parse` just returned `Ok(None)` for was not booked
    /// although it carried usage (an errored batch request, a failed call, a
    /// line a field map's `skip` names): it is counted as skipped and logged
    /// with this reason, never dropped in silence. `None` for lines with no
    /// usage at all (a ping, a log message).
    fn skip_reason(&mut self) -> Option<String> {
        None
    }

    /// True for parsers whose reading of a line depends on earlier lines of
    /// the file (Codex: the model of the latest `turn_context`). A follower
    /// resuming such a file mid-way first feeds it the lines before the
    /// checkpoint, dropping what they yield (they were booked already).
    fn needs_earlier_lines(&self) -> bool {
        false
    }
}

/// What one line holds.
// Moved, not boxed, like `LineResult`: nearly every line is usage.
#[allow(clippy::large_enum_variant)]
pub enum Parsed {
    Usage(UsageEvent),
    /// Plan windows seen at one moment (`claude_statusline`): not billed.
    PlanWindows(PlanObservation),
    Nothing,
}

/// One log format's reader of whole files: formats whose files are
/// rewritten in place (Gemini CLI's chat JSON) or hold one record each
/// (OpenCode's message files) are read again whole whenever they change.
pub trait DocumentParser: Send {
    /// Reads one version of a whole file: each request it holds, with an id
    /// that is the same at every re-read (so re-reads are duplicates, never
    /// new bills), or the error of an item that could not be read. `Err`:
    /// the file as a whole cannot be read now (caught half-written, or
    /// corrupt); the follower tries again when it changes.
    fn parse_document(&mut self, bytes: &[u8]) -> Result<Vec<Result<UsageEvent, LineError>>, LineError>;
}

/// How a format's files are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// Appended lines, followed from a checkpoint offset (`follow::tail`).
    Lines,
    /// Whole files read again when they change (`follow::document`).
    Documents,
}

/// What became of a line, for `creditwatch_source_lines_total{outcome}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Booked,
    Duplicate,
    Skipped,
    Error,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [Outcome::Booked, Outcome::Duplicate, Outcome::Skipped, Outcome::Error];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Booked => "booked",
            Outcome::Duplicate => "duplicate",
            Outcome::Skipped => "skipped",
            Outcome::Error => "error",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Everything the readers need to know about one configured source.
#[derive(Debug, Clone)]
pub struct SourceSpec {
    pub name: String,
    pub format: Format,
    pub patterns: Vec<discover::PathPattern>,
    pub account: String,
    pub app: Option<String>,
    /// The person this source's requests are booked to, when the lines do
    /// not name one (a laptop's transcripts: its owner).
    pub user: Option<String>,
    pub attribution: Arc<attribution::Attribution>,
    pub options: FormatOptions,
}

/// The settings only some formats have.
#[derive(Debug, Clone, Default)]
pub struct FormatOptions {
    pub streams: anthropic::StreamOptions,
    pub litellm: litellm::LitellmOptions,
    pub field_map: Option<jsonl::FieldMap>,
    /// `otlp`: the attribute that names each record's account.
    pub account_from: Option<formats::otlp::AccountFrom>,
}

impl SourceSpec {
    /// A source with default options and attribution (the line's app field,
    /// else `app`, else the name).
    pub fn new(name: &str, format: Format, patterns: Vec<discover::PathPattern>, account: &str) -> SourceSpec {
        SourceSpec {
            name: name.into(),
            format,
            patterns,
            account: account.into(),
            app: None,
            user: None,
            attribution: Arc::default(),
            options: FormatOptions::default(),
        }
    }

    pub fn from_config(c: &crate::sources::config::SourceConfig) -> Result<SourceSpec, String> {
        let defaults = if c.paths.is_empty() { c.format.default_paths() } else { Vec::new() };
        let paths = if c.paths.is_empty() { &defaults } else { &c.paths };
        let patterns = paths.iter().map(|p| discover::PathPattern::new(p)).collect::<Result<_, _>>()?;
        let attribution = attribution::Attribution::new(c.app_from, &c.app_rules, c.app_path.as_deref()).map_err(|e| e.to_string())?;
        let options = FormatOptions {
            streams: c.streams.clone().unwrap_or_default(),
            litellm: c.litellm.clone().unwrap_or_default(),
            field_map: c.field_map.clone(),
            account_from: c.account_from.clone(),
        };
        let spec = SourceSpec {
            app: c.app.clone().or_else(|| c.format.agent_app().map(String::from)),
            user: c.user.clone(),
            attribution: Arc::new(attribution),
            options,
            ..SourceSpec::new(&c.name, c.format, patterns, &c.account)
        };
        spec.try_parser()?;
        Ok(spec)
    }

    /// A new parser for one file of this source.
    pub fn parser(&self) -> Box<dyn LineParser> {
        // `from_config` built one already, so this does not fail for a
        // configured source; if it did, every line says why.
        self.try_parser().unwrap_or_else(|e| Box::new(Misconfigured(e)))
    }

    fn try_parser(&self) -> Result<Box<dyn LineParser>, String> {
        let attribution = self.attribution.clone();
        Ok(match self.format {
            Format::ClaudeCode => Box::new(claude_code::ClaudeCodeParser),
            Format::Anthropic => Box::new(anthropic::AnthropicParser::new(&self.options.streams, attribution)?),
            Format::Openai => Box::new(openai::OpenAiParser::new(attribution)),
            Format::Litellm => Box::new(litellm::LitellmParser::new(self.options.litellm.clone(), attribution)),
            Format::Jsonl => {
                let map = self.options.field_map.as_ref().ok_or("format `jsonl` needs a `field_map`")?;
                Box::new(jsonl::JsonlParser::new(map, attribution)?)
            }
            Format::ClaudeStatusline => Box::new(claude_statusline::ClaudeStatuslineParser),
            Format::Codex => Box::new(codex::CodexParser::new()),
            Format::QwenCode => Box::new(qwen_code::QwenCodeParser::new()),
            // Read whole (`document_parser`); a line parser is never asked for.
            Format::GeminiCli => Box::new(Misconfigured("gemini_cli files are read whole, not line by line".into())),
            Format::Opencode => Box::new(opencode::OpencodeMessageParser),
            Format::CopilotCli => Box::new(copilot_cli::CopilotCliParser::new()),
            // Never asked for: an otlp source follows no files.
            Format::Otlp => Box::new(Misconfigured("an `otlp` source receives its events over OTLP, it reads no files".into())),
        })
    }

    /// True for a file of this source read whole (`follow::document`):
    /// every file of a `Reading::Documents` format but its databases, and
    /// Qwen Code's legacy `*.json` chats beside its JSON-lines ones.
    pub fn reads_document(&self, path: &std::path::Path) -> bool {
        let json = path.extension().is_some_and(|e| e == "json");
        match self.format.reading() {
            Reading::Documents => !self.reads_database(path),
            Reading::Lines => self.format == Format::QwenCode && json,
        }
    }

    /// A new whole-file parser for `path` when this source reads it whole
    /// (`reads_document`), else `None`.
    pub fn document_parser_for(&self, path: &std::path::Path) -> Option<Box<dyn DocumentParser>> {
        self.reads_document(path).then(|| self.document_parser()).flatten()
    }

    /// A new whole-file parser for the files this source reads whole;
    /// `None` for a format that has none.
    pub fn document_parser(&self) -> Option<Box<dyn DocumentParser>> {
        match self.format {
            Format::GeminiCli => Some(Box::new(gemini_cli::GeminiCliParser::gemini())),
            Format::QwenCode => Some(Box::new(gemini_cli::GeminiCliParser::qwen_legacy())),
            Format::ClaudeCode
            | Format::Anthropic
            | Format::Openai
            | Format::Litellm
            | Format::Jsonl
            | Format::ClaudeStatusline
            | Format::Codex
            | Format::CopilotCli
            | Format::Otlp => None,
            Format::Opencode => Some(Box::new(opencode::OpencodeMessageParser)),
        }
    }

    /// The app an event is booked under: what the line (or, with
    /// `app_from: path`, the file's path) names, else the source's `app`,
    /// else the source's name.
    pub fn app_of(&self, event: &UsageEvent, path: &std::path::Path) -> String {
        self.app_name(event, path).into_owned()
    }

    /// `app_of` without a copy when the name is the event's or the source's.
    pub fn app_name<'a>(&'a self, event: &'a UsageEvent, path: &std::path::Path) -> std::borrow::Cow<'a, str> {
        use std::borrow::Cow;
        let found = match self.attribution.from {
            attribution::AppFrom::Path => self.attribution.app_of_path(path).map(Cow::Owned),
            _ => event.app.as_deref().map(Cow::Borrowed),
        };
        found.or_else(|| self.app.as_deref().map(Cow::Borrowed)).unwrap_or(Cow::Borrowed(&self.name))
    }

    /// The account the line names (LiteLLM `account_key`, field map
    /// `account`), else the source's.
    /// True for a path this source reads as a SQLite database, not as a
    /// file of lines: an OpenCode `*.db`.
    pub fn reads_database(&self, path: &std::path::Path) -> bool {
        self.format.reads_databases() && path.extension().is_some_and(|e| e == "db")
    }

    pub fn account_of(&self, event: &UsageEvent) -> String {
        self.account_name(event).to_string()
    }

    pub fn account_name<'a>(&'a self, event: &'a UsageEvent) -> &'a str {
        event.account.as_deref().unwrap_or(&self.account)
    }

    /// The person the event names (OTLP `user.email`), else the source's `user`.
    pub fn user_of(&self, event: &UsageEvent) -> Option<String> {
        self.user_name(event).map(str::to_string)
    }

    pub fn user_name<'a>(&'a self, event: &'a UsageEvent) -> Option<&'a str> {
        event.user.as_deref().or(self.user.as_deref())
    }
}

struct Misconfigured(String);

impl LineParser for Misconfigured {
    fn parse(&mut self, _line: &[u8]) -> Result<Option<UsageEvent>, LineError> {
        Err(LineError::new(format!("source is misconfigured: {}", self.0)))
    }
}

/// What one line turned into.
// Events are moved, not boxed: one allocation per line would cost more
// than moving a few hundred bytes.
#[allow(clippy::large_enum_variant)]
pub enum LineResult {
    Event(UsageEvent),
    PlanWindows(PlanObservation),
    Skipped,
    /// Skipped although it carried usage, and why (see `skip_reason`).
    NotBooked(String),
    Error(LineError),
}

/// A `parse` result as a `LineResult` (asking the parser why for `Ok(None)`).
pub fn line_result(parser: &mut dyn LineParser, parsed: Result<Option<UsageEvent>, LineError>) -> LineResult {
    match parsed {
        Ok(Some(event)) => LineResult::Event(event),
        Ok(None) => parser.skip_reason().map_or(LineResult::Skipped, LineResult::NotBooked),
        Err(e) => LineResult::Error(e),
    }
}

/// Parses one item of a `LineReader`; oversized lines are errors.
pub fn parse_item(parser: &mut dyn LineParser, item: &reader::Item<'_>, max_line: usize) -> LineResult {
    match item {
        reader::Item::Line { bytes, .. } => match parser.parse_any(bytes) {
            Ok(Parsed::Usage(event)) => LineResult::Event(event),
            Ok(Parsed::PlanWindows(observation)) => LineResult::PlanWindows(observation),
            Ok(Parsed::Nothing) => parser.skip_reason().map_or(LineResult::Skipped, LineResult::NotBooked),
            Err(e) => LineResult::Error(e),
        },
        reader::Item::Oversized { .. } => LineResult::Error(LineError::new(format!("line longer than {max_line} bytes, skipped"))),
    }
}

/// Logs bad lines with their file and line number without flooding the log:
/// the first few of each file in full, then one in every thousand.
#[derive(Debug, Default)]
pub struct ErrorLog {
    count: u64,
    not_booked: u64,
}

impl ErrorLog {
    const IN_FULL: u64 = 10;

    pub fn record(&mut self, path: &std::path::Path, line: u64, error: &LineError) {
        self.count += 1;
        if self.count <= Self::IN_FULL || self.count.is_multiple_of(1000) {
            tracing::warn!(file = %path.display(), line, errors_in_file = self.count, "bad log line: {error}");
        } else if self.count == Self::IN_FULL + 1 {
            tracing::warn!(file = %path.display(), "more bad lines in this file; logging one in every thousand from now on");
        }
    }

    /// A line with usage that is not booked, and why; rate-limited as errors are.
    pub fn not_booked(&mut self, path: &std::path::Path, line: u64, reason: &str) {
        self.not_booked += 1;
        if self.not_booked <= Self::IN_FULL || self.not_booked.is_multiple_of(1000) {
            tracing::info!(file = %path.display(), line, not_booked_in_file = self.not_booked, "line not booked: {reason}");
        } else if self.not_booked == Self::IN_FULL + 1 {
            tracing::info!(file = %path.display(), "more lines not booked in this file; logging one in every thousand from now on");
        }
    }
}
