//! OpenAI organization Costs and Usage APIs (an admin key,
//! `Authorization: Bearer sk-admin-...`), as in openai/openai-openapi's
//! `openapi.yaml` (`/organization/costs`, `/organization/usage/completions`).
//!
//! `GET /v1/organization/costs`: daily buckets (`start_time`/`end_time` in
//! epoch seconds), each result `amount: {value, currency: "usd"}` where
//! `value` is a JSON **number** (live answers carry 16 decimals, e.g.
//! `0.8958740000000000`): read from its text, never through f64. With
//! `group_by[]=line_item` a result names its line item, which OpenAI writes
//! as `<model>, <kind>` (`gpt-4o-2024-08-06, input`) or a bare name; with
//! `group_by[]=project_id` its project. Pages: `has_more`, `next_page`,
//! sent back as `page`.
//!
//! `GET /v1/organization/usage/completions`: tokens per bucket (and per
//! model with `group_by[]=model`). `input_tokens` already include
//! `input_cached_tokens` and `input_cache_write_tokens`; we keep the three
//! apart as input, cache read and cache write.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::wire::{self, count, ReadError};
use super::{SpendLine, SpendPage};
use crate::providers::spend::{self, Filters};
use crate::providers::{Observation, Reader, Request};
use crate::usage::Tokens;

pub const COSTS: &str = "/v1/organization/costs";
pub const COMPLETIONS_USAGE: &str = "/v1/organization/usage/completions";

/// The `openai_admin` kind: the costs of the closed days of this month and
/// the last, every page, per line item, filtered to the account's projects
/// and API keys.
pub struct OpenaiAdmin {
    pub filters: Filters,
    /// The first day asked for, instead of the first of the previous month.
    pub since: Option<chrono::NaiveDate>,
}

impl Reader for OpenaiAdmin {
    fn next_request(&self, now: DateTime<Utc>, answers: &[Vec<u8>]) -> Option<Request> {
        let (start, end) = spend::window_since(now, self.since);
        let f = &self.filters;
        super::next_page(answers, costs, |page| Request {
            path: super::with_query(COSTS, &costs_query(start, end, &f.project_ids, &f.api_key_ids, page)),
            headers: vec![("accept", "application/json".into())],
        })
    }

    fn read(&self, now: DateTime<Utc>, answers: &[Vec<u8>]) -> Result<Observation, crate::providers::ReadError> {
        super::spend_observation(now, answers, costs, &self.filters)
    }

    fn refused(&self, mut failure: crate::providers::Failure) -> crate::providers::Failure {
        failure.message += ": the organization costs need an admin key (sk-admin-...), not a project key";
        failure
    }
}

const COSTS_ENDPOINT: &str = "openai organization/costs";
const USAGE_ENDPOINT: &str = "openai organization/usage/completions";

#[derive(Deserialize)]
struct Bucket<R> {
    start_time: i64,
    end_time: i64,
    results: Vec<R>,
}

#[derive(Deserialize)]
struct CostResult {
    amount: Amount,
    #[serde(default)]
    line_item: Option<String>,
    #[serde(default)]
    project_id: Option<String>,
    #[serde(default)]
    api_key_id: Option<String>,
}

#[derive(Deserialize)]
struct Amount {
    value: wire::WireDecimal,
    currency: String,
}

/// The costs report's parameters for the days from `start` to `end` (UTC
/// midnights): per line item (so per model), per project and API key when
/// the account is limited to some (also asked of the API with
/// `project_ids[]`/`api_key_ids[]`); `page` is the previous answer's
/// `next_page`, the rest unchanged.
pub fn costs_query(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    project_ids: &[String],
    api_key_ids: &[String],
    page: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut q = vec![
        ("start_time", start.timestamp().to_string()),
        ("end_time", end.timestamp().to_string()),
        ("bucket_width", "1d".into()),
        ("group_by[]", "line_item".into()),
    ];
    if !project_ids.is_empty() {
        q.push(("group_by[]", "project_id".into()));
    }
    if !api_key_ids.is_empty() {
        q.push(("group_by[]", "api_key_id".into()));
    }
    q.extend(project_ids.iter().map(|p| ("project_ids[]", p.clone())));
    q.extend(api_key_ids.iter().map(|k| ("api_key_ids[]", k.clone())));
    q.push(("limit", "31".into()));
    if let Some(page) = page {
        q.push(("page", page.into()));
    }
    q
}

fn bucket_times<R>(endpoint: &'static str, i: usize, b: &Bucket<R>) -> Result<(DateTime<Utc>, DateTime<Utc>), ReadError> {
    let at = |secs: i64, name: &str| {
        DateTime::from_timestamp(secs, 0).ok_or_else(|| ReadError::new(endpoint, format!("data[{i}].{name}: {secs} is not a time")))
    };
    let (start, end) = (at(b.start_time, "start_time")?, at(b.end_time, "end_time")?);
    if end <= start {
        return Err(ReadError::new(endpoint, format!("data[{i}]: end_time {} is not after start_time {}", b.end_time, b.start_time)));
    }
    Ok((start, end))
}

/// `gpt-4o-2024-08-06, input` -> (`gpt-4o-2024-08-06`, `input`); a line
/// item without a comma is all model name.
pub fn split_line_item(line_item: &str) -> (&str, &str) {
    match line_item.split_once(',') {
        Some((model, kind)) => (model.trim(), kind.trim()),
        None => (line_item.trim(), ""),
    }
}

/// Reads one page of the costs report into dollars per UTC day and line.
pub fn costs(body: &[u8]) -> Result<SpendPage, ReadError> {
    let (data, next_page) = super::report_page::<Bucket<CostResult>>(COSTS_ENDPOINT, body)?;
    let mut out = SpendPage { next_page, ..SpendPage::default() };
    for (i, bucket) in data.into_iter().enumerate() {
        let day = bucket_times(COSTS_ENDPOINT, i, &bucket)?.0.date_naive();
        out.days.push(day);
        for (j, r) in bucket.results.into_iter().enumerate() {
            if !r.amount.currency.eq_ignore_ascii_case("usd") {
                let why = format!("data[{i}].results[{j}].amount.currency: `{}`; only usd is summed as dollars", r.amount.currency);
                return Err(ReadError::new(COSTS_ENDPOINT, why));
            }
            let (model, kind) = split_line_item(r.line_item.as_deref().unwrap_or(""));
            out.lines.push(SpendLine {
                day,
                model: model.to_string(),
                usd: r.amount.value.0,
                kind: kind.to_string(),
                scope_id: r.project_id,
                api_key_id: r.api_key_id,
            });
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct UsageResult {
    #[serde(default, deserialize_with = "count")]
    input_tokens: u64,
    #[serde(default, deserialize_with = "count")]
    input_cached_tokens: u64,
    #[serde(default, deserialize_with = "count")]
    input_cache_write_tokens: u64,
    #[serde(default, deserialize_with = "count")]
    output_tokens: u64,
    #[serde(default, deserialize_with = "count")]
    num_model_requests: u64,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    project_id: Option<String>,
    #[serde(default)]
    api_key_id: Option<String>,
}

/// One row of the completions usage report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Empty when the report is not grouped by model.
    pub model: String,
    pub tokens: Tokens,
    pub requests: u64,
    pub project_id: Option<String>,
    pub api_key_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsagePage {
    pub rows: Vec<UsageRow>,
    pub next_page: Option<String>,
}

/// Reads one page of the completions usage report.
pub fn completions_usage(body: &[u8]) -> Result<UsagePage, ReadError> {
    let (data, next_page) = super::report_page::<Bucket<UsageResult>>(USAGE_ENDPOINT, body)?;
    let mut rows = Vec::new();
    for (i, bucket) in data.into_iter().enumerate() {
        let (start, end) = bucket_times(USAGE_ENDPOINT, i, &bucket)?;
        for (j, r) in bucket.results.into_iter().enumerate() {
            let held = r.input_cached_tokens.saturating_add(r.input_cache_write_tokens);
            let Some(input) = r.input_tokens.checked_sub(held) else {
                let why = format!(
                    "data[{i}].results[{j}]: input_tokens {} is less than its cached {} and cache-write {} tokens",
                    r.input_tokens, r.input_cached_tokens, r.input_cache_write_tokens
                );
                return Err(ReadError::new(USAGE_ENDPOINT, why));
            };
            rows.push(UsageRow {
                start,
                end,
                model: r.model.unwrap_or_default(),
                tokens: Tokens {
                    input,
                    output: r.output_tokens,
                    cache_write_5m: r.input_cache_write_tokens,
                    cache_write_1h: 0,
                    cache_read: r.input_cached_tokens,
                },
                requests: r.num_model_requests,
                project_id: r.project_id,
                api_key_id: r.api_key_id,
            });
        }
    }
    Ok(UsagePage { rows, next_page })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::api::example;

    #[test]
    fn the_query_asks_per_line_item_and_keeps_its_parameters_across_pages() {
        let (start, end) = ("2026-11-01T00:00:00Z".parse().unwrap(), "2026-12-03T00:00:00Z".parse().unwrap());
        let first = costs_query(start, end, &["proj_a".into()], &[], None);
        let text = |q: &[(&str, String)]| q.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        assert_eq!(text(&first), "start_time=1793491200&end_time=1796256000&bucket_width=1d&group_by[]=line_item&group_by[]=project_id&project_ids[]=proj_a&limit=31");
        let next = costs_query(start, end, &["proj_a".into()], &[], Some("page_2"));
        assert_eq!(text(&next), text(&first) + "&page=page_2");
    }

    #[test]
    fn documented_costs_read_the_number_exactly() {
        let page = costs(&example("openai/organization_costs.docs-example.json")).unwrap();
        assert_eq!(page.days, ["2024-11-01".parse::<chrono::NaiveDate>().unwrap()]);
        let line = &page.lines[0];
        assert_eq!((line.usd.to_string().as_str(), line.model.as_str(), line.kind.as_str()), ("0.06", "", ""));
        assert_eq!(page.next_page, None);
    }

    #[test]
    fn line_items_name_the_model_and_live_decimals_are_kept() {
        let body = r#"{"object":"page","data":[{"object":"bucket","start_time":1759622400,"end_time":1759708800,"results":[
            {"object":"organization.costs.result","amount":{"value":0.8958740000000000,"currency":"usd"},"line_item":"gpt-4o-2024-08-06, cached input","project_id":"proj_a"},
            {"object":"organization.costs.result","amount":{"value":1.25,"currency":"usd"},"line_item":"gpt-4o-mini","project_id":null}]},
            {"object":"bucket","start_time":1759708800,"end_time":1759795200,"results":[]}],
            "has_more":true,"next_page":"page_2"}"#;
        let page = costs(body.as_bytes()).unwrap();
        let got: Vec<_> = page
            .lines
            .iter()
            .map(|l| (l.day.to_string(), l.model.as_str(), l.kind.as_str(), l.usd.to_string(), l.scope_id.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("2025-10-05".to_string(), "gpt-4o-2024-08-06", "cached input", "0.8958740000000000".to_string(), Some("proj_a")),
                ("2025-10-05".to_string(), "gpt-4o-mini", "", "1.25".to_string(), None),
            ]
        );
        assert_eq!(page.days.len(), 2, "the empty bucket is a day too");
        assert_eq!(page.next_page.as_deref(), Some("page_2"));
    }

    #[test]
    fn documented_completions_usage_keeps_cache_reads_and_writes_out_of_input() {
        let page = completions_usage(&example("openai/organization_usage_completions.docs-example.json")).unwrap();
        let row = &page.rows[0];
        // input_tokens 1000 = 500 uncached + 400 cached + 100 cache writes.
        assert_eq!(row.tokens, Tokens { input: 500, output: 500, cache_write_5m: 100, cache_write_1h: 0, cache_read: 400 });
        assert_eq!((row.requests, row.model.as_str()), (5, ""));
        assert_eq!(row.start.to_rfc3339(), "2024-11-01T00:00:00+00:00");
        assert_eq!(page.next_page.as_deref(), Some("page_AAAAAGdGxdEiJdKOAAAAAGcqsYA="));
    }

    #[test]
    fn bad_answers_are_errors_that_say_why() {
        let full = example("openai/organization_costs.docs-example.json");
        let err = costs(&full[..100]).unwrap_err().to_string();
        assert_eq!(err, "openai organization/costs: truncated answer: it ends after 100 bytes, inside the JSON");
        let bucket = |results: &str| format!(r#"{{"data":[{{"start_time":1730419200,"end_time":1730505600,"results":[{results}]}}]}}"#);
        let cost_err = |body: &str| costs(body.as_bytes()).unwrap_err().to_string();
        assert_eq!(
            cost_err(&bucket(r#"{"amount":{"value":"six cents","currency":"usd"}}"#)),
            "openai organization/costs: data[0].results[0].amount.value: `six cents` is not a decimal amount"
        );
        assert_eq!(
            cost_err(&bucket(r#"{"amount":{"value":1,"currency":"eur"}}"#)),
            "openai organization/costs: data[0].results[0].amount.currency: `eur`; only usd is summed as dollars"
        );
        assert_eq!(
            cost_err(r#"{"data":[{"start_time":"1730419200","end_time":1730505600,"results":[]}]}"#),
            "openai organization/costs: data[0].start_time: invalid type: string \"1730419200\", expected i64"
        );
        assert_eq!(
            cost_err(r#"{"error":{"message":"Invalid admin key","type":"invalid_request_error"}}"#),
            "openai organization/costs: unexpected answer: missing field `data`"
        );
        let usage_err = completions_usage(bucket(r#"{"input_tokens":10,"input_cached_tokens":20}"#).as_bytes()).unwrap_err().to_string();
        assert_eq!(usage_err, "openai organization/usage/completions: data[0].results[0]: input_tokens 10 is less than its cached 20 and cache-write 0 tokens");
    }
}
