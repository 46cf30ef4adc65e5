//! Caching: how much of the prompt came from the cache, what the cache saved
//! (the same tokens at the input price, `pricing::savings`), and cache writes
//! never read back.
//!
//! A write is read back when the next request of the same conversation on
//! the same model (the cache is per model) reads the cache within the write's lifetime (5 minutes, or 1 hour for 1h
//! writes). One that is not was paid at the write premium for nothing: its
//! cost is the request's price minus its price with those tokens as plain
//! input.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::{price_on, Names, Record};
use crate::pricing::savings::cache_savings;
use crate::pricing::PriceTable;
use crate::usage::{EventId, Tokens};

const TTL_5M: i64 = 5 * 60;
const TTL_1H: i64 = 60 * 60;

/// Cache use of one app (or of everything).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CacheUse {
    pub key: String,
    pub requests: u64,
    pub prompt_tokens: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub saved: Decimal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UnreadWrite {
    pub id: EventId,
    pub at: DateTime<Utc>,
    pub tokens: u64,
    pub premium: Decimal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UnreadWrites {
    pub session: String,
    pub project: String,
    pub app: String,
    pub write_tokens: u64,
    pub unread_tokens: u64,
    pub premium: Decimal,
    /// Writes and not one cache read in the whole session.
    pub never_read: bool,
    pub requests: Vec<UnreadWrite>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CacheFindings {
    pub total: CacheUse,
    pub by_app: Vec<CacheUse>,
    pub unread_premium: Decimal,
    pub unread_sessions: u64,
    /// Sessions with the most paid for unread writes, most first.
    pub unread: Vec<UnreadWrites>,
}

impl CacheUse {
    fn add(&mut self, r: &Record, saved: Decimal) {
        self.requests += 1;
        self.prompt_tokens = self.prompt_tokens.saturating_add(r.prompt());
        self.cache_read = self.cache_read.saturating_add(r.tokens.cache_read);
        self.cache_write = self.cache_write.saturating_add(r.tokens.cache_write_5m.saturating_add(r.tokens.cache_write_1h));
        self.saved += saved;
    }
}

/// The writes of `r` the `next` request of its conversation does not read.
pub fn unread(r: &Record, next: Option<&Record>) -> (u64, u64) {
    let read_within = |ttl: i64| next.is_some_and(|n| n.tokens.cache_read > 0 && (n.at - r.at).num_seconds() <= ttl);
    let w5 = if read_within(TTL_5M) { 0 } else { r.tokens.cache_write_5m };
    let w1 = if read_within(TTL_1H) { 0 } else { r.tokens.cache_write_1h };
    (w5, w1)
}

/// What the unread writes of `r` cost above the input price.
fn premium(prices: &PriceTable, names: &Names, r: &Record, w5: u64, w1: u64) -> Decimal {
    let plain = Tokens {
        input: r.tokens.input.saturating_add(w5).saturating_add(w1),
        cache_write_5m: r.tokens.cache_write_5m - w5,
        cache_write_1h: r.tokens.cache_write_1h - w1,
        ..r.tokens
    };
    let model = names.get(r.model);
    match (price_on(prices, model, r, &r.tokens), price_on(prices, model, r, &plain)) {
        (Some(paid), Some(plain)) => (paid - plain).max(Decimal::ZERO),
        _ => Decimal::ZERO,
    }
}

pub fn analyze(window: &[&Record], names: &Names, prices: &PriceTable, top: usize) -> CacheFindings {
    let mut total = CacheUse { key: "total".into(), ..CacheUse::default() };
    let mut by_app: BTreeMap<u32, CacheUse> = BTreeMap::new();
    let mut conversations: BTreeMap<(u32, u32), Vec<&Record>> = BTreeMap::new();
    for r in window {
        let saved = cache_savings(prices, names.get(r.model), &r.tokens, &r.modifiers, r.at);
        total.add(r, saved);
        by_app.entry(r.app).or_insert_with(|| CacheUse { key: names.get(r.app).to_string(), ..CacheUse::default() }).add(r, saved);
        if r.has_session {
            conversations.entry((r.conversation, r.model)).or_default().push(r);
        }
    }
    let mut sessions: BTreeMap<u32, UnreadWrites> = BTreeMap::new();
    let mut reads: BTreeMap<u32, u64> = BTreeMap::new();
    for requests in conversations.values() {
        for (i, r) in requests.iter().enumerate() {
            *reads.entry(r.session).or_default() += r.tokens.cache_read;
            let s = sessions.entry(r.session).or_insert_with(|| UnreadWrites {
                session: names.get(r.session).to_string(),
                project: names.get(r.project).to_string(),
                app: names.get(r.app).to_string(),
                write_tokens: 0,
                unread_tokens: 0,
                premium: Decimal::ZERO,
                never_read: false,
                requests: Vec::new(),
            });
            s.write_tokens += r.tokens.cache_write_5m + r.tokens.cache_write_1h;
            let (w5, w1) = unread(r, requests.get(i + 1).copied());
            if w5 + w1 > 0 {
                let p = premium(prices, names, r, w5, w1);
                s.unread_tokens += w5 + w1;
                s.premium += p;
                s.requests.push(UnreadWrite { id: r.id, at: r.at, tokens: w5 + w1, premium: p });
            }
        }
    }
    let mut unread: Vec<UnreadWrites> = sessions
        .into_iter()
        .filter(|(_, s)| s.unread_tokens > 0)
        .map(|(n, mut s)| {
            s.never_read = reads.get(&n).copied().unwrap_or(0) == 0;
            s.requests.sort_by_key(|a| (a.at, a.id));
            s
        })
        .collect();
    let unread_premium = unread.iter().map(|s| s.premium).sum();
    let unread_sessions = unread.len() as u64;
    unread.sort_by(|a, b| b.premium.cmp(&a.premium).then_with(|| a.session.cmp(&b.session)));
    unread.truncate(top);
    let mut by_app: Vec<CacheUse> = by_app.into_values().collect();
    by_app.sort_by(|a, b| b.saved.cmp(&a.saved).then_with(|| a.key.cmp(&b.key)));
    CacheFindings { total, by_app, unread_premium, unread_sessions, unread }
}
