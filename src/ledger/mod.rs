//! The prepaid-credit ledger: the pure state machine (`account`) and its
//! on-disk journal (`journal`).
pub mod account;
pub mod cli;
pub mod journal;

pub use account::{AccountSettings, AccountView, Entry, Ledger, LedgerError};
