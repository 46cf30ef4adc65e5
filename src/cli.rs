//! The command line: `run`, `check-config`, `report`, `ledger`, `prices`.
//! Flags follow what Prometheus exporters and their operators already know.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::GroupBy;

#[derive(Debug, Parser)]
#[command(name = "creditwatch", version = crate::common::build_info::VERSION_LINE, about = "What your AI agents cost, and how long your prepaid credits will last")]
pub struct Cli {
    /// Log level filter (also RUST_LOG), e.g. info, debug, creditwatch=trace.
    #[arg(long, global = true, env = "CREDITWATCH_LOG_LEVEL")]
    pub log_level: Option<String>,
    /// Log line format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Logfmt)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Logfmt,
    Json,
}

#[derive(Debug, Args, Clone)]
pub struct ConfigArg {
    /// Config file [default: ./config.yaml, then /etc/creditwatch/config.yaml]
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Tail the sources, book the ledger, serve HTTP, evaluate alerts.
    Run(ConfigArg),
    /// Validate the config and print a summary; exit 1 on error.
    CheckConfig(ConfigArg),
    /// Read the sources from the start (read-only) and print cost and tokens.
    Report(ReportArgs),
    /// The cost levers (read-only): context growth, model mix, caching, idle apps, limits.
    Advise(AdviseArgs),
    /// Inspect and change the ledger.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Move the state between the state directory and PostgreSQL.
    #[command(subcommand)]
    State(StateCommand),
    /// Print the price creditwatch would use for a model, and where it comes from.
    Prices {
        #[command(flatten)]
        config: ConfigArg,
        /// Model id; all models when left out.
        model: Option<String>,
        /// List every model the configured sources contain with the card that
        /// prices it; exit 1 when one has no price.
        #[arg(long, conflicts_with = "model")]
        check: bool,
    },
    /// Claude Code's statusLine command: status JSON on stdin, one line out, exit 0 always.
    Statusline(StatuslineArgs),
    /// The providers' own figures (`providers:` in the config).
    #[command(subcommand)]
    Providers(ProvidersCommand),
    /// Our cost beside the provider's own, per UTC day and model (API accounts).
    Audit(AuditArgs),
}

#[derive(Debug, Subcommand)]
pub enum ProvidersCommand {
    /// Poll each provider once and print its figures beside the ledger's; exit 1 when one fails.
    Check(ConfigArg),
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// First UTC day compared (YYYY-MM-DD) [default: the first of the previous month].
    #[arg(long)]
    pub since: Option<String>,
    /// Print JSON (money as decimal strings).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatuslineArgs {
    /// Config file [default: ~/.config/creditwatch/config.yaml, then /etc/creditwatch/config.yaml]
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Group rows by.
    #[arg(long, value_enum, default_value_t = GroupBy::Day)]
    pub by: GroupBy,
    /// First day included (YYYY-MM-DD, in --tz).
    #[arg(long)]
    pub since: Option<String>,
    /// Last day included (YYYY-MM-DD, in --tz).
    #[arg(long)]
    pub until: Option<String>,
    /// IANA time zone for days and months [default: the config's, else local].
    #[arg(long)]
    pub tz: Option<String>,
    /// Print JSON (money as decimal strings).
    #[arg(long)]
    pub json: bool,
    /// Read these files instead of the config's sources (repeatable).
    #[arg(long = "paths", value_name = "GLOB")]
    pub paths: Vec<String>,
    /// Format of the --paths files.
    #[arg(long, default_value = "claude_code")]
    pub format: String,
}

#[derive(Debug, Args)]
pub struct AdviseArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// First day of the window (YYYY-MM-DD, in --tz) [default: everything read].
    #[arg(long)]
    pub since: Option<String>,
    /// Also price every request on this model (any priced model).
    #[arg(long = "what-if", value_name = "MODEL")]
    pub what_if: Option<String>,
    /// Print JSON (money as decimal strings, the requests behind each finding).
    #[arg(long)]
    pub json: bool,
    /// Also write a self-contained HTML page with charts to this file.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// IANA time zone for days, months and working hours [default: the config's, else local].
    #[arg(long)]
    pub tz: Option<String>,
    /// How many sessions each finding lists.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Read these files instead of the config's sources (repeatable).
    #[arg(long = "paths", value_name = "GLOB")]
    pub paths: Vec<String>,
    /// Format of the --paths files.
    #[arg(long, default_value = "claude_code")]
    pub format: String,
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Balances and month figures of every account.
    Show(LedgerArgs),
    /// Every journal entry, with the balance after it.
    History {
        #[command(flatten)]
        args: LedgerArgs,
        /// Only this account.
        #[arg(long)]
        account: Option<String>,
        /// Only the last N entries.
        #[arg(long)]
        last: Option<usize>,
    },
    /// Book a manual top-up.
    Topup {
        #[command(flatten)]
        args: LedgerArgs,
        account: String,
        /// Amount in USD, e.g. 20.00
        amount: String,
        /// Idempotency id [default: a new one]
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Set the balance to the figure the provider shows.
    Reconcile {
        #[command(flatten)]
        args: LedgerArgs,
        account: String,
        /// Balance in USD the provider shows, e.g. 41.17
        balance: String,
        #[arg(long)]
        id: Option<String>,
    },
    /// Check the journal's records and snapshot.
    Verify(LedgerArgs),
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Copy the state: `state_dir` into the empty database of `postgres:`
    /// (`--to-postgres`), or the database's state into a new directory (`--to-dir`).
    Export {
        #[command(flatten)]
        config: ConfigArg,
        /// Into the database of the config's `postgres.url_file` (refused unless it is empty).
        #[arg(long, required_unless_present = "to_dir", conflicts_with = "to_dir")]
        to_postgres: bool,
        /// From the database into this new (absent or empty) state directory.
        #[arg(long, value_name = "DIR")]
        to_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct LedgerArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}
