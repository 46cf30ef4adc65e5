use prost::Message;

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/otlp").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn events(records: &[Record]) -> Vec<&UsageEvent> {
    records.iter().filter_map(|r| if let Record::Event(e) = r { Some(e.as_ref()) } else { None }).collect()
}

/// The shared export request, as protobuf and as OTLP/JSON: the same seven
/// Claude Code requests with their final counts.
#[test]
fn reads_the_claude_code_fixture_in_both_encodings() {
    let pb = ExportLogsServiceRequest::decode(fixture("claude-code-api-requests.otlp.pb").as_slice()).unwrap();
    let json: ExportLogsServiceRequest = serde_json::from_slice(&fixture("claude-code-api-requests.otlp.json")).unwrap();
    assert_eq!(pb, json);
    let records = read_request(&pb, None);
    assert_eq!(record_count(&pb), 7);
    let got = events(&records);
    assert_eq!(got.len(), 7);
    let first = got[0];
    assert_eq!(first.id, EventId::from_parts("claude_code", &["req_011C79f74d60ac03031ec35d7d"]));
    assert_eq!(first.model, "claude-opus-4-6");
    assert_eq!(first.tokens, Tokens { input: 3337, output: 3893, cache_write_5m: 6159, cache_write_1h: 0, cache_read: 0 });
    assert_eq!(first.timestamp.to_rfc3339(), "2026-12-01T19:40:54.500+00:00");
    assert_eq!(first.session.as_deref(), Some("6102dd70-63e8-440e-9dd8-904f07489671"));
    assert_eq!(first.user.as_deref(), Some("dev2@example.org"));
    assert!(!first.modifiers.fast);
    // String-valued counts (records 2, 3, 7) read like int ones.
    assert_eq!(got[1].tokens, Tokens { input: 942, output: 4100, cache_write_5m: 14205, cache_write_1h: 0, cache_read: 0 });
    let total = got.iter().fold(Tokens::default(), |mut t, e| {
        t.add(&e.tokens);
        t
    });
    assert_eq!(total, Tokens { input: 19714, output: 22561, cache_write_5m: 57376, cache_write_1h: 0, cache_read: 116060 });
}

fn kv(key: &str, value: Any) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

fn s(v: &str) -> Any {
    Any::StringValue(v.into())
}

fn request(records: Vec<LogRecord>, resource: Vec<KeyValue>) -> ExportLogsServiceRequest {
    use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource { attributes: resource, ..Default::default() }),
            scope_logs: vec![ScopeLogs { log_records: records, ..Default::default() }],
            ..Default::default()
        }],
    }
}

fn api_request(attrs: Vec<KeyValue>) -> LogRecord {
    LogRecord { time_unix_nano: 1_796_154_055_000_000_000, attributes: attrs, ..Default::default() }
}

#[test]
fn which_records_are_requests_and_which_are_errors() {
    let base = || vec![kv("event.name", s("api_request")), kv("model", s("claude-sonnet-4-6")), kv("request_id", s("req_1"))];
    let with = |extra: Vec<KeyValue>| {
        let mut a = base();
        a.extend(extra);
        api_request(a)
    };
    let no_model = api_request(vec![kv("event.name", s("api_request")), kv("input_tokens", s("5"))]);
    let mut by_body = api_request(vec![kv("model", s("claude-haiku-4-5")), kv("request_id", s("req_2"))]);
    by_body.body = Some(AnyValue { value: Some(s(CLAUDE_CODE_API_REQUEST)) });
    let other = api_request(vec![kv("event.name", s("tool_result")), kv("tool_name", s("Bash"))]);
    let genai = api_request(vec![
        kv("gen_ai.request.model", s("gpt-5")),
        kv("gen_ai.usage.input_tokens", Any::IntValue(1200)),
        kv("gen_ai.usage.cache_read.input_tokens", Any::IntValue(1000)),
        kv("gen_ai.usage.output_tokens", Any::IntValue(30)),
        kv("gen_ai.response.id", s("resp_9")),
    ]);
    let req = request(
        vec![
            with(vec![kv("input_tokens", s("10")), kv("speed", s("fast")), kv("organization.id", s("org-b"))]),
            with(vec![kv("output_tokens", s("lots"))]),
            with(vec![kv("cache_read_tokens", Any::IntValue(-3))]),
            no_model,
            by_body,
            other,
            genai,
        ],
        vec![kv("organization.id", s("org-a")), kv("user.email", s("ana@example.com"))],
    );
    let from = AccountFrom { attribute: "organization.id".into(), accounts: [("org-a".to_string(), "team-a".to_string())].into() };
    let records = read_request(&req, Some(&from));
    let kinds: Vec<&str> = records
        .iter()
        .map(|r| match r {
            Record::Event(_) => "event",
            Record::Skipped => "skipped",
            Record::Error(_) => "error",
        })
        .collect();
    assert_eq!(kinds, ["event", "error", "error", "error", "event", "skipped", "event"]);
    let Record::Event(fast) = &records[0] else { unreachable!() };
    assert!(fast.modifiers.fast);
    assert_eq!(fast.tokens.input, 10);
    // The record's organization (org-b, not mapped) wins over the resource's.
    assert_eq!(fast.account, None);
    assert_eq!(fast.user.as_deref(), Some("ana@example.com"));
    let Record::Event(by_body) = &records[4] else { unreachable!() };
    assert_eq!(by_body.account.as_deref(), Some("team-a"));
    assert_eq!(by_body.id, EventId::from_parts("claude_code", &["req_2"]));
    let Record::Event(genai) = &records[6] else { unreachable!() };
    assert_eq!(genai.id, EventId::from_parts("genai", &["resp_9"]));
    assert_eq!(genai.tokens, Tokens { input: 200, output: 30, cache_write_5m: 0, cache_write_1h: 0, cache_read: 1000 });
    let Record::Error(e) = &records[1] else { unreachable!() };
    assert!(e.0.contains("output_tokens"), "{e}");
}

/// Without `request_id`, a record gets an id from what identifies it, so
/// the same batch sent twice gives the same ids.
#[test]
fn ids_without_request_id_are_stable() {
    let record = || {
        api_request(vec![
            kv("event.name", s("api_request")),
            kv("model", s("claude-sonnet-4-6")),
            kv("session.id", s("s1")),
            kv("event.sequence", Any::IntValue(4)),
        ])
    };
    let a = read_request(&request(vec![record()], vec![]), None);
    let b = read_request(&request(vec![record()], vec![]), None);
    assert_eq!(a, b);
    let Record::Event(e) = &a[0] else { panic!("{a:?}") };
    assert_eq!(e.timestamp.to_rfc3339(), "2026-12-01T19:40:55+00:00");
}

/// Claude Code 2.1.3xx's `api_request`: `cache_creation_5m_tokens` and
/// `cache_creation_1h_tokens` (OTLP/JSON ints as strings) split the total;
/// `cost_usd_micros` and `cost_usd` never set the cost. Opus 4.6: 1h writes
/// at $10, 5m at $6.25 per million.
#[test]
fn cache_writes_split_by_ttl_and_the_stated_cost_is_ignored() {
    let mut json: serde_json::Value = serde_json::from_slice(&fixture("claude-code-api-requests.otlp.json")).unwrap();
    let record = &mut json["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0];
    let attrs = record["attributes"].as_array_mut().unwrap();
    attrs.truncate(attrs.len() - 1);
    for (key, value) in [("cache_creation_5m_tokens", "159"), ("cache_creation_1h_tokens", "6000"), ("cost_usd_micros", "999999999")] {
        attrs.push(serde_json::json!({"key": key, "value": {"intValue": value}}));
    }
    let request: ExportLogsServiceRequest = serde_json::from_value(json.clone()).unwrap();
    let records = read_request(&request, None);
    let first = events(&records)[0];
    assert_eq!(first.tokens, Tokens { input: 3337, output: 3893, cache_write_5m: 159, cache_write_1h: 6000, cache_read: 0 });
    assert_eq!(first.stated_cost, None);
    let cost = crate::pricing::PriceTable::builtin().price(first).cost;
    // 3337 x 5 + 3893 x 25 + 159 x 6.25 + 6000 x 10, per million
    assert_eq!(cost.to_string(), "0.17500375");
    // Only the 1h part: the rest of the total is 5m; a bad count is an error.
    let attrs = json["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["attributes"].as_array_mut().unwrap();
    attrs.retain(|a| a["key"] != "cache_creation_5m_tokens");
    let request: ExportLogsServiceRequest = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(events(&read_request(&request, None))[0].tokens.cache_write_5m, 159);
    let attrs = json["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["attributes"].as_array_mut().unwrap();
    attrs.push(serde_json::json!({"key": "cache_creation_5m_tokens", "value": {"stringValue": "lots"}}));
    let request: ExportLogsServiceRequest = serde_json::from_value(json).unwrap();
    assert!(matches!(read_request(&request, None)[0], Record::Error(_)));
}
