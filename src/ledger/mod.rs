//! The prepaid-credit ledger: a pure state machine (`account`, with its
//! `entry`, `month`, `settings` and `view` types) and the files under it
//! (`journal`, `snapshot`, `lock`). The state machine knows nothing of files;
//! the journal stores framed, checksummed bytes and knows nothing of entries.
//!
//! How the daemon drives it:
//! 1. `StateLock::acquire(state_dir)`, held for the whole run.
//! 2. `load_snapshot` -> `(offset, bytes)` (a `Ledger` in JSON plus whatever
//!    else the daemon snapshots), or `Ledger::new(tz)` and offset 0.
//! 3. `Journal::open(state_dir, offset)` and `Ledger::apply` every entry of
//!    every record, then `set_timezone` and `configure(settings, now)`
//!    (settings from `AccountSettings::try_from(&AccountConfig)`; it opens
//!    new accounts: journal their `Opened` entries).
//! 4. Per batch: book on a clone of the `Ledger` (`book_usage`, `topup`,
//!    `reconcile`), `append` one record with the entries and the file
//!    checkpoints, and only then keep the clone: a failed append leaves the
//!    ledger as the journal has it.
//! 5. Now and then `save_snapshot(state_dir, journal.end(), bytes)`.
pub mod account;
pub mod config;
pub mod entry;
pub mod error;
pub mod journal;
pub mod lock;
pub mod month;
pub mod plan;
pub mod provider;
pub mod settings;
pub mod snapshot;
pub mod view;

pub use account::{Ledger, LedgerError, TopupTotals};
pub use entry::{Booked, Entry, Receipt, RequestKind};
pub use journal::{Journal, JournalError, Record, VerifySummary};
pub use lock::StateLock;
pub use month::Month;
pub use settings::{AccountSettings, AutoReload, ReloadSize};
pub use snapshot::{load_snapshot, save_snapshot, write_atomic};
pub use view::AccountView;
