//! The prepaid-credit ledger: a pure state machine (`account`, with its
//! `entry`, `month` and `settings` types) and the files under it (`journal`,
//! `snapshot`, `lock`).
//!
//! The daemon books a batch of usage on the `Ledger`, writes the resulting
//! entries (with the file checkpoints that produced them) as one journal
//! record, and on start rebuilds the ledger from the last snapshot plus the
//! journal records after it. The state machine knows nothing of files and
//! the journal nothing of entries: it stores framed, checksummed bytes.
pub mod account;
pub mod cli;
pub mod entry;
pub mod journal;
pub mod lock;
pub mod month;
pub mod settings;
pub mod snapshot;

pub use account::{AccountView, Ledger, LedgerError, TopupTotals};
pub use entry::{Booked, Entry, Receipt, RequestKind};
pub use journal::{Journal, JournalError, Record, VerifySummary};
pub use lock::StateLock;
pub use month::Month;
pub use settings::{AccountSettings, AutoReload, ReloadSize};
pub use snapshot::{load_snapshot, save_snapshot, write_atomic};
