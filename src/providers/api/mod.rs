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

use chrono::NaiveDate;
use rust_decimal::Decimal;

pub use wire::ReadError;

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

/// A provider's documented or captured answer from `../shared/real/provider-examples/`,
/// read at test time.
#[cfg(test)]
pub(crate) fn example(path: &str) -> Vec<u8> {
    let full = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/real/provider-examples/").to_string() + path;
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}
