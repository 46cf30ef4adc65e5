//! `claude_statusline`: the plan-window snapshots `creditwatch statusline`
//! leaves, one file per Claude Code session, each one JSON line:
//!
//! ```json
//! {"v":1,"session_id":"0b7d…","at":"2026-12-01T21:00:00Z","model":"claude-sonnet-5-5","cost_usd":"0.8421",
//!  "windows":{"five_hour":{"used_percentage":41.0,"resets_at":1796162400}}}
//! ```
//!
//! The statusline command writes it (temp file + rename, so a reader never
//! sees half of one) and this parser reads it: the same `Snapshot` type on
//! both sides. A snapshot is a `PlanObservation`, not a usage event. It holds
//! no paths and no prompt text. A snapshot that does not hold together (a
//! window with a bad name, a percentage that is not a number, a reset time
//! out of range) is refused whole: the daemon keeps the last good one.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::sources::{LineError, LineParser, Parsed};
use crate::usage::plan::{valid_window_name, PlanObservation, PlanWindow, MAX_WINDOWS};
use crate::usage::UsageEvent;

/// The snapshot format version this build writes and reads.
pub const SNAPSHOT_VERSION: u32 = 1;

/// No percentage above this is believed (Claude Code reports a little over
/// 100 when a window overflows, never thousands).
const MAX_PERCENT: Decimal = Decimal::from_parts(1000, 0, 0, false, 0);

/// One snapshot file, as written by `creditwatch statusline`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub v: u32,
    pub session_id: String,
    /// When the statusline command wrote it.
    pub at: DateTime<Utc>,
    /// The model id (not its display name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The session's cost as Claude Code states it (`cost.total_cost_usd`).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rust_decimal::serde::str_option")]
    pub cost_usd: Option<Decimal>,
    #[serde(default)]
    pub windows: BTreeMap<String, SnapshotWindow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SnapshotWindow {
    /// Read by its text (never through f64), written as a JSON number.
    #[serde(deserialize_with = "crate::usage::money::deserialize", serialize_with = "as_number")]
    pub used_percentage: Decimal,
    /// Epoch seconds.
    pub resets_at: i64,
}

impl Snapshot {
    /// The plan windows it reports, checked.
    pub fn observation(&self) -> Result<PlanObservation, LineError> {
        if self.v != SNAPSHOT_VERSION {
            return Err(LineError::new(format!("snapshot version {} (this build reads {SNAPSHOT_VERSION})", self.v)));
        }
        if self.session_id.trim().is_empty() {
            return Err(LineError::new("snapshot without a session_id"));
        }
        if self.windows.len() > MAX_WINDOWS {
            return Err(LineError::new(format!("{} windows in one snapshot (at most {MAX_WINDOWS})", self.windows.len())));
        }
        let windows = self
            .windows
            .iter()
            .map(|(name, w)| {
                if !valid_window_name(name) {
                    return Err(LineError::new(format!("window name `{name}` (want lower case letters, digits, _)")));
                }
                if !(Decimal::ZERO..=MAX_PERCENT).contains(&w.used_percentage) {
                    return Err(LineError::new(format!("window `{name}`: used_percentage {} out of range", w.used_percentage)));
                }
                let resets_at = DateTime::from_timestamp(w.resets_at, 0)
                    .filter(|t| t.timestamp() > 0)
                    .ok_or_else(|| LineError::new(format!("window `{name}`: resets_at {} is not a time", w.resets_at)))?;
                Ok(PlanWindow { name: name.clone(), used_percent: w.used_percentage, resets_at })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PlanObservation { session: self.session_id.clone(), at: self.at, windows })
    }

    /// The file's text: one JSON line.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).unwrap_or_default();
        line.push('\n');
        line
    }
}

/// A percentage as a JSON number with the digits it has (`41.0` stays
/// `41.0`): serde_json writes an f64 with the fewest digits that read back
/// the same, and the reader takes those digits as a decimal.
fn as_number<S: serde::Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(crate::usage::money::to_f64(*value))
}

/// Reads snapshot lines into plan observations.
pub struct ClaudeStatuslineParser;

impl LineParser for ClaudeStatuslineParser {
    /// Snapshots bill nothing: no usage event, ever.
    fn parse(&mut self, line: &[u8]) -> Result<Option<UsageEvent>, LineError> {
        self.parse_any(line).map(|_| None)
    }

    fn parse_any(&mut self, line: &[u8]) -> Result<Parsed, LineError> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(Parsed::Nothing);
        }
        let snapshot: Snapshot = serde_json::from_slice(line)?;
        Ok(Parsed::PlanWindows(snapshot.observation()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Parsed, LineError> {
        ClaudeStatuslineParser.parse_any(line.as_bytes())
    }

    const GOOD: &str = r#"{"v":1,"session_id":"s1","at":"2026-12-01T21:00:00Z","model":"claude-sonnet-5-5","cost_usd":"0.8421","windows":{"five_hour":{"used_percentage":41.0,"resets_at":1796162400},"seven_day":{"used_percentage":12.5,"resets_at":1796680800}}}"#;

    #[test]
    fn a_snapshot_is_an_observation_of_its_windows() {
        let Ok(Parsed::PlanWindows(obs)) = parse(GOOD) else { panic!("not an observation") };
        assert_eq!(obs.session, "s1");
        assert_eq!(obs.at.to_rfc3339(), "2026-12-01T21:00:00+00:00");
        let got: Vec<_> = obs.windows.iter().map(|w| format!("{} {} {}", w.name, w.used_percent, w.resets_at.to_rfc3339())).collect();
        assert_eq!(got, ["five_hour 41 2026-12-01T22:00:00+00:00", "seven_day 12.5 2026-12-07T22:00:00+00:00"]);
        assert_eq!(ClaudeStatuslineParser.parse(GOOD.as_bytes()), Ok(None), "never a usage event");
    }

    #[test]
    fn written_and_read_back_unchanged() {
        let snapshot: Snapshot = serde_json::from_str(GOOD).unwrap();
        assert_eq!(snapshot.to_line(), format!("{GOOD}\n"));
        assert_eq!(snapshot.cost_usd.map(crate::usage::money::format).as_deref(), Some("0.8421"));
    }

    #[test]
    fn bad_snapshots_are_refused_whole() {
        let cases = [
            ("not json", "invalid JSON: expected ident at line 1 column 2"),
            (r#"{"v":2,"session_id":"s","at":"2026-12-01T21:00:00Z"}"#, "snapshot version 2 (this build reads 1)"),
            (r#"{"v":1,"session_id":" ","at":"2026-12-01T21:00:00Z"}"#, "snapshot without a session_id"),
            (r#"{"v":1,"session_id":"s"}"#, "invalid JSON: missing field `at` at line 1 column 24"),
            (
                r#"{"v":1,"session_id":"s","at":"2026-12-01T21:00:00Z","windows":{"Five Hour":{"used_percentage":1,"resets_at":1796162400}}}"#,
                "window name `Five Hour` (want lower case letters, digits, _)",
            ),
            (
                r#"{"v":1,"session_id":"s","at":"2026-12-01T21:00:00Z","windows":{"five_hour":{"used_percentage":-1,"resets_at":1796162400}}}"#,
                "window `five_hour`: used_percentage -1 out of range",
            ),
            (
                r#"{"v":1,"session_id":"s","at":"2026-12-01T21:00:00Z","windows":{"five_hour":{"used_percentage":1000.5,"resets_at":1796162400}}}"#,
                "window `five_hour`: used_percentage 1000.5 out of range",
            ),
            (
                r#"{"v":1,"session_id":"s","at":"2026-12-01T21:00:00Z","windows":{"five_hour":{"used_percentage":1,"resets_at":-5}}}"#,
                "window `five_hour`: resets_at -5 is not a time",
            ),
            (
                r#"{"v":1,"session_id":"s","at":"2026-12-01T21:00:00Z","windows":{"five_hour":{"used_percentage":true,"resets_at":1}}}"#,
                "invalid JSON: invalid type: boolean `true`, expected a decimal amount such as \"20.00\" at line 1 column 98",
            ),
        ];
        for (line, want) in cases {
            match parse(line) {
                Err(e) => assert_eq!(e.to_string(), want, "{line}"),
                Ok(_) => panic!("accepted: {line}"),
            }
        }
    }

    #[test]
    fn a_snapshot_without_windows_observes_none() {
        let line = r#"{"v":1,"session_id":"s","at":"2026-12-01T21:00:00Z","extra":"ignored"}"#;
        let Ok(Parsed::PlanWindows(obs)) = parse(line) else { panic!("not an observation") };
        assert!(obs.windows.is_empty());
        assert!(matches!(parse("  "), Ok(Parsed::Nothing)));
    }
}
