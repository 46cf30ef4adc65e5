//! Pricing: a pure function from a usage event to its cost.
//!
//! The `PriceTable` is built once from the built-in list (`builtin.yaml`, the
//! one place for list prices), then config overrides; lookups try the exact
//! model id, then the id without a `-YYYYMMDD` suffix, then without a
//! `provider/` prefix. Long context is priced per request: when the prompt
//! side of one request passes the model's threshold, every token of it is at
//! the long-context rates (not just the tokens past the threshold).

pub mod remote;
pub mod savings;

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::usage::money::{self, MILLION};
use crate::usage::{Tokens, UsageEvent};

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
    fn cost(&self, t: &Tokens) -> Decimal {
        let sum = Decimal::from(t.input) * self.input
            + Decimal::from(t.output) * self.output
            + Decimal::from(t.cache_write_5m) * self.cache_write_5m
            + Decimal::from(t.cache_write_1h) * self.cache_write_1h
            + Decimal::from(t.cache_read) * self.cache_read;
        sum / MILLION
    }
}

/// The long-context card: applies to a whole request past the threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongContext {
    pub threshold_tokens: u64,
    pub prices: TokenPrices,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPrice {
    pub base: TokenPrices,
    pub long_context: Option<LongContext>,
    /// Dollars per server-side web search.
    pub web_search: Decimal,
}

impl ModelPrice {
    /// The cost of one request with these counts.
    pub fn cost(&self, tokens: &Tokens, web_searches: u64, batch: bool) -> Decimal {
        let card = match &self.long_context {
            Some(lc) if tokens.prompt_side() > lc.threshold_tokens => &lc.prices,
            _ => &self.base,
        };
        let mut cost = card.cost(tokens);
        if batch {
            cost /= Decimal::TWO;
        }
        cost + Decimal::from(web_searches) * self.web_search
    }
}

/// Where a price came from, for `creditwatch prices`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceOrigin {
    BuiltIn,
    Config,
    Downloaded,
}

impl PriceOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            PriceOrigin::BuiltIn => "built-in",
            PriceOrigin::Config => "config",
            PriceOrigin::Downloaded => "downloaded",
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
}

/// The serialized form of one model's prices, as in `builtin.yaml` and the
/// config's `prices:` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceSpec {
    #[serde(deserialize_with = "money::deserialize")]
    pub input_usd: Decimal,
    #[serde(deserialize_with = "money::deserialize")]
    pub output_usd: Decimal,
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub cache_write_5m_usd: Option<Decimal>,
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub cache_write_1h_usd: Option<Decimal>,
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub cache_read_usd: Option<Decimal>,
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub web_search_usd: Option<Decimal>,
    #[serde(default)]
    pub long_context: Option<LongContextSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongContextSpec {
    pub threshold_tokens: u64,
    #[serde(deserialize_with = "money::deserialize")]
    pub input_usd: Decimal,
    #[serde(deserialize_with = "money::deserialize")]
    pub output_usd: Decimal,
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub cache_write_5m_usd: Option<Decimal>,
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub cache_write_1h_usd: Option<Decimal>,
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub cache_read_usd: Option<Decimal>,
}

fn card(input: Decimal, output: Decimal, w5: Option<Decimal>, w1: Option<Decimal>, read: Option<Decimal>) -> TokenPrices {
    TokenPrices {
        input,
        output,
        cache_write_5m: w5.unwrap_or(input),
        cache_write_1h: w1.unwrap_or(input),
        cache_read: read.unwrap_or(input),
    }
}

impl From<&PriceSpec> for ModelPrice {
    fn from(s: &PriceSpec) -> ModelPrice {
        ModelPrice {
            base: card(s.input_usd, s.output_usd, s.cache_write_5m_usd, s.cache_write_1h_usd, s.cache_read_usd),
            long_context: s.long_context.as_ref().map(|lc| LongContext {
                threshold_tokens: lc.threshold_tokens,
                prices: card(lc.input_usd, lc.output_usd, lc.cache_write_5m_usd, lc.cache_write_1h_usd, lc.cache_read_usd),
            }),
            web_search: s.web_search_usd.unwrap_or(Decimal::ZERO),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BuiltinFile {
    as_of: String,
    models: BTreeMap<String, PriceSpec>,
}

const BUILTIN: &str = include_str!("builtin.yaml");

impl PriceTable {
    /// The built-in list prices. The file is part of the binary and checked by
    /// a unit test, so a failure here is a build defect.
    pub fn builtin() -> PriceTable {
        let file: BuiltinFile = serde_yaml_ng::from_str(BUILTIN).expect("src/pricing/builtin.yaml is valid (unit-tested)");
        let models = file.models.iter().map(|(k, s)| (k.clone(), (ModelPrice::from(s), PriceOrigin::BuiltIn))).collect();
        PriceTable { models, as_of: file.as_of }
    }

    /// Adds or replaces models from the config; config wins over built-in.
    pub fn with_overrides(mut self, overrides: &BTreeMap<String, PriceSpec>) -> PriceTable {
        for (model, spec) in overrides {
            self.models.insert(model.clone(), (ModelPrice::from(spec), PriceOrigin::Config));
        }
        self
    }

    /// Adds models that neither the built-in table nor the config price.
    pub fn with_fallbacks(mut self, fallbacks: impl IntoIterator<Item = (String, ModelPrice)>) -> PriceTable {
        for (model, price) in fallbacks {
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
        let undated = strip_date_suffix(model);
        if let Some(hit) = undated.and_then(find) {
            return Some(hit);
        }
        let bare = model.rsplit_once('/').map(|(_, m)| m)?;
        find(bare).or_else(|| strip_date_suffix(bare).and_then(find))
    }

    /// The cost of an event: its stated cost when the log gives one, else
    /// the table's; $0 and `priced: false` for a model with no price.
    pub fn price(&self, event: &UsageEvent) -> Priced {
        if let Some(cost) = event.stated_cost {
            return Priced { cost, priced: true };
        }
        self.price_tokens(&event.model, &event.tokens, event.web_searches, event.modifiers.is_batch())
    }

    pub fn price_tokens(&self, model: &str, tokens: &Tokens, web_searches: u64, batch: bool) -> Priced {
        match self.lookup(model) {
            Some((_, price, _)) => Priced { cost: price.cost(tokens, web_searches, batch), priced: true },
            None => Priced { cost: Decimal::ZERO, priced: false },
        }
    }

    pub fn models(&self) -> impl Iterator<Item = (&str, &ModelPrice, PriceOrigin)> {
        self.models.iter().map(|(k, (p, o))| (k.as_str(), p, *o))
    }
}

/// `claude-opus-4-1-20250805` -> `claude-opus-4-1`; OpenAI's
/// `gpt-4.1-2025-04-14` -> `gpt-4.1`.
fn strip_date_suffix(model: &str) -> Option<&str> {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let (head, tail) = model.rsplit_once('-')?;
    if digits(tail, 8) {
        return Some(head);
    }
    let (head, month) = head.rsplit_once('-')?;
    let (head, year) = head.rsplit_once('-')?;
    (digits(tail, 2) && digits(month, 2) && digits(year, 4)).then_some(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(input: u64, output: u64, w5: u64, w1: u64, read: u64) -> Tokens {
        Tokens { input, output, cache_write_5m: w5, cache_write_1h: w1, cache_read: read }
    }

    fn cost(model: &str, t: Tokens) -> String {
        money::format(PriceTable::builtin().price_tokens(model, &t, 0, false).cost)
    }

    /// Regression (found adding pricing to the parser fuzz targets): a line claiming
    /// u64::MAX input tokens overflowed the long-context threshold sum. It
    /// saturates: the request is past the threshold and priced at the
    /// long-context rates.
    #[test]
    fn huge_token_counts_are_past_the_long_context_threshold() {
        assert_eq!(cost("claude-sonnet-4-5", tokens(u64::MAX, 0, 0, 0, 1)), "110680464442257.3096906");
        let all = cost("claude-sonnet-4-5", tokens(u64::MAX, u64::MAX, u64::MAX, u64::MAX, u64::MAX));
        assert_eq!(all, "896511761982284.208489");
    }

    #[test]
    fn builtin_table_loads_and_has_every_claude_model_the_logs_show() {
        let table = PriceTable::builtin();
        for model in [
            "claude-opus-4-20250514",
            "claude-opus-4-1-20250805",
            "claude-opus-4-5-20251101",
            "claude-opus-4-6",
            "claude-opus-4-7",
            "claude-opus-4-8",
            "claude-sonnet-4-20250514",
            "claude-sonnet-4-5-20250929",
            "claude-sonnet-4-6",
            "claude-3-5-haiku-20241022",
            "claude-haiku-4-5-20251001",
            "anthropic/claude-sonnet-4-5",
        ] {
            assert!(table.lookup(model).is_some(), "{model} has no price");
        }
        assert!(table.lookup("claude-sonnet-4-5-2025").is_none());
        assert!(table.lookup("gpt-unknown").is_none());
    }

    #[test]
    fn prices_each_token_kind() {
        // Table-driven: model, tokens (in, out, 5m, 1h, read), exact cost.
        let cases = [
            ("claude-opus-4-1-20250805", tokens(1_000_000, 0, 0, 0, 0), "15"),
            ("claude-opus-4-1-20250805", tokens(0, 1_000_000, 0, 0, 0), "75"),
            ("claude-opus-4-6", tokens(10, 20, 30, 40, 50), "0.0011625"),
            ("claude-haiku-4-5-20251001", tokens(8, 1258, 0, 0, 87406), "0.0150386"),
            ("claude-sonnet-4-5-20250929", tokens(28, 648, 2470, 1235, 85012), "0.0519801"),
            ("claude-3-5-haiku-20241022", tokens(1_000_000, 1_000_000, 1_000_000, 1_000_000, 1_000_000), "7.48"),
        ];
        for (model, t, want) in cases {
            assert_eq!(cost(model, t), want, "{model} {t:?}");
        }
    }

    #[test]
    fn long_context_prices_the_whole_request_past_the_threshold() {
        // 200,000 prompt-side tokens is not past the threshold; 200,001 is.
        assert_eq!(cost("claude-sonnet-4-5-20250929", tokens(200_000, 1_000, 0, 0, 0)), "0.615");
        assert_eq!(cost("claude-sonnet-4-5-20250929", tokens(100_000, 1_000, 1, 0, 100_000)), "0.6825075");
        assert_eq!(cost("claude-sonnet-4-20250514", tokens(1, 0, 100_000, 50_000, 50_000)), "1.380006");
        // Output does not count towards the threshold.
        assert_eq!(cost("claude-sonnet-4-5", tokens(150_000, 100_000, 0, 0, 0)), "1.95");
        // Opus 4.6 has no long-context card here.
        assert_eq!(cost("claude-opus-4-6", tokens(300_000, 0, 0, 0, 0)), "1.5");
    }

    #[test]
    fn batch_halves_tokens_and_searches_are_per_request() {
        let table = PriceTable::builtin();
        let t = tokens(1_000_000, 0, 0, 0, 0);
        assert_eq!(money::format(table.price_tokens("claude-haiku-4-5", &t, 3, true).cost), "0.53");
    }

    #[test]
    fn openai_and_google_list_prices() {
        // Table: model id as logged, tokens (in, out, 5m, 1h, read), exact cost.
        let cases = [
            ("gpt-4o-2024-08-06", tokens(1_000_000, 1_000_000, 0, 0, 1_000_000), "13.75"),
            ("gpt-4o-2024-05-13", tokens(1_000_000, 1_000_000, 0, 0, 0), "20"),
            ("openai/gpt-4o-mini", tokens(1_000_000, 1_000_000, 0, 0, 1_000_000), "0.825"),
            ("gpt-4.1-2025-04-14", tokens(1_000_000, 1_000_000, 0, 0, 1_000_000), "10.5"),
            ("gpt-4.1-mini", tokens(1_000_000, 1_000_000, 0, 0, 1_000_000), "2.1"),
            ("gpt-4.1-nano", tokens(1_000_000, 1_000_000, 0, 0, 1_000_000), "0.525"),
            ("o3-2025-04-16", tokens(1_000_000, 1_000_000, 0, 0, 1_000_000), "10.5"),
            ("o4-mini-2025-04-16", tokens(1_000_000, 1_000_000, 0, 0, 1_000_000), "5.775"),
            ("gpt-5-2025-08-07", tokens(1_000_000, 1_000_000, 0, 0, 1_000_000), "11.375"),
            ("gpt-5-mini", tokens(1_000_000, 1_000_000, 0, 0, 1_000_000), "2.275"),
            ("gpt-5-nano", tokens(1_000_000, 1_000_000, 0, 0, 1_000_000), "0.455"),
            ("google/gemini-2.5-pro", tokens(200_000, 1_000_000, 0, 0, 0), "10.25"),
            ("gemini-2.5-pro", tokens(100_000, 1_000_000, 0, 0, 100_001), "15.27500025"),
            ("gemini-2.5-flash", tokens(1_000_000, 1_000_000, 0, 0, 1_000_000), "2.83"),
            ("gemini-2.5-flash-lite", tokens(1_000_000, 1_000_000, 0, 0, 1_000_000), "0.51"),
        ];
        for (model, t, want) in cases {
            assert_eq!(cost(model, t), want, "{model} {t:?}");
        }
        assert_eq!(strip_date_suffix("gpt-4o-2024-8-06"), None);
        assert_eq!(strip_date_suffix("o3"), None);
    }

    #[test]
    fn unknown_model_is_unpriced_at_zero() {
        let p = PriceTable::builtin().price_tokens("mystery-1", &tokens(5, 5, 0, 0, 0), 0, false);
        assert_eq!(p, Priced { cost: Decimal::ZERO, priced: false });
    }

    #[test]
    fn config_overrides_win_and_missing_cache_prices_default_to_input() {
        let spec: BTreeMap<String, PriceSpec> = serde_yaml_ng::from_str(
            "claude-opus-4-6: { input_usd: 1, output_usd: '2' }\nacme-gpt-large: { input_usd: '2.50', output_usd: '10', cache_read_usd: '1.25' }",
        )
        .unwrap();
        let table = PriceTable::builtin().with_overrides(&spec);
        let (_, p, origin) = table.lookup("claude-opus-4-6").unwrap();
        assert_eq!(origin, PriceOrigin::Config);
        assert_eq!(money::format(p.cost(&tokens(0, 0, 1_000_000, 0, 0), 0, false)), "1");
        assert_eq!(money::format(table.price_tokens("acme-gpt-large", &tokens(1000, 100, 0, 0, 2000), 0, false).cost), "0.006");
    }
}
