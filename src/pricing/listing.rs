//! A model's prices as text, for `creditwatch prices`: the card in force
//! now, then its tiers, priority card, multipliers and the cards of other
//! times.

use chrono::{DateTime, Utc};

use super::card::{ModelPrice, Rates, TokenPrices};

fn card(p: &TokenPrices) -> String {
    // A card with no cache-write price (OpenAI, Google) prices writes as
    // input: Codex's `cache_write_input_tokens` are booked at that price.
    let writes = if p.cache_write_5m == p.input && p.cache_write_1h == p.input {
        format!("cache write ${} (no cache-write price: as input)", p.cache_write_5m)
    } else {
        format!("cache write 5m ${} 1h ${}", p.cache_write_5m, p.cache_write_1h)
    };
    format!("input ${} output ${} {writes} cache read ${}", p.input, p.output, p.cache_read)
}

/// The first line (the base card, per million tokens, with searches and
/// multipliers) and the indented lines of the rates' rules.
fn rates(r: &Rates) -> (String, Vec<String>) {
    let mut head = format!("{} per million tokens", card(&r.base));
    if !r.web_search.is_zero() {
        head.push_str(&format!(", ${} per web search", r.web_search));
    }
    if r.fast_factor != rust_decimal::Decimal::ONE {
        head.push_str(&format!(", fast mode x{}", r.fast_factor));
    }
    if r.us_only_factor != rust_decimal::Decimal::ONE {
        head.push_str(&format!(", US-only x{}", r.us_only_factor));
    }
    let mut rest: Vec<String> = r.tiers.iter().map(|t| format!("  past {} prompt tokens: {}", t.above_tokens, card(&t.prices))).collect();
    if let Some(p) = &r.priority {
        rest.push(format!("  priority: {}", card(p)));
    }
    (head, rest)
}

/// Lines describing `price` at `now`: the first is the card in force.
pub fn describe(price: &ModelPrice, now: DateTime<Utc>) -> Vec<String> {
    let current = price.rates_at(now);
    let (head, mut lines) = rates(current);
    let mut versions: Vec<(Option<DateTime<Utc>>, &Rates)> = vec![(None, &price.base)];
    versions.extend(price.changes.iter().map(|(from, r)| (Some(*from), r)));
    for (i, (from, r)) in versions.iter().enumerate() {
        if std::ptr::eq(*r, current) {
            continue;
        }
        let until = versions.get(i + 1).and_then(|(f, _)| *f);
        let when = match (from, until) {
            (None, Some(u)) => format!("before {}", u.format("%Y-%m-%d %H:%M UTC")),
            (Some(f), _) => format!("from {}", f.format("%Y-%m-%d %H:%M UTC")),
            (None, None) => continue,
        };
        let (h, rest) = rates(r);
        lines.push(format!("  {when}: {h}"));
        lines.extend(rest.into_iter().map(|l| format!("  {l}")));
    }
    let mut out = vec![head];
    out.append(&mut lines);
    out
}
