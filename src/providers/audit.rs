//! The audit: our cost beside the provider's, per UTC day and model. Pure.
//!
//! Providers and logs name one model differently (`claude-opus-4-6` in the
//! cost report, `claude-opus-4-6-20260205` or `anthropic/claude-opus-4.6` in
//! a log, `gpt-4o-2024-08-06, input` in OpenAI's line items): both sides are
//! keyed by the model id normalised as the price table does it
//! (`pricing::model_id`), its most general form. A day on which the provider
//! has a cost without a model (an ungrouped report) is compared as a whole:
//! both sides' models of that day collapse into `(all models)`.
//!
//! Only the days the provider covers are compared (its closed days): our
//! cost of today, or of a day before the provider's window, has nothing to
//! be set against.
//!
//! The difference is the provider's minus ours (positive: spend our logs did
//! not see); its share is the difference over the provider's figure (how
//! much of the bill the logs miss), absent when the provider's is zero.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::pricing::model_id;

/// The model column for a day compared as a whole.
pub const ALL_MODELS: &str = "(all models)";

/// Places of the share (a ratio, not money).
const SHARE_PLACES: u32 = 4;

/// The key both sides are matched on: the most general form of the id.
pub fn model_key(model: &str) -> String {
    let model = model.trim();
    let general = model_id::candidates(model).pop().map(|c| c.into_owned()).unwrap_or_else(|| model.to_string());
    general.to_ascii_lowercase()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub day: NaiveDate,
    pub model: String,
    pub ours: Decimal,
    pub theirs: Decimal,
    /// Theirs minus ours.
    pub difference: Decimal,
    /// Difference over theirs, to four places; none when theirs is zero.
    pub share: Option<Decimal>,
}

impl AuditRow {
    fn new(day: NaiveDate, model: String, ours: Decimal, theirs: Decimal) -> AuditRow {
        let difference = theirs - ours;
        AuditRow { day, model, ours, theirs, difference, share: share(difference, theirs) }
    }
}

fn share(difference: Decimal, theirs: Decimal) -> Option<Decimal> {
    let ratio = difference.checked_div(theirs)?;
    Some(ratio.round_dp_with_strategy(SHARE_PLACES, rust_decimal::RoundingStrategy::MidpointAwayFromZero).normalize())
}

/// The table: rows with the largest gap (in absolute dollars) first, and the
/// totals over them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Audit {
    pub rows: Vec<AuditRow>,
    pub ours: Decimal,
    pub theirs: Decimal,
    pub difference: Decimal,
    pub share: Option<Decimal>,
}

/// One side's cost: (UTC day, model as written, dollars), any number of
/// entries per day and model.
pub type Costs<'a> = &'a [(NaiveDate, String, Decimal)];

/// Compares `ours` with `theirs` on the days in `covered`.
pub fn compare(ours: Costs, theirs: Costs, covered: &BTreeSet<NaiveDate>) -> Audit {
    let whole_days: BTreeSet<NaiveDate> = theirs.iter().filter(|(_, m, _)| m.trim().is_empty()).map(|(d, _, _)| *d).collect();
    let key = |day: &NaiveDate, model: &str| match whole_days.contains(day) {
        true => ALL_MODELS.to_string(),
        false => model_key(model),
    };
    let mut cells: BTreeMap<(NaiveDate, String), (Decimal, Decimal)> = BTreeMap::new();
    for (day, model, usd) in ours.iter().filter(|(d, _, _)| covered.contains(d)) {
        cells.entry((*day, key(day, model))).or_default().0 += usd;
    }
    for (day, model, usd) in theirs.iter().filter(|(d, _, _)| covered.contains(d)) {
        cells.entry((*day, key(day, model))).or_default().1 += usd;
    }
    let mut rows: Vec<AuditRow> = cells.into_iter().map(|((day, model), (o, t))| AuditRow::new(day, model, o, t)).collect();
    rows.sort_by(|a, b| b.difference.abs().cmp(&a.difference.abs()).then(b.day.cmp(&a.day)).then(a.model.cmp(&b.model)));
    let ours: Decimal = rows.iter().map(|r| r.ours).sum();
    let theirs: Decimal = rows.iter().map(|r| r.theirs).sum();
    let difference = theirs - ours;
    Audit { rows, ours, theirs, difference, share: share(difference, theirs) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn cost(day: &str, model: &str, usd: &str) -> (NaiveDate, String, Decimal) {
        (d(day), model.to_string(), usd.parse().unwrap())
    }

    fn row(r: &AuditRow) -> (String, &str, String, String, String, Option<String>) {
        (
            r.day.to_string(),
            r.model.as_str(),
            r.ours.to_string(),
            r.theirs.to_string(),
            r.difference.to_string(),
            r.share.map(|s| s.to_string()),
        )
    }

    #[test]
    fn model_names_meet_whatever_each_side_writes() {
        for (a, b) in [
            ("claude-opus-4-6-20260205", "claude-opus-4-6"),
            ("anthropic/claude-opus-4.6", "claude-opus-4-6"),
            ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
            ("gpt-4o-2024-08-06", "gpt-4o"),
            ("GPT-4o-mini", "gpt-4o-mini"),
        ] {
            assert_eq!(model_key(a), model_key(b), "{a} vs {b}");
        }
        assert_ne!(model_key("claude-opus-4-6"), model_key("claude-opus-4-5"));
    }

    #[test]
    fn the_table_has_the_largest_gaps_first_and_exact_totals() {
        let covered: BTreeSet<_> = [d("2026-11-01"), d("2026-11-02")].into();
        let ours = [
            cost("2026-11-01", "claude-opus-4-6-20260205", "10.25"),
            cost("2026-11-01", "claude-opus-4-6", "1.00"),
            cost("2026-11-01", "claude-haiku-4-5", "0.50"),
            cost("2026-11-02", "claude-sonnet-4-5", "3.333333"),
            // Today: the provider has not closed it, so it is not compared.
            cost("2026-11-03", "claude-opus-4-6", "99"),
        ];
        let theirs = [
            cost("2026-11-01", "claude-opus-4-6", "8.3391"),
            cost("2026-11-01", "claude-opus-4-6", "4.0"),
            cost("2026-11-01", "claude-haiku-4-5", "0.50"),
            cost("2026-11-02", "claude-sonnet-4-5", "4"),
            cost("2026-11-02", "claude-opus-4-6", "0.07"),
        ];
        let audit = compare(&ours, &theirs, &covered);
        let rows: Vec<_> = audit.rows.iter().map(row).collect();
        let s = |t: &str| t.to_string();
        assert_eq!(
            rows,
            [
                (s("2026-11-01"), "claude-opus-4-6", s("11.25"), s("12.3391"), s("1.0891"), Some(s("0.0883"))),
                (s("2026-11-02"), "claude-sonnet-4-5", s("3.333333"), s("4"), s("0.666667"), Some(s("0.1667"))),
                (s("2026-11-02"), "claude-opus-4-6", s("0"), s("0.07"), s("0.07"), Some(s("1"))),
                (s("2026-11-01"), "claude-haiku-4-5", s("0.50"), s("0.50"), s("0.00"), Some(s("0"))),
            ]
        );
        assert_eq!(
            (audit.ours.to_string(), audit.theirs.to_string(), audit.difference.to_string()),
            (s("15.083333"), s("16.9091"), s("1.825767"))
        );
        assert_eq!(audit.share.map(|s| s.to_string()), Some(s("0.108")));
    }

    #[test]
    fn we_may_see_more_than_the_provider_and_a_zero_bill_has_no_share() {
        let covered: BTreeSet<_> = [d("2026-11-01")].into();
        let audit = compare(&[cost("2026-11-01", "gpt-4o-2024-08-06", "2")], &[cost("2026-11-01", "gpt-4o", "1.5")], &covered);
        assert_eq!(row(&audit.rows[0]).4, "-0.5");
        assert_eq!(audit.rows[0].share.map(|s| s.to_string()), Some("-0.3333".into()));
        let audit = compare(&[cost("2026-11-01", "gpt-4o", "2")], &[], &covered);
        assert_eq!((audit.rows[0].difference.to_string(), audit.rows[0].share, audit.share), ("-2".into(), None, None));
    }

    #[test]
    fn a_day_without_models_on_the_provider_side_is_compared_whole() {
        let covered: BTreeSet<_> = [d("2025-09-17"), d("2025-09-18")].into();
        let ours = [
            cost("2025-09-17", "claude-opus-4-6", "800"),
            cost("2025-09-17", "claude-haiku-4-5", "30"),
            cost("2025-09-18", "claude-haiku-4-5", "1"),
        ];
        let theirs = [cost("2025-09-17", "", "833.9152823"), cost("2025-09-18", "claude-haiku-4-5", "1")];
        let audit = compare(&ours, &theirs, &covered);
        let rows: Vec<_> = audit.rows.iter().map(row).collect();
        assert_eq!(
            rows[0],
            (
                "2025-09-17".to_string(),
                ALL_MODELS,
                "830".to_string(),
                "833.9152823".to_string(),
                "3.9152823".to_string(),
                Some("0.0047".to_string())
            )
        );
        assert_eq!(rows.len(), 2);
    }
}
