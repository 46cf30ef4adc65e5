//! Model ids as logs write them, to the keys of the price table.
//!
//! Gateways and clouds name one model many ways: `claude-opus-4-6`,
//! `claude-opus-4-6-20260205`, `anthropic/claude-opus-4.6`,
//! `us.anthropic.claude-opus-4-6-v1:0`, `claude-opus-4-6@20260205`,
//! `claude-opus-4-6[1m]`. `candidates` lists the keys worth trying, most
//! specific first; the caller tries the id itself before any of them, so an
//! exact key always wins over a normalised one. Pure and allocation-free
//! except for dotted Claude versions (`claude-opus-4.8` -> `claude-opus-4-8`).

use std::borrow::Cow;

/// The keys to try for `model` after the id itself, in order: without the
/// platform wrapping (prefix, Bedrock, Vertex, `[1m]`), with Claude's dotted
/// version dashed, without `-latest`, without a date suffix. Duplicates are
/// left out.
pub fn candidates(model: &str) -> Vec<Cow<'_, str>> {
    fn push<'a>(model: &str, c: Cow<'a, str>, out: &mut Vec<Cow<'a, str>>) {
        if c != model && !c.is_empty() && !out.contains(&c) {
            out.push(c);
        }
    }
    let mut out: Vec<Cow<'_, str>> = Vec::with_capacity(3);
    let bare = unwrap_platform(model);
    push(model, Cow::Borrowed(bare), &mut out);
    if bare.starts_with("claude") && bare.contains('.') {
        let dashed = bare.replace('.', "-");
        let stripped = strip_suffixes(&dashed).map(str::to_string);
        push(model, Cow::Owned(dashed), &mut out);
        if let Some(stripped) = stripped {
            push(model, Cow::Owned(stripped), &mut out);
        }
    } else if let Some(stripped) = strip_suffixes(bare) {
        push(model, Cow::Borrowed(stripped), &mut out);
    }
    out
}

/// An Ollama model id: `name:tag` (`qwen3:8b`, `kimi-k2.5:cloud`,
/// `gpt-oss:120b-cloud`, `hf.co/user/repo:Q4_K_M`), as Ollama names models
/// (https://github.com/ollama/ollama/blob/main/docs/api.md, "Model names":
/// `model:tag`, the tag optional and `latest` by default; `:cloud` tags run on
/// Ollama's cloud under a subscription). A tag of digits alone is a Bedrock
/// version (`amazon.nova-pro-v1:0`), not Ollama's.
pub fn is_ollama(model: &str) -> bool {
    let Some((name, tag)) = model.trim().rsplit_once(':') else { return false };
    let word =
        |s: &str, extra: &[u8]| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b) || extra.contains(&b));
    word(name, b"/") && word(tag, b"") && !tag.bytes().all(|b| b.is_ascii_digit()) && !name.contains("anthropic.")
}

/// `openrouter/anthropic/claude-x` -> `claude-x`; `claude-x[1m]` ->
/// `claude-x`; `claude-x@20250929` -> `claude-x`;
/// `global.anthropic.claude-x-v1:0` -> `claude-x`.
fn unwrap_platform(model: &str) -> &str {
    let mut id = model.trim();
    if let Some((_, last)) = id.rsplit_once('/') {
        id = last;
    }
    if id.ends_with(']') {
        if let Some((head, _)) = id.split_once('[') {
            id = head;
        }
    }
    if let Some((head, _)) = id.split_once('@') {
        id = head;
    }
    // Bedrock: `[region.]anthropic.<model>[-vN[:M]]`.
    if let Some(at) = id.find("anthropic.") {
        let head = &id[..at];
        if head.is_empty() || (head.ends_with('.') && head[..head.len() - 1].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')) {
            id = &id[at + "anthropic.".len()..];
            id = strip_bedrock_version(id);
        }
    }
    id
}

/// `claude-x-v1:0` -> `claude-x`, `claude-x-v2` -> `claude-x`, `claude-x:0` -> `claude-x`.
fn strip_bedrock_version(id: &str) -> &str {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let id = match id.rsplit_once(':') {
        Some((head, tail)) if digits(tail) => head,
        _ => id,
    };
    match id.rsplit_once("-v") {
        Some((head, tail)) if digits(tail) => head,
        _ => id,
    }
}

/// Drops `-latest` and then one date suffix: `-YYYYMMDD`, `-YYYY-MM-DD` or
/// OpenAI's `-MMDD`. `None` when there is neither.
fn strip_suffixes(id: &str) -> Option<&str> {
    let latest = id.strip_suffix("-latest");
    let base = latest.unwrap_or(id);
    match strip_date_suffix(base) {
        Some(undated) => Some(undated),
        None => latest,
    }
}

/// `claude-opus-4-1-20250805` -> `claude-opus-4-1`; `gpt-4.1-2025-04-14` ->
/// `gpt-4.1`; `gpt-4-0613` -> `gpt-4`.
pub fn strip_date_suffix(model: &str) -> Option<&str> {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let (head, tail) = model.rsplit_once('-')?;
    if digits(tail, 8) {
        return Some(head);
    }
    if digits(tail, 4) {
        let (month, day) = (&tail[..2], &tail[2..]);
        let month_ok = matches!(month.parse::<u8>(), Ok(1..=12));
        let day_ok = matches!(day.parse::<u8>(), Ok(1..=31));
        // A 4-digit year after a 2-digit-month pattern is `-YYYY-MM-DD`'s
        // middle, handled below; a bare `-MMDD` is OpenAI's snapshot.
        if month_ok && day_ok && !head.is_empty() {
            return Some(head);
        }
    }
    let (head, month) = head.rsplit_once('-')?;
    let (head, year) = head.rsplit_once('-')?;
    (digits(tail, 2) && digits(month, 2) && digits(year, 4)).then_some(head)
}
