//! Daemon-side alerting (placeholder while the pieces land).
pub mod config;
pub mod hours;
pub mod rules;

pub use config::AlertingConfig;
