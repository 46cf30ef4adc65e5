//! Reading a few fields of a JSON line by JSON pointer (RFC 6901), without
//! building the line's tree.
//!
//! A `FieldSet` compiles its pointers into a trie; `extract` walks the line
//! once with serde, descends only into members on some pointer's path, skips
//! everything else unparsed, and hands back each pointer's value as borrowed
//! raw JSON text. The typed readers below turn that text into strings, token
//! counts, decimals (from the number's own text, never through f64) and
//! timestamps. A pointer that does not resolve (missing member, or a value of
//! another shape on the way) is simply absent; only malformed JSON is an
//! error.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::sources::LineError;

/// A set of JSON pointers, each with a slot in the `extract` output.
#[derive(Debug, Clone, Default)]
pub struct FieldSet {
    root: Node,
    len: usize,
}

#[derive(Debug, Clone, Default)]
struct Node {
    children: Vec<(String, Node)>,
    slot: Option<usize>,
}

impl Node {
    fn child(&self, key: &str) -> Option<&Node> {
        self.children.iter().find(|(k, _)| k == key).map(|(_, n)| n)
    }
}

/// Splits a JSON pointer into its unescaped reference tokens.
pub fn parse_pointer(pointer: &str) -> Result<Vec<String>, String> {
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(format!("`{pointer}` is not a JSON pointer: it must start with `/`, like /usage/input_tokens"));
    };
    rest.split('/')
        .map(|token| {
            if token.replace("~0", "").replace("~1", "").contains('~') {
                return Err(format!("`{pointer}`: `~` must be escaped as ~0 (and `/` as ~1)"));
            }
            Ok(token.replace("~1", "/").replace("~0", "~"))
        })
        .collect()
}

impl FieldSet {
    /// Slot `i` of `extract`'s output is `pointers[i]`.
    pub fn new<S: AsRef<str>>(pointers: &[S]) -> Result<FieldSet, String> {
        let mut root = Node::default();
        for (slot, pointer) in pointers.iter().enumerate() {
            let mut node = &mut root;
            for token in parse_pointer(pointer.as_ref())? {
                let at = match node.children.iter().position(|(k, _)| *k == token) {
                    Some(at) => at,
                    None => {
                        node.children.push((token, Node::default()));
                        node.children.len() - 1
                    }
                };
                node = &mut node.children[at].1;
            }
            if node.slot.is_some() {
                return Err(format!("`{}` is given twice", pointer.as_ref()));
            }
            node.slot = Some(slot);
        }
        Ok(FieldSet { root, len: pointers.len() })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The raw value at each pointer of the set, in order; `None` where the
    /// line has none.
    pub fn extract<'a>(&self, line: &'a [u8]) -> Result<Vec<Option<&'a RawValue>>, LineError> {
        let mut out = vec![None; self.len];
        let mut de = serde_json::Deserializer::from_slice(line);
        NodeSeed { node: &self.root, out: &mut out }.deserialize(&mut de)?;
        de.end()?;
        Ok(out)
    }
}

struct NodeSeed<'n, 'o, 'a> {
    node: &'n Node,
    out: &'o mut [Option<&'a RawValue>],
}

impl<'a> DeserializeSeed<'a> for NodeSeed<'_, '_, 'a> {
    type Value = ();

    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<(), D::Error> {
        let Some(slot) = self.node.slot else {
            return d.deserialize_any(NodeVisitor { node: self.node, out: self.out });
        };
        let raw: &'a RawValue = serde::Deserialize::deserialize(d)?;
        self.out[slot] = Some(raw);
        if !self.node.children.is_empty() {
            // A pointer and a pointer below it: walk the captured value again.
            let mut inner = serde_json::Deserializer::from_str(raw.get());
            NodeVisitorSeed { node: self.node, out: self.out }.deserialize(&mut inner).map_err(de::Error::custom)?;
        }
        Ok(())
    }
}

/// Descends into a captured value's members (its own slot already filled).
struct NodeVisitorSeed<'n, 'o, 'a> {
    node: &'n Node,
    out: &'o mut [Option<&'a RawValue>],
}

impl<'a> DeserializeSeed<'a> for NodeVisitorSeed<'_, '_, 'a> {
    type Value = ();
    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(NodeVisitor { node: self.node, out: self.out })
    }
}

struct NodeVisitor<'n, 'o, 'a> {
    node: &'n Node,
    out: &'o mut [Option<&'a RawValue>],
}

/// Scalars where the pointer wanted a container: the pointer is absent.
macro_rules! absent {
    ($($name:ident: $ty:ty),*) => {
        $(fn $name<E: de::Error>(self, _v: $ty) -> Result<(), E> { Ok(()) })*
    };
}

impl<'a> Visitor<'a> for NodeVisitor<'_, '_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    absent!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<M: MapAccess<'a>>(self, mut map: M) -> Result<(), M::Error> {
        while let Some(child) = map.next_key_seed(KeySeed(self.node))? {
            match child {
                Some(node) => map.next_value_seed(NodeSeed { node, out: &mut *self.out })?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<S: SeqAccess<'a>>(self, mut seq: S) -> Result<(), S::Error> {
        let mut index = 0usize;
        loop {
            let found = match self.node.child(&index.to_string()) {
                Some(node) => seq.next_element_seed(NodeSeed { node, out: &mut *self.out })?.is_some(),
                None => seq.next_element::<IgnoredAny>()?.is_some(),
            };
            if !found {
                return Ok(());
            }
            index += 1;
        }
    }
}

/// Reads a member name and finds the child node it leads to, if any.
struct KeySeed<'n>(&'n Node);

impl<'a, 'n> DeserializeSeed<'a> for KeySeed<'n> {
    type Value = Option<&'n Node>;
    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'a, 'n> Visitor<'a> for KeySeed<'n> {
    type Value = Option<&'n Node>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.0.child(key))
    }
}

/// A present, non-null value.
fn present(raw: Option<&RawValue>) -> Option<&RawValue> {
    raw.filter(|r| r.get() != "null")
}

/// A string value, borrowed when it has no escapes.
pub fn string<'a>(raw: Option<&'a RawValue>, name: &str) -> Result<Option<Cow<'a, str>>, LineError> {
    let Some(raw) = present(raw) else {
        return Ok(None);
    };
    let text = raw.get();
    if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        if !inner.contains('\\') {
            return Ok(Some(Cow::Borrowed(inner)));
        }
        return serde_json::from_str::<String>(text).map(|s| Some(Cow::Owned(s))).map_err(|e| LineError::new(format!("{name}: {e}")));
    }
    if text.starts_with(['{', '[']) {
        return Err(LineError::new(format!("{name}: want a string, not {}", shorten(text))));
    }
    // A number or boolean names a thing as well as a string does (ids, users).
    Ok(Some(Cow::Borrowed(text)))
}

/// The JSON text of an object that some loggers store as a JSON string
/// (`"response": "{\"id\":...}"`): the string's content, else the value.
pub fn object_text<'a>(raw: &'a RawValue, name: &str) -> Result<Cow<'a, str>, LineError> {
    match raw.get().starts_with('"') {
        true => serde_json::from_str::<String>(raw.get()).map(Cow::Owned).map_err(|e| LineError::new(format!("{name}: {e}"))),
        false => Ok(Cow::Borrowed(raw.get())),
    }
}

/// A token count: a non-negative integer, or one written as a string
/// (`"21"`: some gateways log counts as text); absent or null: none.
pub fn count(raw: Option<&RawValue>, name: &str) -> Result<Option<u64>, LineError> {
    let Some(raw) = present(raw) else {
        return Ok(None);
    };
    let text = raw.get();
    let digits = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
    digits.parse::<u64>().map(Some).map_err(|_| LineError::new(format!("{name}: `{}` is not a token count", shorten(text))))
}

/// A cost stated by the log, from the number's (or string's) own text. A
/// negative cost is an error: booked, it would credit the account.
pub fn decimal(raw: Option<&RawValue>, name: &str) -> Result<Option<Decimal>, LineError> {
    let Some(text) = string(raw, name)? else {
        return Ok(None);
    };
    let amount = crate::usage::money::parse(&text).map_err(|e| LineError::new(format!("{name}: {e}")))?;
    if amount < Decimal::ZERO {
        return Err(LineError::new(format!("{name}: `{text}` is a negative cost")));
    }
    Ok(Some(amount))
}

/// Epoch values at or past this are milliseconds (as seconds it is the year 5138).
const MILLIS_FROM: i64 = 100_000_000_000;

/// A time: RFC 3339 text, or epoch seconds or milliseconds (number or numeric
/// string, fractions allowed), or a naive date-time without offset
/// (`2025-01-24 09:20:46.847371`, as LiteLLM's spend logs write) read as UTC.
pub fn timestamp(raw: Option<&RawValue>, name: &str) -> Result<Option<DateTime<Utc>>, LineError> {
    timestamp_in(raw, name, None)
}

/// A line must be UTF-8 to be read at all; the error says where it is not.
pub fn utf8(line: &[u8]) -> Result<&str, LineError> {
    std::str::from_utf8(line).map_err(|e| LineError::new(format!("invalid UTF-8 at byte {}", e.valid_up_to())))
}

/// What a line that cannot hold usage (its format's key is not in it) books:
/// nothing when it is blank or JSON; an error when it is not JSON at all, so
/// a torn or corrupted line is counted, not ignored.
pub fn without_usage<T>(line: &[u8]) -> Result<Option<T>, LineError> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice::<IgnoredAny>(line).map(|_| None).map_err(LineError::from)
}

/// As `timestamp`, with naive date-times read in `zone` (UTC when `None`).
pub fn timestamp_in(raw: Option<&RawValue>, name: &str, zone: Option<Tz>) -> Result<Option<DateTime<Utc>>, LineError> {
    let Some(text) = string(raw, name)? else {
        return Ok(None);
    };
    // RFC 3339 has a `T` (or a space) and colons; an epoch number has neither.
    if text.contains([':', 'T', 't', ' ']) {
        return match crate::sources::parse_timestamp(&text) {
            Ok(t) => Ok(Some(t)),
            Err(e) => naive_time(&text, zone).map(Some).ok_or_else(|| LineError::new(format!("{name}: {e}"))),
        };
    }
    if let Some(t) = epoch_seconds(text.as_bytes()) {
        return Ok(Some(t));
    }
    let epoch =
        crate::usage::money::parse(&text).map_err(|_| LineError::new(format!("{name}: `{text}` is neither RFC 3339 nor epoch seconds")))?;
    epoch_time(epoch).map(Some).ok_or_else(|| LineError::new(format!("{name}: `{text}` is out of range")))
}

/// A date-time without offset, in `zone` (UTC by default). A local time that
/// a DST change skips is no time; one it repeats is the earlier.
fn naive_time(text: &str, zone: Option<Tz>) -> Option<DateTime<Utc>> {
    let naive = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|format| chrono::NaiveDateTime::parse_from_str(text.trim(), format).ok())?;
    match zone {
        None => Some(naive.and_utc()),
        Some(zone) => zone.from_local_datetime(&naive).earliest().map(|t| t.with_timezone(&Utc)),
    }
}

/// Deserializes an optional IANA zone name (`Europe/Berlin`) for a config key.
pub fn time_zone<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Tz>, D::Error> {
    let name: Option<String> = serde::Deserialize::deserialize(d)?;
    name.map(|n| n.parse::<Tz>().map_err(|_| de::Error::custom(format!("unknown time zone `{n}` (want an IANA name like Europe/Berlin)"))))
        .transpose()
}

/// Plain epoch seconds (`1790000000.25`: digits, then at most 9 fraction
/// digits) without a `Decimal`; anything else, or a number large enough to
/// be milliseconds, is `None` and takes `epoch_time`, which gives the same
/// answer for these.
fn epoch_seconds(b: &[u8]) -> Option<DateTime<Utc>> {
    let (whole, fraction) = match b.iter().position(|&c| c == b'.') {
        Some(dot) => (&b[..dot], &b[dot + 1..]),
        None => (b, &b[..0]),
    };
    if whole.is_empty() || whole.len() > 11 || fraction.len() > 9 {
        return None;
    }
    let number = |digits: &[u8]| digits.iter().try_fold(0i64, |n, &c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')));
    let seconds = number(whole)?;
    if seconds >= MILLIS_FROM {
        return None;
    }
    let nanos = number(fraction)? * 10i64.pow(9 - u32::try_from(fraction.len()).ok()?);
    DateTime::from_timestamp(seconds, u32::try_from(nanos).ok()?)
}

fn epoch_time(epoch: Decimal) -> Option<DateTime<Utc>> {
    use rust_decimal::prelude::ToPrimitive;
    let whole = epoch.trunc().to_i64()?;
    let (seconds, nanos) = if whole.abs() >= MILLIS_FROM {
        (whole.div_euclid(1000), (epoch - Decimal::from(whole.div_euclid(1000) * 1000)) * Decimal::from(1_000_000))
    } else {
        (epoch.floor().to_i64()?, (epoch - epoch.floor()) * Decimal::from(1_000_000_000))
    };
    DateTime::from_timestamp(seconds, nanos.trunc().to_u32()?)
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(set: &FieldSet, line: &str) -> Vec<Option<String>> {
        set.extract(line.as_bytes()).unwrap().into_iter().map(|r| r.map(|r| r.get().to_string())).collect()
    }

    #[test]
    fn extracts_nested_members_array_items_and_escaped_names() {
        let set = FieldSet::new(&["/req/id", "/tok/in", "/a~1b", "/list/1/x", "/req", "/missing/deep"]).unwrap();
        let line =
            r#"{"req":{"id":"g-1","llm":"m"},"skip":{"req":{"id":"no"}},"tok":{"in":12},"a/b":true,"list":[{"x":1},{"x":2}],"missing":3}"#;
        let want = [Some(r#""g-1""#), Some("12"), Some("true"), Some("2"), Some(r#"{"id":"g-1","llm":"m"}"#), None];
        assert_eq!(texts(&set, line), want.map(|w| w.map(String::from)));
    }

    #[test]
    fn malformed_json_is_an_error_and_other_shapes_are_absent() {
        let set = FieldSet::new(&["/a/b"]).unwrap();
        assert!(set.extract(b"{not json").is_err());
        assert!(set.extract(br#"{"a":{"b":1}} trailing"#).is_err());
        assert_eq!(texts(&set, r#"{"a":"text"}"#), [None]);
        assert_eq!(texts(&set, "[1,2]"), [None]);
    }

    #[test]
    fn bad_pointers_are_refused() {
        assert!(FieldSet::new(&["req/id"]).is_err());
        assert!(FieldSet::new(&["/a~2"]).is_err());
        assert!(FieldSet::new(&["/a", "/a"]).is_err());
    }

    #[test]
    fn typed_readers() {
        fn raw(t: &str) -> &RawValue {
            serde_json::from_str(t).unwrap()
        }
        assert_eq!(decimal(Some(raw("0.1662968634")), "c").unwrap().map(crate::usage::money::format).as_deref(), Some("0.1662968634"));
        assert_eq!(decimal(Some(raw(r#""1e-3""#)), "c").unwrap().map(crate::usage::money::format).as_deref(), Some("0.001"));
        assert_eq!(decimal(Some(raw("-0")), "c").unwrap().map(crate::usage::money::format).as_deref(), Some("0"));
        // Regression (found adding pricing to the parser fuzz targets): a
        // negative stated cost was taken as is and would credit the account.
        for bad in ["-0.5", r#""-1e-3""#] {
            assert_eq!(
                decimal(Some(raw(bad)), "usage.cost").unwrap_err().to_string(),
                format!("usage.cost: `{}` is a negative cost", bad.trim_matches('"'))
            );
        }
        assert_eq!(count(Some(raw("42")), "n").unwrap(), Some(42));
        assert_eq!(count(Some(raw("null")), "n").unwrap(), None);
        // Gateways that log counts as text (Portkey's `req_units: "21"`).
        assert_eq!(count(Some(raw(r#""21""#)), "n").unwrap(), Some(21));
        for bad in ["-1", "1.5", r#""7x""#, r#""""#, r#""-3""#, "true"] {
            assert!(count(Some(raw(bad)), "n").is_err(), "{bad}");
        }
        assert_eq!(string(Some(raw(r#""a\"b""#)), "s").unwrap().as_deref(), Some("a\"b"));
        assert!(string(Some(raw("{}")), "s").is_err());
        let at = |t: &str| timestamp(Some(raw(t)), "ts").unwrap().map(|t| t.to_rfc3339());
        assert_eq!(at("1790000000").as_deref(), Some("2026-09-21T14:13:20+00:00"));
        assert_eq!(at("1790000000.25").as_deref(), Some("2026-09-21T14:13:20.250+00:00"));
        assert_eq!(at("1790000000250").as_deref(), Some("2026-09-21T14:13:20.250+00:00"));
        assert_eq!(at(r#""2026-10-01T00:00:00Z""#).as_deref(), Some("2026-10-01T00:00:00+00:00"));
        assert!(timestamp(Some(raw(r#""yesterday""#)), "ts").is_err());
        assert!(timestamp(Some(raw("1e30")), "ts").is_err());
    }

    /// The fast path for plain epoch seconds gives `epoch_time`'s answer or
    /// none at all.
    #[test]
    fn epoch_seconds_agree_with_the_decimal_path() {
        for text in ["1790000000.25", "1790000000", "0", "0.5", "1790000000.123456789", "99999999999", "1790000000."] {
            let slow = epoch_time(crate::usage::money::parse(text).unwrap());
            assert_eq!(epoch_seconds(text.as_bytes()), slow, "{text}");
        }
        for text in ["100000000000", "1790000000250", "-5", "1.2e9", "1790000000.1234567891", ".5", "1_0", ""] {
            assert_eq!(epoch_seconds(text.as_bytes()), None, "{text}");
        }
    }

    /// LiteLLM spend-log rows and many gateways write local times without an
    /// offset: UTC unless the source names a zone.
    #[test]
    fn naive_timestamps_are_utc_or_in_the_given_zone() {
        fn raw(t: &str) -> &RawValue {
            serde_json::from_str(t).unwrap()
        }
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let cases: [(&str, Option<Tz>, &str); 6] = [
            (r#""2025-01-24 09:20:46.847371""#, None, "2025-01-24T09:20:46.847371+00:00"),
            (r#""2025-01-24T09:20:46""#, None, "2025-01-24T09:20:46+00:00"),
            (r#""2025-01-24 09:20:46.847371""#, Some(berlin), "2025-01-24T08:20:46.847371+00:00"),
            (r#""2025-07-24 09:20:46""#, Some(berlin), "2025-07-24T07:20:46+00:00"),
            // A repeated hour (end of summer time) is the earlier instant.
            (r#""2025-10-26 02:30:00""#, Some(berlin), "2025-10-26T00:30:00+00:00"),
            // An offset, when given, wins over the zone.
            (r#""2025-01-24T09:20:46+05:00""#, Some(berlin), "2025-01-24T04:20:46+00:00"),
        ];
        for (text, zone, want) in cases {
            let got = timestamp_in(Some(raw(text)), "ts", zone).unwrap().unwrap();
            assert_eq!(got.to_rfc3339(), want, "{text} in {zone:?}");
        }
        // A local time the spring change skips does not exist.
        assert!(timestamp_in(Some(raw(r#""2025-03-30 02:30:00""#)), "ts", Some(berlin)).is_err());
        assert!(timestamp(Some(raw(r#""2025-01-24 25:00:00""#)), "ts").is_err());
    }
}
