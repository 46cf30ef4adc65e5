//! Cost per account, UTC day and model, read exactly as `report` reads the
//! sources (the same files, the same merge of copies, the same prices): the
//! "ours" side of `creditwatch audit`. Days are UTC because the providers'
//! reports are.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use super::{read, PriceMemo};
use crate::pricing::PriceTable;
use crate::sources::SourceSpec;

/// What the sources cost, by (account, UTC day, model as logged).
#[derive(Debug, Default)]
pub struct DailyCosts {
    pub costs: BTreeMap<(String, NaiveDate, String), Decimal>,
    pub files: usize,
    pub lines: u64,
    pub error_lines: u64,
}

/// Reads every source once (read-only) and sums the cost per account, UTC
/// day and model from `since` (a UTC day) on.
pub fn daily_costs(
    sources: &[SourceSpec],
    prices: &PriceTable,
    since: Option<NaiveDate>,
    max_line_bytes: usize,
    progress: &indicatif::ProgressBar,
) -> DailyCosts {
    let read = read(sources, max_line_bytes, progress);
    let mut out = DailyCosts { files: read.files, lines: read.lines, error_lines: read.error_lines, ..DailyCosts::default() };
    let mut memo = PriceMemo::new(prices, read.names.len());
    let name = |n: u32| read.names.get(n as usize).map(String::as_str).unwrap_or("");
    for (_, r) in &read.requests {
        let Some(at) = DateTime::<Utc>::from_timestamp(r.at, 0) else { continue };
        let day = at.date_naive();
        if since.is_some_and(|s| day < s) {
            continue;
        }
        let cost = memo.price(r, name(r.model), at).cost;
        *out.costs.entry((name(r.account).to_string(), day, name(r.model).to_string())).or_default() += cost;
    }
    out
}
