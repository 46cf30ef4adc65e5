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
//!
//! The daemon's plan windows (from the provider's own figures, `providers:`)
//! fill in what the status lacks: the five-hour and seven-day windows when
//! Claude Code sent none, and the weekly window of the model in use
//! (`7d Fable 81%`), which Claude Code's status JSON does not carry.

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
    /// The account's plan windows the daemon knows (status line or provider).
    pub windows: Vec<PlanWindow>,
}

impl AccountFigures {
    fn window(&self, name: &str) -> Option<&PlanWindow> {
        self.windows.iter().find(|w| w.name == name)
    }

    /// The weekly window of `model` (a display name such as `Fable` or
    /// `Opus 4.7`): as the provider's `limits[]` names it (`weekly_fable`),
    /// by the model's family (`weekly_opus`), or in the flat form (`seven_day_opus`).
    fn model_window(&self, model: &str) -> Option<&PlanWindow> {
        let family = model.split_whitespace().next().unwrap_or(model);
        let named = |m: &str| crate::providers::claude_oauth::limit_window_name("weekly_scoped", Some(m));
        let flat = named(family).map(|w| w.replacen("weekly_", "seven_day_", 1));
        [named(model), named(family), flat].into_iter().flatten().find_map(|name| self.window(&name))
    }
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
            let from_daemon = |name: &str| daemon.and_then(|d| d.window(name));
            if let Some(w) = s.window("five_hour").or_else(|| from_daemon("five_hour")) {
                parts.push(window("5h", w, now, true));
            }
            if let Some(w) = s.window("seven_day").or_else(|| from_daemon("seven_day")) {
                parts.push(window("7d", w, now, false));
            }
            let model = s.model_name.as_deref().or(s.model_id.as_deref());
            if let Some((model, w)) = model.and_then(|m| daemon.and_then(|d| d.model_window(m)).map(|w| (m, w))) {
                let family = model.split_whitespace().next().unwrap_or(model);
                parts.push(window(&format!("7d {family}"), w, now, false));
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
        AccountFigures { account: "personal".into(), balance_usd: money::parse(balance).unwrap(), runway_seconds: runway, windows: vec![] }
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

    #[test]
    fn the_daemons_provider_windows_fill_in_the_model_week() {
        let at = now("2026-12-01T19:46:30Z");
        let w = |name: &str, percent: &str, resets: &str| PlanWindow {
            name: name.into(),
            used_percent: percent.parse().unwrap(),
            resets_at: now(resets),
        };
        let mut d = figures("41.165", None);
        d.windows = vec![
            w("five_hour", "15", "2026-12-01T22:00:00Z"),
            w("seven_day", "48", "2026-12-05T00:00:00Z"),
            w("weekly_fable", "81", "2026-12-05T00:00:00Z"),
        ];
        let status = |model: &str| Status::parse(format!(r#"{{"model":{{"id":"x","display_name":"{model}"}}}}"#).as_bytes());
        assert_eq!(
            line(status("Fable").as_ref(), Some(&d), at),
            "Fable · 5h 15% (resets in 2h 13m) · 7d 48% · 7d Fable 81% · personal $41.17"
        );
        d.windows[2] = w("seven_day_opus", "30", "2026-12-05T00:00:00Z");
        assert_eq!(
            line(status("Opus 4.7").as_ref(), Some(&d), at),
            "Opus 4.7 · 5h 15% (resets in 2h 13m) · 7d 48% · 7d Opus 30% · personal $41.17"
        );
        // The status's own windows come first: they are the newest.
        let s = Status::parse(FIXTURE.as_bytes());
        assert_eq!(line(s.as_ref(), Some(&d), at), "Sonnet 5.5 · $0.84 · 5h 41% (resets in 2h 13m) · 7d 12% · personal $41.17");
    }
}
