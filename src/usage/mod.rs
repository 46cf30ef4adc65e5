//! The usage event: what every log format is parsed into, and what pricing,
//! the ledger and the metrics consume.
//!
//! A `UsageEvent` is one billed API request as seen in one log line. The same
//! request may be seen several times (streamed copies, resumed sessions); its
//! `EventId` is what de-duplication keys on.

pub mod money;
pub mod plan;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Token counts of one request, by the kinds that are priced differently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
    pub cache_write_5m: u64,
    pub cache_write_1h: u64,
    pub cache_read: u64,
}

/// The token kinds in the order metrics and reports list them; the names are
/// the `kind` label values of `creditwatch_tokens_total`.
pub const TOKEN_KINDS: [&str; 5] = ["input", "output", "cache_write_5m", "cache_write_1h", "cache_read"];

impl Tokens {
    /// Saturating, like `prompt_side` and `add`: counts come from log lines,
    /// and a line may claim any u64.
    pub fn total(&self) -> u64 {
        self.by_kind().into_iter().fold(0, u64::saturating_add)
    }

    /// Tokens that count towards a model's long-context threshold.
    pub fn prompt_side(&self) -> u64 {
        [self.input, self.cache_write_5m, self.cache_write_1h, self.cache_read].into_iter().fold(0, u64::saturating_add)
    }

    /// Values in `TOKEN_KINDS` order.
    pub fn by_kind(&self) -> [u64; 5] {
        [self.input, self.output, self.cache_write_5m, self.cache_write_1h, self.cache_read]
    }

    /// Kind-wise maximum: the booked view of two copies of one request.
    pub fn max(&self, other: &Tokens) -> Tokens {
        Tokens {
            input: self.input.max(other.input),
            output: self.output.max(other.output),
            cache_write_5m: self.cache_write_5m.max(other.cache_write_5m),
            cache_write_1h: self.cache_write_1h.max(other.cache_write_1h),
            cache_read: self.cache_read.max(other.cache_read),
        }
    }

    /// Two copies of one request merged into its booked view: input, output
    /// and cache reads at the larger count; cache writes at the larger total,
    /// the 1h part taken from the copy that splits it (a copy without the
    /// split has all its writes as 5m), the rest as 5m writes. Commutative.
    pub fn merged(&self, other: &Tokens) -> Tokens {
        let writes =
            (self.cache_write_5m.saturating_add(self.cache_write_1h)).max(other.cache_write_5m.saturating_add(other.cache_write_1h));
        let one_hour = self.cache_write_1h.max(other.cache_write_1h).min(writes);
        Tokens {
            input: self.input.max(other.input),
            output: self.output.max(other.output),
            cache_write_5m: writes - one_hour,
            cache_write_1h: one_hour,
            cache_read: self.cache_read.max(other.cache_read),
        }
    }

    /// Kind-wise `self - earlier`, saturating at zero.
    pub fn minus(&self, earlier: &Tokens) -> Tokens {
        Tokens {
            input: self.input.saturating_sub(earlier.input),
            output: self.output.saturating_sub(earlier.output),
            cache_write_5m: self.cache_write_5m.saturating_sub(earlier.cache_write_5m),
            cache_write_1h: self.cache_write_1h.saturating_sub(earlier.cache_write_1h),
            cache_read: self.cache_read.saturating_sub(earlier.cache_read),
        }
    }

    /// Kind-wise sum, saturating at u64::MAX.
    pub fn add(&mut self, other: &Tokens) {
        self.input = self.input.saturating_add(other.input);
        self.output = self.output.saturating_add(other.output);
        self.cache_write_5m = self.cache_write_5m.saturating_add(other.cache_write_5m);
        self.cache_write_1h = self.cache_write_1h.saturating_add(other.cache_write_1h);
        self.cache_read = self.cache_read.saturating_add(other.cache_read);
    }
}

/// The stable identity of one billed request, hashed so the seen-id index
/// stays small and can be persisted (xxh3-128 is stable across releases,
/// unlike std's hasher).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EventId(pub u128);

impl EventId {
    /// Hashes the parts of an id, with a separator byte so ("ab","c") and
    /// ("a","bc") differ. The format name is part of the key so two formats
    /// never share ids by accident.
    pub fn from_parts(format: &str, parts: &[&str]) -> EventId {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        hasher.update(format.as_bytes());
        for part in parts {
            hasher.update(&[0x1f]);
            hasher.update(part.as_bytes());
        }
        EventId(hasher.digest128())
    }
}

/// The service tier a request ran on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ServiceTier {
    #[default]
    Standard,
    /// Batch APIs: half price.
    Batch,
    /// OpenAI `flex`: billed at batch rates.
    Flex,
    /// OpenAI `priority` (and `fast`): the priority card where one is listed.
    Priority,
}

/// Billing modifiers a log line states beside the token counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Modifiers {
    pub tier: ServiceTier,
    /// `usage.speed: "fast"`: every rate times the model's fast factor.
    pub fast: bool,
    /// `usage.inference_geo: "us"`: US-only inference.
    pub us_only: bool,
}

impl Modifiers {
    pub fn is_batch(&self) -> bool {
        self.tier == ServiceTier::Batch
    }
}

/// One request as read from a log line, before pricing.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageEvent {
    pub id: EventId,
    pub timestamp: DateTime<Utc>,
    pub model: String,
    pub tokens: Tokens,
    /// Of `tokens.output`, how many were reasoning (Codex
    /// `reasoning_output_tokens`, Gemini `thoughts`): shown, not priced again.
    pub reasoning_tokens: u64,
    /// Server-side web searches, priced per search.
    pub web_searches: u64,
    /// What the request's usage says about how it is billed: service tier,
    /// fast mode, US-only inference (priced by `crate::pricing`).
    pub modifiers: Modifiers,
    /// A cost the log itself states (LiteLLM `response_cost`, OpenRouter
    /// `usage.cost`): taken as is instead of the price table.
    pub stated_cost: Option<Decimal>,
    /// App named by the line itself, when the format carries one.
    pub app: Option<String>,
    /// Account named by the line itself (field maps only).
    pub account: Option<String>,
    /// Session (Claude Code `sessionId`), for `report --by session`.
    pub session: Option<String>,
    /// The person behind the request (OTLP `user.email`, a source's `user`).
    pub user: Option<String>,
    /// A request that is billed nothing (synthetic or API-error lines); it is
    /// still an event so dedup and counts see it, but costs $0 and no tokens.
    pub free: bool,
    /// The id an earlier release gave this request (Claude Code before its
    /// id became the `requestId`): the seen-id index looks it up when `id`
    /// is new, so a state directory of that release books nothing twice.
    pub earlier_id: Option<EventId>,
    /// GitHub Copilot premium requests this request used (fractional: a
    /// 0.33x model); zero for every other agent. Booked against the
    /// account's `premium_requests` allowance (see `crate::ledger`).
    pub premium_requests: Decimal,
}

impl UsageEvent {
    pub fn new(id: EventId, timestamp: DateTime<Utc>, model: String, tokens: Tokens) -> UsageEvent {
        UsageEvent {
            id,
            timestamp,
            model,
            tokens,
            reasoning_tokens: 0,
            web_searches: 0,
            modifiers: Modifiers::default(),
            stated_cost: None,
            app: None,
            account: None,
            session: None,
            user: None,
            free: false,
            earlier_id: None,
            premium_requests: Decimal::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Token counts come from log lines: sums saturate instead of
    /// overflowing (a panic with overflow checks, a wrong sum without).
    #[test]
    fn sums_of_huge_counts_saturate() {
        let huge = Tokens { input: u64::MAX, output: 7, cache_write_5m: 0, cache_write_1h: 0, cache_read: 1 };
        assert_eq!(huge.prompt_side(), u64::MAX);
        assert_eq!(huge.total(), u64::MAX);
        let mut sum = huge;
        sum.add(&huge);
        assert_eq!(sum, Tokens { input: u64::MAX, output: 14, cache_write_5m: 0, cache_write_1h: 0, cache_read: 2 });
        let small = Tokens { input: 1, output: 2, cache_write_5m: 3, cache_write_1h: 4, cache_read: 5 };
        assert_eq!((small.prompt_side(), small.total()), (13, 15));
    }

    /// Copies of one request: a streaming placeholder transcript line, the
    /// OTLP event with the final counts (cache writes as one total), and the
    /// transcript's final line (with the 5m/1h split).
    #[test]
    fn copies_merge_kind_wise_and_cache_writes_as_a_total() {
        let t = |input, output, w5, w1, read| Tokens { input, output, cache_write_5m: w5, cache_write_1h: w1, cache_read: read };
        let cases = [
            // placeholder + event: the event's final counts, its writes as 5m
            (t(1, 12, 0, 0, 0), t(3337, 3893, 6159, 0, 0), t(3337, 3893, 6159, 0, 0)),
            // transcript split 1000/5000 + event total 6159: 1h kept, the rest 5m
            (t(3337, 40, 1000, 5000, 10), t(3337, 3893, 6159, 0, 10), t(3337, 3893, 1159, 5000, 10)),
            // the transcript's total is the larger: it wins whole
            (t(5, 5, 100, 300, 0), t(5, 5, 350, 0, 0), t(5, 5, 100, 300, 0)),
            // same copy twice
            (t(1, 2, 3, 4, 5), t(1, 2, 3, 4, 5), t(1, 2, 3, 4, 5)),
        ];
        for (a, b, want) in cases {
            assert_eq!(a.merged(&b), want, "{a:?} + {b:?}");
            assert_eq!(b.merged(&a), want, "commutative: {b:?} + {a:?}");
        }
    }
}
