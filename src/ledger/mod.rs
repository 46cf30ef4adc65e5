//! The prepaid-credit ledger (in progress).
pub mod cli;
