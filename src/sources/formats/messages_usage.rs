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
    /// `speed: "fast"`; `"standard"`, null or absent otherwise.
    #[serde(default, rename = "speed", deserialize_with = "says_fast")]
    pub fast: bool,
    /// `inference_geo: "us"`; `"global"`, `"not_available"`, `""`, null or
    /// absent cost nothing extra.
    #[serde(default, rename = "inference_geo", deserialize_with = "says_us")]
    pub us_only: bool,
}

/// Read as flags, not kept as text: the usage object stays small and no
/// string is allocated. A number or boolean there is no flag, not an error.
fn says<'de, D: serde::Deserializer<'de>>(d: D, value: &'static str) -> Result<bool, D::Error> {
    struct Says(&'static str);
    impl<'de> serde::de::Visitor<'de> for Says {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string or null")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<bool, E> {
            Ok(v.eq_ignore_ascii_case(self.0))
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            d.deserialize_any(self)
        }
    }
    d.deserialize_option(Says(value))
}

fn says_fast<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    says(d, "fast")
}

fn says_us<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    says(d, "us")
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
        Modifiers { tier: if self.is_batch() { ServiceTier::Batch } else { ServiceTier::Standard }, fast: self.fast, us_only: self.us_only }
    }
}
