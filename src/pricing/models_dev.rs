//! models.dev's `api.json`, to [`ModelPrice`]s, exactly in `Decimal` from
//! each number's text.
//!
//! The list is `{provider: {models: {model: {cost: {...}}}}}` with prices
//! per million tokens: `input`, `output`, `cache_read`, `cache_write`, and
//! prompt tiers as `tiers: [{tier: {type: "context", size: N}, input, ...}]`
//! or, in older lists, one `context_over_200k` card. It names the models of
//! providers LiteLLM's list lags on or lacks (OpenCode's Zen and the
//! coding plans it sells, new open-weight hosts), which is why it is read.
//!
//! Each model is keyed `provider/model`, and by its bare id from one
//! provider: the model's maker when it lists it (`anthropic`, `openai`,
//! ...), else the first provider in name order, so a reseller's markup
//! never prices a maker's own id. `cache_write` is the 5m write; the 1h
//! write is 2x input, as Anthropic prices it. A missing cache price is the
//! input price. `reasoning` is not read: every log reports reasoning tokens
//! as output. A tier of another type than `context` is left out; a model
//! without input and output prices, or with a malformed or negative one, is
//! left out.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::card::{ModelPrice, PromptTier, Rates, TokenPrices};

/// Providers that make the models they list: their price is the price of
/// the bare id.
const MAKERS: &[&str] = &["anthropic", "openai", "google", "xai", "mistral", "deepseek", "moonshotai", "zai", "alibaba", "cohere"];

#[derive(Deserialize)]
struct Provider<'a> {
    #[serde(borrow)]
    models: BTreeMap<String, &'a RawValue>,
}

#[derive(Deserialize)]
struct Model<'a> {
    #[serde(default, borrow)]
    cost: Option<Cost<'a>>,
}

#[derive(Deserialize)]
struct Cost<'a> {
    #[serde(default, borrow)]
    input: Option<&'a RawValue>,
    #[serde(default, borrow)]
    output: Option<&'a RawValue>,
    #[serde(default, borrow)]
    cache_read: Option<&'a RawValue>,
    #[serde(default, borrow)]
    cache_write: Option<&'a RawValue>,
    /// Prompt tiers: each a card with its `tier`.
    #[serde(default, borrow)]
    tiers: Option<Vec<Cost<'a>>>,
    #[serde(default, borrow)]
    tier: Option<Threshold<'a>>,
    #[serde(default, borrow)]
    context_over_200k: Option<Box<Cost<'a>>>,
}

#[derive(Deserialize)]
struct Threshold<'a> {
    #[serde(default, rename = "type")]
    kind: Option<&'a str>,
    #[serde(default)]
    size: Option<u64>,
}

/// Whether `bytes` is a models.dev list: a JSON object whose every value is
/// a provider with a `models` object. `None` when it is not.
pub fn parse(bytes: &[u8]) -> Option<Vec<(String, ModelPrice)>> {
    let providers: BTreeMap<String, Provider> = serde_json::from_slice(bytes).ok()?;
    if providers.is_empty() {
        return None;
    }
    let mut keyed = Vec::new();
    let mut bare: BTreeMap<String, (usize, ModelPrice)> = BTreeMap::new();
    for (provider, listed) in &providers {
        let rank = MAKERS.iter().position(|m| m == provider).unwrap_or(MAKERS.len());
        for (model, raw) in &listed.models {
            let Some(price) = model_price(raw) else { continue };
            if !model.contains('/') {
                match bare.get(model) {
                    Some((r, _)) if *r <= rank => {}
                    _ => {
                        bare.insert(model.clone(), (rank, price.clone()));
                    }
                }
            }
            keyed.push((format!("{provider}/{model}"), price));
        }
    }
    keyed.extend(bare.into_iter().map(|(model, (_, price))| (model, price)));
    Some(keyed)
}

fn model_price(raw: &RawValue) -> Option<ModelPrice> {
    let model: Model = serde_json::from_str(raw.get()).ok()?;
    let cost = model.cost?;
    let base = card(&cost)?;
    let mut tiers = Vec::new();
    for tier in cost.tiers.iter().flatten() {
        let Some(threshold) = &tier.tier else { continue };
        if threshold.kind.is_some_and(|k| k != "context") {
            continue;
        }
        let Some(size) = threshold.size else { continue };
        tiers.push(PromptTier { above_tokens: size, prices: card(tier)? });
    }
    if tiers.is_empty() {
        if let Some(over) = &cost.context_over_200k {
            tiers.push(PromptTier { above_tokens: 200_000, prices: card(over)? });
        }
    }
    tiers.sort_by_key(|t| t.above_tokens);
    tiers.dedup_by_key(|t| t.above_tokens);
    let rates = Rates { base, tiers, priority: None, web_search: Decimal::ZERO, fast_factor: Decimal::ONE, us_only_factor: Decimal::ONE };
    Some(ModelPrice { base: rates, changes: Vec::new() })
}

/// One card: input and output are required; a missing cache price is the
/// input price, the 1h write 2x input when there is a write price.
fn card(cost: &Cost) -> Option<TokenPrices> {
    let input = price(cost.input)??;
    let output = price(cost.output)??;
    let write = price(cost.cache_write)?;
    let read = price(cost.cache_read)?;
    Some(TokenPrices {
        input,
        output,
        cache_write_5m: write.unwrap_or(input),
        cache_write_1h: if write.is_some() { input.checked_mul(Decimal::TWO)? } else { input },
        cache_read: read.unwrap_or(input),
    })
}

/// A per-million price from the number's text. Outer `None`: malformed or
/// negative (the model is left out); inner: absent.
fn price(raw: Option<&RawValue>) -> Option<Option<Decimal>> {
    let Some(raw) = raw.filter(|r| r.get() != "null") else {
        return Some(None);
    };
    let text = raw.get();
    if text.starts_with('"') || text.starts_with('{') || text.starts_with('[') {
        return None;
    }
    let price = crate::usage::money::parse(text).ok()?;
    (price >= Decimal::ZERO).then(|| Some(price.normalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::{Modifiers, Tokens};
    use chrono::Utc;

    /// A models.dev list shaped as `packages/core/src/schema.ts` of
    /// github.com/anomalyco/models.dev describes it (prices per million).
    /// Anthropic's entry is Claude Opus 4.5's list price (5 / 25 / 6.25 /
    /// 0.50, as `builtin.yaml` cites from anthropic.com/pricing); GLM-4.6 is
    /// Z.ai's published 0.60 / 2.20 with 0.11 cache reads; OpenCode's prices
    /// for Opus are made up, a reseller's markup to show the maker wins.
    const LIST: &str = r#"{
      "opencode": {"id": "opencode", "name": "OpenCode Zen", "models": {
        "glm-4.6": {"id": "glm-4.6", "cost": {"input": 0.6, "output": 2.2, "cache_read": 0.11}},
        "claude-opus-4-5": {"id": "claude-opus-4-5", "cost": {"input": 6, "output": 30, "cache_read": 0.6, "cache_write": 7.5}},
        "big-pickle": {"id": "big-pickle", "cost": {"input": 0, "output": 0}}
      }},
      "anthropic": {"id": "anthropic", "models": {
        "claude-opus-4-5": {"id": "claude-opus-4-5", "cost": {"input": 5, "output": 25, "cache_read": 0.5, "cache_write": 6.25}}
      }},
      "google": {"id": "google", "models": {
        "gemini-3-pro-preview": {"cost": {"input": 2, "output": 12, "cache_read": 0.2,
          "context_over_200k": {"input": 4, "output": 18, "cache_read": 0.4}}},
        "gemini-9-tiered": {"cost": {"input": 1, "output": 2,
          "tiers": [{"tier": {"type": "context", "size": 272000}, "input": 2, "output": 4}, {"tier": {"type": "time", "size": 5}, "input": 9, "output": 9}]}},
        "embedding-only": {"cost": {"input": 0.1}},
        "no-cost": {"name": "free"},
        "bad-price": {"cost": {"input": -1, "output": 2}},
        "text-price": {"cost": {"input": "1", "output": 2}}
      }},
      "openrouter": {"id": "openrouter", "models": {
        "moonshotai/kimi-k2": {"cost": {"input": 0.6, "output": 2.5, "cache_read": 1.5e-1}}
      }}
    }"#;

    fn priced(list: &[(String, ModelPrice)], key: &str, tokens: Tokens) -> String {
        let (_, price) = list.iter().find(|(k, _)| k == key).unwrap_or_else(|| panic!("{key} not in the list"));
        price.cost(&tokens, 0, &Modifiers::default(), Utc::now()).normalize().to_string()
    }

    const MIXED: Tokens = Tokens { input: 1_000_000, output: 100_000, cache_write_5m: 10_000, cache_write_1h: 10_000, cache_read: 200_000 };

    #[test]
    fn every_provider_model_is_keyed_and_the_maker_prices_the_bare_id() {
        let list = parse(LIST.as_bytes()).unwrap();
        // Maker: 5 + 2.5 + 0.0625 + 0.1 (1h = 2x input) + 0.1.
        assert_eq!(priced(&list, "claude-opus-4-5", MIXED), "7.7625");
        assert_eq!(priced(&list, "anthropic/claude-opus-4-5", MIXED), "7.7625");
        // The reseller's own key keeps its price: 6 + 3 + 0.075 + 0.12 + 0.12.
        assert_eq!(priced(&list, "opencode/claude-opus-4-5", MIXED), "9.315");
        // No write price: writes at input. 0.6 + 0.22 + 0.006 + 0.006 + 0.022.
        assert_eq!(priced(&list, "glm-4.6", MIXED), "0.854");
        assert_eq!(priced(&list, "big-pickle", MIXED), "0");
        // A key with a slash has no bare form of its own; 1.5e-1 read exactly.
        assert_eq!(priced(&list, "openrouter/moonshotai/kimi-k2", MIXED), "0.892");
        assert!(!list.iter().any(|(k, _)| k == "moonshotai/kimi-k2" || k == "kimi-k2"));
        for left_out in ["embedding-only", "no-cost", "bad-price", "text-price"] {
            assert!(!list.iter().any(|(k, _)| k.ends_with(left_out)), "{left_out}");
        }
    }

    #[test]
    fn context_tiers_price_the_whole_request() {
        let list = parse(LIST.as_bytes()).unwrap();
        let at = |input| Tokens { input, output: 1_000_000, ..Tokens::default() };
        assert_eq!(priced(&list, "gemini-3-pro-preview", at(200_000)), "12.4");
        assert_eq!(priced(&list, "gemini-3-pro-preview", at(200_001)), "18.800004");
        // The `time` tier is left out; the context one holds above 272,000.
        assert_eq!(priced(&list, "gemini-9-tiered", at(272_000)), "2.272");
        assert_eq!(priced(&list, "gemini-9-tiered", at(272_001)), "4.544002");
    }

    #[test]
    fn a_litellm_list_is_not_a_models_dev_list() {
        let litellm =
            r#"{"sample_spec": {"input_cost_per_token": 0}, "gpt-4o": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05}}"#;
        assert!(parse(litellm.as_bytes()).is_none());
        assert!(parse(b"{}").is_none());
        assert!(parse(b"[1]").is_none());
    }
}
