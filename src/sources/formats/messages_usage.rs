//! The Anthropic Messages API `message` and its `usage` object. Claude Code
//! transcripts and logs of the API itself both carry them, so they are read
//! in one place: id, model, the token kinds, the 5m/1h cache-write split,
//! web searches and the billing modifiers (tier, speed, inference geo).
//!
//! Invariant: the cache writes booked are `cache_creation_input_tokens` (or
//! the split's sum when that is larger); the split's 1h part is priced as 1h
//! and every other write as 5m, so a split that sums below the total (0/0
//! under a non-zero total, as gateways write) loses no write.

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
    /// Some gateways put the tier on the message, not in its usage.
    #[serde(borrow, default, deserialize_with = "lenient_text")]
    pub service_tier: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
pub struct Usage<'a> {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cache_creation_input_tokens: Option<u64>,
    pub cache_read_input_tokens: Option<u64>,
    pub cache_creation: Option<CacheCreation>,
    pub server_tool_use: Option<ServerToolUse>,
    /// Claude Code 2.1.3xx: `output_tokens_details.thinking_tokens`, a part
    /// of `output_tokens` (shown as reasoning, never added again).
    pub output_tokens_details: Option<OutputDetails>,
    #[serde(borrow, default, deserialize_with = "lenient_text")]
    pub service_tier: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient_text")]
    pub speed: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "lenient_text")]
    pub inference_geo: Option<Cow<'a, str>>,
}

/// A modifier word, borrowed from the line when it can be. The format is
/// internal to Claude Code and changes: a number, boolean or object where a
/// word is expected is no modifier, not a line error.
fn lenient_text<'de: 'a, 'a, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Cow<'a, str>>, D::Error> {
    struct Text;
    impl<'de> serde::de::Visitor<'de> for Text {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string or null")
        }
        fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(v)))
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v.to_string())))
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_option(Text)
}

#[derive(Deserialize, Clone, Copy, Default)]
#[serde(default)]
pub struct CacheCreation {
    pub ephemeral_5m_input_tokens: Count,
    pub ephemeral_1h_input_tokens: Count,
}

#[derive(Deserialize, Clone, Copy, Default)]
#[serde(default)]
pub struct OutputDetails {
    pub thinking_tokens: Count,
}

#[derive(Deserialize, Clone, Copy, Default)]
#[serde(default)]
pub struct ServerToolUse {
    pub web_search_requests: Count,
}

/// A token count that may be absent (or `null`), in 8 bytes where an
/// `Option<u64>` takes 16: usage objects are moved while they are read, so
/// their size shows in the parsers' speed. `u64::MAX` itself reads as
/// `u64::MAX - 1`, which is refused as implausible like any huge count.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Count(u64);

impl Count {
    const ABSENT: u64 = u64::MAX;

    pub fn get(self) -> Option<u64> {
        (self.0 != Count::ABSENT).then_some(self.0)
    }
}

impl Default for Count {
    fn default() -> Count {
        Count(Count::ABSENT)
    }
}

impl From<Option<u64>> for Count {
    fn from(n: Option<u64>) -> Count {
        Count(n.map_or(Count::ABSENT, |n| n.min(Count::ABSENT - 1)))
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Count, D::Error> {
        Option::<u64>::deserialize(d).map(Count::from)
    }
}

/// Cache writes as (5m, 1h) from a total and an optional split: the total
/// (or the split's sum, if larger) is what was written; the split's 1h part
/// is 1h writes, the rest 5m.
pub fn split_writes(total: Option<u64>, split: Option<CacheCreation>) -> (u64, u64) {
    let (w5, w1) =
        split.map_or((0, 0), |s| (s.ephemeral_5m_input_tokens.get().unwrap_or(0), s.ephemeral_1h_input_tokens.get().unwrap_or(0)));
    let total = total.unwrap_or(0).max(w5.saturating_add(w1));
    (total - w1.min(total), w1.min(total))
}

impl Usage<'_> {
    /// Token counts; cache writes by `split_writes`.
    pub fn tokens(&self) -> Tokens {
        let (w5, w1) = split_writes(self.cache_creation_input_tokens, self.cache_creation);
        Tokens {
            input: self.input_tokens.unwrap_or(0),
            output: self.output_tokens.unwrap_or(0),
            cache_write_5m: w5,
            cache_write_1h: w1,
            cache_read: self.cache_read_input_tokens.unwrap_or(0),
        }
    }

    /// Of the output, the thinking tokens (at most the output).
    pub fn reasoning(&self) -> u64 {
        let thinking = self.output_tokens_details.and_then(|d| d.thinking_tokens.get()).unwrap_or(0);
        thinking.min(self.output_tokens.unwrap_or(0))
    }

    pub fn web_searches(&self) -> Option<u64> {
        self.server_tool_use.and_then(|s| s.web_search_requests.get())
    }

    /// `service_tier: "batch"` is billed at half price.
    pub fn is_batch(&self) -> bool {
        self.service_tier.as_deref() == Some("batch")
    }

    /// The modifiers this usage states; `message_tier` is a `service_tier`
    /// found beside the usage (some gateways put it on the message).
    pub fn modifiers(&self, message_tier: Option<&str>) -> Modifiers {
        modifiers(self.service_tier.as_deref().or(message_tier), self.speed.as_deref(), self.inference_geo.as_deref())
    }
}

/// Billing modifiers from the words APIs use: `service_tier` (Anthropic
/// `standard`/`priority`/`batch`, OpenAI `default`/`flex`/`priority`/`scale`),
/// `speed: "fast"`, `inference_geo: "us"`. Anything else (`""`,
/// `not_available`, `auto`, null) is the standard case.
pub fn modifiers(tier: Option<&str>, speed: Option<&str>, geo: Option<&str>) -> Modifiers {
    let is = |value: Option<&str>, word: &str| value.is_some_and(|v| v.trim().eq_ignore_ascii_case(word));
    let tier = match () {
        _ if is(tier, "batch") => ServiceTier::Batch,
        _ if is(tier, "flex") => ServiceTier::Flex,
        _ if is(tier, "priority") => ServiceTier::Priority,
        _ => ServiceTier::Standard,
    };
    Modifiers { tier, fast: is(speed, "fast"), us_only: is(geo, "us") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_writes_split_with_the_rest_as_5m() {
        let split = |w5: Option<u64>, w1: Option<u64>| {
            Some(CacheCreation { ephemeral_5m_input_tokens: w5.into(), ephemeral_1h_input_tokens: w1.into() })
        };
        // Table: total, split, (5m, 1h).
        let cases = [
            (Some(300), split(Some(100), Some(200)), (100, 200)),
            (Some(300), None, (300, 0)),
            // A split below the total (gateways write 0/0): the rest is 5m.
            (Some(300), split(Some(0), Some(0)), (300, 0)),
            (Some(300), split(None, Some(120)), (180, 120)),
            (Some(300), split(Some(10), Some(120)), (180, 120)),
            // A split above the total: the split is what was written.
            (Some(100), split(Some(50), Some(200)), (50, 200)),
            (None, split(Some(7), Some(3)), (7, 3)),
            (None, None, (0, 0)),
            // No overflow; a split count reads at most u64::MAX - 1 (`Count`).
            (Some(u64::MAX), split(Some(u64::MAX), Some(u64::MAX)), (1, u64::MAX - 1)),
        ];
        for (total, split, want) in cases {
            assert_eq!(split_writes(total, split), want, "{total:?}");
        }
    }

    #[test]
    fn modifiers_from_the_usage_words() {
        let m = |tier, fast, us_only| Modifiers { tier, fast, us_only };
        let cases = [
            ((Some("batch"), None, None), m(ServiceTier::Batch, false, false)),
            ((Some("flex"), None, None), m(ServiceTier::Flex, false, false)),
            ((Some("priority"), Some("fast"), Some("us")), m(ServiceTier::Priority, true, true)),
            ((Some("standard"), Some("standard"), Some("global")), m(ServiceTier::Standard, false, false)),
            ((Some("default"), Some(""), Some("not_available")), m(ServiceTier::Standard, false, false)),
            ((Some("scale"), Some("FAST"), Some("US")), m(ServiceTier::Standard, true, true)),
            ((None, None, None), Modifiers::default()),
        ];
        for ((tier, speed, geo), want) in cases {
            assert_eq!(modifiers(tier, speed, geo), want, "{tier:?} {speed:?} {geo:?}");
        }
        let usage: Usage = serde_json::from_str(r#"{"input_tokens":1,"speed":"fast","inference_geo":null}"#).unwrap();
        assert_eq!(usage.modifiers(Some("batch")), m(ServiceTier::Batch, true, false));
    }
}
