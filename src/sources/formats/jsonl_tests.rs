use super::*;
use crate::usage::ServiceTier;

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

fn cost(e: &UsageEvent) -> String {
    crate::usage::money::format(crate::pricing::PriceTable::builtin().price(e).cost)
}

/// Portkey's log export: counts as text, the cost in cents, naive times,
/// cache hits, failures and error statuses logged beside billed requests.
const PORTKEY_MAP: &str = r#"{ id: /id, model: /ai_model, timestamp: /created_at, timezone: Europe/Berlin, input_tokens: /req_units, output_tokens: /res_units, cost: /cost, cost_scale: "0.01", app: /metadata/app, skip: [{ field: /cache_status, equals: [HIT, SEMANTIC HIT] }, { field: /is_success, equals: [0, false] }, { field: /response_status_code, outside: [200, 299] }] }"#;

const PORTKEY: &str = r#"{"id":"4e1c9a7b-2f0d-4b8e-9d55-0c1b7e2a9f10","trace_id":"tr-77","created_at":"2025-01-24 10:20:46","is_success":1,"ai_org":"anthropic","ai_model":"claude-sonnet-4-5-20250929","req_units":"1200","res_units":"300","total_units":"1500","cost":"0.81","cost_currency":"USD","response_time":2310,"response_status_code":200,"cache_status":"MISS","metadata":{"_user":"ana","app":"support-bot"}}"#;

#[test]
fn portkey_cents_text_counts_and_naive_times() {
    let e = parser(PORTKEY_MAP).parse(PORTKEY.as_bytes()).unwrap().unwrap();
    assert_eq!(e.tokens, Tokens { input: 1200, output: 300, ..Tokens::default() });
    // 0.81 cents is $0.0081 (= 1200 x $3 + 300 x $15 per million, the list price).
    assert_eq!((e.stated_cost.map(crate::usage::money::format).as_deref(), cost(&e)), (Some("0.0081"), "0.0081".to_string()));
    // Berlin in January is UTC+1.
    assert_eq!(e.timestamp.to_rfc3339(), "2025-01-24T09:20:46+00:00");
    assert_eq!(e.app.as_deref(), Some("support-bot"));
}

#[test]
fn skip_conditions_name_lines_that_are_not_billed() {
    let mut p = parser(PORTKEY_MAP);
    let cases = [
        (PORTKEY.replace(r#""cache_status":"MISS""#, r#""cache_status":"HIT""#), "field_map.skip[0]: /cache_status is `HIT`: not billed"),
        (
            PORTKEY.replace(r#""cache_status":"MISS""#, r#""cache_status":"SEMANTIC HIT""#),
            "field_map.skip[0]: /cache_status is `SEMANTIC HIT`: not billed",
        ),
        (PORTKEY.replace(r#""is_success":1"#, r#""is_success":0"#), "field_map.skip[1]: /is_success is `0`: not billed"),
        (PORTKEY.replace(r#""is_success":1"#, r#""is_success":"0""#), "field_map.skip[1]: /is_success is `0`: not billed"),
        (PORTKEY.replace(r#""is_success":1"#, r#""is_success":false"#), "field_map.skip[1]: /is_success is `false`: not billed"),
        (
            PORTKEY.replace(r#""response_status_code":200"#, r#""response_status_code":429"#),
            "field_map.skip[2]: /response_status_code is 429, outside [200, 299]: not billed",
        ),
    ];
    for (line, reason) in &cases {
        assert_eq!(p.parse(line.as_bytes()), Ok(None), "{line}");
        assert_eq!(p.skip_reason().as_deref(), Some(*reason));
    }
    // Conditions that do not hold (or fields that are absent) book the line.
    for line in [
        PORTKEY.to_string(),
        PORTKEY.replace(r#""response_status_code":200,"#, ""),
        PORTKEY.replace(r#""response_status_code":200"#, r#""response_status_code":"201""#),
    ] {
        assert!(p.parse(line.as_bytes()).unwrap().is_some(), "{line}");
        assert_eq!(p.skip_reason(), None);
    }
}

#[test]
fn tier_and_batch_fields() {
    let map = "{ model: /m, input_tokens: /in, service_tier: /tier, speed: /speed, inference_geo: /geo, batch: /batch }";
    let mut p = parser(map);
    let m = |line: &str| parser(map).parse(line.as_bytes()).unwrap().unwrap().modifiers;
    assert_eq!(m(r#"{"m":"claude-opus-4-6","in":1,"tier":"flex"}"#).tier, ServiceTier::Flex);
    assert_eq!(
        m(r#"{"m":"claude-opus-4-6","in":1,"tier":"priority","speed":"fast","geo":"us"}"#),
        crate::usage::Modifiers { tier: ServiceTier::Priority, fast: true, us_only: true }
    );
    for flag in ["true", "1", r#""yes""#, r#""batch""#] {
        assert_eq!(m(&format!(r#"{{"m":"x","batch":{flag}}}"#)).tier, ServiceTier::Batch, "{flag}");
    }
    assert_eq!(m(r#"{"m":"x","batch":false,"tier":"standard"}"#).tier, ServiceTier::Standard);
    // Batch at half the list price: (2000 x $1 + 400 x $5) / 2 per million (Haiku 4.5).
    let e = p.parse(br#"{"m":"claude-haiku-4-5","in":"2000","batch":true}"#).unwrap().unwrap();
    assert_eq!(cost(&UsageEvent { tokens: Tokens { output: 400, ..e.tokens }, ..e }), "0.002");
}

#[test]
fn bad_conditions_and_scales_name_their_key() {
    let err = |yaml: &str| {
        let map: FieldMap = serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())?;
        map.validate().map_err(|(key, m)| format!("{key}: {m}"))
    };
    let cases = [
        ("{ model: /m, skip: [{ field: status, equals: 1 }] }", "skip[0].field: `status` is not a JSON pointer"),
        ("{ model: /m, skip: [{ field: /s }] }", "skip[0]: a condition needs `equals` or `outside`"),
        ("{ model: /m, skip: [{ field: /s, equals: 1, outside: [1, 2] }] }", "skip[0]: one condition is `equals` or `outside`, not both"),
        ("{ model: /m, skip: [{ field: /s, outside: [299, 200] }] }", "skip[0].outside: [299, 200] is not a range (low first)"),
        ("{ model: /m, skip: [{ field: /s, outside: [200] }] }", "want [LOW, HIGH], like [200, 299]"),
        ("{ model: /m, skip: [{ field: /s, like: x }] }", "unknown field `like`"),
        ("{ model: /m, cost_scale: 0 }", "cost_scale: must be above 0"),
        ("{ model: /m, cost_scale: cents }", "`cents` is not a decimal amount"),
        ("{ model: /m, timezone: Moon/Base }", "unknown time zone `Moon/Base`"),
        ("{ model: /m, service_tier: tier }", "service_tier: `tier` is not a JSON pointer"),
    ];
    for (yaml, want) in cases {
        let got = err(yaml).unwrap_err();
        assert!(got.contains(want), "{yaml}: {got}");
    }
    assert_eq!(err("{ model: /m, cost_scale: 0.01, skip: [{ field: /s, equals: [a, 1, true] }] }"), Ok(()));
}
