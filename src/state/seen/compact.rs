//! The seen index in a snapshot: a base64 string of binary entries (id,
//! the five token counts, web searches, cost, time), with the wire
//! primitives of the journal encoding. The JSON map of releases before
//! format 2 is read too.

use std::collections::HashMap;
use std::fmt;

use base64::Engine;
use serde::de::{self, MapAccess, Visitor};

use super::{Seen, SeenIndex};
use crate::state::codec::wire::{Reader, Writer};
use crate::usage::{EventId, Tokens};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD_NO_PAD;

pub fn encode(entries: &HashMap<EventId, Seen>) -> String {
    let mut w = Writer::default();
    w.u64(entries.len() as u64);
    for (id, seen) in entries {
        w.u128(id.0);
        seen.tokens.by_kind().into_iter().for_each(|n| w.u64(n));
        w.u64(seen.web_searches);
        w.decimal(seen.cost);
        w.i64(seen.at);
    }
    B64.encode(&w.buf)
}

fn decode(text: &str) -> Result<HashMap<EventId, Seen>, String> {
    let bytes = B64.decode(text).map_err(|e| format!("the seen index is not base64: {e}"))?;
    let mut r = Reader::new(&bytes);
    let count = r.usize()?;
    // Each entry takes at least 24 bytes: a bad count cannot reserve more
    // than the bytes can hold.
    let mut entries = HashMap::with_capacity(count.min(bytes.len() / 24));
    for _ in 0..count {
        let id = EventId(r.u128()?);
        let tokens = Tokens { input: r.u64()?, output: r.u64()?, cache_write_5m: r.u64()?, cache_write_1h: r.u64()?, cache_read: r.u64()? };
        let seen = Seen { tokens, web_searches: r.u64()?, cost: r.decimal()?, at: r.i64()? };
        entries.insert(id, seen);
    }
    if !r.at_end() {
        return Err("bytes left after the seen index".into());
    }
    Ok(entries)
}

pub struct IndexVisitor;

impl<'de> Visitor<'de> for IndexVisitor {
    type Value = SeenIndex;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a seen index (a base64 string, or the JSON map of an earlier release)")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<SeenIndex, E> {
        decode(text).map(|entries| SeenIndex { entries }).map_err(E::custom)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SeenIndex, A::Error> {
        let mut entries = HashMap::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "entries" => entries = map.next_value()?,
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        Ok(SeenIndex { entries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> SeenIndex {
        let mut index = SeenIndex::default();
        for n in 0..50u128 {
            let tokens = Tokens { input: n as u64, output: 1_000 + n as u64, cache_write_5m: 3, cache_write_1h: 0, cache_read: 200_000 };
            index.insert(
                EventId(n << 100 | n),
                Seen { tokens, web_searches: n as u64 % 2, cost: "0.0130".parse().unwrap(), at: 1_795_000_000 + n as i64 },
            );
        }
        index
    }

    fn sorted(index: &SeenIndex) -> Vec<(EventId, Seen)> {
        let mut v: Vec<_> = index.iter().map(|(k, v)| (*k, *v)).collect();
        v.sort_by_key(|(k, _)| *k);
        v
    }

    #[test]
    fn the_index_round_trips_through_a_snapshot_and_takes_under_60_bytes_a_request() {
        let index = index();
        let json = serde_json::to_string(&index).unwrap();
        assert!(json.len() < 50 * 60, "{} bytes", json.len());
        let back: SeenIndex = serde_json::from_str(&json).unwrap();
        assert_eq!(sorted(&back), sorted(&index));
        assert_eq!(back.get(&EventId(3 << 100 | 3)).unwrap().cost.to_string(), "0.0130");
    }

    #[test]
    fn the_json_map_of_an_earlier_release_is_read() {
        let index = index();
        let old = serde_json::json!({ "entries": index.iter().map(|(k, v)| (k.0.to_string(), serde_json::to_value(v).unwrap())).collect::<serde_json::Map<_, _>>() });
        let back: SeenIndex = serde_json::from_str(&old.to_string()).unwrap();
        assert_eq!(sorted(&back), sorted(&index));
    }

    #[test]
    fn a_damaged_index_is_an_error() {
        let json = serde_json::to_string(&index()).unwrap();
        let cut = format!("{}\"", &json[..json.len() / 2]);
        assert!(serde_json::from_str::<SeenIndex>(&cut).is_err());
        assert!(serde_json::from_str::<SeenIndex>("\"!!\"").is_err());
    }
}
