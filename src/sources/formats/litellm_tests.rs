use super::*;
use crate::sources::formats::attribution::AppFrom;
use crate::usage::{Modifiers, ServiceTier};

const LINE: &str = r#"{"id": "chatcmpl-8c0e", "trace_id": "caf1", "call_type": "acompletion", "response_cost": 0.1662968634, "status": "success", "total_tokens": 5163, "prompt_tokens": 5004, "completion_tokens": 159, "startTime": 1790000000.25, "endTime": 1790000002.5, "model": "acme-gpt-large", "messages": [{"role": "user", "content": "x"}], "metadata": {"user_api_key_hash": "e792", "user_api_key_alias": "support-key", "user_api_key_team_alias": "support", "user_api_key_user_id": "user-7"}, "cache_hit": false}"#;

/// Claude through LiteLLM's /chat/completions, writing the cache: the usage
/// object LiteLLM logged says 11 of the 15635 prompt tokens are uncached.
const CLAUDE: &str = r#"{"id":"chatcmpl-3f1a","trace_id":"t-3f1a","call_type":"acompletion","response_cost":0.060423,"status":"success","total_tokens":15755,"prompt_tokens":15635,"completion_tokens":120,"startTime":1764590000.5,"endTime":1764590003.1,"completionStartTime":1764590001.2,"model":"claude-sonnet-4-5-20250929","model_id":"dep-1","model_group":"claude-sonnet","api_base":"https://api.anthropic.com/v1/messages","custom_llm_provider":"anthropic","metadata":{"user_api_key_hash":"88dc","user_api_key_alias":"ci-key","user_api_key_team_id":"team-9","user_api_key_team_alias":"platform","user_api_key_user_id":"user-3","user_api_key_user_email":"ana@example.com","user_api_key_org_id":"org-1","user_api_key_org_alias":"Acme Eng","user_api_key_project_id":"proj-1","user_api_key_project_alias":"billing-service","user_api_key_end_user_id":null,"requester_ip_address":"10.0.0.7","usage_object":{"completion_tokens":120,"prompt_tokens":15635,"total_tokens":15755,"completion_tokens_details":{"reasoning_tokens":0,"text_tokens":120},"prompt_tokens_details":{"cached_tokens":0,"text_tokens":11,"cache_creation_tokens":15624,"cache_creation_token_details":{"ephemeral_5m_input_tokens":15624,"ephemeral_1h_input_tokens":0}},"cache_creation_input_tokens":15624,"cache_read_input_tokens":0,"inference_geo":"not_available","service_tier":"standard"}},"cache_hit":false,"cache_key":null,"saved_cache_cost":0.0,"request_tags":["app:billing","env:prod"],"end_user":"customer-42","requester_ip_address":"10.0.0.7","response":{"id":"chatcmpl-3f1a","object":"chat.completion"},"error_str":null,"hidden_params":{"model_id":"dep-1","cache_key":null}}"#;

/// A spend-log row (LiteLLM_SpendLogs exported as JSON): naive startTime,
/// metadata and tags as JSON text, `spend` for the cost.
const SPEND_LOG: &str = r#"{"request_id":"chatcmpl-sl-1","call_type":"acompletion","api_key":"88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b","spend":0.0014595,"total_tokens":57,"prompt_tokens":12,"completion_tokens":45,"startTime":"2025-01-24 09:20:46.847371","endTime":"2025-01-24 09:20:48.122004","model":"claude-sonnet-4-5-20250929","model_group":"claude-sonnet","api_base":"https://api.anthropic.com/v1","user":"default_user_id","metadata":"{\"user_api_key_team_alias\": \"research\", \"usage_object\": {\"completion_tokens\": 45, \"prompt_tokens\": 12, \"total_tokens\": 57, \"prompt_tokens_details\": {\"cached_tokens\": 2495}, \"cache_read_input_tokens\": 2495}}","cache_hit":"False","cache_key":"Cache OFF","request_tags":"[\"app:notebooks\"]","team_id":"t-1","end_user":"","requester_ip_address":""}"#;

fn options() -> LitellmOptions {
    LitellmOptions::default()
}

fn parse(options: LitellmOptions, line: &str) -> Result<Option<UsageEvent>, LineError> {
    LitellmParser::new(options, Arc::new(Attribution::default())).parse(line.as_bytes())
}

fn cost(e: &UsageEvent) -> String {
    let prices = crate::pricing::PriceTable::builtin()
        .with_overrides(&serde_yaml_ng::from_str("acme-gpt-large: { input_usd: \"2.50\", output_usd: \"10\" }").unwrap());
    crate::usage::money::format(prices.price(e).cost)
}

fn recompute() -> LitellmOptions {
    LitellmOptions { recompute_cost: true, ..options() }
}

#[test]
fn takes_response_cost_tokens_time_and_team() {
    let e = parse(options(), LINE).unwrap().unwrap();
    assert_eq!(e.stated_cost.map(crate::usage::money::format).as_deref(), Some("0.1662968634"));
    assert_eq!(e.tokens, Tokens { input: 5004, output: 159, ..Tokens::default() });
    assert_eq!(e.timestamp.to_rfc3339(), "2026-09-21T14:13:20.250+00:00");
    assert_eq!((e.model.as_str(), e.app.as_deref(), e.account.as_deref()), ("acme-gpt-large", Some("support"), None));
    assert_eq!(e.id, EventId::from_parts("litellm", &["chatcmpl-8c0e"]));
}

#[test]
fn claude_cache_counts_come_from_the_usage_object() {
    let e = parse(recompute(), CLAUDE).unwrap().unwrap();
    assert_eq!(e.tokens, Tokens { input: 11, output: 120, cache_write_5m: 15624, ..Tokens::default() });
    assert_eq!(e.modifiers, Modifiers::default());
    // 11 x $3 + 15624 x $3.75 + 120 x $15 per million: what LiteLLM charged,
    // not 15635 x $3 + 120 x $15 = $0.048705 (the cache write priced as input).
    assert_eq!((e.stated_cost, cost(&e)), (None, "0.060423".to_string()));
    // Without a usage object, `response.usage` is the one LiteLLM logged.
    let from_response = CLAUDE
        .replace(r#","usage_object":{"#, r#","other":{"#)
        .replace(r#""response":{"id":"chatcmpl-3f1a","object":"chat.completion"}"#, r#""response":{"id":"chatcmpl-3f1a","usage":{"prompt_tokens":15635,"completion_tokens":120,"prompt_tokens_details":{"text_tokens":11,"cache_creation_tokens":15624}}}"#);
    assert_eq!(cost(&parse(recompute(), &from_response).unwrap().unwrap()), "0.060423");
    // Neither: the top-level counts.
    let bare = CLAUDE.replace(r#","usage_object":{"#, r#","other":{"#);
    assert_eq!(parse(recompute(), &bare).unwrap().unwrap().tokens, Tokens { input: 15635, output: 120, ..Tokens::default() });
    // Modifiers LiteLLM passes through in the usage.
    let fast = CLAUDE.replace(
        r#""inference_geo":"not_available","service_tier":"standard""#,
        r#""inference_geo":"us","service_tier":"priority","speed":"fast""#,
    );
    assert_eq!(parse(recompute(), &fast).unwrap().unwrap().modifiers, Modifiers { tier: ServiceTier::Priority, fast: true, us_only: true });
}

#[test]
fn a_cost_litellm_could_not_compute_is_unpriced_not_free() {
    let line = r#"{"id":"chatcmpl-nomap","call_type":"acompletion","response_cost":0.0,"response_cost_failure_debug_info":{"error_str":"This model isn't mapped yet. model=claude-opus-4-6, custom_llm_provider=anthropic. Add it here - https://github.com/BerriAI/litellm/blob/main/model_prices_and_context_window.json.","traceback_str":"Traceback ...","model":"claude-opus-4-6","cache_hit":false,"custom_llm_provider":"anthropic","base_model":null,"call_type":"acompletion","custom_pricing":false},"status":"success","total_tokens":1100,"prompt_tokens":1000,"completion_tokens":100,"startTime":1764590010.0,"endTime":1764590012.0,"model":"claude-opus-4-6","metadata":{"user_api_key_team_alias":"research"},"cache_hit":false}"#;
    let e = parse(options(), line).unwrap().unwrap();
    // Priced by the table: 1000 x $5 + 100 x $25 per million.
    assert_eq!((e.stated_cost, cost(&e)), (None, "0.0075".to_string()));
    // A null debug info is no failure: the stated 0 stands.
    let priced = line.replace(
        line[line.find(r#""response_cost_failure_debug_info""#).unwrap()..line.find(r#""status""#).unwrap()].trim_end(),
        r#""response_cost_failure_debug_info":null,"#,
    );
    assert_eq!(parse(options(), &priced).unwrap().unwrap().stated_cost, Some(Decimal::ZERO));
}

#[test]
fn a_cache_hit_costs_nothing_with_its_cache_counts() {
    let hit = r#"{"id":"chatcmpl-3f1a_cache_hit1764590100.217","call_type":"acompletion","response_cost":0.0,"status":"success","total_tokens":17361,"prompt_tokens":17111,"completion_tokens":250,"startTime":1764590100.2,"endTime":1764590100.21,"model":"claude-sonnet-4-5-20250929","metadata":{"user_api_key_team_alias":"platform"},"cache_hit":true,"cache_key":"6c1e2f","saved_cache_cost":0.008913,"response":{"id":"chatcmpl-3f1a","model":"claude-sonnet-4-5-20250929","usage":{"completion_tokens":250,"prompt_tokens":17111,"total_tokens":17361,"prompt_tokens_details":{"cached_tokens":17100},"cache_read_input_tokens":17100}}}"#;
    for options in [options(), recompute()] {
        let e = parse(options, hit).unwrap().unwrap();
        assert_eq!(e.tokens, Tokens { input: 11, output: 250, cache_read: 17100, ..Tokens::default() });
        assert_eq!(cost(&e), "0");
    }
    // Spend logs write the flag as text.
    let row = SPEND_LOG.replace(r#""cache_hit":"False""#, r#""cache_hit":"True""#);
    assert_eq!(cost(&parse(recompute(), &row).unwrap().unwrap()), "0");
}

#[test]
fn spend_log_rows_with_naive_times_and_text_metadata() {
    let e = parse(options(), SPEND_LOG).unwrap().unwrap();
    assert_eq!(e.id, EventId::from_parts("litellm", &["chatcmpl-sl-1"]));
    assert_eq!(e.timestamp.to_rfc3339(), "2025-01-24T09:20:46.847371+00:00");
    assert_eq!(e.tokens, Tokens { input: 12, output: 45, cache_read: 2495, ..Tokens::default() });
    assert_eq!((e.app.as_deref(), cost(&e)), (Some("research"), "0.0014595".to_string()));
    // Recomputed: 12 x $3 + 2495 x $0.30 + 45 x $15 per million, the same.
    assert_eq!(cost(&parse(recompute(), SPEND_LOG).unwrap().unwrap()), "0.0014595");
    let berlin = LitellmOptions { timezone: Some(chrono_tz::Europe::Berlin), ..options() };
    assert_eq!(parse(berlin, SPEND_LOG).unwrap().unwrap().timestamp.to_rfc3339(), "2025-01-24T08:20:46.847371+00:00");
    let app = |key: MetadataKey| parse(LitellmOptions { app_key: key, ..options() }, SPEND_LOG).unwrap().unwrap().app;
    assert_eq!(
        (app(MetadataKey::Tag("app".into())), app(MetadataKey::RequestTag)),
        (Some("notebooks".into()), Some("app:notebooks".into()))
    );
    // An empty end user is none.
    assert_eq!(app(MetadataKey::EndUser), None);
    assert!(parse(options(), &SPEND_LOG.replace(r#""metadata":"{"#, r#""metadata":"{oops"#)).is_err());
}

#[test]
fn every_name_the_payload_carries_can_be_the_app_or_account() {
    let cases = [
        (MetadataKey::KeyAlias, "ci-key"),
        (MetadataKey::TeamAlias, "platform"),
        (MetadataKey::TeamId, "team-9"),
        (MetadataKey::UserId, "user-3"),
        (MetadataKey::UserEmail, "ana@example.com"),
        (MetadataKey::OrgId, "org-1"),
        (MetadataKey::OrgAlias, "Acme Eng"),
        (MetadataKey::ProjectId, "proj-1"),
        (MetadataKey::ProjectAlias, "billing-service"),
        (MetadataKey::EndUser, "customer-42"),
        (MetadataKey::ModelGroup, "claude-sonnet"),
        (MetadataKey::RequestTag, "app:billing"),
        (MetadataKey::Tag("env".into()), "prod"),
    ];
    for (key, want) in cases {
        let o = LitellmOptions { app_key: key.clone(), account_key: Some(key.clone()), ..options() };
        let e = parse(o, CLAUDE).unwrap().unwrap();
        assert_eq!((e.app.as_deref(), e.account.as_deref()), (Some(want), Some(want)), "{key:?}");
    }
    let o = LitellmOptions { app_key: MetadataKey::OrgAlias, account_key: Some(MetadataKey::Tag("app".into())), ..options() };
    let e = parse(o, CLAUDE).unwrap().unwrap();
    assert_eq!((e.app.as_deref(), e.account.as_deref()), (Some("Acme Eng"), Some("billing")));
    let fixed = LitellmParser::new(options(), Arc::new(Attribution::new(AppFrom::Static, &[], None).unwrap()));
    assert_eq!(fixed.attribution.app_of_line(Some("support"), None), None);
}

#[test]
fn metadata_keys_and_recompute_are_configurable() {
    let cases = [
        (MetadataKey::KeyAlias, Some(MetadataKey::TeamAlias), "support-key", Some("support")),
        (MetadataKey::UserId, None, "user-7", None),
    ];
    for (app_key, account_key, app, account) in cases {
        let e = parse(LitellmOptions { app_key, account_key, recompute_cost: true, timezone: None }, LINE).unwrap().unwrap();
        assert_eq!((e.app.as_deref(), e.account.as_deref(), e.stated_cost), (Some(app), account, None));
    }
}

#[test]
fn failures_are_not_requests_and_bad_lines_are_errors() {
    let failure = LINE.replace(r#""status": "success""#, r#""status": "failure""#).replace("0.1662968634", "0.0");
    let mut p = LitellmParser::new(options(), Arc::new(Attribution::default()));
    assert_eq!(p.parse(failure.as_bytes()), Ok(None));
    assert_eq!(p.skip_reason().as_deref(), Some("LiteLLM call failed (status: failure): not billed"));
    assert_eq!(p.parse(LINE.as_bytes()).map(|e| e.is_some()), Ok(true));
    assert_eq!(p.skip_reason(), None);
    let bad = [
        "{not json".to_string(),
        LINE.replace("0.1662968634", r#""lots""#),
        LINE.replace(r#""response_cost": 0.1662968634, "#, ""),
        LINE.replace(r#""startTime": 1790000000.25, "#, ""),
        LINE.replace(r#""model": "acme-gpt-large", "#, ""),
        LINE.replace("5004", "-5004"),
        LINE.replace("1790000000.25", r#""2025-13-40 09:20:46""#),
        CLAUDE.replace(r#""request_tags":["app:billing","env:prod"]"#, r#""request_tags":"[oops""#),
    ];
    let tagged = LitellmOptions { app_key: MetadataKey::RequestTag, ..options() };
    for line in &bad {
        assert!(parse(tagged.clone(), line).is_err(), "{line}");
    }
}

#[test]
fn the_fixture_still_totals_as_litellm_charged() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/proxy/litellm.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let mut p = LitellmParser::new(options(), Arc::new(Attribution::default()));
    let booked = text.lines().filter_map(|l| p.parse(l.as_bytes()).ok().flatten()).count();
    assert!(booked > 100, "{booked}");
}
