//! The one line a person reads at a glance, from the status and (when the
//! daemon answered) the account's balance and runway. Pure: the time is
//! given.
//!
//! `Sonnet 5.5 · $0.84 · 5h 41% (resets in 54m) · 7d 12% · personal $41.17 · runway 6h 20m`
//!
//! Percentages are rounded down (99.6% is not yet 100%); a window past its
//! reset shows `reset` (its figure is stale); a used-up window says that
//! usage now draws on extra usage. Parts that are missing are left out; with
//! nothing readable the line says so, and still shows the daemon's figures.

use chrono::{DateTime, Utc};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use super::status::Status;
use crate::usage::money;
use crate::usage::plan::PlanWindow;

/// What the daemon's read API said about the account.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountFigures {
    pub account: String,
    pub balance_usd: Decimal,
    /// `None`: not burning.
    pub runway_seconds: Option<f64>,
}

const SEP: &str = " · ";

pub fn line(status: Option<&Status>, daemon: Option<&AccountFigures>, now: DateTime<Utc>) -> String {
    let mut parts: Vec<String> = Vec::new();
    match status.filter(|s| !s.is_empty()) {
        Some(s) => {
            if let Some(model) = s.model_name.as_ref().or(s.model_id.as_ref()) {
                parts.push(model.clone());
            }
            if let Some(cost) = s.cost_usd {
                parts.push(format!("${}", money::cents(cost)));
            }
            if let Some(w) = s.window("five_hour") {
                parts.push(window("5h", w, now, true));
            }
            if let Some(w) = s.window("seven_day") {
                parts.push(window("7d", w, now, false));
            }
        }
        None => parts.push("creditwatch: no status".into()),
    }
    if let Some(d) = daemon {
        parts.push(format!("{} {}", d.account, dollars(d.balance_usd)));
        if let Some(runway) = d.runway_seconds.filter(|r| r.is_finite()) {
            parts.push(format!("runway {}", span(runway)));
        }
    }
    parts.join(SEP)
}

fn window(label: &str, w: &PlanWindow, now: DateTime<Utc>, with_reset: bool) -> String {
    if w.resets_at <= now {
        return format!("{label} reset");
    }
    let percent = w.used_percent.floor().to_i64().unwrap_or(0);
    let mut text = format!("{label} {percent}%");
    if w.used_percent >= Decimal::ONE_HUNDRED {
        text.push_str(", extra usage");
    }
    if with_reset {
        text.push_str(&format!(" (resets in {})", span((w.resets_at - now).num_seconds() as f64)));
    }
    text
}

fn dollars(v: Decimal) -> String {
    if v < Decimal::ZERO {
        format!("-${}", money::cents(-v))
    } else {
        format!("${}", money::cents(v))
    }
}

/// `<1m`, `54m`, `2h 13m`, `3d 4h`: to the minute, rounded down.
fn span(secs: f64) -> String {
    let minutes = (secs.max(0.0) / 60.0) as u64;
    match minutes {
        0 => "<1m".into(),
        m if m < 60 => format!("{m}m"),
        m if m < 24 * 60 => format!("{}h {}m", m / 60, m % 60),
        m => format!("{}d {}h", m / (24 * 60), m / 60 % 24),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../../tests/fixtures/statusline/status.json");

    fn now(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn figures(balance: &str, runway: Option<f64>) -> AccountFigures {
        AccountFigures { account: "personal".into(), balance_usd: money::parse(balance).unwrap(), runway_seconds: runway }
    }

    #[test]
    fn the_fixture_in_one_line() {
        let s = Status::parse(FIXTURE.as_bytes());
        let at = now("2026-12-01T19:46:30Z");
        assert_eq!(line(s.as_ref(), None, at), "Sonnet 5.5 · $0.84 · 5h 41% (resets in 2h 13m) · 7d 12%");
        assert_eq!(
            line(s.as_ref(), Some(&figures("41.165", Some(22_800.0))), at),
            "Sonnet 5.5 · $0.84 · 5h 41% (resets in 2h 13m) · 7d 12% · personal $41.17 · runway 6h 20m"
        );
    }

    #[test]
    fn lines_for_odd_inputs() {
        let at = now("2026-12-01T21:59:30Z");
        let cases: &[(&str, Option<AccountFigures>, &str)] = &[
            ("not json", None, "creditwatch: no status"),
            ("", Some(figures("-1.2", None)), "creditwatch: no status · personal -$1.20"),
            ("{}", None, "creditwatch: no status"),
            (r#"{"model":{"id":"claude-opus-5"},"rate_limits":null}"#, None, "claude-opus-5"),
            (r#"{"cost":{"total_cost_usd":12.005}}"#, Some(figures("3", Some(f64::INFINITY))), "$12.01 · personal $3.00"),
            (
                r#"{"rate_limits":{"five_hour":{"used_percentage":105,"resets_at":1796162400},"seven_day":null}}"#,
                None,
                "5h 105%, extra usage (resets in <1m)",
            ),
            (r#"{"rate_limits":{"five_hour":{"used_percentage":99.6,"resets_at":1796158800}}}"#, None, "5h reset"),
            (r#"{"rate_limits":{"seven_day":{"used_percentage":99.6,"resets_at":1796680800}}}"#, None, "7d 99%"),
            (
                r#"{"model":{"display_name":"Opus 5"},"rate_limits":{"five_hour":{"used_percentage":1,"resets_at":1796680800}}}"#,
                None,
                "Opus 5 · 5h 1% (resets in 6d 0h)",
            ),
        ];
        for (input, daemon, want) in cases {
            let s = Status::parse(input.as_bytes());
            assert_eq!(line(s.as_ref(), daemon.as_ref(), at), *want, "{input}");
        }
    }
}
