//! Any JSON-lines log, read through the source's `field_map`: a JSON pointer
//! for each thing a usage event needs. A gateway's own log becomes a source
//! without code.
//!
//! Only `model` is required. Lines without a model value are not requests
//! (a gateway logs other things too) and are skipped; a line with a model
//! whose other mapped fields are malformed is an error. Without an `id`
//! pointer (or value) each line is its own request.

use std::sync::Arc;

use chrono::Utc;
use serde::Deserialize;

use super::attribution::Attribution;
use super::fields::{self, FieldSet};
use crate::sources::{LineError, LineParser};
use crate::usage::{EventId, Tokens, UsageEvent};

/// `field_map:` of a `jsonl` source: JSON pointers such as `/usage/input`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMap {
    pub model: String,
    pub id: Option<String>,
    /// RFC 3339 text, or epoch seconds or milliseconds.
    pub timestamp: Option<String>,
    pub input_tokens: Option<String>,
    pub output_tokens: Option<String>,
    pub cache_write_5m_tokens: Option<String>,
    pub cache_write_1h_tokens: Option<String>,
    pub cache_read_tokens: Option<String>,
    pub web_searches: Option<String>,
    /// A cost the log states, in dollars: taken instead of the price table.
    pub cost: Option<String>,
    pub app: Option<String>,
    pub account: Option<String>,
    pub user_agent: Option<String>,
}

/// The map's keys, in slot order.
const KEYS: [&str; 13] = [
    "model",
    "id",
    "timestamp",
    "input_tokens",
    "output_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "cache_read_tokens",
    "web_searches",
    "cost",
    "app",
    "account",
    "user_agent",
];

impl FieldMap {
    /// (key, pointer) of every mapped field, in `KEYS` order.
    pub fn entries(&self) -> Vec<(&'static str, Option<&str>)> {
        let values = [
            Some(&self.model),
            self.id.as_ref(),
            self.timestamp.as_ref(),
            self.input_tokens.as_ref(),
            self.output_tokens.as_ref(),
            self.cache_write_5m_tokens.as_ref(),
            self.cache_write_1h_tokens.as_ref(),
            self.cache_read_tokens.as_ref(),
            self.web_searches.as_ref(),
            self.cost.as_ref(),
            self.app.as_ref(),
            self.account.as_ref(),
            self.user_agent.as_ref(),
        ];
        KEYS.into_iter().zip(values.map(|v| v.map(String::as_str))).collect()
    }

    /// Checks every pointer; the error names the key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        for (key, pointer) in self.entries() {
            if let Some(p) = pointer {
                fields::parse_pointer(p).map_err(|e| (key, e))?;
            }
        }
        Ok(())
    }
}

pub struct JsonlParser {
    fields: FieldSet,
    /// Slot in `fields` of each of `KEYS`, when mapped.
    slots: [Option<usize>; KEYS.len()],
    attribution: Arc<Attribution>,
}

impl JsonlParser {
    pub fn new(map: &FieldMap, attribution: Arc<Attribution>) -> Result<JsonlParser, String> {
        let mut slots = [None; KEYS.len()];
        let mut pointers = Vec::new();
        for (i, (_, pointer)) in map.entries().into_iter().enumerate() {
            if let Some(p) = pointer {
                // Two keys may read one field (app and account from a team name).
                slots[i] = Some(pointers.iter().position(|q| *q == p).unwrap_or_else(|| {
                    pointers.push(p);
                    pointers.len() - 1
                }));
            }
        }
        Ok(JsonlParser { fields: FieldSet::new(&pointers)?, slots, attribution })
    }
}

impl LineParser for JsonlParser {
    fn parse(&mut self, line: &[u8]) -> Result<Option<UsageEvent>, LineError> {
        let values = self.fields.extract(line)?;
        let get = |key: usize| self.slots[key].and_then(|slot| values[slot]);
        let count = |key: usize| fields::count(get(key), KEYS[key]).map(Option::unwrap_or_default);
        let Some(model) = fields::string(get(0), "model")?.filter(|m| !m.is_empty()) else {
            return Ok(None);
        };
        let id = match fields::string(get(1), "id")? {
            Some(id) if !id.is_empty() => EventId::from_parts("jsonl", &[&id]),
            _ => EventId::from_parts("jsonl/line", &[&String::from_utf8_lossy(line)]),
        };
        let timestamp = fields::timestamp(get(2), "timestamp")?.unwrap_or_else(Utc::now);
        let tokens =
            Tokens { input: count(3)?, output: count(4)?, cache_write_5m: count(5)?, cache_write_1h: count(6)?, cache_read: count(7)? };
        let mut event = UsageEvent::new(id, timestamp, model.into_owned(), tokens);
        event.web_searches = count(8)?;
        event.stated_cost = fields::decimal(get(9), "cost")?;
        let app = fields::string(get(10), "app")?;
        let user_agent = fields::string(get(12), "user_agent")?;
        event.app = self.attribution.app_of_line(app.as_deref(), user_agent.as_deref());
        event.account = fields::string(get(11), "account")?.filter(|a| !a.is_empty()).map(|a| a.into_owned());
        Ok(Some(event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser(yaml: &str) -> JsonlParser {
        let map: FieldMap = serde_yaml_ng::from_str(yaml).unwrap();
        map.validate().unwrap();
        JsonlParser::new(&map, Arc::new(Attribution::default())).unwrap()
    }

    const MAP: &str = "{ id: /req/id, model: /req/llm, input_tokens: /tok/in, output_tokens: /tok/out, timestamp: /ts, app: /svc/name }";

    #[test]
    fn reads_the_mapped_fields() {
        let line = r#"{"ts": 1790000000, "req": {"id": "g-0", "llm": "claude-opus-4-6"}, "tok": {"in": 4122, "out": 1120}, "svc": {"name": "chatops"}}"#;
        let e = parser(MAP).parse(line.as_bytes()).unwrap().unwrap();
        assert_eq!(e.id, EventId::from_parts("jsonl", &["g-0"]));
        assert_eq!((e.model.as_str(), e.app.as_deref()), ("claude-opus-4-6", Some("chatops")));
        assert_eq!(e.tokens, Tokens { input: 4122, output: 1120, ..Tokens::default() });
        assert_eq!(e.timestamp.to_rfc3339(), "2026-09-21T14:13:20+00:00");
    }

    /// Table: map, line, what comes out (model, input, cache 5m/1h/read, searches, cost, account, time).
    #[test]
    fn every_field_kind() {
        let full = "{ model: /m, cache_write_5m_tokens: /c/w5, cache_write_1h_tokens: /c/w1, cache_read_tokens: /c/r, web_searches: /ws, cost: /usd, account: /acct, timestamp: /at }";
        let line = r#"{"m":"x","c":{"w5":1,"w1":2,"r":3},"ws":4,"usd":0.000123,"acct":"team-a","at":"2026-10-01T02:00:00+02:00"}"#;
        let e = parser(full).parse(line.as_bytes()).unwrap().unwrap();
        assert_eq!(e.tokens, Tokens { cache_write_5m: 1, cache_write_1h: 2, cache_read: 3, ..Tokens::default() });
        assert_eq!((e.web_searches, e.account.as_deref()), (4, Some("team-a")));
        assert_eq!(e.stated_cost.map(crate::usage::money::format).as_deref(), Some("0.000123"));
        assert_eq!(e.timestamp.to_rfc3339(), "2026-10-01T00:00:00+00:00");
        // No id: each line is its own request, the same line the same one.
        let other = line.replace("team-a", "team-b");
        let mut p = parser(full);
        assert_ne!(p.parse(line.as_bytes()).unwrap().unwrap().id, p.parse(other.as_bytes()).unwrap().unwrap().id);
        assert_eq!(p.parse(line.as_bytes()).unwrap().unwrap().id, e.id);
    }

    #[test]
    fn lines_without_a_model_are_skipped_bad_ones_are_errors() {
        let mut p = parser(MAP);
        assert_eq!(p.parse(br#"{"level":"info","msg":"listening"}"#), Ok(None));
        assert_eq!(p.parse(br#"{"req":{"llm":""}}"#), Ok(None));
        for bad in [r#"{"req":{"llm":"m"},"tok":{"in":"many"}}"#, r#"{"req":{"llm":"m"},"ts":"soon"}"#, r#"{"req":{"llm":{}}}"#, "oops"] {
            assert!(p.parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_maps_name_the_key() {
        let map: FieldMap = serde_yaml_ng::from_str("{ model: /m, cost: usd }").unwrap();
        assert_eq!(map.validate().unwrap_err().0, "cost");
        assert!(serde_yaml_ng::from_str::<FieldMap>("{ id: /id }").is_err());
        // Two keys may share a field.
        let e = parser("{ model: /m, app: /team, account: /team }").parse(br#"{"m":"x","team":"t"}"#).unwrap().unwrap();
        assert_eq!((e.app.as_deref(), e.account.as_deref()), (Some("t"), Some("t")));
    }
}
