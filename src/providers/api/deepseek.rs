//! DeepSeek `GET /user/balance` (`Authorization: Bearer sk-...`), as in
//! DeepSeek's API docs ("Get User Balance"): `is_available` (whether the
//! balance covers API calls) and `balance_infos[]`, one per currency (`CNY`
//! or `USD`), each with `total_balance`, `granted_balance` and
//! `topped_up_balance` as decimal strings. A CNY balance stays in yuan: it
//! is never added to, or compared with, dollars.

use rust_decimal::Decimal;
use serde::Deserialize;

use super::wire::{self, ReadError, WireDecimal};
use super::Balance;
use crate::providers::{Money, Observation, Reader, Request};

/// The `deepseek` kind: the balance in each currency the account holds.
pub struct DeepSeek;

impl Reader for DeepSeek {
    fn next_request(&self, _now: chrono::DateTime<chrono::Utc>, answers: &[Vec<u8>]) -> Option<Request> {
        answers.is_empty().then(|| Request { path: USER_BALANCE.into(), headers: vec![("accept", "application/json".into())] })
    }

    fn read(&self, now: chrono::DateTime<chrono::Utc>, answers: &[Vec<u8>]) -> Result<Observation, crate::providers::ReadError> {
        let body = answers.first().ok_or_else(|| crate::providers::ReadError::new("no answer"))?;
        let balances = user_balance(body).map_err(|e| crate::providers::ReadError::new(e.to_string()))?;
        let mut observation = Observation::new(now);
        observation.balances =
            balances.currencies.into_iter().map(|c| Money { amount: c.balance.amount, currency: c.balance.currency }).collect();
        Ok(observation)
    }
}

pub const USER_BALANCE: &str = "/user/balance";

const ENDPOINT: &str = "deepseek user/balance";

#[derive(Deserialize)]
struct Answer {
    is_available: bool,
    balance_infos: Vec<Info>,
}

#[derive(Deserialize)]
struct Info {
    currency: String,
    total_balance: WireDecimal,
    #[serde(default)]
    granted_balance: Option<WireDecimal>,
    #[serde(default)]
    topped_up_balance: Option<WireDecimal>,
}

/// One currency's balance: the total, and what of it was granted (free) or
/// topped up (paid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyBalance {
    pub balance: Balance,
    pub granted: Option<Decimal>,
    pub topped_up: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balances {
    /// DeepSeek's word on whether the balance still covers API calls.
    pub available: bool,
    pub currencies: Vec<CurrencyBalance>,
}

impl Balances {
    /// The balance in `currency` (`USD`, `CNY`), if the account has one.
    pub fn in_currency(&self, currency: &str) -> Option<&Balance> {
        self.currencies.iter().map(|c| &c.balance).find(|b| b.currency.eq_ignore_ascii_case(currency))
    }
}

pub fn user_balance(body: &[u8]) -> Result<Balances, ReadError> {
    let answer: Answer = wire::parse(ENDPOINT, body)?;
    let mut currencies: Vec<CurrencyBalance> = Vec::with_capacity(answer.balance_infos.len());
    for (i, info) in answer.balance_infos.into_iter().enumerate() {
        let currency = info.currency.trim().to_ascii_uppercase();
        if currency.is_empty() || !currency.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(ReadError::new(ENDPOINT, format!("balance_infos[{i}].currency: `{}` is not a currency code", info.currency)));
        }
        if currencies.iter().any(|c| c.balance.currency == currency) {
            return Err(ReadError::new(ENDPOINT, format!("balance_infos[{i}].currency: {currency} is listed twice")));
        }
        currencies.push(CurrencyBalance {
            balance: Balance { currency, amount: info.total_balance.0 },
            granted: info.granted_balance.map(|w| w.0),
            topped_up: info.topped_up_balance.map(|w| w.0),
        });
    }
    Ok(Balances { available: answer.is_available, currencies })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::api::example;

    #[test]
    fn documented_balance_is_in_yuan_and_stays_there() {
        let b = user_balance(&example("deepseek/user_balance.docs-example.json")).unwrap();
        assert!(b.available);
        assert_eq!(b.currencies.len(), 1);
        let cny = &b.currencies[0];
        assert_eq!((cny.balance.currency.as_str(), cny.balance.amount.to_string()), ("CNY", "110.00".to_string()));
        assert_eq!(
            (cny.granted.map(|d| d.to_string()), cny.topped_up.map(|d| d.to_string())),
            (Some("10.00".into()), Some("100.00".into()))
        );
        assert_eq!(b.in_currency("USD"), None, "yuan are never dollars");
        assert_eq!(b.in_currency("cny").map(|b| b.amount.to_string()), Some("110.00".into()));
    }

    #[test]
    fn two_currencies_are_kept_apart() {
        let body = br#"{"is_available":true,"balance_infos":[
            {"currency":"CNY","total_balance":"0.50","granted_balance":"0.00","topped_up_balance":"0.50"},
            {"currency":"USD","total_balance":"12.3456","granted_balance":"0","topped_up_balance":"12.3456"}]}"#;
        let b = user_balance(body).unwrap();
        assert_eq!(b.in_currency("USD").map(|b| b.amount.to_string()), Some("12.3456".into()));
        assert_eq!(b.in_currency("CNY").map(|b| b.amount.to_string()), Some("0.50".into()));
    }

    #[test]
    fn bad_answers_are_errors_that_say_why() {
        let err = |body: &str| user_balance(body.as_bytes()).unwrap_err().to_string();
        assert_eq!(
            err(r#"{"is_available":true,"balance_infos":[{"currency":"CNY","total_balance":"110."#),
            "deepseek user/balance: truncated answer: it ends after 77 bytes, inside the JSON"
        );
        assert_eq!(
            err(r#"{"is_available":true,"balance_infos":[{"currency":"CNY","total_balance":"¥110"}]}"#),
            "deepseek user/balance: balance_infos[0].total_balance: `¥110` is not a decimal amount"
        );
        assert_eq!(
            err(r#"{"is_available":"yes","balance_infos":[]}"#),
            "deepseek user/balance: is_available: invalid type: string \"yes\", expected a boolean"
        );
        assert_eq!(
            err(r#"{"is_available":true,"balance_infos":[{"currency":"CNY","total_balance":"1"},{"currency":"cny","total_balance":"2"}]}"#),
            "deepseek user/balance: balance_infos[1].currency: CNY is listed twice"
        );
        assert_eq!(
            err(r#"{"error":{"message":"Authentication Fails"}}"#),
            "deepseek user/balance: unexpected answer: missing field `is_available`"
        );
    }
}
