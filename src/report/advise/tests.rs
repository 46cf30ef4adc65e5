//! Table-driven tests of the levers over hand-made records: exact dollars.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::*;
use crate::pricing::PriceSpec;
use crate::usage::money;

/// Builds records the way `from_requests` does, names interned.
#[derive(Default)]
struct Tree {
    names: Names,
    records: Vec<Record>,
}

struct Line<'a> {
    at: &'a str,
    app: &'a str,
    model: &'a str,
    session: Option<&'a str>,
    user: &'a str,
    tokens: Tokens,
}

fn line<'a>(at: &'a str, model: &'a str, session: &'a str, tokens: Tokens) -> Line<'a> {
    Line { at, app: "claude-code", model, session: Some(session), user: "", tokens }
}

fn t(input: u64, output: u64, w5: u64, w1: u64, read: u64) -> Tokens {
    Tokens { input, output, cache_write_5m: w5, cache_write_1h: w1, cache_read: read }
}

fn time(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

impl Tree {
    fn add(&mut self, prices: &PriceTable, l: Line) -> &mut Tree {
        let n = self.records.len();
        let session = l.session.unwrap_or("proxy");
        let priced = prices.price_tokens(l.model, &l.tokens, 0, &crate::usage::Modifiers::default(), time(l.at));
        let record = Record {
            id: EventId::from_parts("test", &[&n.to_string()]),
            at: time(l.at),
            account: self.names.intern("personal"),
            app: self.names.intern(l.app),
            model: self.names.intern(l.model),
            session: self.names.intern(session),
            conversation: self.names.intern(session),
            project: self.names.intern(&format!("-home-dev-{session}")),
            user: self.names.intern(l.user),
            file: self.names.intern(session),
            has_session: l.session.is_some(),
            tokens: l.tokens,
            web_searches: 0,
            modifiers: crate::usage::Modifiers::default(),
            cost: priced.cost,
            priced: priced.priced,
        };
        self.records.push(record);
        self
    }

    fn window(&self) -> Vec<&Record> {
        self.records.iter().collect()
    }
}

fn usd(d: Decimal) -> String {
    money::format(d)
}

fn settings() -> Settings {
    Settings {
        tz: chrono_tz::UTC,
        since: None,
        what_if: None,
        working_hours: None,
        accounts: vec![("personal".into(), Some(Decimal::from(100)))],
        now: time("2026-11-16T00:00:00Z"),
        top: 10,
    }
}

#[test]
fn cut_takes_the_excess_from_cache_reads_first() {
    // Table: tokens, excess, what is left.
    let cases = [
        (t(10, 5, 100, 50, 1000), 0, t(10, 5, 100, 50, 1000)),
        (t(10, 5, 100, 50, 1000), 600, t(10, 5, 100, 50, 400)),
        (t(10, 5, 100, 50, 1000), 1020, t(10, 5, 100, 30, 0)),
        (t(10, 5, 100, 50, 1000), 1155, t(5, 5, 0, 0, 0)),
        (t(10, 5, 100, 50, 1000), 9999, t(0, 5, 0, 0, 0)),
    ];
    for (tokens, excess, want) in cases {
        assert_eq!(context::cut(&tokens, excess), want, "{tokens:?} - {excess}");
    }
}

#[test]
fn context_growth_prices_the_history_above_the_smallest_prompt() {
    let prices = PriceTable::builtin();
    let mut tree = Tree::default();
    // Opus 4.6, cache reads at $0.50/M: 10k, 30k, 60k prompt tokens.
    tree.add(&prices, line("2026-11-02T09:00:00Z", "claude-opus-4-6", "a", t(10_000, 100, 0, 0, 0)))
        .add(&prices, line("2026-11-02T09:01:00Z", "claude-opus-4-6", "a", t(0, 100, 0, 0, 30_000)))
        .add(&prices, line("2026-11-02T09:02:00Z", "claude-opus-4-6", "a", t(0, 100, 0, 0, 60_000)))
        // Sonnet 4.5 past 200k only because of its history: the whole
        // long-context premium is avoidable.
        .add(&prices, line("2026-11-02T10:00:00Z", "claude-sonnet-4-5", "b", t(50_000, 0, 0, 0, 0)))
        .add(&prices, line("2026-11-02T10:01:00Z", "claude-sonnet-4-5", "b", t(10_000, 1_000, 0, 0, 200_000)))
        // A proxy request (no session of its own) is not a conversation.
        .add(
            &prices,
            Line {
                at: "2026-11-02T11:00:00Z",
                app: "gw",
                model: "claude-opus-4-6",
                session: None,
                user: "",
                tokens: t(0, 0, 0, 0, 900_000),
            },
        );
    let found = context::analyze(&tree.window(), &tree.names, &prices, 10);
    assert_eq!(found.sessions, 2);
    // b: 10k input + 200k reads at the long-context card (6, 22.50, 0.60) =
    // 0.06 + 0.0225 + 0.12 = 0.2025; cut to 50k (40k input kept... reads go
    // first: 10k input + 40k reads) at the base card = 0.03 + 0.015 + 0.012 = 0.057.
    // a: 20k reads and 50k reads above 10k at $0.50/M = 0.01 + 0.025.
    let top: Vec<(&str, String)> = found.top.iter().map(|s| (s.session.as_str(), usd(s.avoidable))).collect();
    assert_eq!(top, [("b", "0.1455".to_string()), ("a", "0.035".to_string())]);
    assert_eq!(usd(found.avoidable), "0.1805");
    assert_eq!(found.top[1].points.iter().map(|p| p.baseline_tokens).collect::<Vec<_>>(), [10_000, 10_000, 10_000]);
    assert_eq!(found.top[0].project, "-home-dev-b");
}

#[test]
fn tier_down_goes_to_the_same_generation_or_the_nearest_older() {
    let extra: BTreeMap<String, PriceSpec> =
        serde_yaml_ng::from_str("claude-sonnet-9-9: { input_usd: 1, output_usd: 2 }\nclaude-haiku-0-1: { input_usd: 1, output_usd: 2 }")
            .unwrap();
    let prices = PriceTable::builtin().with_overrides(&extra);
    // Table: model as logged, one tier down.
    let cases = [
        ("claude-opus-4-6", Some("claude-sonnet-4-6")),
        ("claude-opus-4-5-20251101", Some("claude-sonnet-4-5")),
        ("claude-sonnet-4-5-20250929", Some("claude-haiku-4-5")),
        // No Sonnet 4.1: the nearest older Sonnet, 4 (the shorter of two keys).
        ("claude-opus-4-1-20250805", Some("claude-sonnet-4")),
        ("claude-sonnet-4-20250514", Some("claude-3-5-haiku")),
        ("claude-3-5-sonnet", Some("claude-3-5-haiku")),
        ("claude-haiku-4-5", None),
        ("gpt-5-pro", Some("gpt-5")),
        ("gpt-5", Some("gpt-5-mini")),
        ("gpt-5-mini", Some("gpt-5-nano")),
        ("gpt-5-nano", None),
        ("gpt-4o-2024-08-06", Some("gpt-4o-mini")),
        ("gemini-2.5-pro", Some("gemini-2.5-flash")),
        ("gemini-2.5-flash", Some("gemini-2.5-flash-lite")),
        ("no-such-model", None),
    ];
    for (model, want) in cases {
        assert_eq!(tier_down(&prices, model).as_deref(), want, "{model}");
    }
}

#[test]
fn what_if_prices_the_same_tokens_on_another_model() {
    let prices = PriceTable::builtin();
    let mut tree = Tree::default();
    tree.add(&prices, line("2026-11-02T09:00:00Z", "claude-opus-4-6", "a", t(1_000_000, 100_000, 0, 0, 0)))
        .add(&prices, line("2026-11-02T09:05:00Z", "claude-haiku-4-5", "a", t(1_000_000, 0, 0, 0, 0)))
        .add(&prices, line("2026-11-02T09:06:00Z", "mystery-model", "a", t(1_000_000, 0, 0, 0, 0)));
    let found = models::analyze(&tree.window(), &tree.names, &prices, Some("claude-haiku-4-5"));
    // Opus 4.6: 5 + 2.5 = 7.5 -> Sonnet 4.6: 3 + 1.5 = 4.5; Haiku has no tier below.
    let w = &found.tier_down;
    assert_eq!((w.requests, usd(w.actual), usd(w.what_if)), (2, "8.5".into(), "5.5".into()));
    assert_eq!(w.by_model[0].on, "claude-sonnet-4-6");
    assert_eq!(w.by_model[1].on, "");
    // All on Haiku 4.5: 1 + 0.5 and 1.
    let all = found.what_if.as_ref().unwrap();
    assert_eq!((usd(all.actual), usd(all.what_if)), ("8.5".into(), "2.5".into()));
    assert_eq!(found.most_expensive.as_ref().map(|s| s.key.as_str()), Some("claude-opus-4-6"));
    assert!(models::analyze(&tree.window(), &tree.names, &prices, Some("gpt-99")).what_if_error.is_some());
}

#[test]
fn cache_savings_and_writes_never_read_back() {
    let prices = PriceTable::builtin();
    let mut tree = Tree::default();
    // a: a 5m write read back 4 minutes later; then a write followed by a
    // read 6 minutes later (expired); the last write is never read.
    tree.add(&prices, line("2026-11-02T09:00:00Z", "claude-opus-4-6", "a", t(0, 0, 100_000, 0, 0)))
        .add(&prices, line("2026-11-02T09:04:00Z", "claude-opus-4-6", "a", t(0, 0, 10_000, 0, 100_000)))
        .add(&prices, line("2026-11-02T09:10:00Z", "claude-opus-4-6", "a", t(0, 0, 20_000, 0, 100_000)))
        // A 1h write read 50 minutes later is read back.
        .add(&prices, line("2026-11-02T12:00:00Z", "claude-sonnet-4-6", "b", t(0, 0, 0, 40_000, 0)))
        .add(&prices, line("2026-11-02T12:50:00Z", "claude-sonnet-4-6", "b", t(0, 0, 0, 0, 40_000)));
    let found = cache::analyze(&tree.window(), &tree.names, &prices, 10);
    // Saved: 200k reads on Opus at (5 - 0.5) = 0.9; 40k on Sonnet at (3 - 0.3) = 0.108.
    assert_eq!(usd(found.total.saved), "1.008");
    assert_eq!((found.total.cache_read, found.total.prompt_tokens), (240_000, 410_000));
    // a's unread: 10k + 20k 5m writes at the premium (6.25 - 5) = 0.0375.
    assert_eq!(found.unread_sessions, 1);
    let a = &found.unread[0];
    assert_eq!((a.session.as_str(), a.unread_tokens, usd(a.premium), a.never_read), ("a", 30_000, "0.0375".into(), false));
}

#[test]
fn unattended_outside_hours_and_new_apps() {
    let prices = PriceTable::builtin();
    let mut tree = Tree::default();
    let proxy = |at| Line { at, app: "zapier", model: "claude-haiku-4-5", session: None, user: "", tokens: t(1_000_000, 0, 0, 0, 0) };
    // Monday 2 November 2026: the person works in Claude Code at 10:00; the
    // connected app spends at 10:30 (present), at 23:00 (away, outside hours).
    tree.add(&prices, line("2026-11-01T10:00:00Z", "claude-haiku-4-5", "a", t(1_000_000, 0, 0, 0, 0)))
        .add(&prices, line("2026-11-02T10:00:00Z", "claude-haiku-4-5", "a", t(1_000_000, 0, 0, 0, 0)))
        .add(&prices, proxy("2026-11-02T10:30:00Z"))
        .add(&prices, proxy("2026-11-02T23:00:00Z"));
    let mut s = settings();
    s.working_hours = Some(WorkingHours::parse("mon-fri", "08:00", "19:00").unwrap());
    let found = apps::analyze(&tree.records, &tree.window(), &tree.names, &s);
    let rows: Vec<(&str, String, String, String, bool)> =
        found.apps.iter().map(|a| (a.app.as_str(), usd(a.cost), usd(a.unattended), usd(a.outside_hours), a.new)).collect();
    // Sunday 1 November is outside mon-fri: Claude Code's first request.
    assert_eq!(rows, [("claude-code", "2".into(), "0".into(), "1".into(), false), ("zapier", "2".into(), "1".into(), "1".into(), true)]);
    assert_eq!(found.apps[1].unattended_requests[0].at, time("2026-11-02T23:00:00Z"));
    // With a window from 2 November on, only what starts in it is new.
    s.since = Some("2026-11-02".parse().unwrap());
    let window: Vec<&Record> = tree.records.iter().skip(1).collect();
    let news: Vec<(String, bool)> =
        apps::analyze(&tree.records, &window, &tree.names, &s).apps.iter().map(|a| (a.app.clone(), a.new)).collect();
    assert_eq!(news, [("zapier".to_string(), true), ("claude-code".to_string(), false)]);
}

#[test]
fn limits_compare_the_month_with_the_cap() {
    let prices = PriceTable::builtin();
    let mut tree = Tree::default();
    tree.add(&prices, line("2026-10-30T10:00:00Z", "claude-opus-4-6", "a", t(1_000_000, 0, 0, 0, 0)))
        .add(&prices, line("2026-11-03T10:00:00Z", "claude-opus-4-6", "a", t(2_000_000, 0, 0, 0, 0)))
        .add(&prices, line("2026-11-10T10:00:00Z", "claude-opus-4-6", "a", t(2_000_000, 0, 0, 0, 0)));
    // Now is 16 November 00:00: $20 in 15 days of 30 -> $40.
    let found = limits::analyze(&tree.records, &tree.names, &settings());
    assert_eq!(found.len(), 1);
    let l = &found[0];
    assert_eq!(
        (l.month.as_str(), usd(l.spend), usd(l.projected), l.closed, l.cap),
        ("2026-11", "20".into(), "40".into(), false, Some(Decimal::from(100)))
    );
}

#[test]
fn an_empty_history_says_so() {
    let advice = analyze(&[], &Names::default(), &PriceTable::builtin(), &settings());
    let mut text = Vec::new();
    print_text(&advice, &mut text).unwrap();
    assert_eq!(String::from_utf8(text).unwrap(), "no requests found in 0 files (0 lines read): nothing to advise on\n");
    assert!(write_html(&advice).contains("No requests found"));
}
