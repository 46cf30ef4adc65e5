//! The OpenAI-compatible `usage` object as proxies really write it: OpenAI,
//! OpenRouter, LiteLLM (also for Claude and Gemini behind it), the Responses
//! API. Read by the `openai` and `litellm` formats.
//!
//! Cache counts come in two conventions. OpenAI's `prompt_tokens_details`
//! (`cached_tokens`, LiteLLM's `cache_creation_tokens`, OpenRouter's
//! `cache_write_tokens`) and Anthropic's top-level `cache_read_input_tokens`
//! / `cache_creation_input_tokens`. Whether `prompt_tokens` already contains
//! them differs by proxy and version (LiteLLM's chat path adds both, its
//! `anthropic_messages` path neither, while still filling the details), so
//! the rule is read from the numbers themselves (`split_prompt`):
//!
//! 1. With `prompt_tokens_details.text_tokens` (the uncached text), a cache
//!    kind is part of `prompt_tokens` when `text + reads (+ writes) <=
//!    prompt_tokens`.
//! 2. Else, when `total_tokens` is `prompt + completion + reads + writes`,
//!    the proxy counted them outside `prompt_tokens`: none is part of it.
//! 3. Else a kind is part of `prompt_tokens` when `prompt_tokens` is large
//!    enough to hold it (reads first, then writes).
//!
//! Input is `prompt_tokens` minus what it contains, never below zero. Cache
//! writes split into 5m/1h by `cache_creation_token_details` (or a top-level
//! `cache_creation`), the rest of the total as 5m.
//!
//! Output: `completion_tokens` (reasoning included, as OpenAI counts it).
//! When it is 0 but `completion_tokens_details.reasoning_tokens` is not and
//! `total_tokens` covers them (Gemini through a proxy), the reasoning tokens
//! are the output.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::messages_usage::{self, split_writes, CacheCreation, Count, ServerToolUse};
use crate::usage::{Modifiers, Tokens};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Usage<'a> {
    pub prompt_tokens: Count,
    pub completion_tokens: Count,
    pub total_tokens: Count,
    pub prompt_tokens_details: Option<PromptDetails>,
    pub completion_tokens_details: Option<CompletionDetails>,
    /// Responses API names.
    pub input_tokens: Count,
    pub output_tokens: Count,
    pub input_tokens_details: Option<PromptDetails>,
    pub output_tokens_details: Option<CompletionDetails>,
    /// Anthropic names, as LiteLLM passes them through.
    pub cache_read_input_tokens: Count,
    pub cache_creation_input_tokens: Count,
    pub cache_creation: Option<CacheCreation>,
    pub server_tool_use: Option<ServerToolUse>,
    /// OpenRouter: what it charged.
    #[serde(borrow)]
    pub cost: Option<&'a RawValue>,
    #[serde(borrow)]
    pub service_tier: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub speed: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub inference_geo: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(default)]
pub struct PromptDetails {
    pub cached_tokens: Count,
    pub text_tokens: Count,
    pub cache_creation_tokens: Count,
    pub cache_write_tokens: Count,
    pub cache_creation_token_details: Option<CacheCreation>,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(default)]
pub struct CompletionDetails {
    pub reasoning_tokens: Count,
}

/// The prompt side as counted: total prompt tokens, the uncached text part
/// when stated, cache reads and writes, and the total of everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prompt {
    pub prompt: u64,
    pub text: Option<u64>,
    pub reads: u64,
    pub writes: u64,
    pub completion: u64,
    pub total: Option<u64>,
}

/// How many of `prompt` are uncached input, by the rule in the module doc.
pub fn split_prompt(p: Prompt) -> u64 {
    let excluded_by_total = p.total.is_some_and(|t| {
        p.reads.saturating_add(p.writes) > 0 && t == p.prompt.saturating_add(p.completion).saturating_add(p.reads).saturating_add(p.writes)
    });
    if p.text.is_none() && excluded_by_total {
        return p.prompt;
    }
    // What the prompt must hold beside the kinds found in it so far.
    let mut held = p.text.unwrap_or(0);
    let mut contained = 0u64;
    for kind in [p.reads, p.writes] {
        if let Some(with) = held.checked_add(kind).filter(|&h| kind > 0 && h <= p.prompt) {
            held = with;
            contained += kind; // <= held - text <= prompt
        }
    }
    p.prompt - contained
}

impl Usage<'_> {
    /// Token counts by the rules in the module doc.
    pub fn tokens(&self) -> Tokens {
        let chat = self.prompt_tokens.get().is_some() || self.completion_tokens.get().is_some();
        let (prompt, completion, details, out_details) = match chat {
            true => (self.prompt_tokens, self.completion_tokens, self.prompt_tokens_details, self.completion_tokens_details),
            false => (self.input_tokens, self.output_tokens, self.input_tokens_details, self.output_tokens_details),
        };
        let d = details.unwrap_or_default();
        let (prompt, completion) = (prompt.get().unwrap_or(0), completion.get().unwrap_or(0));
        let reads = d.cached_tokens.get().unwrap_or(0).max(self.cache_read_input_tokens.get().unwrap_or(0));
        let written =
            [d.cache_creation_tokens, d.cache_write_tokens, self.cache_creation_input_tokens].into_iter().filter_map(Count::get).max();
        let (w5, w1) = split_writes(written, d.cache_creation_token_details.or(self.cache_creation));
        let input = split_prompt(Prompt {
            prompt,
            text: d.text_tokens.get(),
            reads,
            writes: w5.saturating_add(w1),
            completion,
            total: self.total_tokens.get(),
        });
        let reasoning = out_details.and_then(|o| o.reasoning_tokens.get()).unwrap_or(0);
        let reasoning_outside =
            completion == 0 && reasoning > 0 && self.total_tokens.get().is_some_and(|t| t >= prompt.saturating_add(reasoning));
        Tokens {
            input,
            output: if reasoning_outside { reasoning } else { completion },
            cache_write_5m: w5,
            cache_write_1h: w1,
            cache_read: reads,
        }
    }

    pub fn web_searches(&self) -> u64 {
        self.server_tool_use.and_then(|s| s.web_search_requests.get()).unwrap_or(0)
    }

    /// The modifiers the usage states; `response_tier` is the response's own
    /// `service_tier` (OpenAI puts it beside the usage, not in it).
    pub fn modifiers(&self, response_tier: Option<&str>) -> Modifiers {
        messages_usage::modifiers(self.service_tier.as_deref().or(response_tier), self.speed.as_deref(), self.inference_geo.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(input: u64, output: u64, w5: u64, w1: u64, read: u64) -> Tokens {
        Tokens { input, output, cache_write_5m: w5, cache_write_1h: w1, cache_read: read }
    }

    /// Table: a usage object as a proxy wrote it, the tokens booked.
    #[test]
    fn usage_objects_as_proxies_write_them() {
        let cases = [
            // OpenAI: cached tokens are part of prompt_tokens.
            (
                r#"{"prompt_tokens":46022,"completion_tokens":2512,"total_tokens":48534,"prompt_tokens_details":{"cached_tokens":16297},"completion_tokens_details":{"reasoning_tokens":1006}}"#,
                tokens(29725, 2512, 0, 0, 16297),
            ),
            // LiteLLM chat path, Claude writing the cache: both conventions, text_tokens says the rest.
            (
                r#"{"completion_tokens":120,"prompt_tokens":15635,"total_tokens":15755,"prompt_tokens_details":{"cached_tokens":0,"text_tokens":11,"cache_creation_tokens":15624,"cache_creation_token_details":{"ephemeral_5m_input_tokens":15624,"ephemeral_1h_input_tokens":0}},"cache_creation_input_tokens":15624,"cache_read_input_tokens":0}"#,
                tokens(11, 120, 15624, 0, 0),
            ),
            // LiteLLM chat path reading the cache, no text_tokens: prompt holds the reads.
            (
                r#"{"completion_tokens":250,"prompt_tokens":17111,"total_tokens":17361,"prompt_tokens_details":{"cached_tokens":17100},"cache_creation_input_tokens":0,"cache_read_input_tokens":17100}"#,
                tokens(11, 250, 0, 0, 17100),
            ),
            // LiteLLM anthropic_messages path: prompt_tokens excludes the cache, details still name it.
            (
                r#"{"completion_tokens":45,"prompt_tokens":12,"total_tokens":57,"prompt_tokens_details":{"cached_tokens":2495,"cache_creation_tokens":0},"cache_creation_input_tokens":0,"cache_read_input_tokens":2495}"#,
                tokens(12, 45, 0, 0, 2495),
            ),
            // OpenRouter: cache writes inside prompt_tokens.
            (
                r#"{"completion_tokens":2,"completion_tokens_details":{"reasoning_tokens":0},"cost":0.95,"cost_details":{"upstream_inference_cost":19},"prompt_tokens":194,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":100,"audio_tokens":0},"total_tokens":196}"#,
                tokens(94, 2, 100, 0, 0),
            ),
            // A gateway adding the cache to the total only: prompt_tokens is uncached.
            (
                r#"{"prompt_tokens":3000,"completion_tokens":10,"total_tokens":5510,"cache_read_input_tokens":2000,"cache_creation_input_tokens":500}"#,
                tokens(3000, 10, 500, 0, 2000),
            ),
            // A 5m/1h split in the details; audio stays input.
            (
                r#"{"prompt_tokens":200,"completion_tokens":50,"total_tokens":250,"prompt_tokens_details":{"cached_tokens":80,"cached_audio_tokens":40,"audio_tokens":40,"cache_creation_tokens":30,"cache_creation_token_details":{"ephemeral_5m_input_tokens":10,"ephemeral_1h_input_tokens":20}},"completion_tokens_details":{"reasoning_tokens":10}}"#,
                tokens(90, 50, 10, 20, 80),
            ),
            // A split below the total: the rest is 5m.
            (
                r#"{"prompt_tokens":900,"completion_tokens":5,"prompt_tokens_details":{"cache_creation_tokens":500,"cache_creation_token_details":{"ephemeral_1h_input_tokens":200}}}"#,
                tokens(400, 5, 300, 200, 0),
            ),
            // Gemini through a proxy: reasoning outside completion_tokens, the total says so.
            (
                r#"{"prompt_tokens":10,"completion_tokens":0,"total_tokens":110,"completion_tokens_details":{"reasoning_tokens":100}}"#,
                tokens(10, 100, 0, 0, 0),
            ),
            // ...but not when the total does not cover them.
            (
                r#"{"prompt_tokens":10,"completion_tokens":0,"total_tokens":10,"completion_tokens_details":{"reasoning_tokens":100}}"#,
                tokens(10, 0, 0, 0, 0),
            ),
            // Responses API: input_tokens include the cached ones.
            (
                r#"{"input_tokens":50,"input_tokens_details":{"cached_tokens":20},"output_tokens":9,"output_tokens_details":{"reasoning_tokens":3},"total_tokens":59}"#,
                tokens(30, 9, 0, 0, 20),
            ),
            // More cached than prompt: input never goes below zero.
            (r#"{"prompt_tokens":5,"prompt_tokens_details":{"cached_tokens":6}}"#, tokens(5, 0, 0, 0, 6)),
            (r#"{"prompt_tokens":null,"completion_tokens":3,"prompt_tokens_details":null}"#, tokens(0, 3, 0, 0, 0)),
        ];
        for (usage, want) in cases {
            let u: Usage = serde_json::from_str(usage).unwrap();
            assert_eq!(u.tokens(), want, "{usage}");
        }
    }

    #[test]
    fn the_prompt_rule() {
        let p = |prompt, text, reads, writes, completion, total| Prompt { prompt, text, reads, writes, completion, total };
        let cases = [
            (p(100, None, 0, 0, 1, None), 100),
            (p(100, None, 60, 30, 1, None), 10),
            (p(100, None, 60, 50, 1, None), 40),
            (p(100, None, 60, 30, 1, Some(191)), 100),
            (p(100, Some(10), 60, 30, 1, Some(191)), 10),
            (p(100, Some(100), 60, 30, 1, None), 100),
            (p(100, Some(40), 60, 30, 1, None), 40),
            (p(0, None, 60, 30, 1, None), 0),
            (p(u64::MAX, Some(u64::MAX), u64::MAX, u64::MAX, u64::MAX, Some(u64::MAX)), u64::MAX),
            (p(u64::MAX, None, u64::MAX, u64::MAX, u64::MAX, None), 0),
        ];
        for (prompt, want) in cases {
            assert_eq!(split_prompt(prompt), want, "{prompt:?}");
        }
    }
}
