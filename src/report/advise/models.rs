//! Model mix: where the spend goes by model and app, and what the same
//! tokens would have cost on a cheaper model — one tier down in the same
//! provider by default (Opus -> Sonnet -> Haiku, Fable -> Opus; `-pro` ->
//! base -> `-mini` -> `-nano`; Gemini Pro -> Flash -> Flash-Lite), or on any
//! priced model with `--what-if`. Same tokens, web searches and batch tier,
//! priced by the table; requests whose model has no price are left out.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::{price_on, Names, Record};
use crate::pricing::PriceTable;
use crate::usage::Tokens;

/// Anthropic families, cheapest first; the index is the tier.
const CLAUDE_TIERS: [&[&str]; 4] = [&["haiku"], &["sonnet"], &["opus"], &["fable", "mythos"]];

/// A Claude model key's tier and version: `claude-opus-4-6` -> (2, [4, 6]),
/// `claude-3-5-sonnet` -> (1, [3, 5]).
fn claude_tier(key: &str) -> Option<(usize, Vec<u32>)> {
    let rest = key.strip_prefix("claude-")?;
    let parts: Vec<&str> = rest.split('-').collect();
    let tier_of = |name: &str| CLAUDE_TIERS.iter().position(|names| names.contains(&name));
    let (tier, numbers): (usize, Vec<&str>) = match tier_of(parts.first()?) {
        Some(t) => (t, parts[1..].to_vec()),
        None => (tier_of(parts.last()?)?, parts[..parts.len() - 1].to_vec()),
    };
    let mut version = numbers.iter().map(|n| n.parse::<u32>().ok()).collect::<Option<Vec<u32>>>()?;
    while version.len() > 1 && version.last() == Some(&0) {
        version.pop();
    }
    Some((tier, version))
}

/// The model one tier down from `model` in the table: of the tier below,
/// the newest version not newer than `model` (the same generation, or the
/// nearest older one), else the oldest newer one. Adding newer models to the
/// table never changes where an older one goes. `None` at the lowest tier or
/// for an unknown model.
pub fn tier_down(prices: &PriceTable, model: &str) -> Option<String> {
    let (key, _, _) = prices.lookup(model)?;
    if let Some((tier, version)) = claude_tier(key) {
        let below = tier.checked_sub(1)?;
        let mut candidates: Vec<(Vec<u32>, &str)> =
            prices.models().filter_map(|(k, _, _)| claude_tier(k).filter(|(t, _)| *t == below).map(|(_, v)| (v, k))).collect();
        // Equal versions (`claude-opus-4` and `claude-opus-4-0`): the shortest key.
        candidates.sort_by(|(va, ka), (vb, kb)| va.cmp(vb).then_with(|| (ka.len(), *ka).cmp(&(kb.len(), *kb))));
        let older = candidates.iter().filter(|(v, _)| *v <= version).map(|(v, k)| (v.clone(), *k));
        let best_older = older.fold(None::<(Vec<u32>, &str)>, |best, (v, k)| match best {
            Some((bv, bk)) if bv >= v => Some((bv, bk)),
            _ => Some((v, k)),
        });
        let pick = best_older.map(|(_, k)| k).or_else(|| candidates.iter().find(|(v, _)| *v > version).map(|(_, k)| *k));
        return pick.map(str::to_string);
    }
    let priced = |k: String| prices.models().any(|(m, _, _)| m == k).then_some(k);
    let ladder: Vec<String> = if key.starts_with("gemini-") {
        if let Some(base) = key.strip_suffix("-flash") {
            vec![format!("{base}-flash-lite")]
        } else if let Some(base) = key.strip_suffix("-pro").or_else(|| key.strip_suffix("-pro-preview")) {
            vec![format!("{base}-flash"), format!("{base}-flash-preview")]
        } else {
            vec![]
        }
    } else if let Some(base) = key.strip_suffix("-pro") {
        vec![base.to_string()]
    } else if let Some(base) = key.strip_suffix("-mini") {
        vec![format!("{base}-nano")]
    } else if key.ends_with("-nano") {
        vec![]
    } else {
        vec![format!("{key}-mini")]
    };
    ladder.into_iter().find_map(priced)
}

/// One row of a what-if: a model or an app.
#[derive(Debug, Clone, PartialEq)]
pub struct WhatIfRow {
    pub key: String,
    /// The model it was priced on ("" when there is no cheaper tier).
    pub on: String,
    pub requests: u64,
    pub actual: Decimal,
    pub what_if: Decimal,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct WhatIf {
    /// `None`: every request one tier down from its own model.
    pub target: Option<String>,
    pub requests: u64,
    pub actual: Decimal,
    pub what_if: Decimal,
    pub by_model: Vec<WhatIfRow>,
    pub by_app: Vec<WhatIfRow>,
}

/// Spend of one model or app.
#[derive(Debug, Clone, PartialEq)]
pub struct Spend {
    pub key: String,
    pub requests: u64,
    pub cost: Decimal,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelFindings {
    pub by_model: Vec<Spend>,
    pub by_app: Vec<Spend>,
    /// The used model with the highest list price, and its spend.
    pub most_expensive: Option<Spend>,
    pub tier_down: WhatIf,
    pub what_if: Option<WhatIf>,
    /// Why `--what-if` could not be priced.
    pub what_if_error: Option<String>,
}

/// The list price of a model as one comparable figure: a million input plus
/// a million output tokens.
fn list_price(prices: &PriceTable, model: &str) -> Option<Decimal> {
    let t = Tokens { input: 1_000_000, output: 1_000_000, ..Tokens::default() };
    let p = prices.price_tokens(model, &t, 0, &crate::usage::Modifiers::default(), chrono::Utc::now());
    p.priced.then_some(p.cost)
}

fn spend_by(window: &[&Record], key: impl Fn(&Record) -> u32, names: &Names) -> Vec<Spend> {
    let mut by: BTreeMap<&str, Spend> = BTreeMap::new();
    for r in window {
        let k = names.get(key(r));
        let s = by.entry(k).or_insert_with(|| Spend { key: k.to_string(), requests: 0, cost: Decimal::ZERO });
        s.requests += 1;
        s.cost += r.cost;
    }
    let mut out: Vec<Spend> = by.into_values().collect();
    out.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.key.cmp(&b.key)));
    out
}

/// Every priced request of the window on `target` (a model), or one tier
/// down when `target` is `None`.
pub fn what_if(window: &[&Record], names: &Names, prices: &PriceTable, target: Option<&str>) -> WhatIf {
    let mut out = WhatIf { target: target.map(str::to_string), ..WhatIf::default() };
    let mut by_model: BTreeMap<u32, WhatIfRow> = BTreeMap::new();
    let mut by_app: BTreeMap<u32, WhatIfRow> = BTreeMap::new();
    let mut downs: BTreeMap<u32, Option<String>> = BTreeMap::new();
    for r in window.iter().filter(|r| r.priced) {
        let model = names.get(r.model);
        let on = match target {
            Some(t) => Some(t.to_string()),
            None => downs.entry(r.model).or_insert_with(|| tier_down(prices, model)).clone(),
        };
        let priced_on = on.as_deref().and_then(|m| price_on(prices, m, r, &r.tokens));
        let cost = priced_on.unwrap_or(r.cost);
        let on_name = if priced_on.is_some() { on.unwrap_or_default() } else { String::new() };
        out.requests += 1;
        out.actual += r.cost;
        out.what_if += cost;
        for (map, key) in [(&mut by_model, r.model), (&mut by_app, r.app)] {
            let row = map.entry(key).or_insert_with(|| WhatIfRow {
                key: names.get(key).to_string(),
                on: on_name.clone(),
                requests: 0,
                actual: Decimal::ZERO,
                what_if: Decimal::ZERO,
            });
            if row.on != on_name {
                row.on = "(several)".to_string();
            }
            row.requests += 1;
            row.actual += r.cost;
            row.what_if += cost;
        }
    }
    let sorted = |m: BTreeMap<u32, WhatIfRow>| {
        let mut v: Vec<WhatIfRow> = m.into_values().collect();
        v.sort_by(|a, b| (b.actual - b.what_if).cmp(&(a.actual - a.what_if)).then_with(|| a.key.cmp(&b.key)));
        v
    };
    out.by_model = sorted(by_model);
    out.by_app = sorted(by_app);
    out
}

pub fn analyze(window: &[&Record], names: &Names, prices: &PriceTable, target: Option<&str>) -> ModelFindings {
    let by_model = spend_by(window, |r| r.model, names);
    let most_expensive = by_model
        .iter()
        .filter_map(|s| list_price(prices, &s.key).map(|p| (p, s)))
        .max_by(|(pa, a), (pb, b)| pa.cmp(pb).then_with(|| b.key.cmp(&a.key)))
        .map(|(_, s)| s.clone());
    let (on_target, what_if_error) = match target {
        Some(t) if prices.lookup(t).is_none() => (None, Some(format!("no price for `{t}`: pick a model `creditwatch prices` lists"))),
        Some(t) => (Some(what_if(window, names, prices, Some(t))), None),
        None => (None, None),
    };
    ModelFindings {
        by_app: spend_by(window, |r| r.app, names),
        most_expensive,
        tier_down: what_if(window, names, prices, None),
        by_model,
        what_if: on_target,
        what_if_error,
    }
}
