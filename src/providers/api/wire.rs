//! What every reader of a provider's answer shares: the error that names the
//! endpoint and the field, the JSON entry point that tells a truncated answer
//! from a wrong shape, and exact money from the wire.
//!
//! Money is read from the JSON text itself, never through `f64`: a number
//! such as OpenAI's `amount.value` `0.8958740000000000` is captured as a
//! `serde_json::value::RawValue` (the crate's `raw_value` feature, already on
//! for the log parsers) and its text parsed as a `Decimal`. We do not turn on
//! `arbitrary_precision` instead: it changes how every `serde_json::Value` in
//! the crate holds numbers, for the sake of a few fields here.

use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// A provider's answer that cannot be read: which endpoint, and why (the
/// field's path when the shape is wrong). Never holds the request's key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{endpoint}: {message}")]
pub struct ReadError {
    pub endpoint: &'static str,
    pub message: String,
}

impl ReadError {
    pub fn new(endpoint: &'static str, message: impl Into<String>) -> ReadError {
        ReadError { endpoint, message: message.into() }
    }
}

/// Parses a whole answer body as `T`. A body cut short, a body that is not
/// JSON and a body of the wrong shape each get their own message; the last
/// names the field (`data[0].results[1].amount: ...`).
pub fn parse<T: DeserializeOwned>(endpoint: &'static str, body: &[u8]) -> Result<T, ReadError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ReadError::new(endpoint, "empty answer (no JSON body)"));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        // The field's path says where a wrong shape is; serde_json's own
        // "at line 1 column 80" adds nothing to it.
        let text = inner.to_string();
        let bare = text.strip_suffix(&format!(" at line {} column {}", inner.line(), inner.column())).unwrap_or(&text);
        let message = match inner.classify() {
            serde_json::error::Category::Eof => format!("truncated answer: it ends after {} bytes, inside the JSON", body.len()),
            serde_json::error::Category::Syntax => format!("not JSON: {text}"),
            _ if path == "." => format!("unexpected answer: {bare}"),
            _ => format!("{path}: {bare}"),
        };
        ReadError::new(endpoint, message)
    })?;
    de.end().map_err(|e| ReadError::new(endpoint, format!("not JSON: trailing data after the answer ({e})")))?;
    Ok(value)
}

/// An exact amount as the provider wrote it: a JSON number read from its
/// text, or a decimal string (`"83391.52823"`). `null`, `true`, an object or
/// a string that is no decimal is an error, never a zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireDecimal(pub Decimal);

impl<'de> Deserialize<'de> for WireDecimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<WireDecimal, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        decimal_of(raw.get()).map(WireDecimal).map_err(serde::de::Error::custom)
    }
}

fn decimal_of(text: &str) -> Result<Decimal, String> {
    let text = text.trim();
    let inner = match text.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(text).map_err(|e| e.to_string())?,
        Some(b'-' | b'0'..=b'9') => text.to_string(),
        _ => return Err(format!("expected a decimal amount, found `{text}`")),
    };
    crate::usage::money::parse(&inner)
}

/// Amounts that may be `null` (OpenRouter's `limit` when the key has none).
pub fn optional_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    Ok(Option::<WireDecimal>::deserialize(d)?.map(|w| w.0))
}

/// A token count: a non-negative integer, `null` or absent as 0. A string
/// or a fraction is an error (the field changed meaning, or is not ours).
pub fn count<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(Option::<u64>::deserialize(d)?.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    struct Probe {
        amount: WireDecimal,
        #[serde(default, deserialize_with = "count")]
        tokens: u64,
    }

    #[test]
    fn amounts_keep_every_digit_of_numbers_and_strings() {
        for (json, want) in [
            (r#"{"amount": 0.8958740000000000}"#, "0.8958740000000000"),
            (r#"{"amount": "83391.52823"}"#, "83391.52823"),
            (r#"{"amount": 0.1}"#, "0.1"),
            (r#"{"amount": 12345678901234567.123}"#, "12345678901234567.123"),
            (r#"{"amount": 1e-3}"#, "0.001"),
            (r#"{"amount": -2.5}"#, "-2.5"),
        ] {
            let p: Probe = parse("probe", json.as_bytes()).unwrap();
            assert_eq!((p.amount.0.to_string().as_str(), p.tokens), (want, 0), "{json}");
        }
    }

    #[test]
    fn bad_bodies_say_what_is_wrong_and_where() {
        let err = |json: &str| parse::<Probe>("probe", json.as_bytes()).unwrap_err().to_string();
        assert_eq!(err(r#"{"amount": "12."#), "probe: truncated answer: it ends after 15 bytes, inside the JSON");
        assert_eq!(err(""), "probe: empty answer (no JSON body)");
        assert!(err("<html>502 Bad Gateway</html>").starts_with("probe: not JSON: expected value"), "{}", err("<html>"));
        assert_eq!(err(r#"{"amount": "abc"}"#), "probe: amount: `abc` is not a decimal amount");
        assert_eq!(err(r#"{"amount": null}"#), "probe: amount: expected a decimal amount, found `null`");
        assert_eq!(err(r#"{"amount": 1, "tokens": "500"}"#), "probe: tokens: invalid type: string \"500\", expected u64");
        assert_eq!(err(r#"{"amount": 1, "tokens": 1.5}"#), "probe: tokens: invalid type: floating point `1.5`, expected u64");
        assert_eq!(err(r#"{"tokens": 1}"#), "probe: unexpected answer: missing field `amount`");
        assert_eq!(err(r#"{"amount": 1} {}"#), "probe: not JSON: trailing data after the answer (trailing characters at line 1 column 15)");
        assert_eq!(err("true"), "probe: unexpected answer: invalid type: boolean `true`, expected struct Probe");
    }
}
