//! TEMPORARY shim with the agreed API, replaced by the ledger branch on merge.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum Entry {
    Opened { account: String, balance: Decimal, as_of: DateTime<Utc> },
    Debit { account: String, app: String, at: DateTime<Utc>, cost: Decimal, from_allowance: Decimal, from_balance: Decimal, deducted: bool },
    TopUp { account: String, id: String, amount: Decimal, note: Option<String>, at: DateTime<Utc> },
    Reconcile { account: String, id: String, balance: Decimal, adjustment: Decimal, at: DateTime<Utc> },
}

#[derive(Debug, Clone)]
pub struct AccountSettings {
    pub name: String,
    pub opening_balance: Decimal,
    pub opening_as_of: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Account {
    balance: Decimal,
    as_of: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ledger {
    accounts: BTreeMap<String, Account>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    pub balance: Decimal,
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("unknown account `{0}`")]
    UnknownAccount(String),
    #[error("conflict")]
    Conflict(String),
    #[error("bad amount")]
    BadAmount(String),
}

pub struct Booked {
    pub entry: Option<Entry>,
    pub view: AccountView,
}

impl Ledger {
    pub fn new(_tz: Tz) -> Ledger {
        Ledger { accounts: BTreeMap::new() }
    }
    pub fn configure(&mut self, settings: Vec<AccountSettings>, now: DateTime<Utc>) -> Vec<Entry> {
        let mut out = vec![];
        for s in settings {
            if !self.accounts.contains_key(&s.name) {
                let e = Entry::Opened { account: s.name.clone(), balance: s.opening_balance, as_of: s.opening_as_of.unwrap_or(now) };
                self.apply(&e);
                out.push(e);
            }
        }
        out
    }
    pub fn book_usage(&mut self, account: &str, app: &str, at: DateTime<Utc>, cost: Decimal) -> Result<Vec<Entry>, LedgerError> {
        let a = self.accounts.get(account).ok_or_else(|| LedgerError::UnknownAccount(account.into()))?;
        let deducted = a.as_of.is_none_or(|t| at >= t);
        let e = Entry::Debit {
            account: account.into(),
            app: app.into(),
            at,
            cost,
            from_allowance: Decimal::ZERO,
            from_balance: cost,
            deducted,
        };
        self.apply(&e);
        Ok(vec![e])
    }
    pub fn topup(
        &mut self,
        account: &str,
        id: &str,
        amount: Decimal,
        note: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<Booked, LedgerError> {
        if !self.accounts.contains_key(account) {
            return Err(LedgerError::UnknownAccount(account.into()));
        }
        let e = Entry::TopUp { account: account.into(), id: id.into(), amount, note, at };
        self.apply(&e);
        Ok(Booked { entry: Some(e), view: self.view(account, at).unwrap_or(AccountView { balance: Decimal::ZERO }) })
    }
    pub fn reconcile(&mut self, account: &str, id: &str, balance: Decimal, at: DateTime<Utc>) -> Result<Booked, LedgerError> {
        let cur = self.view(account, at).ok_or_else(|| LedgerError::UnknownAccount(account.into()))?.balance;
        let e = Entry::Reconcile { account: account.into(), id: id.into(), balance, adjustment: balance - cur, at };
        self.apply(&e);
        Ok(Booked { entry: Some(e), view: self.view(account, at).unwrap_or(AccountView { balance: Decimal::ZERO }) })
    }
    pub fn apply(&mut self, entry: &Entry) {
        match entry {
            Entry::Opened { account, balance, as_of } => {
                self.accounts.insert(account.clone(), Account { balance: *balance, as_of: Some(*as_of) });
            }
            Entry::Debit { account, from_balance, deducted: true, .. } => {
                if let Some(a) = self.accounts.get_mut(account) {
                    a.balance -= *from_balance;
                }
            }
            Entry::TopUp { account, amount, .. } | Entry::Reconcile { account, adjustment: amount, .. } => {
                if let Some(a) = self.accounts.get_mut(account) {
                    a.balance += *amount;
                }
            }
            _ => {}
        }
    }
    pub fn view(&self, account: &str, _now: DateTime<Utc>) -> Option<AccountView> {
        self.accounts.get(account).map(|a| AccountView { balance: a.balance })
    }
    pub fn accounts(&self) -> impl Iterator<Item = &str> {
        self.accounts.keys().map(String::as_str)
    }
}
