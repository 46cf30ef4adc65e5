use super::*;
use crate::usage::money;
use crate::usage::ServiceTier;

fn tokens(input: u64, output: u64, w5: u64, w1: u64, read: u64) -> Tokens {
    Tokens { input, output, cache_write_5m: w5, cache_write_1h: w1, cache_read: read }
}

fn at(text: &str) -> DateTime<Utc> {
    spec::parse_from(text).unwrap()
}

/// A time after every built-in change that matters here, before 2027.
fn now() -> DateTime<Utc> {
    at("2026-12-01")
}

fn standard() -> Modifiers {
    Modifiers::default()
}

fn modifiers(tier: ServiceTier, fast: bool, us_only: bool) -> Modifiers {
    Modifiers { tier, fast, us_only }
}

fn cost_with(model: &str, t: Tokens, m: Modifiers, when: DateTime<Utc>) -> String {
    let priced = PriceTable::builtin().price_tokens(model, &t, 0, &m, when);
    assert!(priced.priced, "{model} has no price");
    money::format(priced.cost)
}

fn cost(model: &str, t: Tokens) -> String {
    cost_with(model, t, standard(), now())
}

/// Regression (found adding pricing to the parser fuzz targets): a line claiming
/// u64::MAX input tokens overflowed the long-context threshold sum. It
/// saturates: the request is past the threshold and priced at the
/// long-context rates.
#[test]
fn huge_token_counts_are_past_the_long_context_threshold() {
    assert_eq!(cost("claude-sonnet-4-5", tokens(u64::MAX, 0, 0, 0, 1)), "110680464442257.3096906");
    let all = cost("claude-sonnet-4-5", tokens(u64::MAX, u64::MAX, u64::MAX, u64::MAX, u64::MAX));
    assert_eq!(all, "896511761982284.208489");
    // Fast and US-only on top saturate instead of overflowing.
    let m = modifiers(ServiceTier::Standard, true, true);
    assert!(!cost_with("claude-opus-4-6", tokens(u64::MAX, u64::MAX, u64::MAX, u64::MAX, u64::MAX), m, now()).is_empty());
}

#[test]
fn builtin_table_loads_and_has_every_claude_model_the_logs_show() {
    let table = PriceTable::builtin();
    for model in [
        "claude-opus-4-20250514",
        "claude-opus-4-1-20250805",
        "claude-opus-4-5-20251101",
        "claude-opus-4-6",
        "claude-opus-4-7",
        "claude-opus-4-8",
        "claude-opus-5",
        "claude-opus-5-5",
        "claude-sonnet-4-20250514",
        "claude-sonnet-4-5-20250929",
        "claude-sonnet-4-6",
        "claude-sonnet-5",
        "claude-sonnet-5-5",
        "claude-haiku-5-5",
        "claude-3-5-haiku-20241022",
        "claude-haiku-4-5-20251001",
        "claude-fable-5",
        "claude-fable-5-1",
        "claude-fable-5-2",
        "claude-mythos-5",
        "claude-mythos-5-1",
        "claude-mythos-5-2",
        "anthropic/claude-sonnet-4-5",
        "gpt-5.2",
        "gpt-5.2-codex",
        "gpt-5.1-codex-mini",
        "qwen3-coder-plus",
    ] {
        assert!(table.lookup(model).is_some(), "{model} has no price");
    }
    assert!(table.lookup("claude-sonnet-4-5-2025").is_none());
    assert!(table.lookup("gpt-unknown").is_none());
    assert!(!table.as_of.is_empty());
}

#[test]
fn every_builtin_spec_is_valid() {
    let file: BuiltinFile = serde_yaml_ng::from_str(BUILTIN).unwrap();
    for (model, spec) in &file.models {
        assert_eq!(spec.validate(), Ok(()), "{model}");
    }
}

#[test]
fn the_current_lineup_at_list_prices() {
    // Table: model, tokens (in, out, 5m, 1h, read) of one million each, exact cost:
    // the sum of the five rates of the card.
    let million = tokens(1_000_000, 1_000_000, 1_000_000, 1_000_000, 1_000_000);
    let cases = [
        ("claude-opus-5-5", "37.2"),
        ("claude-opus-5", "46.75"),
        ("claude-sonnet-5-5", "18.6"),
        ("claude-sonnet-5", "18.7"),
        ("claude-fable-5", "93.5"),
        ("claude-mythos-5", "93.5"),
        ("claude-fable-5-1", "92.75"),
        ("claude-mythos-5-1", "92.75"),
        ("claude-fable-5-2", "74.2"),
        ("claude-opus-4-6", "46.75"),
    ];
    for (model, want) in cases {
        assert_eq!(cost(model, million), want, "{model}");
    }
}

#[test]
fn prices_each_token_kind() {
    // Table-driven: model, tokens (in, out, 5m, 1h, read), exact cost.
    let cases = [
        ("claude-opus-4-1-20250805", tokens(1_000_000, 0, 0, 0, 0), "15"),
        ("claude-opus-4-1-20250805", tokens(0, 1_000_000, 0, 0, 0), "75"),
        ("claude-opus-4-6", tokens(10, 20, 30, 40, 50), "0.0011625"),
        ("claude-haiku-4-5-20251001", tokens(8, 1258, 0, 0, 87406), "0.0150386"),
        ("claude-sonnet-4-5-20250929", tokens(28, 648, 2470, 1235, 85012), "0.0519801"),
        ("claude-3-5-haiku-20241022", tokens(1_000_000, 1_000_000, 1_000_000, 1_000_000, 1_000_000), "7.48"),
    ];
    for (model, t, want) in cases {
        assert_eq!(cost(model, t), want, "{model} {t:?}");
    }
}

#[test]
fn fast_mode_multiplies_every_rate_cache_included() {
    // Opus 4.6 with 1h writes: (1000*5 + 2000*25 + 10000*10 + 50000*0.5) / 1e6 = 0.18, fast 6x.
    let t = tokens(1_000, 2_000, 0, 10_000, 50_000);
    let fast = modifiers(ServiceTier::Standard, true, false);
    assert_eq!(cost("claude-opus-4-6", t), "0.18");
    assert_eq!(cost_with("claude-opus-4-6", t, fast, now()), "1.08");
    assert_eq!(cost_with("claude-opus-4-7", t, fast, now()), "1.08");
    // 2x on Opus 4.8, 5 and 5.5 and Fable 5.2; models without fast mode pay standard rates.
    let million = tokens(1_000_000, 1_000_000, 1_000_000, 1_000_000, 1_000_000);
    let cases = [
        ("claude-opus-4-8", "93.5"),
        ("claude-opus-5", "93.5"),
        ("claude-opus-5-5", "74.4"),
        ("claude-fable-5-2", "148.4"),
        ("claude-sonnet-5", "18.7"),
        ("claude-haiku-4-5", "9.35"),
    ];
    for (model, want) in cases {
        assert_eq!(cost_with(model, million, fast, now()), want, "{model}");
    }
}

#[test]
fn us_only_inference_costs_a_tenth_more_on_claude_4_6_and_later_and_stacks_with_fast() {
    let input = tokens(1_000_000, 0, 0, 0, 0);
    let output = tokens(0, 1_000_000, 0, 0, 0);
    let us = modifiers(ServiceTier::Standard, false, true);
    let both = modifiers(ServiceTier::Standard, true, true);
    let cases = [
        ("claude-opus-5-5", input, us, "4.4"),
        ("claude-opus-5-5", input, both, "8.8"),
        ("claude-opus-4-6", output, both, "165"),
        ("claude-sonnet-4-6", input, us, "3.3"),
        ("claude-haiku-5-5", tokens(100_000, 0, 0, 0, 0), us, "0.011"),
        ("claude-haiku-5-5", input, us, "0.55"),
        ("claude-fable-5-1", output, both, "55"),
        // Before Opus 4.6 there is no US-only inference: nothing extra.
        ("claude-opus-4-5", input, us, "5"),
        ("claude-sonnet-4-5", tokens(100_000, 0, 0, 0, 0), both, "0.3"),
    ];
    for (model, t, m, want) in cases {
        assert_eq!(cost_with(model, t, m, now()), want, "{model} {m:?}");
    }
}

#[test]
fn web_searches_stay_ten_dollars_per_thousand_at_any_speed_or_tier() {
    let table = PriceTable::builtin();
    let none = tokens(0, 0, 0, 0, 0);
    for m in [
        modifiers(ServiceTier::Standard, true, true),
        modifiers(ServiceTier::Batch, false, false),
        modifiers(ServiceTier::Batch, true, true),
    ] {
        assert_eq!(money::format(table.price_tokens("claude-opus-4-6", &none, 2, &m, now()).cost), "0.02", "{m:?}");
    }
    // Batch halves tokens, not searches.
    let batch = modifiers(ServiceTier::Batch, false, false);
    assert_eq!(money::format(table.price_tokens("claude-haiku-4-5", &tokens(1_000_000, 0, 0, 0, 0), 3, &batch, now()).cost), "0.53");
    let fast_batch = modifiers(ServiceTier::Batch, true, false);
    assert_eq!(cost_with("claude-opus-5-5", tokens(1_000_000, 0, 0, 0, 0), fast_batch, now()), "4");
}

#[test]
fn haiku_5_5_prices_the_whole_request_by_its_prompt_length() {
    // 100,000 prompt tokens (input + cache writes + reads) is the lower tier; 100,001 is not.
    assert_eq!(cost("claude-haiku-5-5", tokens(10_000, 1_000, 0, 0, 90_000)), "0.0024");
    assert_eq!(cost("claude-haiku-5-5", tokens(10_001, 1_000, 0, 0, 90_000)), "0.0120005");
    assert_eq!(cost("claude-haiku-5-5", tokens(0, 0, 50_000, 50_001, 0)), "0.081251");
    // Output does not count towards the threshold.
    assert_eq!(cost("claude-haiku-5-5", tokens(100_000, 200_000, 0, 0, 0)), "0.11");
}

#[test]
fn long_context_prices_the_whole_request_past_the_threshold() {
    // 200,000 prompt-side tokens is not past the threshold; 200,001 is.
    assert_eq!(cost("claude-sonnet-4-5-20250929", tokens(200_000, 1_000, 0, 0, 0)), "0.615");
    assert_eq!(cost("claude-sonnet-4-5-20250929", tokens(100_000, 1_000, 1, 0, 100_000)), "0.6825075");
    assert_eq!(cost("claude-sonnet-4-20250514", tokens(1, 0, 100_000, 50_000, 50_000)), "1.380006");
    assert_eq!(cost("claude-sonnet-4-5", tokens(150_000, 100_000, 0, 0, 0)), "1.95");
    // Opus 4.6 has no long-context card.
    assert_eq!(cost("claude-opus-4-6", tokens(300_000, 0, 0, 0, 0)), "1.5");
}

#[test]
fn openai_272k_tier_flex_and_priority() {
    let cases = [
        ("gpt-5.5", tokens(272_000, 1_000, 0, 0, 0), standard(), "1.39"),
        ("gpt-5.5", tokens(272_001, 1_000, 0, 0, 0), standard(), "2.76501"),
        ("gpt-5.4", tokens(200_000, 0, 0, 0, 72_000), standard(), "0.518"),
        ("gpt-5.4", tokens(200_000, 0, 0, 0, 72_001), standard(), "1.0360005"),
        ("gpt-5.4", tokens(100_000, 0, 0, 0, 0), modifiers(ServiceTier::Flex, false, false), "0.125"),
        ("gpt-5.4", tokens(1_000_000, 0, 0, 0, 0), modifiers(ServiceTier::Flex, false, false), "2.5"),
        ("gpt-5.5", tokens(100_000, 100_000, 0, 0, 0), modifiers(ServiceTier::Priority, false, false), "8.75"),
        ("gpt-5.2-codex", tokens(0, 0, 0, 0, 1_000_000), modifiers(ServiceTier::Priority, false, false), "0.175"),
        ("gpt-5.2", tokens(0, 0, 0, 0, 1_000_000), modifiers(ServiceTier::Priority, false, false), "0.35"),
        // Above the tier, its rates (priority lists no long-context card).
        ("gpt-5.5", tokens(300_000, 0, 0, 0, 0), modifiers(ServiceTier::Priority, false, false), "3"),
    ];
    for (model, t, m, want) in cases {
        assert_eq!(cost_with(model, t, m, now()), want, "{model} {t:?} {m:?}");
    }
}

#[test]
fn qwen_tiers_price_the_request_at_the_highest_tier_passed() {
    let cases = [
        (tokens(32_000, 0, 0, 0, 0), "0.032"),
        (tokens(32_001, 0, 0, 0, 0), "0.0576018"),
        (tokens(200_000, 0, 0, 0, 0), "0.6"),
        (tokens(300_000, 1_000, 0, 0, 0), "1.86"),
    ];
    for (t, want) in cases {
        assert_eq!(cost("qwen3-coder-plus", t), want, "{t:?}");
    }
}

#[test]
fn a_dated_card_prices_events_by_their_time() {
    let reads = tokens(0, 0, 0, 0, 1_000_000);
    assert_eq!(cost_with("claude-sonnet-5-5", reads, standard(), at("2026-10-06T23:59:59Z")), "0.2");
    assert_eq!(cost_with("claude-sonnet-5-5", reads, standard(), at("2026-10-07T00:00:00Z")), "0.1");
    // Only the cache read changed.
    assert_eq!(cost_with("claude-sonnet-5-5", tokens(1_000_000, 0, 0, 0, 0), standard(), at("2026-01-01")), "2");
    let input = tokens(1_000_000, 0, 0, 0, 0);
    assert_eq!(cost_with("gemini-3.8-flash", input, standard(), at("2026-12-31T23:59:59Z")), "0.75");
    assert_eq!(cost_with("gemini-3.8-flash", input, standard(), at("2027-01-01T00:00:00Z")), "1.5");
}

#[test]
fn ids_as_logs_write_them_resolve_to_their_card() {
    let table = PriceTable::builtin();
    let cases = [
        ("claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("gpt-4.1-2025-04-14", "gpt-4.1"),
        ("gpt-3.5-turbo-0125", "gpt-3.5-turbo"),
        ("gpt-4-turbo-0409", "gpt-4-turbo"),
        ("claude-3-opus-latest", "claude-3-opus"),
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
        ("claude-opus-4.8", "claude-opus-4-8"),
        ("claude-3.5-haiku", "claude-3-5-haiku"),
        ("anthropic/claude-opus-4.6", "claude-opus-4-6"),
        ("openrouter/anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("global.anthropic.claude-opus-4-6-v1", "claude-opus-4-6"),
        ("anthropic.claude-3-haiku-20240307-v1:0", "claude-3-haiku"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("claude-opus-5-5[1m]", "claude-opus-5-5"),
        ("google/gemini-2.5-pro", "gemini-2.5-pro"),
        // An exact key wins over a normalised one.
        ("gpt-5-chat-latest", "gpt-5-chat-latest"),
        ("gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),
        ("openai/gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
    ];
    for (logged, key) in cases {
        assert_eq!(table.lookup(logged).map(|(k, _, _)| k), Some(key), "{logged}");
    }
    for unknown in ["claude-sonnet-4-5-2025", "gpt-4-1", "mystery-1", "claude-opus-4-6-1399", ""] {
        assert!(table.lookup(unknown).is_none(), "{unknown}");
    }
    assert_eq!(model_id::strip_date_suffix("gpt-4o-2024-8-06"), None);
    assert_eq!(model_id::strip_date_suffix("o3"), None);
}

#[test]
fn openai_and_google_list_prices() {
    // Table: model id as logged, tokens (in, out, 5m, 1h, read), exact cost.
    let cases = [
        ("gpt-4o-2024-08-06", tokens(1_000_000, 1_000_000, 0, 0, 1_000_000), "13.75"),
        ("gpt-4o-2024-05-13", tokens(1_000_000, 1_000_000, 0, 0, 0), "20"),
        ("openai/gpt-4o-mini", tokens(1_000_000, 1_000_000, 0, 0, 1_000_000), "0.825"),
        ("gpt-4.1-2025-04-14", tokens(1_000_000, 1_000_000, 0, 0, 1_000_000), "10.5"),
        ("o3-2025-04-16", tokens(1_000_000, 1_000_000, 0, 0, 1_000_000), "10.5"),
        ("o4-mini-2025-04-16", tokens(1_000_000, 1_000_000, 0, 0, 1_000_000), "5.775"),
        ("gpt-5-2025-08-07", tokens(1_000_000, 1_000_000, 0, 0, 1_000_000), "11.375"),
        ("gpt-5-nano", tokens(1_000_000, 1_000_000, 0, 0, 1_000_000), "0.455"),
        ("gpt-5.2", tokens(1_000_000, 1_000_000, 0, 0, 1_000_000), "15.925"),
        ("gpt-5.1-codex-mini", tokens(1_000_000, 1_000_000, 0, 0, 1_000_000), "2.275"),
        ("google/gemini-2.5-pro", tokens(200_000, 1_000_000, 0, 0, 0), "10.25"),
        ("gemini-2.5-pro", tokens(100_000, 1_000_000, 0, 0, 100_001), "15.27500025"),
        ("gemini-2.5-flash", tokens(1_000_000, 1_000_000, 0, 0, 1_000_000), "2.83"),
        ("gemini-3.1-pro-preview", tokens(200_001, 0, 0, 0, 0), "0.800004"),
    ];
    for (model, t, want) in cases {
        assert_eq!(cost(model, t), want, "{model} {t:?}");
    }
}

#[test]
fn unknown_model_is_unpriced_at_zero() {
    let p = PriceTable::builtin().price_tokens("mystery-1", &tokens(5, 5, 0, 0, 0), 0, &standard(), now());
    assert_eq!(p, Priced { cost: Decimal::ZERO, priced: false });
}

#[test]
fn config_overrides_win_and_missing_cache_prices_default_to_input() {
    let spec: BTreeMap<String, PriceSpec> = serde_yaml_ng::from_str(
        "claude-opus-4-6: { input_usd: 1, output_usd: '2' }\nacme-gpt-large: { input_usd: '2.50', output_usd: '10', cache_read_usd: '1.25' }",
    )
    .unwrap();
    let table = PriceTable::builtin().with_overrides(&spec);
    let (_, p, origin) = table.lookup("claude-opus-4-6").unwrap();
    assert_eq!(origin, PriceOrigin::Config);
    assert_eq!(money::format(p.cost(&tokens(0, 0, 1_000_000, 0, 0), 0, &standard(), now())), "1");
    assert_eq!(money::format(table.price_tokens("acme-gpt-large", &tokens(1000, 100, 0, 0, 2000), 0, &standard(), now()).cost), "0.006");
}

#[test]
fn config_specs_carry_every_rule_and_are_checked() {
    let spec: BTreeMap<String, PriceSpec> = serde_yaml_ng::from_str(
        r#"
acme-1:
  input_usd: "1"
  output_usd: "2"
  fast_factor: "3"
  us_only_factor: "1.5"
  long_context: { threshold_tokens: 10, input_usd: "10", output_usd: "20" }
  changes: [ { from: "2026-06-01T12:00:00Z", input_usd: "4" } ]
"#,
    )
    .unwrap();
    let table = PriceTable::with_overrides(PriceTable::builtin(), &spec);
    let fast_us = modifiers(ServiceTier::Standard, true, true);
    let price = |t: Tokens, m: Modifiers, when: &str| money::format(table.price_tokens("acme-1", &t, 0, &m, at(when)).cost);
    assert_eq!(price(tokens(1_000_000, 0, 0, 0, 0), standard(), "2026-06-01T11:59:59Z"), "10");
    assert_eq!(price(tokens(10, 0, 0, 0, 0), standard(), "2026-06-01T11:59:59Z"), "0.00001");
    assert_eq!(price(tokens(10, 0, 0, 0, 0), fast_us, "2026-06-01T12:00:00Z"), "0.00018");
    let bad = [
        ("acme: { input_usd: '-1', output_usd: '2' }", ""),
        ("acme: { input_usd: '1', output_usd: '2', fast_factor: '0' }", "fast_factor"),
        (
            "acme: { input_usd: '1', output_usd: '2', prompt_tiers: [ { above_tokens: 5, input_usd: '-2', output_usd: '1' } ] }",
            "prompt_tiers[0]",
        ),
        ("acme: { input_usd: '1', output_usd: '2', changes: [ { from: '2026-01-01', cache_read_usd: '-1' } ] }", "changes[0]"),
    ];
    for (yaml, field) in bad {
        let spec: BTreeMap<String, PriceSpec> = serde_yaml_ng::from_str(yaml).unwrap();
        assert_eq!(spec["acme"].validate().map_err(|(f, _)| f), Err(field.to_string()), "{yaml}");
    }
    let unreadable =
        ["acme: { input_usd: '1', output_usd: '2', changes: [ { from: 'soon' } ] }", "acme: { input_usd: '1', output_usd: '2', speed: 2 }"];
    for yaml in unreadable {
        assert!(serde_yaml_ng::from_str::<BTreeMap<String, PriceSpec>>(yaml).is_err(), "{yaml}");
    }
}

#[test]
fn downloaded_prices_fill_only_models_unknown_under_every_id() {
    let list_price = ModelPrice::from(&serde_yaml_ng::from_str::<PriceSpec>("{ input_usd: '99', output_usd: '99' }").unwrap());
    let table = PriceTable::builtin().with_fallbacks([
        ("claude-opus-4-6-20260205".to_string(), list_price.clone()),
        ("anthropic/claude-opus-5-5".to_string(), list_price.clone()),
        ("acme-new".to_string(), list_price),
    ]);
    assert_eq!(table.lookup("claude-opus-4-6-20260205").map(|(k, _, o)| (k, o)), Some(("claude-opus-4-6", PriceOrigin::BuiltIn)));
    assert_eq!(table.lookup("anthropic/claude-opus-5-5").map(|(k, _, o)| (k, o)), Some(("claude-opus-5-5", PriceOrigin::BuiltIn)));
    assert_eq!(table.lookup("acme-new").map(|(k, _, o)| (k, o)), Some(("acme-new", PriceOrigin::Downloaded)));
}

/// Free tiers and Ollama ids are priced at $0 with their own origin, never
/// unpriced; a Bedrock version tag is not an Ollama id.
#[test]
fn free_tier_and_ollama_ids_are_zero_and_priced() {
    let table = PriceTable::builtin();
    let t = tokens(1_000_000, 1_000_000, 0, 0, 1_000_000);
    for (model, origin) in [
        ("coder-model", PriceOrigin::FreeTier),
        ("vision-model", PriceOrigin::FreeTier),
        ("kimi-k2.5:cloud", PriceOrigin::Ollama),
        ("qwen3.5:cloud", PriceOrigin::Ollama),
        ("mistral:7b-instruct-v0.3-q4_K_M", PriceOrigin::Ollama),
        ("hf.co/bartowski/Qwen3-8B-GGUF:Q4_K_M", PriceOrigin::Ollama),
    ] {
        assert_eq!(table.lookup(model).map(|(_, _, o)| o), Some(origin), "{model}");
        let p = table.price_tokens(model, &t, 0, &standard(), now());
        assert_eq!((p.cost, p.priced), (Decimal::ZERO, true), "{model}");
    }
    for not_ollama in ["amazon.nova-pro-v1:0", "mystery:", ":7b", "a:b:c d"] {
        assert_eq!(table.lookup(not_ollama).map(|(_, _, o)| o), None, "{not_ollama}");
    }
    // A Bedrock Claude id still finds its card.
    assert_eq!(table.lookup("us.anthropic.claude-haiku-4-5-v1:0").map(|(k, _, _)| k), Some("claude-haiku-4-5"));
}

/// The agents' default models of this round: exact decimal costs.
#[test]
fn the_agents_default_models_are_priced() {
    let table = PriceTable::builtin();
    let cases = [
        // 100k input (20k cached), 2k output
        ("gemini-3-flash-preview", tokens(80_000, 2_000, 0, 0, 20_000), "0.047"),
        ("gemini-3.1-flash-lite", tokens(80_000, 2_000, 0, 0, 20_000), "0.0235"),
        ("gemini-3-pro", tokens(80_000, 2_000, 0, 0, 20_000), "0.188"),
        // above 200k the whole request at the upper tier
        ("gemini-3.1-pro-preview-customtools", tokens(190_000, 1_000, 0, 0, 20_000), "0.786"),
        ("gpt-5.6-terra", tokens(80_000, 2_000, 0, 0, 20_000), "0.235"),
        // Codex 0.171's default: $2 / $0.10 cached / $10; past 272K prompt tokens
        // the whole request at $4 / $0.20 / $15 (builtin.yaml cites the sources)
        ("gpt-6.2-sol", tokens(80_000, 2_000, 0, 0, 20_000), "0.182"),
        ("gpt-6.2-sol", tokens(260_000, 1_000, 0, 0, 12_000), "0.5312"),
        ("gpt-6.2-sol", tokens(260_000, 1_000, 0, 0, 12_001), "1.0574002"),
        ("gpt-6.2-astra", tokens(80_000, 2_000, 0, 0, 20_000), "0.728"),
        // Qwen3 Coder Flash: 20k prompt at the first tier, 40k at the second
        ("qwen3-coder-flash", tokens(20_000, 1_000, 0, 0, 0), "0.0075"),
        ("qwen3-coder-flash", tokens(30_000, 1_000, 0, 0, 10_000), "0.0185"),
    ];
    for (model, t, want) in cases {
        let p = table.price_tokens(model, &t, 0, &standard(), now());
        assert_eq!((crate::usage::money::format(p.cost), p.priced), (want.to_string(), true), "{model}");
    }
}
