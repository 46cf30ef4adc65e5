//! Pure readers of the provider APIs that report an API account's own
//! figures: bytes in, typed figures or a `ReadError` out. No I/O here; the
//! poller in `providers` fetches, these read.
//!
//! - `anthropic_admin`: Anthropic Admin API cost report (cents!) and
//!   messages usage report
//! - `openai_admin`: OpenAI organization costs and completions usage
//! - `openrouter`: OpenRouter credits (a prepaid balance) and key figures
//! - `deepseek`: DeepSeek balance per currency
//!
//! Spend readers give `SpendPage`s: per UTC day, the provider's cost lines
//! with the model and the ids filters select on; balance readers give
//! balances with their currency, never converted.

pub mod anthropic_admin;
pub mod deepseek;
pub mod openai_admin;
pub mod openrouter;
pub mod wire;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

pub use wire::ReadError;

use super::spend::{Filters, SpendReport};
use super::{DailySpend, Money, Observation, Request};

/// One cost line of a provider's daily report, in US dollars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendLine {
    /// The UTC day the provider's bucket starts on.
    pub day: NaiveDate,
    /// The model as the provider writes it; empty when the line has none
    /// (an ungrouped report, or a cost that is not a model's).
    pub model: String,
    pub usd: Decimal,
    /// What the line is for beside the model (Anthropic's `token_type` or
    /// `cost_type`, OpenAI's line item after the model).
    pub kind: String,
    /// Anthropic workspace or OpenAI project, when the report is grouped by it.
    pub scope_id: Option<String>,
    /// OpenAI's `api_key_id`, when the report is grouped by it.
    pub api_key_id: Option<String>,
}

/// One page of a daily cost report.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpendPage {
    pub lines: Vec<SpendLine>,
    /// Every day the page has a bucket for, empty ones included: an empty
    /// bucket is the provider saying "nothing that day", not a gap.
    pub days: Vec<NaiveDate>,
    /// The cursor for the next page (sent back as `page`), when there is one.
    pub next_page: Option<String>,
}

/// A balance as the provider states it, in its own currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    /// ISO code as the provider writes it, upper-cased (`USD`, `CNY`).
    pub currency: String,
    pub amount: Decimal,
}

/// A page of a report as Anthropic and OpenAI both write it: its buckets,
/// `has_more` and the `next_page` cursor.
#[derive(serde::Deserialize)]
struct ReportPage<B> {
    data: Vec<B>,
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    next_page: Option<String>,
}

/// Reads one page of a report: its buckets, and the cursor of the next page
/// when there is more. A page that says there is more but gives no cursor
/// cannot be followed: an error, not a silently short report.
pub fn report_page<B: serde::de::DeserializeOwned>(endpoint: &'static str, body: &[u8]) -> Result<(Vec<B>, Option<String>), ReadError> {
    let page: ReportPage<B> = wire::parse(endpoint, body)?;
    let next = match (page.has_more, page.next_page) {
        (false, _) => None,
        (true, Some(next)) if !next.is_empty() => Some(next),
        (true, _) => return Err(ReadError::new(endpoint, "has_more is true but next_page is empty: the next page cannot be asked for")),
    };
    Ok((page.data, next))
}

/// `path?k=v&...`, each key and value percent-encoded (`group_by[]` ->
/// `group_by%5B%5D`, a cursor's `=` -> `%3D`).
pub fn with_query(path: &str, query: &[(&'static str, String)]) -> String {
    let mut url = reqwest::Url::parse("http://localhost/").expect("a constant URL parses");
    url.set_path(path);
    url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
    match url.query() {
        Some(q) if !q.is_empty() => format!("{}?{q}", url.path()),
        _ => url.path().to_string(),
    }
}

/// The request for the next page of a paginated report: the first page
/// when nothing was answered yet, the page the last answer names next, or
/// none when it names none (or cannot be read: `read` then says why).
pub fn next_page(
    answers: &[Vec<u8>],
    read_page: fn(&[u8]) -> Result<SpendPage, ReadError>,
    request: impl Fn(Option<&str>) -> Request,
) -> Option<Request> {
    match answers.last() {
        None => Some(request(None)),
        Some(last) => read_page(last).ok()?.next_page.map(|cursor| request(Some(&cursor))),
    }
}

/// Every page of one poll into one observation: the account's costs per
/// day and model (lines of one day and model summed) and the days covered.
pub fn spend_observation(
    now: DateTime<Utc>,
    answers: &[Vec<u8>],
    read_page: fn(&[u8]) -> Result<SpendPage, ReadError>,
    filters: &Filters,
) -> Result<Observation, super::ReadError> {
    let mut report = SpendReport::default();
    for (i, answer) in answers.iter().enumerate() {
        let page = read_page(answer).map_err(|e| super::ReadError::new(format!("page {}: {e}", i + 1)))?;
        report.add_page(page, filters);
    }
    let mut sums: BTreeMap<(NaiveDate, String), Decimal> = BTreeMap::new();
    for line in &report.lines {
        *sums.entry((line.day, line.model.clone())).or_default() += line.usd;
    }
    let mut observation = Observation::new(now);
    observation.daily_spend = sums
        .into_iter()
        .map(|((day, model), usd)| DailySpend { day, model: (!model.is_empty()).then_some(model), amount: Money::usd(usd) })
        .collect();
    observation.spend_days = report.days.into_iter().collect();
    Ok(observation)
}

/// A provider's documented or captured answer from `../shared/real/provider-examples/`,
/// read at test time.
#[cfg(test)]
pub(crate) fn example(path: &str) -> Vec<u8> {
    let full = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/real/provider-examples/").to_string() + path;
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}
