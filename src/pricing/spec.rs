//! The written form of a model's prices, as in `builtin.yaml` and the
//! config's `prices:` section, and its conversion to [`ModelPrice`].
//!
//! A missing cache price is the input price of its card (OpenAI and Google
//! bill no cache writes); a change is the base spec with some fields
//! replaced, defaults applied after the merge.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};

use super::card::{ModelPrice, PromptTier, Rates, TokenPrices};
use crate::usage::money;

/// One model's prices.
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
    /// One prompt tier, the older spelling (`threshold_tokens`).
    #[serde(default)]
    pub long_context: Option<LongContextSpec>,
    #[serde(default)]
    pub prompt_tiers: Vec<TierSpec>,
    #[serde(default)]
    pub priority: Option<CardSpec>,
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub fast_factor: Option<Decimal>,
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub us_only_factor: Option<Decimal>,
    #[serde(default)]
    pub changes: Vec<ChangeSpec>,
}

/// A card's five rates; input and output are required.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardSpec {
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

/// A prompt tier: above `above_tokens`, the whole request at these rates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierSpec {
    pub above_tokens: u64,
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

/// The older spelling of one prompt tier.
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

macro_rules! card_spec {
    ($s:expr) => {
        CardSpec {
            input_usd: $s.input_usd,
            output_usd: $s.output_usd,
            cache_write_5m_usd: $s.cache_write_5m_usd,
            cache_write_1h_usd: $s.cache_write_1h_usd,
            cache_read_usd: $s.cache_read_usd,
        }
    };
}

/// From `from` on, these fields replace the model's.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeSpec {
    #[serde(deserialize_with = "deserialize_from")]
    pub from: DateTime<Utc>,
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub input_usd: Option<Decimal>,
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub output_usd: Option<Decimal>,
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub cache_write_5m_usd: Option<Decimal>,
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub cache_write_1h_usd: Option<Decimal>,
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub cache_read_usd: Option<Decimal>,
    #[serde(default, deserialize_with = "money::deserialize_opt")]
    pub web_search_usd: Option<Decimal>,
    /// Replaces all the model's tiers when given.
    #[serde(default)]
    pub prompt_tiers: Option<Vec<TierSpec>>,
}

/// `2026-10-07` (00:00 UTC that day) or an RFC 3339 time.
fn deserialize_from<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(d)?;
    parse_from(&text).map_err(serde::de::Error::custom)
}

pub fn parse_from(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default());
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("`{text}` is neither a date (2026-10-07) nor an RFC 3339 time"))
}

impl CardSpec {
    fn prices(&self) -> TokenPrices {
        card(self.input_usd, self.output_usd, self.cache_write_5m_usd, self.cache_write_1h_usd, self.cache_read_usd)
    }

    fn rates(&self) -> [Option<Decimal>; 5] {
        [Some(self.input_usd), Some(self.output_usd), self.cache_write_5m_usd, self.cache_write_1h_usd, self.cache_read_usd]
    }
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

impl PriceSpec {
    /// The first field that is out of range, as (field, message).
    pub fn validate(&self) -> Result<(), (String, String)> {
        let negative = |v: &[Option<Decimal>]| v.iter().flatten().any(|d| d.is_sign_negative() && !d.is_zero());
        let base = [
            Some(self.input_usd),
            Some(self.output_usd),
            self.cache_write_5m_usd,
            self.cache_write_1h_usd,
            self.cache_read_usd,
            self.web_search_usd,
        ];
        if negative(&base) {
            return Err((String::new(), "prices must not be negative".into()));
        }
        let tiers = self.tier_specs();
        for (i, tier) in tiers.iter().enumerate() {
            if negative(&tier.1.rates()) {
                return Err((format!("prompt_tiers[{i}]"), "prices must not be negative".into()));
            }
        }
        if self.priority.as_ref().is_some_and(|p| negative(&p.rates())) {
            return Err(("priority".into(), "prices must not be negative".into()));
        }
        for (name, factor) in [("fast_factor", self.fast_factor), ("us_only_factor", self.us_only_factor)] {
            if factor.is_some_and(|f| f <= Decimal::ZERO) {
                return Err((name.into(), "must be more than 0".into()));
            }
        }
        for (i, change) in self.changes.iter().enumerate() {
            let rates = [
                change.input_usd,
                change.output_usd,
                change.cache_write_5m_usd,
                change.cache_write_1h_usd,
                change.cache_read_usd,
                change.web_search_usd,
            ];
            let tiers_negative = change.prompt_tiers.iter().flatten().any(|t| negative(&card_spec!(t).rates()));
            if negative(&rates) || tiers_negative {
                return Err((format!("changes[{i}]"), "prices must not be negative".into()));
            }
        }
        Ok(())
    }

    /// `long_context` and `prompt_tiers` together, as (threshold, card).
    fn tier_specs(&self) -> Vec<(u64, CardSpec)> {
        let mut tiers: Vec<(u64, CardSpec)> = self.prompt_tiers.iter().map(|t| (t.above_tokens, card_spec!(t))).collect();
        if let Some(lc) = &self.long_context {
            tiers.push((lc.threshold_tokens, card_spec!(lc)));
        }
        tiers
    }

    fn rates(&self) -> Rates {
        let mut tiers: Vec<PromptTier> =
            self.tier_specs().iter().map(|(above, card)| PromptTier { above_tokens: *above, prices: card.prices() }).collect();
        tiers.sort_by_key(|t| t.above_tokens);
        Rates {
            base: card(self.input_usd, self.output_usd, self.cache_write_5m_usd, self.cache_write_1h_usd, self.cache_read_usd),
            tiers,
            priority: self.priority.as_ref().map(CardSpec::prices),
            web_search: self.web_search_usd.unwrap_or(Decimal::ZERO),
            fast_factor: self.fast_factor.unwrap_or(Decimal::ONE),
            us_only_factor: self.us_only_factor.unwrap_or(Decimal::ONE),
        }
    }

    /// This spec with a change's fields in place of its own.
    fn changed(&self, change: &ChangeSpec) -> PriceSpec {
        let mut spec = self.clone();
        spec.input_usd = change.input_usd.unwrap_or(spec.input_usd);
        spec.output_usd = change.output_usd.unwrap_or(spec.output_usd);
        spec.cache_write_5m_usd = change.cache_write_5m_usd.or(spec.cache_write_5m_usd);
        spec.cache_write_1h_usd = change.cache_write_1h_usd.or(spec.cache_write_1h_usd);
        spec.cache_read_usd = change.cache_read_usd.or(spec.cache_read_usd);
        spec.web_search_usd = change.web_search_usd.or(spec.web_search_usd);
        if let Some(tiers) = &change.prompt_tiers {
            spec.prompt_tiers = tiers.clone();
            spec.long_context = None;
        }
        spec
    }
}

impl From<&PriceSpec> for ModelPrice {
    fn from(spec: &PriceSpec) -> ModelPrice {
        let mut changes: Vec<&ChangeSpec> = spec.changes.iter().collect();
        changes.sort_by_key(|c| c.from);
        // Changes accumulate: each applies on top of the ones before it.
        let mut current = spec.clone();
        let changes = changes
            .into_iter()
            .map(|change| {
                current = current.changed(change);
                (change.from, current.rates())
            })
            .collect();
        ModelPrice { base: spec.rates(), changes }
    }
}
