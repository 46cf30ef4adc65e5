//! Pricing: a pure function from a usage event to its cost.
//!
//! The `PriceTable` is built once from the built-in list (`builtin.yaml`, the
//! one place for list prices), then config overrides, then the downloaded
//! list for models neither knows. A lookup tries the model id as logged,
//! then its normalised forms (`model_id::candidates`), so an exact key
//! always wins. The card rules (prompt tiers, dated changes, fast mode,
//! US-only inference, batch/flex, priority) are in `card`.

pub mod card;
pub mod listing;
pub mod litellm;
pub mod model_id;
pub mod models_dev;
pub mod remote;
pub mod savings;
pub mod spec;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;

pub use card::{ModelPrice, PromptTier, Rates, TokenPrices};
pub use spec::PriceSpec;

use crate::usage::{Modifiers, Tokens, UsageEvent};

/// Where a price came from, for `creditwatch prices`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceOrigin {
    BuiltIn,
    Config,
    Downloaded,
    /// A free tier's model id (Qwen OAuth's `coder-model`): $0, and priced.
    FreeTier,
    /// An Ollama model id (`name:tag`, `:cloud` included): run locally or
    /// under an Ollama subscription, never billed per token: $0, and priced.
    Ollama,
}

impl PriceOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            PriceOrigin::BuiltIn => "built-in",
            PriceOrigin::Config => "config",
            PriceOrigin::Downloaded => "downloaded",
            PriceOrigin::FreeTier => "free tier",
            PriceOrigin::Ollama => "ollama",
        }
    }
}

/// The cost of one event, or why there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priced {
    pub cost: Decimal,
    /// False when the model has no price: the event is booked at $0.
    pub priced: bool,
}

#[derive(Debug, Clone)]
pub struct PriceTable {
    models: BTreeMap<String, (ModelPrice, PriceOrigin)>,
    /// The date of the built-in list prices.
    pub as_of: String,
    /// The $0 card of Ollama ids.
    free: ModelPrice,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BuiltinFile {
    as_of: String,
    models: BTreeMap<String, PriceSpec>,
    /// Model ids of free tiers, with where that is said: $0, not unpriced.
    #[serde(default)]
    free_tier: BTreeMap<String, String>,
}

/// The key `lookup` names for an Ollama id.
pub const OLLAMA_KEY: &str = "ollama (name:tag)";

const BUILTIN: &str = include_str!("builtin.yaml");

impl PriceTable {
    /// The built-in list prices. The file is part of the binary and checked by
    /// a unit test, so a failure here is a build defect.
    pub fn builtin() -> PriceTable {
        let file: BuiltinFile = serde_yaml_ng::from_str(BUILTIN).expect("src/pricing/builtin.yaml is valid (unit-tested)");
        let free = ModelPrice::free();
        let mut models: BTreeMap<String, (ModelPrice, PriceOrigin)> =
            file.models.iter().map(|(k, s)| (k.clone(), (ModelPrice::from(s), PriceOrigin::BuiltIn))).collect();
        for model in file.free_tier.keys() {
            models.insert(model.clone(), (free.clone(), PriceOrigin::FreeTier));
        }
        PriceTable { models, as_of: file.as_of, free }
    }

    /// Adds or replaces models from the config; config wins over built-in.
    pub fn with_overrides(mut self, overrides: &BTreeMap<String, PriceSpec>) -> PriceTable {
        for (model, spec) in overrides {
            self.models.insert(model.clone(), (ModelPrice::from(spec), PriceOrigin::Config));
        }
        self
    }

    /// Adds models that neither the built-in table nor the config price,
    /// not even under a normalised id (a list's `claude-opus-4-6-20260205`
    /// must not shadow the built-in `claude-opus-4-6`).
    pub fn with_fallbacks(mut self, fallbacks: impl IntoIterator<Item = (String, ModelPrice)>) -> PriceTable {
        let known: Vec<(String, ModelPrice)> =
            fallbacks.into_iter().filter(|(model, _)| self.lookup(model).is_none_or(|(_, _, o)| o == PriceOrigin::Downloaded)).collect();
        for (model, price) in known {
            self.models.entry(model).or_insert((price, PriceOrigin::Downloaded));
        }
        self
    }

    /// The price of a model id, with the table key that matched.
    pub fn lookup(&self, model: &str) -> Option<(&str, &ModelPrice, PriceOrigin)> {
        let find = |id: &str| self.models.get_key_value(id).map(|(k, (p, o))| (k.as_str(), p, *o));
        if let Some(hit) = find(model) {
            return Some(hit);
        }
        if let Some(hit) = model_id::candidates(model).iter().find_map(|c| find(c)) {
            return Some(hit);
        }
        model_id::is_ollama(model).then_some((OLLAMA_KEY, &self.free, PriceOrigin::Ollama))
    }

    /// The cost of an event: its stated cost when the log gives one, else
    /// the table's at the event's time; $0 and `priced: false` for a model
    /// with no price.
    pub fn price(&self, event: &UsageEvent) -> Priced {
        if let Some(cost) = event.stated_cost {
            return Priced { cost, priced: true };
        }
        self.price_tokens(&event.model, &event.tokens, event.web_searches, &event.modifiers, event.timestamp)
    }

    pub fn price_tokens(&self, model: &str, tokens: &Tokens, web_searches: u64, modifiers: &Modifiers, at: DateTime<Utc>) -> Priced {
        match self.lookup(model) {
            Some((_, price, _)) => Priced { cost: price.cost(tokens, web_searches, modifiers, at), priced: true },
            None => Priced { cost: Decimal::ZERO, priced: false },
        }
    }

    pub fn models(&self) -> impl Iterator<Item = (&str, &ModelPrice, PriceOrigin)> {
        self.models.iter().map(|(k, (p, o))| (k.as_str(), p, *o))
    }
}

#[cfg(test)]
mod tests;
