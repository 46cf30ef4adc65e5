use super::*;
use crate::sources::formats::attribution::{AppFrom, AppRule};
use crate::usage::{Modifiers, Tokens};

fn parser(from: AppFrom) -> OpenAiParser {
    let rules = [AppRule { pattern: "^Cursor/".into(), app: "cursor".into() }];
    OpenAiParser::new(Arc::new(Attribution::new(from, &rules, None).unwrap()))
}

const CHAT: &str = r#"{"timestamp": "2026-10-01T00:00:13Z", "user_agent": "Cursor/1.7.2", "app": "ide", "response": {"id": "chatcmpl-1", "object": "chat.completion", "created": 1790000000, "model": "acme-gpt-large", "choices": [{"index": 0, "message": {"role": "assistant", "content": "{\"usage\": 1}"}}], "usage": {"prompt_tokens": 46022, "completion_tokens": 2512, "total_tokens": 48534, "prompt_tokens_details": {"cached_tokens": 16297}, "completion_tokens_details": {"reasoning_tokens": 1006}, "cost": 0.03178321}}}"#;

#[test]
fn chat_completions_with_cached_tokens_and_stated_cost() {
    let e = parser(AppFrom::UserAgent).parse(CHAT.as_bytes()).unwrap().unwrap();
    assert_eq!(e.tokens, Tokens { input: 29725, output: 2512, cache_read: 16297, ..Tokens::default() });
    assert_eq!(e.stated_cost.map(crate::usage::money::format).as_deref(), Some("0.03178321"));
    assert_eq!((e.model.as_str(), e.app.as_deref()), ("acme-gpt-large", Some("cursor")));
    assert_eq!(e.timestamp.to_rfc3339(), "2026-10-01T00:00:13+00:00");
    assert_eq!(e.id, EventId::from_parts("openai", &["chatcmpl-1"]));
    assert_eq!(parser(AppFrom::Field).parse(CHAT.as_bytes()).unwrap().unwrap().app.as_deref(), Some("ide"));
}

/// Table: line, (input, output, cache_read), stated cost, timestamp.
#[test]
fn usage_shapes() {
    type Case<'a> = (&'a str, (u64, u64, u64), Option<&'a str>, &'a str);
    let cases: &[Case] = &[
        (
            r#"{"id":"c","object":"chat.completion","created":1790000000,"model":"gpt-4o","usage":{"prompt_tokens":100,"completion_tokens":7}}"#,
            (100, 7, 0),
            None,
            "2026-09-21T14:13:20+00:00",
        ),
        (
            r#"{"id":"r","object":"response","created_at":1790000001,"model":"gpt-4.1","usage":{"input_tokens":50,"input_tokens_details":{"cached_tokens":20},"output_tokens":9,"output_tokens_details":{"reasoning_tokens":3}}}"#,
            (30, 9, 20),
            None,
            "2026-09-21T14:13:21+00:00",
        ),
        (
            r#"{"type":"response.completed","response":{"id":"r2","created_at":1790000002,"model":"o3","usage":{"input_tokens":5,"output_tokens":1}}}"#,
            (5, 1, 0),
            None,
            "2026-09-21T14:13:22+00:00",
        ),
        (
            r#"{"timestamp":1790000003000,"response":{"id":"or","model":"anthropic/claude-sonnet-4.5","usage":{"prompt_tokens":10,"completion_tokens":2,"cost":"1e-5"}}}"#,
            (10, 2, 0),
            Some("0.00001"),
            "2026-09-21T14:13:23+00:00",
        ),
        (
            r#"{"timestamp":"2026-10-01T00:00:00Z","response":"{\"id\":\"s\",\"model\":\"gpt-4o\",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}"}"#,
            (3, 1, 0),
            None,
            "2026-10-01T00:00:00+00:00",
        ),
    ];
    for (line, (input, output, read), cost, at) in cases {
        let e = parser(AppFrom::Field).parse(line.as_bytes()).unwrap().unwrap();
        assert_eq!((e.tokens.input, e.tokens.output, e.tokens.cache_read), (*input, *output, *read), "{line}");
        assert_eq!(e.stated_cost.map(crate::usage::money::format).as_deref(), *cost, "{line}");
        assert_eq!(e.timestamp.to_rfc3339(), *at, "{line}");
    }
}

#[test]
fn the_one_pass_and_general_paths_agree_on_the_fixture() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/proxy/openai.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let mut p = parser(AppFrom::UserAgent);
    for line in text.lines() {
        assert_eq!(p.parse(line.as_bytes()), p.parse_general(line.as_bytes()), "{line}");
    }
    assert_eq!(text.lines().count(), 150);
}

#[test]
fn skips_lines_without_usage_and_refuses_bad_ones() {
    let mut p = parser(AppFrom::Field);
    for skipped in [r#"{"object":"chat.completion.chunk","usage":null,"model":"gpt-4o"}"#, r#"{"event":"connect"}"#, "[]"] {
        assert_eq!(p.parse(skipped.as_bytes()), Ok(None), "{skipped}");
    }
    for bad in [
        "not json",
        r#"{"usage":{"prompt_tokens":5}}"#,
        r#"{"model":"m","usage":{"prompt_tokens":-5}}"#,
        r#"{"model":"m","usage":{"prompt_tokens":5,"cost":"free"}}"#,
        r#"{"timestamp":"noon","model":"m","usage":{"prompt_tokens":5}}"#,
    ] {
        assert!(p.parse(bad.as_bytes()).is_err(), "{bad}");
    }
}

fn cost(e: &UsageEvent) -> String {
    crate::usage::money::format(crate::pricing::PriceTable::builtin().price(e).cost)
}

/// Claude behind OpenAI-compatible proxies: the cache counts are priced as
/// cache, not as input (2x the real cost before), on the usage objects the
/// proxies write.
#[test]
fn claude_behind_a_proxy_is_priced_with_its_cache() {
    let cases = [
        // LiteLLM /chat/completions, a cache write (text_tokens = the uncached rest):
        // 11 x $3 + 15624 x $3.75 + 120 x $15 per million.
        (
            r#"{"id":"chatcmpl-lite-1","created":1764590000,"model":"claude-sonnet-4-5-20250929","object":"chat.completion","choices":[{"finish_reason":"stop","index":0,"message":{"content":"ok","role":"assistant"}}],"usage":{"completion_tokens":120,"prompt_tokens":15635,"total_tokens":15755,"completion_tokens_details":{"reasoning_tokens":0,"text_tokens":120},"prompt_tokens_details":{"cached_tokens":0,"text_tokens":11,"cache_write_tokens":15624,"cache_creation_tokens":15624,"cache_creation_token_details":{"ephemeral_5m_input_tokens":15624,"ephemeral_1h_input_tokens":0}},"cache_creation_input_tokens":15624,"cache_read_input_tokens":0,"inference_geo":"not_available","service_tier":"standard"}}"#,
            "0.060423",
        ),
        // LiteLLM, a cache read, no text_tokens: 11 x $3 + 17100 x $0.30 + 250 x $15.
        (
            r#"{"id":"chatcmpl-lite-2","created":1764590001,"model":"anthropic/claude-sonnet-4-5","usage":{"completion_tokens":250,"prompt_tokens":17111,"total_tokens":17361,"prompt_tokens_details":{"cached_tokens":17100},"cache_creation_input_tokens":0,"cache_read_input_tokens":17100}}"#,
            "0.008913",
        ),
        // LiteLLM's anthropic_messages path: prompt_tokens without the cache.
        // 12 x $3 + 2495 x $0.30 + 45 x $15.
        (
            r#"{"id":"msg-lite-3","created":1764590002,"model":"claude-sonnet-4-5-20250929","usage":{"completion_tokens":45,"prompt_tokens":12,"total_tokens":57,"prompt_tokens_details":{"cached_tokens":2495,"cache_creation_tokens":0},"cache_creation_input_tokens":0,"cache_read_input_tokens":2495}}"#,
            "0.0014595",
        ),
        // A 1h write through the details, and a split below the total:
        // 400 x $5 + 300 x $6.25 + 200 x $10 + 80 x $25 (Opus 4.6).
        (
            r#"{"id":"chatcmpl-lite-4","created":1764590003,"model":"claude-opus-4-6","usage":{"prompt_tokens":900,"completion_tokens":80,"total_tokens":980,"prompt_tokens_details":{"cache_creation_tokens":500,"cache_creation_token_details":{"ephemeral_1h_input_tokens":200}}}}"#,
            "0.007875",
        ),
    ];
    for (line, want) in cases {
        let e = parser(AppFrom::Field).parse(line.as_bytes()).unwrap().unwrap();
        assert_eq!(cost(&e), want, "{line}");
    }
}

#[test]
fn openrouter_cache_writes_and_stated_cost() {
    let line = r#"{"id":"gen-1764590000-abc","provider":"Anthropic","model":"anthropic/claude-sonnet-4.5","object":"chat.completion","created":1764590000,"usage":{"completion_tokens":2,"completion_tokens_details":{"reasoning_tokens":0},"cost":0.95,"cost_details":{"upstream_inference_cost":19},"is_byok":false,"prompt_tokens":194,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":100,"audio_tokens":0},"total_tokens":196}}"#;
    let e = parser(AppFrom::Field).parse(line.as_bytes()).unwrap().unwrap();
    assert_eq!(e.tokens, Tokens { input: 94, output: 2, cache_write_5m: 100, ..Tokens::default() });
    assert_eq!(cost(&e), "0.95");
}

#[test]
fn gemini_reasoning_outside_completion_tokens_is_output() {
    // 10 x $0.30 + 100 x $2.50 per million (Gemini 2.5 Flash).
    let line = r#"{"id":"chatcmpl-gem-1","created":1764590000,"model":"gemini/gemini-2.5-flash","usage":{"prompt_tokens":10,"completion_tokens":0,"total_tokens":110,"completion_tokens_details":{"reasoning_tokens":100},"prompt_tokens_details":{"cached_tokens":0,"text_tokens":10}}}"#;
    let e = parser(AppFrom::Field).parse(line.as_bytes()).unwrap().unwrap();
    assert_eq!((e.tokens.input, e.tokens.output), (10, 100));
    assert_eq!(cost(&e), "0.000253");
}

#[test]
fn service_tier_and_modifiers() {
    let line = |tier: &str| {
        format!(
            r#"{{"id":"chatcmpl-t","created":1764590000,"model":"gpt-4o-mini","service_tier":"{tier}","usage":{{"prompt_tokens":1200,"completion_tokens":300}}}}"#
        )
    };
    let tier = |t: &str| parser(AppFrom::Field).parse(line(t).as_bytes()).unwrap().unwrap().modifiers.tier;
    assert_eq!(
        [tier("flex"), tier("priority"), tier("default"), tier("scale")],
        [ServiceTier::Flex, ServiceTier::Priority, ServiceTier::Standard, ServiceTier::Standard]
    );
    // The standard tier at today's prices: 1200 x $0.15 + 300 x $0.60 per million.
    assert_eq!(cost(&parser(AppFrom::Field).parse(line("default").as_bytes()).unwrap().unwrap()), "0.00036");
    // A proxy's usage may carry the modifiers itself (LiteLLM for Claude).
    let inside = r#"{"id":"c","model":"claude-opus-4-6","usage":{"prompt_tokens":1,"completion_tokens":1,"service_tier":"priority","speed":"fast","inference_geo":"us"}}"#;
    let m = parser(AppFrom::Field).parse(inside.as_bytes()).unwrap().unwrap().modifiers;
    assert_eq!(m, Modifiers { tier: ServiceTier::Priority, fast: true, us_only: true });
}

/// An OpenAI Batch API output file.
const BATCH: [&str; 4] = [
    r#"{"id":"batch_req_6789a","custom_id":"request-1","response":{"status_code":200,"request_id":"req_abc123","body":{"id":"chatcmpl-B1","object":"chat.completion","created":1764590000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hello."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0}},"service_tier":"default","system_fingerprint":"fp_44709d6fcb"}},"error":null}"#,
    r#"{"id":"batch_req_6789b","custom_id":"request-2","response":{"status_code":400,"request_id":"req_def456","body":{"error":{"message":"Invalid model","type":"invalid_request_error","param":"model","code":"model_not_found"}}},"error":null}"#,
    r#"{"id":"batch_req_6789c","custom_id":"request-3","response":null,"error":{"code":"batch_expired","message":"This request could not be executed before the completion window expired."}}"#,
    r#"{"id":"batch_req_6789d","custom_id":"request-4","response":{"status_code":200,"request_id":"req_ghi","body":{"id":"resp_1","object":"response","created_at":1764590005,"model":"gpt-4.1","usage":{"input_tokens":2000,"input_tokens_details":{"cached_tokens":1000},"output_tokens":100,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":2100}}},"error":null}"#,
];

#[test]
fn batch_output_is_billed_at_batch_rates_and_failures_cost_nothing() {
    for general in [false, true] {
        let mut p = parser(AppFrom::Field);
        let mut parse = |line: &str| if general { p.parse_general(line.as_bytes()) } else { p.parse(line.as_bytes()) };
        let e = parse(BATCH[0]).unwrap().unwrap();
        assert_eq!((e.id, e.modifiers.tier), (EventId::from_parts("openai", &["chatcmpl-B1"]), ServiceTier::Batch));
        assert_eq!(e.timestamp.to_rfc3339(), "2025-12-01T11:53:20+00:00");
        // (1200 x $0.15 + 300 x $0.60 per million) / 2.
        assert_eq!(cost(&e), "0.00018");
        // Responses API body: (1000 x $2 + 1000 x $0.50 + 100 x $8) / 2.
        assert_eq!(cost(&parse(BATCH[3]).unwrap().unwrap()), "0.00165");
        let reasons = [
            "batch request `request-2` failed with status 400 (model_not_found): not billed",
            "batch request `request-3` has no response (batch_expired): not billed",
        ];
        for (line, reason) in BATCH[1..3].iter().zip(reasons) {
            let parsed = if general { p.parse_general(line.as_bytes()) } else { p.parse(line.as_bytes()) };
            assert_eq!(parsed, Ok(None), "{line}");
            assert_eq!(p.skip_reason().as_deref(), Some(reason));
        }
    }
}
