//! Google GenAI usage counts (`usageMetadata` of a `generateContent`
//! response, as Gemini CLI and Qwen Code record it) to the kinds we price.
//!
//! `promptTokenCount` includes `cachedContentTokenCount` (a cache read, not
//! input as well); `toolUsePromptTokenCount` is prompt sent on top of it;
//! `thoughtsTokenCount` is billed as output. Gemini counts thoughts outside
//! `candidatesTokenCount`, but clients that translate an OpenAI-compatible
//! reply (Qwen Code on DashScope) put `completion_tokens`, reasoning
//! included, into candidates: when adding thoughts would pass the stated
//! `totalTokenCount`, they are inside candidates already and not added again.

use crate::usage::Tokens;

/// One response's counts, as the log states them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GoogleUsage {
    pub prompt: u64,
    pub candidates: u64,
    pub cached: u64,
    pub thoughts: u64,
    pub tool_prompt: u64,
    pub total: Option<u64>,
}

impl GoogleUsage {
    pub fn tokens(&self) -> Tokens {
        let cache_read = self.cached.min(self.prompt);
        let input = (self.prompt - cache_read).saturating_add(self.tool_prompt);
        let with_thoughts = [self.prompt, self.candidates, self.thoughts, self.tool_prompt].into_iter().fold(0u64, u64::saturating_add);
        let thoughts_inside = self.thoughts > 0 && self.total.is_some_and(|total| total < with_thoughts);
        let output = if thoughts_inside { self.candidates } else { self.candidates.saturating_add(self.thoughts) };
        Tokens { input, output, cache_read, ..Tokens::default() }
    }

    /// Of the output, how many were thoughts (shown, not priced again).
    pub fn reasoning(&self) -> u64 {
        self.thoughts.min(self.tokens().output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(prompt: u64, candidates: u64, cached: u64, thoughts: u64, tool_prompt: u64, total: Option<u64>) -> GoogleUsage {
        GoogleUsage { prompt, candidates, cached, thoughts, tool_prompt, total }
    }

    #[test]
    fn kinds_by_case() {
        let t = |i, o, r| Tokens { input: i, output: o, cache_read: r, ..Tokens::default() };
        let cases = [
            // Gemini: thoughts outside candidates, total counts them.
            (usage(16890, 1530, 12288, 640, 96, Some(19156)), t(4698, 2170, 12288)),
            // No total stated: thoughts are billed as output.
            (usage(1000, 10, 0, 5, 0, None), t(1000, 15, 0)),
            // OpenAI-compatible: reasoning inside candidates, total = prompt + candidates.
            (usage(18234, 1422, 12800, 390, 0, Some(19656)), t(5434, 1422, 12800)),
            // More cached than prompt (a broken line): never below zero.
            (usage(100, 1, 500, 0, 0, None), t(0, 1, 100)),
            (usage(u64::MAX, u64::MAX, 0, u64::MAX, u64::MAX, None), t(u64::MAX, u64::MAX, 0)),
        ];
        for (u, want) in cases {
            assert_eq!(u.tokens(), want, "{u:?}");
        }
    }
}
