use super::*;

const CONTEXT: &str = r#"{"timestamp":"2026-11-10T13:10:57.000Z","type":"turn_context","payload":{"cwd":"/home/dev/api","approval_policy":"on-request","model":"gpt-5.2","effort":"medium","summary":"auto"}}"#;
const META: &str = r#"{"timestamp":"2026-11-10T13:10:00.000Z","type":"session_meta","payload":{"id":"bdd640fb-0667-4ad1-9c80-317fa3b1799d","timestamp":"2026-11-10T13:10:00.000Z","cwd":"/home/dev/api","originator":"codex_cli_rs","cli_version":"0.161.0"}}"#;

/// A `token_count` line with cumulative totals `total` and this turn's `last`
/// as (input, cached, output, reasoning).
fn count(ts: &str, total: Option<(u64, u64, u64, u64)>, last: Option<(u64, u64, u64, u64)>) -> String {
    let usage = |(i, c, o, r): (u64, u64, u64, u64)| {
        format!(
            r#"{{"input_tokens":{i},"cached_input_tokens":{c},"output_tokens":{o},"reasoning_output_tokens":{r},"total_tokens":{}}}"#,
            i + o
        )
    };
    let mut info = Vec::new();
    if let Some(t) = total {
        info.push(format!(r#""total_token_usage":{}"#, usage(t)));
    }
    if let Some(l) = last {
        info.push(format!(r#""last_token_usage":{}"#, usage(l)));
    }
    format!(
        r#"{{"timestamp":"{ts}","type":"event_msg","payload":{{"type":"token_count","info":{{{},"model_context_window":272000}},"rate_limits":{{"primary":{{"used_percent":54,"window_minutes":300}}}}}}}}"#,
        info.join(",")
    )
}

fn feed(parser: &mut CodexParser, lines: &[&str]) -> Vec<UsageEvent> {
    lines.iter().filter_map(|l| parser.parse(l.as_bytes()).unwrap()).collect()
}

const T1: (u64, u64, u64, u64) = (99080, 71482, 762, 604);
const T2: (u64, u64, u64, u64) = (167317, 74960, 5409, 2232);
const L2: (u64, u64, u64, u64) = (68237, 3478, 4647, 1628);

#[test]
fn cached_input_is_a_cache_read_and_reasoning_is_inside_output() {
    let line = count("2026-11-10T13:10:59.000Z", Some(T1), Some(T1));
    let events = feed(&mut CodexParser::new(), &[META, CONTEXT, &line]);
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.tokens, Tokens { input: 27598, output: 762, cache_read: 71482, ..Tokens::default() });
    assert_eq!(e.reasoning_tokens, 604);
    assert_eq!(e.model, "gpt-5.2");
    assert_eq!(e.session.as_deref(), Some("bdd640fb-0667-4ad1-9c80-317fa3b1799d"));
    assert_eq!(e.timestamp.to_rfc3339(), "2026-11-10T13:10:59+00:00");
    assert_eq!(e.id, EventId::from_parts("codex", &["99080", "71482", "762", "604", "99842"]));
}

#[test]
fn the_same_totals_again_are_not_a_new_request() {
    let first = count("2026-11-10T13:10:59.000Z", Some(T1), Some(T1));
    let again = count("2026-11-10T13:11:00.000Z", Some(T1), Some(T1));
    let next = count("2026-11-10T13:11:51.000Z", Some(T2), Some(L2));
    let events = feed(&mut CodexParser::new(), &[CONTEXT, &first, &again, &next]);
    assert_eq!(events.iter().map(|e| e.tokens.output).collect::<Vec<_>>(), [762, 4647]);
}

#[test]
fn the_model_is_the_latest_turn_contexts() {
    let mini = CONTEXT.replace("gpt-5.2", "gpt-5.1-codex-mini");
    let a = count("2026-11-10T13:10:59.000Z", Some(T1), Some(T1));
    let b = count("2026-11-10T13:11:51.000Z", Some(T2), Some(L2));
    let events = feed(&mut CodexParser::new(), &[CONTEXT, &a, &mini, &b]);
    assert_eq!(events.iter().map(|e| e.model.as_str()).collect::<Vec<_>>(), ["gpt-5.2", "gpt-5.1-codex-mini"]);
}

#[test]
fn a_forks_copied_lines_have_their_originals_ids() {
    let a = count("2026-11-10T13:10:59.000Z", Some(T1), Some(T1));
    let b = count("2026-11-10T13:11:51.000Z", Some(T2), Some(L2));
    let parent = feed(&mut CodexParser::new(), &[META, CONTEXT, &a, &b]);
    // The fork: its own session line, the parent's lines copied, a turn of its own.
    let fork_meta = META.replace("bdd640fb-0667-4ad1-9c80-317fa3b1799d", "8a3c3b5e-801e-41da-85b1-ed25f1533ae8");
    let own = count("2026-11-10T14:13:41.000Z", Some((187317, 80960, 6409, 2932)), Some((20000, 6000, 1000, 700)));
    let fork = feed(&mut CodexParser::new(), &[&fork_meta, CONTEXT, &a, &b, &own]);
    assert_eq!(fork.len(), 3);
    assert_eq!(fork[0].id, parent[0].id);
    assert_eq!(fork[1].id, parent[1].id);
    assert!(parent.iter().all(|p| p.id != fork[2].id));
}

#[test]
fn without_a_model_line_the_default_model_prices_it() {
    let a = count("2025-09-05T10:00:00.000Z", Some(T1), Some(T1));
    let events = feed(&mut CodexParser::new(), &[&a]);
    assert_eq!(events[0].model, DEFAULT_MODEL);
}

#[test]
fn totals_alone_give_the_difference_and_last_alone_its_own_id() {
    let a = count("2026-11-10T13:10:59.000Z", Some(T1), None);
    let b = count("2026-11-10T13:11:51.000Z", Some(T2), None);
    let events = feed(&mut CodexParser::new(), &[CONTEXT, &a, &b]);
    let t = |e: &UsageEvent| (e.tokens.input, e.tokens.cache_read, e.tokens.output, e.reasoning_tokens);
    assert_eq!(events.iter().map(t).collect::<Vec<_>>(), [(27598, 71482, 762, 604), (64759, 3478, 4647, 1628)]);

    let only_last = count("2026-11-10T13:11:51.000Z", None, Some(L2));
    let once = feed(&mut CodexParser::new(), &[CONTEXT, &only_last]);
    let twice = feed(&mut CodexParser::new(), &[CONTEXT, &only_last]);
    assert_eq!(once[0].id, twice[0].id);
    assert_eq!(t(&once[0]), (64759, 3478, 4647, 1628));
}

#[test]
fn lines_that_are_not_requests_are_skipped() {
    let skipped = [
        r#"{"timestamp":"2026-11-10T13:10:57.000Z","type":"event_msg","payload":{"type":"token_count","info":null,"rate_limits":{"primary":{"used_percent":1}}}}"#.to_string(),
        r#"{"timestamp":"2026-11-10T13:10:57.000Z","type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"what is \"token_count\"?"}]}}"#.to_string(),
        r#"{"timestamp":"x","type":"response_item","payload":{"type":"message","model":{"odd":1},"content":"\"turn_context\""}}"#.to_string(),
        r#"{"timestamp":"2026-11-10T13:10:57.000Z","type":"event_msg","payload":{"type":"agent_message","message":"done"}}"#.to_string(),
        count("2026-11-10T13:10:59.000Z", Some((0, 0, 0, 0)), Some((0, 0, 0, 0))),
        String::new(),
    ];
    for line in &skipped {
        assert_eq!(CodexParser::new().parse(line.as_bytes()), Ok(None), "{line}");
    }
}

#[test]
fn bad_lines_are_errors() {
    let good = count("2026-11-10T13:10:59.000Z", Some(T1), Some(T1));
    let bad = [
        good[..good.len() - 12].to_string(),
        good.replace("\"output_tokens\":762", "\"output_tokens\":-762"),
        good.replace("\"output_tokens\":762", "\"output_tokens\":\"762\""),
        good.replace("2026-11-10T13:10:59.000Z", "yesterday"),
        good.replace(r#""timestamp":"2026-11-10T13:10:59.000Z","#, ""),
        CONTEXT.replace(r#""model":"gpt-5.2""#, r#""model":42"#),
        "not json at all".to_string(),
    ];
    for line in &bad {
        assert!(CodexParser::new().parse(line.as_bytes()).is_err(), "{line}");
    }
    let mut line = good.into_bytes();
    let at = line.len() - 30;
    line[at] = 0xff;
    assert!(CodexParser::new().parse(&line).is_err());
}

#[test]
fn it_asks_for_the_lines_before_a_checkpoint() {
    assert!(CodexParser::new().needs_earlier_lines());
}

/// A Codex 0.17x `token_usage_record` (one per response) with `usage` and
/// the thread's running total after it; (input, cached, cache_write, output, reasoning).
fn record(ts: &str, response: &str, usage: (u64, u64, u64, u64, u64), thread: Option<(u64, u64, u64, u64, u64)>) -> String {
    let u = |(i, c, w, o, r): (u64, u64, u64, u64, u64)| {
        format!(
            r#"{{"input_tokens":{i},"cached_input_tokens":{c},"cache_write_input_tokens":{w},"output_tokens":{o},"reasoning_output_tokens":{r},"total_tokens":{}}}"#,
            i + o
        )
    };
    let thread = thread.map(|t| format!(r#","thread_token_usage":{}"#, u(t))).unwrap_or_default();
    format!(
        r#"{{"timestamp":"{ts}","type":"token_usage_record","payload":{{"thread_id":"th-1","turn_id":"1","session_id":"s-1","root_turn_id":"1","response_id":"{response}","usage":{},"turn_token_usage":{}{thread}}}}}"#,
        u(usage),
        u(usage)
    )
}

/// `token_count` with `cache_write_input_tokens` (Codex 0.171).
fn count_with_writes(ts: &str, total: (u64, u64, u64, u64, u64), last: (u64, u64, u64, u64, u64)) -> String {
    let u = |(i, c, w, o, r): (u64, u64, u64, u64, u64)| {
        format!(
            r#"{{"input_tokens":{i},"cached_input_tokens":{c},"cache_write_input_tokens":{w},"output_tokens":{o},"reasoning_output_tokens":{r},"total_tokens":{}}}"#,
            i + o
        )
    };
    format!(
        r#"{{"timestamp":"{ts}","type":"event_msg","payload":{{"type":"token_count","info":{{"total_token_usage":{},"last_token_usage":{},"model_context_window":272000}},"rate_limits":null}}}}"#,
        u(total),
        u(last)
    )
}

const R1: (u64, u64, u64, u64, u64) = (20000, 12000, 3000, 500, 200);
const R2: (u64, u64, u64, u64, u64) = (26000, 18000, 1000, 700, 100);
const RT2: (u64, u64, u64, u64, u64) = (46000, 30000, 4000, 1200, 300);

#[test]
fn cache_write_input_is_a_cache_write_inside_input() {
    let line = count_with_writes("2026-11-10T13:10:59.000Z", R1, R1);
    let e = &feed(&mut CodexParser::new(), &[CONTEXT, &line])[0];
    assert_eq!(e.tokens, Tokens { input: 5000, output: 500, cache_write_5m: 3000, cache_read: 12000, ..Tokens::default() });
    assert_eq!(e.reasoning_tokens, 200);
}

/// One request per response whether a build writes `token_count`,
/// `token_usage_record` or both, in either order, repeated on rate-limit
/// updates; a forked copy of the lines has the same ids.
#[test]
fn records_and_token_counts_are_one_request_per_response() {
    let rec1 = record("2026-11-10T13:10:59.000Z", "resp_1", R1, Some(R1));
    let rec2 = record("2026-11-10T13:11:51.000Z", "resp_2", R2, Some(RT2));
    let tc1 = count_with_writes("2026-11-10T13:10:59.100Z", R1, R1);
    let tc2 = count_with_writes("2026-11-10T13:11:51.100Z", RT2, R2);
    let outputs = |lines: &[&str]| {
        let events = feed(&mut CodexParser::new(), lines);
        let mut by_id: std::collections::BTreeMap<EventId, u64> = std::collections::BTreeMap::new();
        for e in &events {
            let o = by_id.entry(e.id).or_default();
            *o = (*o).max(e.tokens.output);
        }
        by_id.values().copied().collect::<Vec<_>>()
    };
    let want = vec![500, 700];
    let sorted = |mut v: Vec<u64>| {
        v.sort();
        v
    };
    for lines in [
        vec![CONTEXT, &rec1, &rec2],
        vec![CONTEXT, &tc1, &tc2],
        vec![CONTEXT, &rec1, &tc1, &rec2, &tc2],
        vec![CONTEXT, &tc1, &rec1, &tc2, &rec2],
        vec![CONTEXT, &tc1, &rec1, &tc1, &tc1, &rec2, &tc2, &tc2],
        vec![CONTEXT, &rec1, &rec1, &rec2, &rec2],
    ] {
        assert_eq!(sorted(outputs(&lines)), want, "{lines:?}");
    }
    // A record without the thread's total is keyed by its response.
    let bare = record("2026-11-10T13:10:59.000Z", "resp_9", R1, None);
    let e = &feed(&mut CodexParser::new(), &[CONTEXT, &bare])[0];
    assert_eq!(e.id, EventId::from_parts("codex/response", &["resp_9"]));
    assert_eq!(e.model, "gpt-5.2");
    // Truncated or without usage: an error with its line.
    assert!(CodexParser::new().parse(&rec1.as_bytes()[..rec1.len() - 9]).is_err());
    let no_usage = rec1.replace(r#""usage":"#, r#""usage_gone":"#);
    assert!(CodexParser::new().parse(no_usage.as_bytes()).is_err());
}
