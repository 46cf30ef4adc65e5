//! The Anthropic Messages API `message` and its `usage` object. Claude Code
//! transcripts and logs of the API itself both carry them, so they are read
//! in one place: id, model, the token kinds, the 5m/1h cache-write split,
//! web searches and the tier.

use std::borrow::Cow;

use serde::Deserialize;

use crate::usage::{Modifiers, ServiceTier, Tokens};

/// The fields of a message that pricing needs.
#[derive(Deserialize)]
pub struct Message<'a> {
    #[serde(borrow)]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub model: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub usage: Option<Usage<'a>>,
}

#[derive(Deserialize, Default)]
pub struct Usage<'a> {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cache_creation_input_tokens: Option<u64>,
    pub cache_read_input_tokens: Option<u64>,
    pub cache_creation: Option<CacheCreation>,
    pub server_tool_use: Option<ServerToolUse>,
    #[serde(borrow)]
    pub service_tier: Option<Cow<'a, str>>,
    /// `"fast"` on fast mode; `"standard"`, null or absent otherwise.
    #[serde(borrow)]
    pub speed: Option<Cow<'a, str>>,
    /// `"us"` for US-only inference; `"global"`, `"not_available"`, `""`,
    /// null or absent cost nothing extra.
    #[serde(borrow)]
    pub inference_geo: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Clone, Copy, Default)]
pub struct CacheCreation {
    pub ephemeral_5m_input_tokens: Option<u64>,
    pub ephemeral_1h_input_tokens: Option<u64>,
}

#[derive(Deserialize, Default)]
pub struct ServerToolUse {
    pub web_search_requests: Option<u64>,
}

impl Usage<'_> {
    /// Token counts; without the `cache_creation` split every cache write
    /// is a 5m write, and what a split leaves out of
    /// `cache_creation_input_tokens` (gateways write the total and a 0/0
    /// split) is booked as 5m writes too.
    pub fn tokens(&self) -> Tokens {
        let cache_write = self.cache_creation_input_tokens.unwrap_or(0);
        let (w5, w1) = match self.cache_creation {
            Some(split) => {
                let (w5, w1) = (split.ephemeral_5m_input_tokens.unwrap_or(0), split.ephemeral_1h_input_tokens.unwrap_or(0));
                let unsplit = cache_write.saturating_sub(w5.saturating_add(w1));
                (w5.saturating_add(unsplit), w1)
            }
            None => (cache_write, 0),
        };
        Tokens {
            input: self.input_tokens.unwrap_or(0),
            output: self.output_tokens.unwrap_or(0),
            cache_write_5m: w5,
            cache_write_1h: w1,
            cache_read: self.cache_read_input_tokens.unwrap_or(0),
        }
    }

    pub fn web_searches(&self) -> Option<u64> {
        self.server_tool_use.as_ref().and_then(|s| s.web_search_requests)
    }

    /// `service_tier: "batch"` is billed at half price.
    pub fn is_batch(&self) -> bool {
        self.service_tier.as_deref() == Some("batch")
    }

    /// The billing modifiers the usage states: batch, fast mode, US-only
    /// inference.
    pub fn modifiers(&self) -> Modifiers {
        let is = |field: &Option<Cow<'_, str>>, value: &str| field.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(value));
        Modifiers {
            tier: if self.is_batch() { ServiceTier::Batch } else { ServiceTier::Standard },
            fast: is(&self.speed, "fast"),
            us_only: is(&self.inference_geo, "us"),
        }
    }
}
