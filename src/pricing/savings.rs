//! What the prompt cache saved, priced by the same table as the cost: the
//! same request with its cache reads billed as fresh input, minus its price.
//!
//! Pure. The daemon books it beside the cost (the metric
//! `creditwatch_cache_savings_usd_total`) and `advise` reports it. Moving
//! reads to input keeps the prompt size, so one card (long context, prompt
//! tier) prices both sides and the difference is exact.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::PriceTable;
use crate::usage::{Modifiers, Tokens};

/// The dollars the cache reads of one request saved against the input price;
/// zero for a model with no price or a request without reads.
pub fn cache_savings(table: &PriceTable, model: &str, tokens: &Tokens, modifiers: &Modifiers, at: DateTime<Utc>) -> Decimal {
    if tokens.cache_read == 0 {
        return Decimal::ZERO;
    }
    let Some((_, card, _)) = table.lookup(model) else {
        return Decimal::ZERO;
    };
    let uncached = Tokens { input: tokens.input.saturating_add(tokens.cache_read), cache_read: 0, ..*tokens };
    (card.cost(&uncached, 0, modifiers, at) - card.cost(tokens, 0, modifiers, at)).max(Decimal::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::money;

    fn tokens(input: u64, output: u64, w5: u64, w1: u64, read: u64) -> Tokens {
        Tokens { input, output, cache_write_5m: w5, cache_write_1h: w1, cache_read: read }
    }

    #[test]
    fn savings_are_the_reads_at_input_minus_read_price() {
        let table = PriceTable::builtin();
        // Table: model, tokens (in, out, 5m, 1h, read), batch, exact savings.
        let cases = [
            // Opus 4.6: 1M reads at $5 input instead of $0.50.
            ("claude-opus-4-6", tokens(0, 0, 0, 0, 1_000_000), false, "4.5"),
            ("claude-opus-4-6", tokens(10, 500, 100, 0, 0), false, "0"),
            // Sonnet 4.5 past 200k prompt tokens: both sides at the long-context card ($6 - $0.60).
            ("claude-sonnet-4-5", tokens(1_000, 0, 0, 0, 250_000), false, "1.35"),
            ("claude-sonnet-4-5", tokens(1_000, 0, 0, 0, 100_000), false, "0.27"),
            // Batch halves both.
            ("claude-haiku-4-5", tokens(0, 0, 0, 0, 1_000_000), true, "0.45"),
            ("no-such-model", tokens(0, 0, 0, 0, 1_000_000), false, "0"),
        ];
        for (model, t, batch, want) in cases {
            let modifiers = Modifiers {
                tier: if batch { crate::usage::ServiceTier::Batch } else { crate::usage::ServiceTier::Standard },
                ..Modifiers::default()
            };
            let at = "2026-11-01T00:00:00Z".parse().unwrap();
            assert_eq!(money::format(cache_savings(&table, model, &t, &modifiers, at)), want, "{model} {t:?}");
        }
    }
}
