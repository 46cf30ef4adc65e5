//! Whether this process may commit, and whether its state backend takes
//! commits: what `creditwatch_leader`, `creditwatch_state_backend_up` and
//! `/readyz` report, and what every writer checks before it books.
//!
//! A state directory has one process (its lock), always the writer. With
//! PostgreSQL the writer is the replica holding the lease, at its epoch;
//! the others have epoch 0 and only replay. The epoch here is what this
//! process believes: the database checks it again in every commit, so a
//! belief gone stale (a paused process) costs a refused commit, never a
//! second writer.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Mutex;

use tokio::sync::watch;

pub struct Role {
    shared: bool,
    epoch: AtomicI64,
    up: AtomicBool,
    /// The writer as last seen in the database (`holder`, for readiness).
    writer: Mutex<String>,
    changes: watch::Sender<i64>,
}

impl Role {
    /// A state directory: this process writes.
    pub fn local() -> Role {
        Role::new(false, 1)
    }

    /// A replica on a shared database: not the writer until it takes the lease.
    pub fn replica() -> Role {
        Role::new(true, 0)
    }

    fn new(shared: bool, epoch: i64) -> Role {
        Role {
            shared,
            epoch: AtomicI64::new(epoch),
            up: AtomicBool::new(true),
            writer: Mutex::new(String::new()),
            changes: watch::channel(epoch).0,
        }
    }

    /// Whether the state is shared by replicas (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    pub fn is_writer(&self) -> bool {
        self.epoch() != 0
    }

    /// The lease's epoch this process writes under; 0 when it does not write.
    pub fn epoch(&self) -> i64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Took the lease at `epoch`.
    pub fn promote(&self, epoch: i64) {
        self.epoch.store(epoch, Ordering::Release);
        self.changes.send_replace(epoch);
    }

    /// Lost the lease (or gave it up): stops writing from now on.
    pub fn demote(&self) {
        if self.epoch.swap(0, Ordering::AcqRel) != 0 {
            // Who writes now is for the database to say (`follow_loop`).
            self.set_writer_name("");
            self.changes.send_replace(0);
        }
    }

    /// Wakes on every promotion and demotion.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.changes.subscribe()
    }

    pub fn backend_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    pub fn set_backend_up(&self, up: bool) {
        self.up.store(up, Ordering::Relaxed);
    }

    /// Who the database says writes (`holder` of the lease row), or "not
    /// known yet" (just after a change of writer).
    pub fn writer_name(&self) -> String {
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if writer.is_empty() {
            "not known yet".to_string()
        } else {
            writer.clone()
        }
    }

    pub fn set_writer_name(&self, name: &str) {
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if *writer != name {
            *writer = name.to_string();
        }
    }
}
