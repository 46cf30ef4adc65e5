//! What a provider's answer says, typed: the one thing every reader returns
//! and the ledger, metrics and `providers check` consume.
//!
//! Money is `Decimal` with its currency, as the provider states it; a reader
//! never converts currencies and never goes through a float. Fields a kind
//! does not report stay empty (`None`, `[]`), never zero: "the provider said
//! 0" and "the provider says nothing about it" are different facts.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::usage::plan::PlanWindow;

/// An amount in one currency (ISO 4217 code, upper case: `USD`, `CNY`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub amount: Decimal,
    pub currency: String,
}

impl Money {
    pub fn usd(amount: Decimal) -> Money {
        Money { amount, currency: "USD".into() }
    }

    pub fn is_usd(&self) -> bool {
        self.currency == "USD"
    }

    /// `amount_minor` units with `exponent` decimal places (`40843`, 2 ->
    /// `408.43`): exact, the scale set from the exponent, never a float.
    pub fn from_minor(minor: Decimal, exponent: u32, currency: &str) -> Option<Money> {
        if exponent > 10 {
            return None;
        }
        let unit = Decimal::from_i128_with_scale(1, exponent);
        minor.checked_mul(unit).map(|amount| Money { amount: amount.normalize(), currency: currency.to_ascii_uppercase() })
    }
}

/// Spend in the provider's current period (a Claude subscription's extra
/// usage: month to date by the provider's own cycle).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodSpend {
    pub spent: Money,
    /// The monthly limit; `None` when unlimited or not stated.
    pub limit: Option<Money>,
    /// Whether extra usage is switched on (spend can grow past the plan).
    pub enabled: bool,
    /// When the period began, if the provider says so (`None`: a drop in
    /// `spent` is the only sign of a new period).
    pub since: Option<DateTime<Utc>>,
}

/// Spend of one day (UTC) and model, for the API-account kinds' cost
/// reports (issue 22). `model: None` when the report is not split by model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailySpend {
    pub day: NaiveDate,
    pub model: Option<String>,
    pub amount: Money,
}

/// One poll's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    /// When the answer was received (the poller's clock).
    pub at: DateTime<Utc>,
    /// Plan windows (subscription rate limits), names as the metrics show them.
    pub windows: Vec<PlanWindow>,
    pub extra_usage: Option<PeriodSpend>,
    /// Balances the provider states, one per currency.
    pub balances: Vec<Money>,
    pub daily_spend: Vec<DailySpend>,
    /// The UTC days a daily report covers, those with nothing spent
    /// included: an empty day is the provider saying $0, not silence.
    #[serde(default)]
    pub spend_days: Vec<NaiveDate>,
}

impl Observation {
    pub fn new(at: DateTime<Utc>) -> Observation {
        Observation { at, windows: Vec::new(), extra_usage: None, balances: Vec::new(), daily_spend: Vec::new(), spend_days: Vec::new() }
    }

    /// The balance in US dollars, when one is stated.
    pub fn balance_usd(&self) -> Option<Decimal> {
        self.balances.iter().find(|m| m.is_usd()).map(|m| m.amount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units_convert_with_the_exponent_given() {
        let cases = [("40843", 2, "408.43"), ("40843", 0, "40843"), ("40843", 3, "40.843"), ("0", 2, "0"), ("5", 10, "0.0000000005")];
        for (minor, exp, want) in cases {
            let m = Money::from_minor(minor.parse().unwrap(), exp, "usd").unwrap();
            assert_eq!((m.amount.to_string().as_str(), m.currency.as_str()), (want, "USD"), "{minor} e{exp}");
        }
        assert_eq!(Money::from_minor(Decimal::ONE, 11, "USD"), None);
    }
}
