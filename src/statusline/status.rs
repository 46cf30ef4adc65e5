//! The JSON Claude Code pipes to a `statusLine` command, read leniently.
//!
//! Every field is optional in practice: `rate_limits` appears only for
//! Claude.ai subscribers after a session's first response, a window may be
//! missing or null, versions add and drop fields. A field that is absent,
//! null or of the wrong shape is treated as absent; nothing here fails.
//! Numbers are read by their shortest text into `Decimal` (cost and
//! percentages), as money is everywhere else. `resets_at` is epoch seconds
//! (an RFC 3339 string is read too: one report shows that form).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::usage::money;
use crate::usage::plan::{valid_window_name, PlanWindow, MAX_WINDOWS};

/// What the status line shows and the snapshot keeps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    pub session_id: Option<String>,
    pub model_id: Option<String>,
    pub model_name: Option<String>,
    pub cost_usd: Option<Decimal>,
    /// In Claude Code's order of keys (serde_json keeps it).
    pub windows: Vec<PlanWindow>,
}

impl Status {
    /// `None` when the input is not a JSON object at all.
    pub fn parse(input: &[u8]) -> Option<Status> {
        let v: Value = serde_json::from_slice(input).ok()?;
        let obj = v.as_object()?;
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        let model = obj.get("model");
        let windows = obj
            .get("rate_limits")
            .and_then(Value::as_object)
            .map(|limits| limits.iter().filter_map(|(name, w)| window(name, w)).take(MAX_WINDOWS).collect())
            .unwrap_or_default();
        Some(Status {
            session_id: text(obj.get("session_id")),
            model_id: text(model.and_then(|m| m.get("id"))),
            model_name: text(model.and_then(|m| m.get("display_name"))),
            cost_usd: obj.get("cost").and_then(|c| c.get("total_cost_usd")).and_then(decimal).filter(|c| *c >= Decimal::ZERO),
            windows,
        })
    }

    pub fn window(&self, name: &str) -> Option<&PlanWindow> {
        self.windows.iter().find(|w| w.name == name)
    }

    /// Nothing a person could read: no model, no cost, no window.
    pub fn is_empty(&self) -> bool {
        self.model_id.is_none() && self.model_name.is_none() && self.cost_usd.is_none() && self.windows.is_empty()
    }
}

fn decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => money::parse(&n.to_string()).ok(),
        Value::String(s) => money::parse(s).ok(),
        _ => None,
    }
}

fn window(name: &str, w: &Value) -> Option<PlanWindow> {
    if !valid_window_name(name) {
        return None;
    }
    let used_percent = w.get("used_percentage").and_then(decimal).filter(|p| *p >= Decimal::ZERO && *p <= Decimal::from(1000))?;
    let resets_at = match w.get("resets_at")? {
        Value::Number(n) => {
            n.as_i64().or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)).and_then(|s| DateTime::from_timestamp(s, 0))
        }
        Value::String(s) => DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc)),
        _ => None,
    }
    .filter(|t| t.timestamp() > 0)?;
    Some(PlanWindow { name: name.to_string(), used_percent, resets_at })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../../tests/fixtures/statusline/status.json");

    fn windows(s: &Status) -> Vec<String> {
        s.windows.iter().map(|w| format!("{} {} {}", w.name, w.used_percent, w.resets_at.timestamp())).collect()
    }

    #[test]
    fn reads_the_fixture() {
        let s = Status::parse(FIXTURE.as_bytes()).unwrap();
        assert_eq!(s.session_id.as_deref(), Some("0b7d9a52-3c1e-4f60-9d7e-2a1c5e8f4b11"));
        assert_eq!((s.model_id.as_deref(), s.model_name.as_deref()), (Some("claude-sonnet-5-5"), Some("Sonnet 5.5")));
        assert_eq!(s.cost_usd.map(money::format).as_deref(), Some("0.8421"));
        assert_eq!(windows(&s), ["five_hour 41.0 1796162400", "seven_day 12.5 1796680800"]);
    }

    #[test]
    fn odd_inputs_give_what_they_hold() {
        let cases: &[(&str, Option<&[&str]>)] = &[
            ("not json", None),
            ("[1,2]", None),
            ("{}", Some(&[])),
            (r#"{"rate_limits":null}"#, Some(&[])),
            (
                r#"{"rate_limits":{"five_hour":null,"seven_day":{"used_percentage":3,"resets_at":1796680800}}}"#,
                Some(&["seven_day 3 1796680800"]),
            ),
            (
                r#"{"rate_limits":{"five_hour":{"used_percentage":105,"resets_at":"2026-12-01T22:00:00Z"}}}"#,
                Some(&["five_hour 105 1796162400"]),
            ),
            (
                r#"{"rate_limits":{"five_hour":{"used_percentage":"x","resets_at":1},"Bad Name":{"used_percentage":1,"resets_at":1}}}"#,
                Some(&[]),
            ),
            (
                r#"{"rate_limits":{"seven_day_opus":{"used_percentage":63.25,"resets_at":1796680800.0}}}"#,
                Some(&["seven_day_opus 63.25 1796680800"]),
            ),
        ];
        for (input, want) in cases {
            let got = Status::parse(input.as_bytes()).map(|s| windows(&s));
            assert_eq!(got, want.map(|w| w.iter().map(|s| s.to_string()).collect::<Vec<_>>()), "{input}");
        }
        let s = Status::parse(br#"{"model":{"id":""},"cost":{"total_cost_usd":-1},"session_id":7}"#).unwrap();
        assert!(s.is_empty() && s.session_id.is_none());
    }
}
