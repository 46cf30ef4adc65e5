//! Context growth: a conversation re-sends its whole history with every
//! request, so its prompt (input + cache writes + cache reads) grows as it
//! goes on. The fresh-start baseline of a conversation on one model is its
//! smallest prompt there (system prompt, tools, memory files: what a new
//! conversation carries; the cache is per model, so each model has its own);
//! the part of each request above it is what starting over would not have
//! sent.
//!
//! The avoidable cost of a request is its price minus the price of the same
//! request cut down to the baseline, the excess taken first from cache reads
//! (the old history re-read), then 1h and 5m cache writes, then input. Both
//! prices come from the table, so a request that passed a long-context
//! threshold only because of its history saves the whole premium.
//! Only requests whose line names its session count (agents, not proxies).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::{price_on, Names, Record};
use crate::pricing::PriceTable;
use crate::usage::{EventId, Tokens};

/// One request of a session, as context growth sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct GrowthPoint {
    pub id: EventId,
    pub at: DateTime<Utc>,
    pub conversation: String,
    pub model: String,
    pub prompt_tokens: u64,
    pub baseline_tokens: u64,
    pub cost: Decimal,
    pub avoidable: Decimal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionGrowth {
    pub session: String,
    pub project: String,
    pub app: String,
    pub cost: Decimal,
    pub avoidable: Decimal,
    pub max_prompt_tokens: u64,
    /// Every request, in time order.
    pub points: Vec<GrowthPoint>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContextFindings {
    /// Sessions counted (with a session of their own).
    pub sessions: u64,
    pub cost: Decimal,
    pub avoidable: Decimal,
    /// The sessions where starting over would have saved most, most first.
    pub top: Vec<SessionGrowth>,
}

/// `tokens` with `excess` prompt tokens taken away, cache reads first.
pub fn cut(tokens: &Tokens, excess: u64) -> Tokens {
    let mut t = *tokens;
    let mut left = excess;
    for kind in [&mut t.cache_read, &mut t.cache_write_1h, &mut t.cache_write_5m, &mut t.input] {
        let take = (*kind).min(left);
        *kind -= take;
        left -= take;
    }
    t
}

/// The avoidable cost of one request above `baseline` prompt tokens.
pub fn avoidable(prices: &PriceTable, model: &str, r: &Record, baseline: u64) -> Decimal {
    let excess = r.prompt().saturating_sub(baseline);
    if excess == 0 || !r.priced {
        return Decimal::ZERO;
    }
    match (price_on(prices, model, r, &r.tokens), price_on(prices, model, r, &cut(&r.tokens, excess))) {
        (Some(full), Some(fresh)) => (full - fresh).max(Decimal::ZERO),
        _ => Decimal::ZERO,
    }
}

pub fn analyze(window: &[&Record], names: &Names, prices: &PriceTable, top: usize) -> ContextFindings {
    // Records arrive in time order; group by conversation and model, keeping that order.
    let mut conversations: BTreeMap<(u32, u32), Vec<&Record>> = BTreeMap::new();
    for r in window.iter().filter(|r| r.has_session) {
        conversations.entry((r.conversation, r.model)).or_default().push(r);
    }
    let mut sessions: BTreeMap<u32, SessionGrowth> = BTreeMap::new();
    for requests in conversations.values() {
        let baseline = requests.iter().map(|r| r.prompt()).min().unwrap_or(0);
        for r in requests {
            let model = names.get(r.model);
            let point = GrowthPoint {
                id: r.id,
                at: r.at,
                conversation: names.get(r.conversation).to_string(),
                model: model.to_string(),
                prompt_tokens: r.prompt(),
                baseline_tokens: baseline,
                cost: r.cost,
                avoidable: avoidable(prices, model, r, baseline),
            };
            let s = sessions.entry(r.session).or_insert_with(|| SessionGrowth {
                session: names.get(r.session).to_string(),
                project: names.get(r.project).to_string(),
                app: names.get(r.app).to_string(),
                cost: Decimal::ZERO,
                avoidable: Decimal::ZERO,
                max_prompt_tokens: 0,
                points: Vec::new(),
            });
            s.cost += point.cost;
            s.avoidable += point.avoidable;
            s.max_prompt_tokens = s.max_prompt_tokens.max(point.prompt_tokens);
            s.points.push(point);
        }
    }
    let mut all: Vec<SessionGrowth> = sessions.into_values().collect();
    for s in &mut all {
        s.points.sort_by_key(|a| (a.at, a.id));
    }
    let findings = ContextFindings {
        sessions: all.len() as u64,
        cost: all.iter().map(|s| s.cost).sum(),
        avoidable: all.iter().map(|s| s.avoidable).sum(),
        top: Vec::new(),
    };
    all.sort_by(|a, b| b.avoidable.cmp(&a.avoidable).then_with(|| a.session.cmp(&b.session)));
    all.retain(|s| !s.avoidable.is_zero());
    all.truncate(top);
    ContextFindings { top: all, ..findings }
}
