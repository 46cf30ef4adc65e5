//! Plan windows: what a subscription's rate limits looked like at one moment.
//!
//! Claude Code tells its `statusLine` command how much of each plan window
//! (`five_hour`, `seven_day`, per-model weekly ones) is used and when it
//! resets. `creditwatch statusline` leaves that as a snapshot file; the
//! `claude_statusline` parser turns a snapshot into a `PlanObservation`. It is
//! not a usage event: nothing is billed, but it decides whether a subscriber's
//! requests are covered by the plan or overflow into extra usage.
//!
//! Percentages are as Claude Code gives them (they may pass 100), read by
//! their text into `Decimal` like money, so a journaled observation replays
//! to exactly the same comparisons.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// At most this many windows are kept from one observation: label values
/// stay bounded whatever a snapshot claims.
pub const MAX_WINDOWS: usize = 8;

/// One rate-limit window at the time of the observation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanWindow {
    /// `five_hour`, `seven_day`, ... (lower case, digits, `_`).
    pub name: String,
    /// Share used, in percent (100 = exhausted; may be more).
    pub used_percent: Decimal,
    pub resets_at: DateTime<Utc>,
}

impl PlanWindow {
    /// Usage now draws on extra usage: the window is used up and has not
    /// reset at `at`.
    pub fn exhausted_at(&self, at: DateTime<Utc>) -> bool {
        self.used_percent >= Decimal::ONE_HUNDRED && at < self.resets_at
    }
}

/// A snapshot of one session's plan windows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanObservation {
    pub session: String,
    /// When the snapshot was taken.
    pub at: DateTime<Utc>,
    pub windows: Vec<PlanWindow>,
}

/// Whether `name` may be a window label value: short, `[a-z0-9_]`.
pub fn valid_window_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 40 && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}
