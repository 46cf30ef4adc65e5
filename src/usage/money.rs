//! Money: `rust_decimal` everywhere, read from strings or numbers by their
//! text (never through f64), written as plain decimal strings.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::{self, Deserializer, Visitor};

/// One million: prices are per million tokens.
pub const MILLION: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);

/// Parses a decimal money value such as `"20.00"`, `"5"`, `"-1.5"`, `"1e-3"`.
pub fn parse(text: &str) -> Result<Decimal, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty money value".into());
    }
    Decimal::from_str(t).or_else(|_| Decimal::from_scientific(t)).map_err(|_| format!("`{text}` is not a decimal amount"))
}

/// The canonical text of an amount: exact, without trailing zeros.
pub fn format(value: Decimal) -> String {
    value.normalize().to_string()
}

/// An amount rounded to cents, for people (tables, notifications).
pub fn cents(value: Decimal) -> String {
    format!("{:.2}", value.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero))
}

/// Float view for the exposition format and rates only.
pub fn to_f64(value: Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    value.to_f64().unwrap_or(0.0)
}

/// serde helper: a money field written as a string or a number in YAML/JSON.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    deserializer.deserialize_any(MoneyVisitor)
}

/// serde helper for `Option<Decimal>` money fields (null allowed).
pub fn deserialize_opt<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Decimal>, D::Error> {
    struct OptVisitor;
    impl<'de> Visitor<'de> for OptVisitor {
        type Value = Option<Decimal>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a decimal amount or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            deserialize(d).map(Some)
        }
    }
    deserializer.deserialize_option(OptVisitor)
}

struct MoneyVisitor;

impl<'de> Visitor<'de> for MoneyVisitor {
    type Value = Decimal;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a decimal amount such as \"20.00\"")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
        parse(v).map_err(E::custom)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
        // YAML numbers reach us as f64; their shortest text is what the user
        // wrote (e.g. 0.1 -> "0.1"), so go through that text.
        parse(&v.to_string()).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_exactly() {
        for (text, want) in [("20.00", "20"), ("5", "5"), ("-1.50", "-1.5"), (" 0.075 ", "0.075"), ("1e-3", "0.001")] {
            assert_eq!(format(parse(text).unwrap()), want, "{text}");
        }
        assert!(parse("abc").is_err());
        assert!(parse("").is_err());
        assert_eq!(cents(parse("12.345").unwrap()), "12.35");
    }
}
