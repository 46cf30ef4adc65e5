//! One entry of LiteLLM's `model_prices_and_context_window.json`, to a
//! [`ModelPrice`], exactly in `Decimal` from each number's text.
//!
//! Read: the per-token input/output/cache prices; the 1h cache write
//! (`..._above_1hr`; when missing and the model has cache writes, 2x input,
//! as Anthropic prices it); every prompt tier (`..._above_<N>k_tokens`, N
//! thousand tokens, the whole request at that tier); the priority card
//! (`..._priority`); web search (`search_context_cost_per_query`, per
//! search); fast and US-only multipliers (`provider_specific_entry.fast`,
//! `.us`). Batch and flex keys are not read: both are half the standard
//! rates here. An entry without input and output prices, or with a
//! malformed or negative price, is left out.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde_json::value::RawValue;

use super::card::{ModelPrice, PromptTier, Rates, TokenPrices};
use crate::usage::money::MILLION;

type Fields<'a> = BTreeMap<&'a str, &'a RawValue>;

pub(super) fn entry_price(raw: &RawValue) -> Option<ModelPrice> {
    let fields: Fields = serde_json::from_str(raw.get()).ok()?;
    let get = |name: &str| per_million(fields.get(name).copied());
    let input = get("input_cost_per_token")??;
    let output = get("output_cost_per_token")??;
    let base = card(&fields, input, output, "")?;
    let mut tiers = Vec::new();
    for key in fields.keys() {
        let Some(thousands) = key.strip_prefix("input_cost_per_token_above_").and_then(|r| r.strip_suffix("k_tokens")) else {
            continue;
        };
        let Ok(thousands) = thousands.parse::<u64>() else { continue };
        let suffix = format!("_above_{thousands}k_tokens");
        let tier_input = get(key)??;
        let tier_output = get(&format!("output_cost_per_token{suffix}"))?.unwrap_or(output);
        tiers.push(PromptTier { above_tokens: thousands.saturating_mul(1000), prices: card(&fields, tier_input, tier_output, &suffix)? });
    }
    tiers.sort_by_key(|t| t.above_tokens);
    let priority = match (get("input_cost_per_token_priority")?, get("output_cost_per_token_priority")?) {
        (Some(i), Some(o)) => Some(TokenPrices {
            input: i,
            output: o,
            cache_write_5m: i,
            cache_write_1h: i,
            cache_read: get("cache_read_input_token_cost_priority")?.unwrap_or(i),
        }),
        _ => None,
    };
    let multiplier = |name: &str| -> Option<Decimal> {
        let entry: Fields = serde_json::from_str(fields.get("provider_specific_entry")?.get()).ok()?;
        decimal(entry.get(name)?).filter(|d| *d > Decimal::ZERO)
    };
    let rates = Rates {
        base,
        tiers,
        priority,
        web_search: web_search(&fields).unwrap_or(Decimal::ZERO),
        fast_factor: multiplier("fast").unwrap_or(Decimal::ONE),
        us_only_factor: multiplier("us").unwrap_or(Decimal::ONE),
    };
    Some(ModelPrice { base: rates, changes: Vec::new() })
}

/// The card of the base (`suffix` "") or of a tier (`_above_200k_tokens`):
/// missing cache prices are the card's input, a missing 1h write 2x input
/// when there is a 5m write price.
fn card(fields: &Fields, input: Decimal, output: Decimal, suffix: &str) -> Option<TokenPrices> {
    let get = |name: String| per_million(fields.get(name.as_str()).copied());
    let write_5m = get(format!("cache_creation_input_token_cost{suffix}"))?;
    let write_1h = get(format!("cache_creation_input_token_cost_above_1hr{suffix}"))?;
    let read = get(format!("cache_read_input_token_cost{suffix}"))?;
    let twice = input.checked_mul(Decimal::TWO)?;
    Some(TokenPrices {
        input,
        output,
        cache_write_5m: write_5m.unwrap_or(input),
        cache_write_1h: write_1h.unwrap_or(if write_5m.is_some() { twice } else { input }),
        cache_read: read.unwrap_or(input),
    })
}

/// `search_context_cost_per_query`: one price, or one per context size
/// (the medium one, else the low one).
fn web_search(fields: &Fields) -> Option<Decimal> {
    let raw = fields.get("search_context_cost_per_query")?;
    if let Some(price) = decimal(raw) {
        return Some(price);
    }
    let sizes: Fields = serde_json::from_str(raw.get()).ok()?;
    ["search_context_size_medium", "search_context_size_low", "search_context_size_high"].iter().find_map(|s| decimal(sizes.get(s)?))
}

/// A non-negative number (or numeric string) from its text.
fn decimal(raw: &RawValue) -> Option<Decimal> {
    let text = raw.get();
    if text == "null" || text.starts_with('{') || text.starts_with('[') {
        return None;
    }
    crate::usage::money::parse(text.trim_matches('"')).ok().filter(|d| *d >= Decimal::ZERO)
}

/// A per-token price as per million, exactly, from the number's text.
/// Outer `None`: malformed (the entry is skipped); inner: absent.
fn per_million(raw: Option<&RawValue>) -> Option<Option<Decimal>> {
    let Some(raw) = raw.filter(|r| r.get() != "null") else {
        return Some(None);
    };
    let price = crate::usage::money::parse(raw.get().trim_matches('"')).ok()?;
    (price >= Decimal::ZERO).then(|| price.checked_mul(MILLION).map(|p| p.normalize()))
}
