//! creditwatch: tails the logs AI agents and proxies write, prices every
//! request, keeps a prepaid-credit ledger per account and exports it all to
//! Prometheus.
//!
//! The data's path, one module each: log line (`sources`) -> usage event
//! (`event`) -> priced event (`pricing`, `dedup`) -> ledger entry (`ledger`)
//! -> metrics (`metrics`, `http`) and alerts (`alerting`). `report` is the
//! read-only path from files straight to a printed summary.

pub mod alerting;
pub mod build_info;
pub mod burn;
pub mod cli;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod dedup;
pub mod event;
pub mod http;
pub mod ingest;
pub mod ledger;
pub mod live;
pub mod metrics;
pub mod money;
pub mod pricing;
pub mod report;
pub mod sources;
pub mod state;
pub mod web_config;
