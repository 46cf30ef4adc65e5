//! OpenRouter (`Authorization: Bearer sk-or-...`), as in OpenRouterTeam/docs
//! `openapi/openapi.yaml`.
//!
//! `GET /api/v1/credits`: `data.total_credits` (everything ever bought) and
//! `data.total_usage` (everything ever spent), JSON numbers in US dollars;
//! the prepaid balance is their difference. It needs a **management key**
//! (called a provisioning key before): an ordinary inference key gets 403.
//!
//! `GET /api/v1/key`: the calling key's own figures, with any key: `usage`
//! and `usage_daily`/`usage_weekly`/`usage_monthly` (older answers have only
//! `usage`), its `limit` and `limit_remaining` (null when the key has no
//! limit), and whether it is a management key.

use rust_decimal::Decimal;
use serde::Deserialize;

use super::wire::{self, optional_decimal, ReadError, WireDecimal};
use super::Balance;
use crate::providers::{Failure, Money, Observation, Reader, Request};

pub const CREDITS: &str = "/api/v1/credits";
pub const KEY: &str = "/api/v1/key";

const CREDITS_ENDPOINT: &str = "openrouter credits";
const KEY_ENDPOINT: &str = "openrouter key";

/// The `openrouter` kind: the account's prepaid balance from `/credits`.
pub struct OpenRouter;

impl Reader for OpenRouter {
    fn next_request(&self, _now: chrono::DateTime<chrono::Utc>, answers: &[Vec<u8>]) -> Option<Request> {
        answers.is_empty().then(|| Request { path: CREDITS.into(), headers: vec![("accept", "application/json".into())] })
    }

    fn read(&self, now: chrono::DateTime<chrono::Utc>, answers: &[Vec<u8>]) -> Result<Observation, crate::providers::ReadError> {
        let body = answers.first().ok_or_else(|| crate::providers::ReadError::new("no answer"))?;
        let balance = credits(body).map_err(|e| crate::providers::ReadError::new(e.to_string()))?.balance();
        let mut observation = Observation::new(now);
        observation.balances.push(Money { amount: balance.amount, currency: balance.currency });
        Ok(observation)
    }

    fn refused(&self, mut failure: Failure) -> Failure {
        failure.message = format!("{}: {}", failure.message, CREDITS_REFUSED);
        failure
    }
}

/// Why OpenRouter refuses `/api/v1/credits` to a key it knows.
pub const CREDITS_REFUSED: &str = "OpenRouter's /api/v1/credits needs a management key (a provisioning key, created under \
     Settings > Management Keys); an ordinary inference key is refused with 403 and can read only its own figures (/api/v1/key)";

#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
}

#[derive(Deserialize)]
struct CreditsData {
    total_credits: WireDecimal,
    total_usage: WireDecimal,
}

/// The account's credits as OpenRouter states them, in US dollars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credits {
    pub total_credits: Decimal,
    pub total_usage: Decimal,
}

impl Credits {
    /// What is left to spend: bought minus spent. May be negative (a request
    /// that finishes past zero is still charged).
    pub fn balance(&self) -> Balance {
        Balance { currency: "USD".into(), amount: self.total_credits - self.total_usage }
    }
}

pub fn credits(body: &[u8]) -> Result<Credits, ReadError> {
    let e: Envelope<CreditsData> = wire::parse(CREDITS_ENDPOINT, body)?;
    Ok(Credits { total_credits: e.data.total_credits.0, total_usage: e.data.total_usage.0 })
}

#[derive(Deserialize)]
struct KeyData {
    #[serde(default)]
    label: Option<String>,
    usage: WireDecimal,
    #[serde(default, deserialize_with = "optional_decimal")]
    usage_daily: Option<Decimal>,
    #[serde(default, deserialize_with = "optional_decimal")]
    usage_weekly: Option<Decimal>,
    #[serde(default, deserialize_with = "optional_decimal")]
    usage_monthly: Option<Decimal>,
    #[serde(default, deserialize_with = "optional_decimal")]
    limit: Option<Decimal>,
    #[serde(default, deserialize_with = "optional_decimal")]
    limit_remaining: Option<Decimal>,
    #[serde(default)]
    limit_reset: Option<String>,
    #[serde(default)]
    is_management_key: Option<bool>,
    #[serde(default)]
    is_provisioning_key: Option<bool>,
}

/// The calling key's figures, in US dollars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFigures {
    /// OpenRouter's own masked label (`sk-or-v1-au7...890`), never the key.
    pub label: Option<String>,
    pub usage: Decimal,
    pub usage_daily: Option<Decimal>,
    pub usage_weekly: Option<Decimal>,
    pub usage_monthly: Option<Decimal>,
    pub limit: Option<Decimal>,
    pub limit_remaining: Option<Decimal>,
    pub limit_reset: Option<String>,
    /// A management (provisioning) key: one that may read `/credits`.
    pub management: bool,
}

pub fn key(body: &[u8]) -> Result<KeyFigures, ReadError> {
    let e: Envelope<KeyData> = wire::parse(KEY_ENDPOINT, body)?;
    let d = e.data;
    Ok(KeyFigures {
        label: d.label,
        usage: d.usage.0,
        usage_daily: d.usage_daily,
        usage_weekly: d.usage_weekly,
        usage_monthly: d.usage_monthly,
        limit: d.limit,
        limit_remaining: d.limit_remaining,
        limit_reset: d.limit_reset,
        management: d.is_management_key.unwrap_or(false) || d.is_provisioning_key.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::api::example;

    fn text(d: Option<Decimal>) -> Option<String> {
        d.map(|d| d.to_string())
    }

    #[test]
    fn documented_credits_give_the_balance_exactly() {
        let c = credits(&example("openrouter/credits.docs-example.json")).unwrap();
        assert_eq!((c.total_credits.to_string(), c.total_usage.to_string()), ("100.5".into(), "25.75".into()));
        assert_eq!(c.balance(), Balance { currency: "USD".into(), amount: "74.75".parse().unwrap() });
    }

    #[test]
    fn documented_key_figures() {
        let k = key(&example("openrouter/key.docs-example.json")).unwrap();
        assert_eq!(k.label.as_deref(), Some("sk-or-v1-au7...890"));
        assert_eq!(k.usage.to_string(), "25.5");
        assert_eq!(
            (text(k.usage_daily), text(k.usage_weekly), text(k.usage_monthly)),
            (Some("25.5".into()), Some("25.5".into()), Some("25.5".into()))
        );
        assert_eq!(
            (text(k.limit), text(k.limit_remaining), k.limit_reset.as_deref()),
            (Some("100".into()), Some("74.5".into()), Some("monthly"))
        );
        assert!(!k.management);
    }

    #[test]
    fn older_key_answers_have_only_usage() {
        let k = key(&example("openrouter/key.observed-openrouter-crate.json")).unwrap();
        assert_eq!(k.usage.to_string(), "0.1015644762");
        assert_eq!((text(k.limit), text(k.limit_remaining)), (Some("5".into()), Some("4.8984355238".into())));
        assert_eq!((k.usage_daily, k.usage_monthly, k.management), (None, None, false));
        let unlimited = key(br#"{"data":{"usage":1,"limit":null,"limit_remaining":null,"is_provisioning_key":true}}"#).unwrap();
        assert_eq!((unlimited.limit, unlimited.limit_remaining, unlimited.management), (None, None, true));
    }

    #[test]
    fn refusals_name_the_key_type() {
        let refused = crate::providers::client::classify(reqwest::StatusCode::FORBIDDEN, None);
        let message = OpenRouter.refused(refused).message;
        assert_eq!(
            message,
            "answered 403: the token or key is not accepted: OpenRouter's /api/v1/credits needs a management key (a provisioning key, \
             created under Settings > Management Keys); an ordinary inference key is refused with 403 and can read only its own figures (/api/v1/key)"
        );
    }

    #[test]
    fn bad_answers_are_errors_that_say_why() {
        let err = |body: &str| credits(body.as_bytes()).unwrap_err().to_string();
        assert_eq!(
            err(r#"{"data":{"total_credits":100.5,"#),
            "openrouter credits: truncated answer: it ends after 31 bytes, inside the JSON"
        );
        assert_eq!(
            err(r#"{"data":{"total_credits":"lots","total_usage":1}}"#),
            "openrouter credits: data.total_credits: `lots` is not a decimal amount"
        );
        assert_eq!(
            err(r#"{"data":{"total_credits":null,"total_usage":1}}"#),
            "openrouter credits: data.total_credits: expected a decimal amount, found `null`"
        );
        assert_eq!(err(r#"{"error":{"code":403,"message":"Forbidden"}}"#), "openrouter credits: unexpected answer: missing field `data`");
        assert_eq!(err(r#"{"data":"74.75"}"#), "openrouter credits: data: invalid type: string \"74.75\", expected struct CreditsData");
    }
}
