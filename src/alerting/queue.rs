//! A receiver's bounded queue: the rules push without waiting, the
//! receiver's task pops. When full, the oldest entry is dropped (the newest
//! state of an alert matters more than an old one) and counted.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use super::alert::{Alert, Notification};

/// What a receiver's task sends.
#[derive(Debug, Clone)]
pub(super) enum Delivery {
    One(Notification),
    /// Alertmanager only: every firing alert again, so it does not time them out.
    Refresh {
        alerts: Vec<Alert>,
        ends_at: DateTime<Utc>,
    },
}

/// A bounded queue that drops its oldest entry when full.
pub(super) struct Queue {
    items: Mutex<VecDeque<Delivery>>,
    capacity: usize,
    wake: Notify,
    closed: AtomicBool,
    dropped: AtomicU64,
}

impl Queue {
    /// A queue holding at most `capacity` entries (at least one).
    pub(super) fn new(capacity: usize) -> Queue {
        Queue {
            items: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        }
    }

    /// Entries dropped because the queue was full.
    pub(super) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Adds `d`; false when the oldest entry had to go.
    pub(super) fn push(&self, d: Delivery) -> bool {
        let mut items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
        let full = items.len() >= self.capacity;
        if full {
            items.pop_front();
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        items.push_back(d);
        drop(items);
        self.wake.notify_one();
        !full
    }

    /// The next entry; `None` once closed and empty.
    pub(super) async fn pop(&self) -> Option<Delivery> {
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(d) = items.pop_front() {
                    return Some(d);
                }
                if self.closed.load(Ordering::Acquire) {
                    return None;
                }
            }
            notified.await;
        }
    }

    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.wake.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_drops_its_oldest_entry() {
        let queue = Queue {
            items: Mutex::new(VecDeque::new()),
            capacity: 2,
            wake: Notify::new(),
            closed: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        };
        let at = |secs| DateTime::from_timestamp(secs, 0).unwrap_or_default();
        for secs in 1..=3 {
            let pushed = queue.push(Delivery::Refresh { alerts: vec![], ends_at: at(secs) });
            assert_eq!(pushed, secs <= 2, "push {secs}");
        }
        assert_eq!(queue.dropped(), 1);
        queue.close();
        let mut left = Vec::new();
        while let Some(Delivery::Refresh { ends_at, .. }) = queue.pop().await {
            left.push(ends_at.timestamp());
        }
        assert_eq!(left, [2, 3]);
    }
}
