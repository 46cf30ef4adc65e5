//! creditwatch: tails the logs AI agents and proxies write, prices every
//! request, keeps a prepaid-credit ledger per account and exports it all to
//! Prometheus.
//!
//! The modules in the data's order; each imports only those above it:
//! - `common`: leaf helpers (config errors, paths, durations, time zones)
//! - `usage`: the usage event, tokens, price modifiers, money
//! - `pricing`: usage -> cost (price table, remote price lists), pure
//! - `sources`: files -> lines (`follow`) -> usage events (`formats`)
//! - `providers`: a provider's own API -> observations (plan windows,
//!   spend, balance): pure readers and one HTTP shell
//! - `ledger`: balances, reloads, months: pure state machine + journal
//! - `state`: the daemon's durable state, a fold of the journal (seen ids)
//! - `live`: burn rates, runway, progress: what changes by the minute
//! - `alerting`: daemon-side rules and notifiers
//! - `config`: loads and validates `config.yaml` from the modules' settings
//! - `metrics`, `http`: exposition, routes, API, web config
//! - `report`: the read-only path from files to a printed summary
//! - `statusline`: Claude Code's status line command, which leaves the
//!   plan-window snapshots the `claude_statusline` source reads
//! - `daemon`: wiring (`run`), the ingestion loop, the command implementations
//! - `cli` (arguments), `robustness` (fuzz entry points)

pub mod alerting;
pub mod cli;
pub mod common;
pub mod config;
pub mod daemon;
pub mod http;
pub mod ledger;
pub mod live;
pub mod metrics;
pub mod pricing;
pub mod providers;
pub mod report;
pub mod robustness;
pub mod sources;
pub mod state;
pub mod statusline;
pub mod usage;
