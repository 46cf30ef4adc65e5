//! OTLP log records (`ExportLogsServiceRequest`) read into usage events: the
//! pure half of the OTLP receiver (`crate::http::otlp` does the I/O).
//!
//! Two kinds of records are model calls: Claude Code's
//! `claude_code.api_request` event, which carries the final token counts of
//! a request under the same `request_id` its transcript calls `requestId`
//! (so both copies get one `EventId` and are booked once), and records with
//! OpenTelemetry GenAI attributes (`gen_ai.usage.*`, read by `genai`). Other
//! records are skipped; a model call without a model or with an unreadable
//! count is an error of that record only. A record's attributes win over its
//! resource's (team tags arrive as resource attributes).

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use serde::Deserialize;

use super::genai::{self, Attributes, Value};
use super::messages_usage::{split_writes, CacheCreation};
use crate::sources::{parse_timestamp, LineError};
use crate::usage::{EventId, Tokens, UsageEvent};

/// The event name Claude Code gives its per-request event.
pub const CLAUDE_CODE_API_REQUEST: &str = "claude_code.api_request";

/// `account_from` of an `otlp` source: which attribute names the account,
/// and the account each of its values is booked to (values not listed go to
/// the source's `account`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountFrom {
    /// A record or resource attribute, e.g. `organization.id`.
    pub attribute: String,
    pub accounts: BTreeMap<String, String>,
}

/// `otlp:` in config.yaml: the receiver's listeners and token (the OTLP/HTTP
/// route is on `listen` whenever an `otlp` source exists).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpConfig {
    /// OTLP/gRPC address (conventionally `127.0.0.1:4317`); off when absent.
    #[serde(default)]
    pub grpc_listen: Option<String>,
    /// The bearer token senders present (gRPC and HTTP); not the admin token.
    #[serde(default)]
    pub token_file: Option<std::path::PathBuf>,
}

/// What became of one log record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Event(Box<UsageEvent>),
    Skipped,
    Error(LineError),
}

/// Reads every record of a request, in order.
pub fn read_request(request: &ExportLogsServiceRequest, account_from: Option<&AccountFrom>) -> Vec<Record> {
    let mut out = Vec::new();
    for resource_logs in &request.resource_logs {
        let resource: &[KeyValue] = resource_logs.resource.as_ref().map_or(&[], |r| r.attributes.as_slice());
        for scope in &resource_logs.scope_logs {
            for record in &scope.log_records {
                let attrs = Layered { record: &record.attributes, resource };
                out.push(match read_record(record, &attrs, account_from) {
                    Ok(Some(event)) => Record::Event(Box::new(event)),
                    Ok(None) => Record::Skipped,
                    Err(e) => Record::Error(e),
                });
            }
        }
    }
    out
}

/// The number of log records in a request (for partial-success counts).
pub fn record_count(request: &ExportLogsServiceRequest) -> usize {
    request.resource_logs.iter().flat_map(|r| &r.scope_logs).map(|s| s.log_records.len()).sum()
}

/// Record attributes over resource attributes.
struct Layered<'a> {
    record: &'a [KeyValue],
    resource: &'a [KeyValue],
}

fn find<'a>(list: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    list.iter().find(|kv| kv.key == key).and_then(|kv| kv.value.as_ref())
}

fn scalar(value: &AnyValue) -> Value<'_> {
    match &value.value {
        Some(Any::StringValue(s)) => Value::Str(s),
        Some(Any::IntValue(n)) => Value::Int(*n),
        Some(Any::DoubleValue(d)) => Value::Double(*d),
        Some(Any::BoolValue(b)) => Value::Bool(*b),
        _ => Value::Other,
    }
}

impl Attributes for Layered<'_> {
    fn get(&self, key: &str) -> Option<Value<'_>> {
        find(self.record, key).or_else(|| find(self.resource, key)).map(scalar)
    }
}

fn is_api_request(record: &LogRecord, attrs: &dyn Attributes) -> bool {
    let body = match record.body.as_ref().and_then(|b| b.value.as_ref()) {
        Some(Any::StringValue(s)) => s.as_str(),
        _ => "",
    };
    record.event_name == CLAUDE_CODE_API_REQUEST
        || body == CLAUDE_CODE_API_REQUEST
        || attrs.str("event.name").is_some_and(|n| n == "api_request" || n == CLAUDE_CODE_API_REQUEST)
}

fn read_record(record: &LogRecord, attrs: &dyn Attributes, account_from: Option<&AccountFrom>) -> Result<Option<UsageEvent>, LineError> {
    let mut event = if is_api_request(record, attrs) {
        claude_code_event(record, attrs)?
    } else if genai::has_usage(attrs) {
        genai_event(record, attrs)?
    } else {
        return Ok(None);
    };
    event.user = ["user.email", "user.account_uuid", "user.id"].iter().find_map(|k| attrs.str(k)).map(str::to_string);
    if let Some(from) = account_from {
        event.account = attrs.str(&from.attribute).and_then(|v| from.accounts.get(v)).cloned();
    }
    Ok(Some(event))
}

/// `claude_code.api_request`: counts as ints or numeric strings.
fn claude_code_event(record: &LogRecord, attrs: &dyn Attributes) -> Result<UsageEvent, LineError> {
    let model = attrs.str("model").ok_or_else(|| LineError::new("claude_code.api_request without `model`"))?;
    let count = |key: &str| -> Result<u64, LineError> {
        match attrs.get(key) {
            None => Ok(0),
            Some(v) => genai::token_count(v).ok_or_else(|| LineError::new(format!("`{key}` is not a token count"))),
        }
    };
    // Claude Code 2.1.3xx adds `cache_creation_5m_tokens` and
    // `cache_creation_1h_tokens` beside the total `cache_creation_tokens`
    // (https://code.claude.com/docs/en/monitoring-usage, `api_request`
    // attributes; seen by running 2.1.332 against a loopback provider): 1h
    // writes at the 1h price, the rest of the total as 5m, as the
    // transcript's `cache_creation` split is read (`split_writes`). Its
    // `cost_usd` and `cost_usd_micros` are Claude Code's estimate: never the cost.
    let split = |key: &str| -> Result<Option<u64>, LineError> { attrs.get(key).map(|_| count(key)).transpose() };
    let (five, hour) = (split("cache_creation_5m_tokens")?, split("cache_creation_1h_tokens")?);
    let by_ttl = (five.is_some() || hour.is_some())
        .then(|| CacheCreation { ephemeral_5m_input_tokens: five.into(), ephemeral_1h_input_tokens: hour.into() });
    let total = attrs.get("cache_creation_tokens").map(|_| count("cache_creation_tokens")).transpose()?;
    let (cache_write_5m, cache_write_1h) = split_writes(total, by_ttl);
    let tokens = Tokens {
        input: count("input_tokens")?,
        output: count("output_tokens")?,
        cache_write_5m,
        cache_write_1h,
        cache_read: count("cache_read_tokens")?,
    };
    let timestamp = match attrs.str("event.timestamp") {
        Some(text) => parse_timestamp(text)?,
        None => record_time(record)?,
    };
    let session = attrs.str("session.id");
    // The transcript's `requestId`: the id both copies of a request share.
    let id = match attrs.str("request_id") {
        Some(request_id) => EventId::from_parts("claude_code", &[request_id]),
        // Without one, an id from what identifies the record, so a batch sent
        // again is still recognised.
        None => {
            let sequence = attrs.get("event.sequence").and_then(genai::token_count).map(|n| n.to_string()).unwrap_or_default();
            EventId::from_parts("claude_code/otlp", &[session.unwrap_or(""), &sequence, &timestamp.to_rfc3339(), model])
        }
    };
    let mut event = UsageEvent::new(id, timestamp, model.to_string(), tokens);
    event.session = session.map(str::to_string);
    event.modifiers.fast = attrs.str("speed") == Some("fast");
    Ok(event)
}

fn genai_event(record: &LogRecord, attrs: &dyn Attributes) -> Result<UsageEvent, LineError> {
    let usage = genai::read(attrs)?;
    let timestamp = record_time(record)?;
    let id = match &usage.response_id {
        Some(id) => EventId::from_parts("genai", &[id]),
        None => EventId::from_parts(
            "genai/otlp",
            &[&hex(&record.trace_id), &hex(&record.span_id), &record.time_unix_nano.to_string(), &usage.model],
        ),
    };
    let mut event = UsageEvent::new(id, timestamp, usage.model, usage.tokens);
    event.session = usage.conversation;
    Ok(event)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The record's time, else when the collector observed it.
fn record_time(record: &LogRecord) -> Result<DateTime<Utc>, LineError> {
    let nanos = if record.time_unix_nano != 0 { record.time_unix_nano } else { record.observed_time_unix_nano };
    if nanos == 0 {
        return Err(LineError::new("record without a time"));
    }
    let secs = i64::try_from(nanos / 1_000_000_000).map_err(|_| LineError::new("record time out of range"))?;
    Utc.timestamp_opt(secs, (nanos % 1_000_000_000) as u32).single().ok_or_else(|| LineError::new("record time out of range"))
}

#[cfg(test)]
#[path = "otlp_tests.rs"]
mod tests;
