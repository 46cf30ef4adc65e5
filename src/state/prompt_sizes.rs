//! Prompt sizes per request (input + cache writes + cache reads), counted in
//! fixed buckets per (account, app, model): the histogram behind
//! `creditwatch_request_prompt_tokens`, so context growth is graphable.
//!
//! Part of the durable state (a fold of the journal like the other usage
//! totals), so the histogram survives restarts. A request is counted once,
//! with the prompt of its first booked copy (later copies of a Claude Code
//! response grow only their output).

use serde::{Deserialize, Serialize};

/// Upper bounds of the buckets, in tokens; past the last one: `+Inf`. Fixed
/// and few, so every (account, app, model) adds a bounded number of series.
pub const BUCKETS: [u64; 11] = [1_000, 5_000, 10_000, 20_000, 50_000, 100_000, 150_000, 200_000, 300_000, 500_000, 1_000_000];

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PromptSizes {
    /// Requests per bucket (not cumulative), the last one past every bound.
    pub counts: Vec<u64>,
    pub sum: u64,
}

impl PromptSizes {
    pub fn observe(&mut self, tokens: u64) {
        if self.counts.len() != BUCKETS.len() + 1 {
            self.counts.resize(BUCKETS.len() + 1, 0);
        }
        let i = BUCKETS.iter().position(|b| tokens <= *b).unwrap_or(BUCKETS.len());
        self.counts[i] += 1;
        self.sum = self.sum.saturating_add(tokens);
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// `(upper bound, requests at or below it)` for each bound, as Prometheus
    /// histograms count.
    pub fn cumulative(&self) -> Vec<(u64, u64)> {
        let mut total = 0;
        BUCKETS
            .iter()
            .enumerate()
            .map(|(i, b)| {
                total += self.counts.get(i).copied().unwrap_or(0);
                (*b, total)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_count_each_request_once_at_its_bound() {
        let mut h = PromptSizes::default();
        for tokens in [0, 1_000, 1_001, 200_000, 200_001, 2_000_000] {
            h.observe(tokens);
        }
        assert_eq!(h.count(), 6);
        assert_eq!(h.sum, 2_402_002);
        let c = h.cumulative();
        // Table: bound, requests at or below it.
        for (bound, want) in [(1_000, 2), (5_000, 3), (150_000, 3), (200_000, 4), (300_000, 5), (1_000_000, 5)] {
            assert_eq!(c.iter().find(|(b, _)| *b == bound).map(|(_, n)| *n), Some(want), "le {bound}");
        }
    }
}
