//! What the ledger refuses, and why. The HTTP layer maps these to status
//! codes: `UnknownAccount` 404, `Conflict` 409, `BadAmount` and `MissingId`
//! 422, `Overflow` 422; `BadEntry` means a journal that does not fit the
//! ledger, and `BadSettings` a config the ledger cannot use.

use rust_decimal::Decimal;

use super::entry::Receipt;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LedgerError {
    #[error("unknown account `{0}`")]
    UnknownAccount(String),
    #[error("bad amount {amount}: {reason}")]
    BadAmount { amount: Decimal, reason: &'static str },
    #[error("the request id is empty: give each top-up or reconcile a unique id")]
    MissingId,
    #[error(
        "id `{id}` was already used for a {} of {} on account `{}`; a different request needs a new id",
        existing.kind, existing.amount_usd, existing.account
    )]
    Conflict { id: String, existing: Box<Receipt> },
    #[error("amounts on account `{0}` are too large to add up exactly")]
    Overflow(String),
    #[error("inconsistent ledger entry: {0}")]
    BadEntry(String),
    #[error("bad account settings: {0}")]
    BadSettings(String),
}
