//! Anthropic Admin API (an `sk-ant-admin...` key in `x-api-key`,
//! `anthropic-version: 2023-06-01`): the organization's cost and usage
//! reports.
//!
//! `GET /v1/organizations/cost_report` (Claude API reference, "Get Cost
//! Report"): daily buckets only (`bucket_width=1d`, at most 31 a page);
//! `amount` is a decimal string in **cents** (`"83391.52823"` is
//! $833.9152823: at least three public tools read it as dollars and were
//! 100x off), `currency` `USD`; model and token type are filled only with
//! `group_by[]=description`, the workspace only with
//! `group_by[]=workspace_id`. Pages: `has_more` and `next_page`, sent back
//! as `page` with the other parameters unchanged. Today's bucket may be
//! refused or partial; Priority Tier costs are absent.
//!
//! `GET /v1/organizations/usage_report/messages` ("Get Messages Usage
//! Report"): tokens only, per bucket (`1d`, or `1h`/`1m` for today), cache
//! writes nested as `cache_creation.ephemeral_5m_input_tokens` and
//! `ephemeral_1h_input_tokens`; `uncached_input_tokens` is the input without
//! cache reads or writes.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::wire::{self, count, ReadError};
use super::{SpendLine, SpendPage};
use crate::providers::spend::{self, Filters};
use crate::providers::{Observation, Reader, Request};
use crate::usage::Tokens;

pub const COST_REPORT: &str = "/v1/organizations/cost_report";
pub const MESSAGES_USAGE: &str = "/v1/organizations/usage_report/messages";

/// The Admin API's version header, as its reference gives it.
const VERSION: &str = "2023-06-01";

/// The `anthropic_admin` kind: the cost report of the closed days of this
/// month and the last, every page, filtered to the account's workspaces.
pub struct AnthropicAdmin {
    pub filters: Filters,
    /// The first day asked for, instead of the first of the previous month.
    pub since: Option<chrono::NaiveDate>,
}

impl Reader for AnthropicAdmin {
    fn next_request(&self, now: DateTime<Utc>, answers: &[Vec<u8>]) -> Option<Request> {
        let (start, end) = spend::window_since(now, self.since);
        let by_workspace = !self.filters.workspace_ids.is_empty();
        super::next_page(answers, cost_report, |page| Request {
            path: super::with_query(COST_REPORT, &cost_report_query(start, end, by_workspace, page)),
            headers: vec![("anthropic-version", VERSION.into()), ("accept", "application/json".into())],
        })
    }

    fn auth(&self) -> (&'static str, &'static str) {
        ("x-api-key", "")
    }

    fn read(&self, now: DateTime<Utc>, answers: &[Vec<u8>]) -> Result<Observation, crate::providers::ReadError> {
        super::spend_observation(now, answers, cost_report, &self.filters)
    }

    fn refused(&self, mut failure: crate::providers::Failure) -> crate::providers::Failure {
        failure.message += ": the cost report needs an Admin API key (sk-ant-admin...), which only an organization's admins can create";
        failure
    }
}

const COST_ENDPOINT: &str = "anthropic cost_report";
const USAGE_ENDPOINT: &str = "anthropic usage_report/messages";

#[derive(Deserialize)]
struct Bucket<R> {
    starting_at: DateTime<Utc>,
    ending_at: DateTime<Utc>,
    results: Vec<R>,
}

#[derive(Deserialize)]
struct CostResult {
    amount: wire::WireDecimal,
    currency: String,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    cost_type: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    workspace_id: Option<String>,
}

/// The cost report's parameters for the days from `start` to `end` (UTC
/// midnights): a month a page, per model and token type
/// (`group_by[]=description`), per workspace when the account is a
/// workspace's; `page` is the previous answer's `next_page`, the rest
/// unchanged.
pub fn cost_report_query(start: DateTime<Utc>, end: DateTime<Utc>, by_workspace: bool, page: Option<&str>) -> Vec<(&'static str, String)> {
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut q =
        vec![("starting_at", time(start)), ("ending_at", time(end)), ("bucket_width", "1d".into()), ("group_by[]", "description".into())];
    if by_workspace {
        q.push(("group_by[]", "workspace_id".into()));
    }
    q.push(("limit", "31".into()));
    if let Some(page) = page {
        q.push(("page", page.into()));
    }
    q
}

fn check_bucket<R>(endpoint: &'static str, i: usize, b: &Bucket<R>) -> Result<(), ReadError> {
    if b.ending_at <= b.starting_at {
        return Err(ReadError::new(endpoint, format!("data[{i}]: ending_at {} is not after starting_at {}", b.ending_at, b.starting_at)));
    }
    Ok(())
}

/// Reads one page of the cost report into dollars per UTC day and model.
pub fn cost_report(body: &[u8]) -> Result<SpendPage, ReadError> {
    let (data, next_page) = super::report_page::<Bucket<CostResult>>(COST_ENDPOINT, body)?;
    let mut out = SpendPage { next_page, ..SpendPage::default() };
    for (i, bucket) in data.into_iter().enumerate() {
        check_bucket(COST_ENDPOINT, i, &bucket)?;
        let day = bucket.starting_at.date_naive();
        out.days.push(day);
        for (j, r) in bucket.results.into_iter().enumerate() {
            if !r.currency.eq_ignore_ascii_case("USD") {
                let why = format!("data[{i}].results[{j}].currency: `{}`; the cost report is documented in USD cents", r.currency);
                return Err(ReadError::new(COST_ENDPOINT, why));
            }
            let usd = cents_to_dollars(r.amount.0).ok_or_else(|| {
                ReadError::new(COST_ENDPOINT, format!("data[{i}].results[{j}].amount: `{}` cents is out of range", r.amount.0))
            })?;
            let kind = match (r.cost_type.as_deref(), r.token_type, r.description) {
                (Some("tokens") | None, Some(token_type), _) => token_type,
                (Some(cost_type), _, _) => cost_type.to_string(),
                (None, None, Some(description)) => description,
                (None, None, None) => String::new(),
            };
            out.lines.push(SpendLine { day, model: r.model.unwrap_or_default(), usd, kind, scope_id: r.workspace_id, api_key_id: None });
        }
    }
    Ok(out)
}

/// Cents to dollars, exactly: the same digits, two places further right.
fn cents_to_dollars(cents: Decimal) -> Option<Decimal> {
    let mut usd = cents;
    usd.set_scale(cents.scale() + 2).ok()?;
    Some(usd)
}

#[derive(Deserialize)]
struct UsageResult {
    #[serde(default, deserialize_with = "count")]
    uncached_input_tokens: u64,
    #[serde(default, deserialize_with = "count")]
    cache_read_input_tokens: u64,
    #[serde(default, deserialize_with = "count")]
    output_tokens: u64,
    #[serde(default)]
    cache_creation: Option<CacheCreation>,
    #[serde(default)]
    server_tool_use: Option<ServerToolUse>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    workspace_id: Option<String>,
    #[serde(default)]
    api_key_id: Option<String>,
}

#[derive(Deserialize, Default)]
struct CacheCreation {
    #[serde(default, deserialize_with = "count")]
    ephemeral_5m_input_tokens: u64,
    #[serde(default, deserialize_with = "count")]
    ephemeral_1h_input_tokens: u64,
}

#[derive(Deserialize, Default)]
struct ServerToolUse {
    #[serde(default, deserialize_with = "count")]
    web_search_requests: u64,
}

/// One row of the messages usage report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRow {
    /// Empty when the report is not grouped by model.
    pub model: String,
    pub tokens: Tokens,
    pub web_searches: u64,
    pub workspace_id: Option<String>,
    pub api_key_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageBucket {
    pub starting_at: DateTime<Utc>,
    pub ending_at: DateTime<Utc>,
    pub rows: Vec<UsageRow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsagePage {
    pub buckets: Vec<UsageBucket>,
    pub next_page: Option<String>,
}

/// Reads one page of the messages usage report.
pub fn messages_usage(body: &[u8]) -> Result<UsagePage, ReadError> {
    let (data, next_page) = super::report_page::<Bucket<UsageResult>>(USAGE_ENDPOINT, body)?;
    let mut buckets = Vec::with_capacity(data.len());
    for (i, bucket) in data.into_iter().enumerate() {
        check_bucket(USAGE_ENDPOINT, i, &bucket)?;
        let rows = bucket.results.into_iter().map(usage_row).collect();
        buckets.push(UsageBucket { starting_at: bucket.starting_at, ending_at: bucket.ending_at, rows });
    }
    Ok(UsagePage { buckets, next_page })
}

fn usage_row(r: UsageResult) -> UsageRow {
    let writes = r.cache_creation.unwrap_or_default();
    UsageRow {
        model: r.model.unwrap_or_default(),
        tokens: Tokens {
            input: r.uncached_input_tokens,
            output: r.output_tokens,
            cache_write_5m: writes.ephemeral_5m_input_tokens,
            cache_write_1h: writes.ephemeral_1h_input_tokens,
            cache_read: r.cache_read_input_tokens,
        },
        web_searches: r.server_tool_use.unwrap_or_default().web_search_requests,
        workspace_id: r.workspace_id,
        api_key_id: r.api_key_id,
    }
}

#[cfg(test)]
#[path = "anthropic_admin_tests.rs"]
mod tests;
