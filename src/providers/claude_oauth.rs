//! `claude_oauth`: a Claude subscription's own figures, from the endpoint
//! Claude Code's `/usage` reads: `GET /api/oauth/usage` with the OAuth access
//! token as a bearer and `anthropic-beta: oauth-2025-04-20`. Undocumented;
//! what we know comes from a verbatim live answer of 2026-07-18 and the
//! older form described beside it (`../shared/real/provider-examples/
//! anthropic/`, README). Two generations are read:
//!
//! - flat windows: top-level objects `{utilization 0-100, resets_at}` (or
//!   null) named `five_hour`, `seven_day`, `seven_day_opus`, ... and names
//!   nobody has seen yet, kept under their own name;
//! - `limits[]` (`kind` session / weekly_all / weekly_scoped, `percent`,
//!   `resets_at`, `scope.model.display_name`), preferred when present:
//!   `session` is the `five_hour` window and `weekly_all` the `seven_day`
//!   one (the names Claude Code's status line uses, so both sources speak of
//!   the same window), a model's weekly window is `weekly_<model>`;
//! - money: `spend.used` (`amount_minor`, `exponent`, `currency`), else
//!   `extra_usage.used_credits` in minor units with `decimal_places`
//!   (default 2: the older answers were cents); limit and balance alike.
//!
//! Numbers are read by their JSON text into `Decimal`, never through a
//! float. Unknown fields are ignored; a known field of the wrong type, a
//! percentage out of range, a time that is not one, mixed currencies: the
//! whole answer is refused.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::observation::{Money, Observation, PeriodSpend};
use super::{ReadError, Reader, Request};
use crate::usage::plan::{valid_window_name, PlanWindow, MAX_WINDOWS};

/// The endpoint below the base URL.
pub const PATH: &str = "/api/oauth/usage";
/// The beta header the endpoint requires.
pub const BETA: &str = "oauth-2025-04-20";

/// No percentage above this is believed (as for status-line snapshots).
const MAX_PERCENT: Decimal = Decimal::from_parts(1000, 0, 0, false, 0);

pub struct ClaudeOauth;

impl Reader for ClaudeOauth {
    fn next_request(&self, _now: DateTime<Utc>, answers: &[Vec<u8>]) -> Option<Request> {
        answers
            .is_empty()
            .then(|| Request { path: PATH.into(), headers: vec![("anthropic-beta", BETA.into()), ("accept", "application/json".into())] })
    }

    fn read(&self, now: DateTime<Utc>, answers: &[Vec<u8>]) -> Result<Observation, ReadError> {
        let body = answers.first().ok_or_else(|| ReadError::new("no answer"))?;
        read_usage(body, now)
    }
}

fn err<T>(message: impl Into<String>) -> Result<T, ReadError> {
    Err(ReadError::new(message))
}

/// A JSON number's own text as a decimal (`40843.0`, `15`, `1e2`); `null`
/// as `None`; anything else (a string, a bool) refused.
fn number(raw: &RawValue, field: &str) -> Result<Option<Decimal>, ReadError> {
    let text = raw.get().trim();
    if text == "null" {
        return Ok(None);
    }
    if !text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return err(format!("`{field}`: {text} is not a number"));
    }
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map(Some)
        .map_err(|_| ReadError::new(format!("`{field}`: {text} is out of range")))
}

fn parse<'a, T: Deserialize<'a>>(raw: &'a RawValue, field: &str) -> Result<T, ReadError> {
    serde_json::from_str(raw.get()).map_err(|e| ReadError::new(format!("`{field}`: {e}")))
}

fn percent(raw: Option<&RawValue>, field: &str) -> Result<Option<Decimal>, ReadError> {
    let Some(p) = raw.map(|r| number(r, field)).transpose()?.flatten() else { return Ok(None) };
    if !(Decimal::ZERO..=MAX_PERCENT).contains(&p) {
        return err(format!("`{field}`: {p} is not a percentage"));
    }
    Ok(Some(p))
}

/// A reset time, to the whole second: Claude Code's status line gives
/// epoch seconds, and the same window must keep one reset time whichever
/// of the two reported it last (a new reset time is a new window).
fn time(raw: Option<&str>, field: &str) -> Result<Option<DateTime<Utc>>, ReadError> {
    let Some(text) = raw else { return Ok(None) };
    let bad = || ReadError::new(format!("`{field}`: `{text}` is not a time"));
    let t = DateTime::parse_from_rfc3339(text).map_err(|_| bad())?;
    DateTime::from_timestamp(t.timestamp(), 0).filter(|t| t.timestamp() > 0).map(Some).ok_or_else(bad)
}

#[derive(Deserialize)]
struct FlatWindow<'a> {
    #[serde(borrow, default)]
    utilization: Option<&'a RawValue>,
    #[serde(default)]
    resets_at: Option<String>,
}

#[derive(Deserialize)]
struct Limit<'a> {
    kind: String,
    #[serde(borrow, default)]
    percent: Option<&'a RawValue>,
    #[serde(default)]
    resets_at: Option<String>,
    #[serde(default)]
    scope: Option<Scope>,
}

#[derive(Deserialize)]
struct Scope {
    #[serde(default)]
    model: Option<ScopeModel>,
}

#[derive(Deserialize)]
struct ScopeModel {
    #[serde(default)]
    display_name: Option<String>,
}

#[derive(Deserialize)]
struct ExtraUsage<'a> {
    #[serde(default)]
    is_enabled: Option<bool>,
    #[serde(borrow, default)]
    monthly_limit: Option<&'a RawValue>,
    #[serde(borrow, default)]
    used_credits: Option<&'a RawValue>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    decimal_places: Option<u32>,
}

#[derive(Deserialize)]
struct Spend<'a> {
    #[serde(borrow, default)]
    used: Option<&'a RawValue>,
    #[serde(borrow, default)]
    limit: Option<&'a RawValue>,
    #[serde(borrow, default)]
    balance: Option<&'a RawValue>,
    #[serde(default)]
    enabled: Option<bool>,
}

#[derive(Deserialize)]
struct MinorAmount<'a> {
    #[serde(borrow)]
    amount_minor: &'a RawValue,
    currency: String,
    exponent: u32,
}

/// `{amount_minor, currency, exponent}` or null.
fn minor_money(raw: Option<&RawValue>, field: &str) -> Result<Option<Money>, ReadError> {
    let Some(raw) = raw.filter(|r| r.get().trim() != "null") else { return Ok(None) };
    let m: MinorAmount = parse(raw, field)?;
    let minor = number(m.amount_minor, &format!("{field}.amount_minor"))?
        .ok_or_else(|| ReadError::new(format!("`{field}.amount_minor` is null")))?;
    money(minor, m.exponent, &m.currency, field).map(Some)
}

fn money(minor: Decimal, exponent: u32, currency: &str, field: &str) -> Result<Money, ReadError> {
    if !(currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_alphabetic())) {
        return err(format!("`{field}`: currency `{currency}` is not a currency code"));
    }
    Money::from_minor(minor, exponent, currency).ok_or_else(|| ReadError::new(format!("`{field}`: exponent {exponent} out of range")))
}

/// The answer of one poll at `now`.
pub fn read_usage(body: &[u8], now: DateTime<Utc>) -> Result<Observation, ReadError> {
    let top: BTreeMap<String, &RawValue> = serde_json::from_slice(body).map_err(|e| ReadError::new(format!("not a JSON object: {e}")))?;
    let mut observation = Observation::new(now);
    let limits: Vec<Limit> = match top.get("limits").filter(|r| r.get().trim() != "null") {
        Some(raw) => parse(raw, "limits")?,
        None => Vec::new(),
    };
    let mut windows = if limits.is_empty() { flat_windows(&top)? } else { limit_windows(&limits)? };
    windows.truncate(MAX_WINDOWS);
    observation.windows = windows;
    let spend: Option<Spend> = top.get("spend").filter(|r| r.get().trim() != "null").map(|r| parse(r, "spend")).transpose()?;
    let extra: Option<ExtraUsage> =
        top.get("extra_usage").filter(|r| r.get().trim() != "null").map(|r| parse(r, "extra_usage")).transpose()?;
    let (extra_spent, extra_limit) = match &extra {
        Some(e) => extra_usage_money(e)?,
        None => (None, None),
    };
    let used = match &spend {
        Some(s) => minor_money(s.used, "spend.used")?,
        None => None,
    };
    let limit = match &spend {
        Some(s) => minor_money(s.limit, "spend.limit")?,
        None => None,
    };
    if let Some(balance) = spend.as_ref().map(|s| minor_money(s.balance, "spend.balance")).transpose()?.flatten() {
        observation.balances.push(balance);
    }
    let enabled = spend.as_ref().and_then(|s| s.enabled).or(extra.as_ref().and_then(|e| e.is_enabled)).unwrap_or(true);
    if let Some(spent) = used.or(extra_spent) {
        let limit = limit.or(extra_limit);
        if spent.amount < Decimal::ZERO || limit.as_ref().is_some_and(|l| l.amount < Decimal::ZERO) {
            return err("a negative extra-usage amount");
        }
        if limit.as_ref().is_some_and(|l| l.currency != spent.currency) {
            return err(format!(
                "extra usage spent in {} but limited in {}",
                spent.currency,
                limit.map(|l| l.currency).unwrap_or_default()
            ));
        }
        observation.extra_usage = Some(PeriodSpend { spent, limit, enabled, since: None });
    }
    Ok(observation)
}

fn extra_usage_money(e: &ExtraUsage) -> Result<(Option<Money>, Option<Money>), ReadError> {
    let places = e.decimal_places.unwrap_or(2);
    let currency = e.currency.as_deref().unwrap_or("USD");
    let as_money = |raw: Option<&RawValue>, field: &str| -> Result<Option<Money>, ReadError> {
        match raw.map(|r| number(r, field)).transpose()?.flatten() {
            Some(minor) => money(minor, places, currency, field).map(Some),
            None => Ok(None),
        }
    };
    Ok((as_money(e.used_credits, "extra_usage.used_credits")?, as_money(e.monthly_limit, "extra_usage.monthly_limit")?))
}

/// Every top-level object with a `utilization` is a window, known name or not.
fn flat_windows(top: &BTreeMap<String, &RawValue>) -> Result<Vec<PlanWindow>, ReadError> {
    let mut windows = Vec::new();
    for (name, raw) in top {
        if ["extra_usage", "spend", "limits"].contains(&name.as_str()) || !raw.get().trim_start().starts_with('{') {
            continue;
        }
        let w: FlatWindow = parse(raw, name)?;
        let Some(utilization) = w.utilization else { continue };
        let Some(used_percent) = percent(Some(utilization), &format!("{name}.utilization"))? else { continue };
        // A window that has not started has no reset time: nothing to show.
        let Some(resets_at) = time(w.resets_at.as_deref(), &format!("{name}.resets_at"))? else { continue };
        if valid_window_name(name) {
            windows.push(PlanWindow { name: name.clone(), used_percent, resets_at });
        }
    }
    Ok(windows)
}

fn limit_windows(limits: &[Limit]) -> Result<Vec<PlanWindow>, ReadError> {
    let mut windows: Vec<PlanWindow> = Vec::new();
    for (i, l) in limits.iter().enumerate() {
        let field = format!("limits[{i}]");
        let model = l.scope.as_ref().and_then(|s| s.model.as_ref()).and_then(|m| m.display_name.as_deref());
        let Some(name) = limit_window_name(&l.kind, model) else { continue };
        let Some(used_percent) = percent(l.percent, &format!("{field}.percent"))? else { continue };
        let Some(resets_at) = time(l.resets_at.as_deref(), &format!("{field}.resets_at"))? else { continue };
        if windows.iter().any(|w| w.name == name) {
            return err(format!("`{field}`: window `{name}` twice"));
        }
        windows.push(PlanWindow { name, used_percent, resets_at });
    }
    Ok(windows)
}

/// The window label of a `limits[]` entry: `five_hour` for the session,
/// `seven_day` for the whole week, `weekly_<model>` for a model's week,
/// and an unknown kind under its own name (with its model, if scoped).
pub fn limit_window_name(kind: &str, model: Option<&str>) -> Option<String> {
    let name = match (kind, model.map(slug).filter(|m| !m.is_empty())) {
        ("session", None) => "five_hour".to_string(),
        ("weekly_all", None) => "seven_day".to_string(),
        ("weekly_scoped", Some(m)) => format!("weekly_{m}"),
        ("weekly_scoped", None) => return None,
        (k, None) => slug(k),
        (k, Some(m)) => format!("{}_{m}", slug(k)),
    };
    valid_window_name(&name).then_some(name)
}

/// `Claude Fable 5` -> `claude_fable_5`.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

#[cfg(test)]
mod tests;
