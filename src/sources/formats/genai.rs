//! OpenTelemetry GenAI semantic conventions: the `gen_ai.*` attributes other
//! agents (Copilot CLI, SDK-instrumented apps) put on their spans and events,
//! read into token counts. Shared by the OTLP receiver (`otlp`) and the
//! Copilot CLI file export (`copilot_cli`), which hold attributes in different
//! shapes; both present them through `Attributes`.
//!
//! Invariants: `gen_ai.usage.input_tokens` includes cached tokens (the
//! conventions say cache reads and cache writes "SHOULD be included" in it),
//! so uncached input is what remains after both; output includes reasoning
//! (`gen_ai.usage.reasoning.output_tokens` is not added again). A count that
//! is present but unreadable (`"[REDACTED]"`, negative, fractional) is an
//! error, never a zero.

use crate::usage::Tokens;

use crate::sources::LineError;

/// One attribute value, borrowed from wherever the attributes live.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Str(&'a str),
    Int(i64),
    Double(f64),
    Bool(bool),
    /// Arrays, maps, bytes: never a count or a name here.
    Other,
}

/// A view of a record's attributes by key.
pub trait Attributes {
    fn get(&self, key: &str) -> Option<Value<'_>>;

    fn str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Value::Str(s)) if !s.is_empty() => Some(s),
            _ => None,
        }
    }
}

const INPUT: &str = "gen_ai.usage.input_tokens";
const OUTPUT: &str = "gen_ai.usage.output_tokens";
/// Current name first, then the names older emitters still write.
const CACHE_READ: [&str; 3] =
    ["gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens", "gen_ai.usage.input_tokens.cached"];
const CACHE_WRITE: [&str; 4] = [
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "gen_ai.usage.input_tokens.cache_write",
];
const MODEL: [&str; 2] = ["gen_ai.response.model", "gen_ai.request.model"];

/// What a GenAI record says about one model call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenAiUsage {
    pub model: String,
    /// `gen_ai.response.id`: the provider's id of the response.
    pub response_id: Option<String>,
    pub tokens: Tokens,
    /// `gen_ai.conversation.id`.
    pub conversation: Option<String>,
}

/// True when the record carries any GenAI usage count (else it is not a
/// model call of ours: a tool span, a metric, another event).
pub fn has_usage(attrs: &dyn Attributes) -> bool {
    [INPUT, OUTPUT].iter().chain(CACHE_READ.iter()).chain(CACHE_WRITE.iter()).any(|k| attrs.get(k).is_some())
}

/// Reads the usage of a record that `has_usage`.
pub fn read(attrs: &dyn Attributes) -> Result<GenAiUsage, LineError> {
    let model = MODEL.iter().find_map(|k| attrs.str(k)).ok_or_else(|| LineError::new("GenAI record without gen_ai.response.model"))?;
    let input = count(attrs, &[INPUT])?;
    let output = count(attrs, &[OUTPUT])?;
    let cache_read = count(attrs, &CACHE_READ)?;
    let cache_write = count(attrs, &CACHE_WRITE)?;
    let tokens = Tokens {
        input: input.saturating_sub(cache_read).saturating_sub(cache_write),
        output,
        cache_write_5m: cache_write,
        cache_write_1h: 0,
        cache_read,
    };
    Ok(GenAiUsage {
        model: model.to_string(),
        response_id: attrs.str("gen_ai.response.id").map(str::to_string),
        tokens,
        conversation: attrs.str("gen_ai.conversation.id").map(str::to_string),
    })
}

/// The first of `keys` present, as a token count; 0 when none is.
fn count(attrs: &dyn Attributes, keys: &[&str]) -> Result<u64, LineError> {
    let Some((key, value)) = keys.iter().find_map(|k| attrs.get(k).map(|v| (*k, v))) else {
        return Ok(0);
    };
    token_count(value).ok_or_else(|| LineError::new(format!("`{key}` is not a token count: {}", describe(value))))
}

/// A non-negative whole number: an int, a numeric string, or a double with no
/// fraction (JSON encoders of some SDKs write every number as a double).
pub fn token_count(value: Value<'_>) -> Option<u64> {
    match value {
        Value::Int(n) => u64::try_from(n).ok(),
        Value::Str(s) => s.trim().parse::<u64>().ok(),
        Value::Double(d) if d >= 0.0 && d.fract() == 0.0 && d < 1e15 => Some(d as u64),
        _ => None,
    }
}

fn describe(value: Value<'_>) -> String {
    match value {
        Value::Str(s) => format!("{:?}", s.chars().take(40).collect::<String>()),
        Value::Int(n) => n.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Other => "not a scalar".into(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    struct Map(HashMap<&'static str, Value<'static>>);

    impl Attributes for Map {
        fn get(&self, key: &str) -> Option<Value<'_>> {
            self.0.get(key).copied()
        }
    }

    fn attrs(pairs: &[(&'static str, Value<'static>)]) -> Map {
        Map(pairs.iter().copied().collect())
    }

    #[test]
    fn input_includes_cache_reads_and_writes() {
        let a = attrs(&[
            ("gen_ai.response.model", Value::Str("claude-sonnet-4-6")),
            ("gen_ai.request.model", Value::Str("claude-sonnet-4")),
            (INPUT, Value::Int(21884)),
            (OUTPUT, Value::Str("80")),
            ("gen_ai.usage.cache_creation_input_tokens", Value::Int(21000)),
            ("gen_ai.usage.cache_read.input_tokens", Value::Double(800.0)),
            ("gen_ai.usage.reasoning.output_tokens", Value::Int(64)),
            ("gen_ai.response.id", Value::Str("resp_1")),
        ]);
        let u = read(&a).unwrap();
        assert_eq!(u.model, "claude-sonnet-4-6");
        assert_eq!(u.tokens, Tokens { input: 84, output: 80, cache_write_5m: 21000, cache_write_1h: 0, cache_read: 800 });
        assert_eq!(u.response_id.as_deref(), Some("resp_1"));
    }

    #[test]
    fn table_of_counts() {
        let cases: [(Value<'static>, Option<u64>); 9] = [
            (Value::Int(5), Some(5)),
            (Value::Int(-1), None),
            (Value::Str("12"), Some(12)),
            (Value::Str(" 7 "), Some(7)),
            (Value::Str("[REDACTED]"), None),
            (Value::Double(3.0), Some(3)),
            (Value::Double(3.5), None),
            (Value::Bool(true), None),
            (Value::Other, None),
        ];
        for (value, want) in cases {
            assert_eq!(token_count(value), want, "{value:?}");
        }
    }

    #[test]
    fn errors_name_the_field() {
        let no_model = attrs(&[(INPUT, Value::Int(1))]);
        assert!(read(&no_model).unwrap_err().0.contains("model"));
        let redacted = attrs(&[("gen_ai.request.model", Value::Str("gpt-5")), (OUTPUT, Value::Str("[REDACTED]"))]);
        let e = read(&redacted).unwrap_err();
        assert!(e.0.contains(OUTPUT) && e.0.contains("REDACTED"), "{e}");
        assert!(!has_usage(&attrs(&[("gen_ai.operation.name", Value::Str("execute_tool"))])));
    }
}
