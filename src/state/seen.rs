//! The seen-id index: books each request once, and only the growth of a
//! later, larger copy.
//!
//! Claude Code writes one response as several lines with the same id, early
//! copies with partial `output_tokens`; resumed sessions copy old lines into
//! new files. The booked view of a request is the kind-wise maximum of its
//! copies, so what is booked never shrinks and counters only go up. The index
//! is persisted with the ledger and trimmed by event time (`forget_before`).

use std::collections::HashMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::pricing::PriceTable;
use crate::usage::{EventId, Tokens, UsageEvent};

mod compact;

/// What has been booked for one request id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub tokens: Tokens,
    pub web_searches: u64,
    pub cost: Decimal,
    /// Unix seconds retention goes by: the later of the event time and the
    /// time it was booked, so old history read today is remembered for the
    /// whole retention (a resumed session may copy it into a new file).
    pub at: i64,
}

/// What a copy adds to what was booked before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admitted {
    /// First copy of this request: it counts as a request.
    pub new_request: bool,
    pub tokens: Tokens,
    pub cost: Decimal,
    /// False when the model has no price (booked at $0).
    pub priced: bool,
    /// What the index holds for the request now.
    pub seen: Seen,
}

/// In a snapshot the index is one base64 string of fixed-order binary
/// entries (`compact`), about 45 bytes a request where the JSON map took
/// some 200; a snapshot of a release before format 2 holds the JSON map
/// (`{"entries": {...}}`), which is still read.
#[derive(Debug, Default, Clone)]
pub struct SeenIndex {
    entries: HashMap<EventId, Seen>,
}

impl SeenIndex {
    /// Books a copy read at `now` (unix seconds): `None` when it adds
    /// nothing (a duplicate).
    pub fn admit(&mut self, event: &UsageEvent, prices: &PriceTable, now: i64) -> Option<Admitted> {
        let at = event.timestamp.timestamp().max(now);
        // A request first booked under the id an earlier release gave it.
        let seen = self.entries.get(&event.id).or_else(|| event.earlier_id.and_then(|id| self.entries.get(&id))).copied();
        match seen {
            None => {
                let priced = prices.price(event);
                let seen = Seen { tokens: event.tokens, web_searches: event.web_searches, cost: priced.cost, at };
                self.entries.insert(event.id, seen);
                Some(Admitted { new_request: true, tokens: event.tokens, cost: priced.cost, priced: priced.priced, seen })
            }
            Some(seen) => {
                let tokens = seen.tokens.merged(&event.tokens);
                let web_searches = seen.web_searches.max(event.web_searches);
                if tokens == seen.tokens && web_searches == seen.web_searches && event.stated_cost.is_none_or(|c| c <= seen.cost) {
                    return None;
                }
                let priced = match event.stated_cost {
                    Some(stated) => crate::pricing::Priced { cost: stated, priced: true },
                    None => prices.price_tokens(&event.model, &tokens, web_searches, &event.modifiers, event.timestamp),
                };
                let cost = priced.cost.max(seen.cost);
                // Counters only go up: when a later copy moves cache writes
                // from 5m to 1h, the 5m count booked earlier stays.
                let now_seen = Seen { tokens, web_searches, cost, at: seen.at.max(at) };
                self.entries.insert(event.id, now_seen);
                Some(Admitted {
                    new_request: false,
                    tokens: tokens.minus(&seen.tokens),
                    cost: cost - seen.cost,
                    priced: priced.priced,
                    seen: now_seen,
                })
            }
        }
    }

    /// Forgets requests whose event time is before `cutoff` (unix seconds).
    pub fn forget_before(&mut self, cutoff: i64) -> usize {
        let before = self.entries.len();
        self.entries.retain(|_, seen| seen.at >= cutoff);
        before - self.entries.len()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, id: &EventId) -> Option<&Seen> {
        self.entries.get(id)
    }

    pub fn insert(&mut self, id: EventId, seen: Seen) {
        self.entries.insert(id, seen);
    }

    pub fn iter(&self) -> impl Iterator<Item = (&EventId, &Seen)> {
        self.entries.iter()
    }
}

impl Serialize for SeenIndex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&compact::encode(&self.entries))
    }
}

impl<'de> Deserialize<'de> for SeenIndex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SeenIndex, D::Error> {
        d.deserialize_any(compact::IndexVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::money;

    fn event(id: &str, output: u64) -> UsageEvent {
        let tokens = Tokens { input: 10, output, cache_write_5m: 100, cache_write_1h: 0, cache_read: 1000 };
        UsageEvent::new(EventId::from_parts("t", &[id]), "2026-09-02T08:00:00Z".parse().unwrap(), "claude-opus-4-6".into(), tokens)
    }

    #[test]
    fn books_once_then_only_growth() {
        let prices = PriceTable::builtin();
        let mut index = SeenIndex::default();
        let first = index.admit(&event("a", 5), &prices, 0).unwrap();
        assert!(first.new_request);
        assert_eq!(money::format(first.cost), "0.0013");
        // Same copy again: nothing.
        assert_eq!(index.admit(&event("a", 5), &prices, 0), None);
        // A smaller copy after a larger one: nothing.
        let grown = index.admit(&event("a", 105), &prices, 0).unwrap();
        assert!(!grown.new_request);
        assert_eq!(grown.tokens, Tokens { output: 100, ..Tokens::default() });
        assert_eq!(money::format(grown.cost), "0.0025");
        assert_eq!(index.admit(&event("a", 50), &prices, 0), None);
        assert_eq!(index.len(), 1);
        // The sum booked is the price of the largest copy.
        assert_eq!(money::format(first.cost + grown.cost), money::format(prices.price(&event("a", 105)).cost));
    }

    #[test]
    fn retention_forgets_by_event_time() {
        let prices = PriceTable::builtin();
        let mut index = SeenIndex::default();
        index.admit(&event("old", 1), &prices, 0);
        let mut newer = event("new", 1);
        newer.timestamp = "2026-10-20T00:00:00Z".parse().unwrap();
        index.admit(&newer, &prices, 0);
        let cutoff: chrono::DateTime<chrono::Utc> = "2026-10-01T00:00:00Z".parse().unwrap();
        assert_eq!(index.forget_before(cutoff.timestamp()), 1);
        assert!(index.admit(&event("old", 1), &prices, 0).unwrap().new_request);
        // Old history booked today is kept for the retention from today.
        let today: chrono::DateTime<chrono::Utc> = "2026-11-25T00:00:00Z".parse().unwrap();
        index.admit(&event("backfill", 1), &prices, today.timestamp());
        assert_eq!(index.forget_before(cutoff.timestamp()), 1, "only the old id booked at time 0 goes");
        assert_eq!(index.admit(&event("backfill", 1), &prices, today.timestamp()), None);
    }

    /// A state directory of the release before requestId ids holds the
    /// (message.id, requestId) id; the same line read again today is a
    /// duplicate, and a larger copy books only its growth.
    #[test]
    fn an_id_of_the_earlier_release_is_the_same_request() {
        let prices = PriceTable::builtin();
        let mut index = SeenIndex::default();
        let mut old = event("a", 5);
        old.id = EventId::from_parts("claude_code", &["msg_a", "req_a"]);
        assert!(index.admit(&old, &prices, 0).unwrap().new_request);
        let mut today = event("a", 5);
        today.id = EventId::from_parts("claude_code", &["req_a"]);
        today.earlier_id = Some(old.id);
        assert_eq!(index.admit(&today, &prices, 0), None);
        today.tokens.output = 105;
        let grown = index.admit(&today, &prices, 0).unwrap();
        assert!(!grown.new_request);
        assert_eq!(grown.tokens, Tokens { output: 100, ..Tokens::default() });
        assert_eq!(index.admit(&today, &prices, 0), None);
    }
}
