//! A model's price card and the rules that pick and scale it, as values:
//! the cost of one request is `rates_at(time).cost(tokens, searches, modifiers)`.
//!
//! Invariants: a prompt tier prices the whole request (every token of it,
//! output included) once the prompt side passes its threshold, the highest
//! tier passed wins; fast mode and US-only inference multiply every token
//! rate, cache included, and stack (multiply); batch and flex halve token
//! costs; web searches are never scaled. Exact in `Decimal` throughout.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::usage::money::MILLION;
use crate::usage::{Modifiers, ServiceTier, Tokens};

/// Per-million-token prices of one rate card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPrices {
    pub input: Decimal,
    pub output: Decimal,
    pub cache_write_5m: Decimal,
    pub cache_write_1h: Decimal,
    pub cache_read: Decimal,
}

impl TokenPrices {
    pub(super) fn cost(&self, t: &Tokens) -> Decimal {
        let sum = Decimal::from(t.input) * self.input
            + Decimal::from(t.output) * self.output
            + Decimal::from(t.cache_write_5m) * self.cache_write_5m
            + Decimal::from(t.cache_write_1h) * self.cache_write_1h
            + Decimal::from(t.cache_read) * self.cache_read;
        sum / MILLION
    }
}

/// The card of a whole request whose prompt side is above `above_tokens`
/// (long context, Haiku 5.5's long prompts, OpenAI's 272K tier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptTier {
    pub above_tokens: u64,
    pub prices: TokenPrices,
}

/// Everything that prices a request of one model while these rates hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rates {
    pub base: TokenPrices,
    /// Sorted by threshold, lowest first.
    pub tiers: Vec<PromptTier>,
    /// OpenAI's priority processing card; standard rates when absent.
    pub priority: Option<TokenPrices>,
    /// Dollars per server-side web search.
    pub web_search: Decimal,
    /// `speed: "fast"` multiplies every token rate by this (1: no fast mode).
    pub fast_factor: Decimal,
    /// `inference_geo: "us"` multiplies every token rate by this.
    pub us_only_factor: Decimal,
}

impl Rates {
    /// The tier whose card prices a request with this prompt side, if any.
    pub fn tier_for(&self, prompt_side: u64) -> Option<&PromptTier> {
        self.tiers.iter().rev().find(|t| prompt_side > t.above_tokens)
    }

    /// The cost of one request with these counts and modifiers.
    pub fn cost(&self, tokens: &Tokens, web_searches: u64, modifiers: &Modifiers) -> Decimal {
        let card = match (self.tier_for(tokens.prompt_side()), modifiers.tier) {
            (Some(tier), _) => &tier.prices,
            (None, ServiceTier::Priority) => self.priority.as_ref().unwrap_or(&self.base),
            (None, _) => &self.base,
        };
        let mut cost = card.cost(tokens);
        if modifiers.fast {
            cost = scale(cost, self.fast_factor);
        }
        if modifiers.us_only {
            cost = scale(cost, self.us_only_factor);
        }
        if matches!(modifiers.tier, ServiceTier::Batch | ServiceTier::Flex) {
            cost /= Decimal::TWO;
        }
        cost.saturating_add(scale(Decimal::from(web_searches), self.web_search))
    }
}

/// `a * b`, saturating instead of overflowing (a config may name any price).
fn scale(a: Decimal, b: Decimal) -> Decimal {
    a.checked_mul(b).unwrap_or(Decimal::MAX)
}

/// A model's rates over time: `base` until the first change, then each
/// change from its time on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPrice {
    pub base: Rates,
    /// Sorted by `from`, earliest first.
    pub changes: Vec<(DateTime<Utc>, Rates)>,
}

impl ModelPrice {
    /// A card at $0 for every kind (free tiers, Ollama).
    pub fn free() -> ModelPrice {
        let zero = TokenPrices {
            input: Decimal::ZERO,
            output: Decimal::ZERO,
            cache_write_5m: Decimal::ZERO,
            cache_write_1h: Decimal::ZERO,
            cache_read: Decimal::ZERO,
        };
        let base = Rates {
            base: zero,
            tiers: Vec::new(),
            priority: None,
            web_search: Decimal::ZERO,
            fast_factor: Decimal::ONE,
            us_only_factor: Decimal::ONE,
        };
        ModelPrice { base, changes: Vec::new() }
    }

    /// The rates in force at `at`.
    pub fn rates_at(&self, at: DateTime<Utc>) -> &Rates {
        self.changes.iter().rev().find(|(from, _)| *from <= at).map(|(_, r)| r).unwrap_or(&self.base)
    }

    /// The rates in force now, for listings.
    pub fn current(&self) -> &Rates {
        self.changes.last().map(|(_, r)| r).unwrap_or(&self.base)
    }

    /// The cost of one request at `at`.
    pub fn cost(&self, tokens: &Tokens, web_searches: u64, modifiers: &Modifiers, at: DateTime<Utc>) -> Decimal {
        self.rates_at(at).cost(tokens, web_searches, modifiers)
    }
}
