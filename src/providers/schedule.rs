//! When to poll next: the interval after a good answer, exponential backoff
//! after server and network failures, the server's `Retry-After` after a
//! 429. Pure: the poller gives it each result and sleeps what it says.

use std::time::Duration;

use super::client::{Failure, Outcome};

/// The first retry after a transient failure...
const BACKOFF_FIRST: Duration = Duration::from_secs(30);
/// ...doubling up to this.
const BACKOFF_MAX: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone)]
pub struct Schedule {
    poll_every: Duration,
    failures: u32,
}

impl Schedule {
    pub fn new(poll_every: Duration) -> Schedule {
        Schedule { poll_every, failures: 0 }
    }

    /// Consecutive failed polls.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The wait before the next poll, after a poll that ended with `result`
    /// (`None`: success). Jitter is the caller's (`jittered`).
    pub fn after(&mut self, failure: Option<&Failure>) -> Duration {
        let Some(f) = failure else {
            self.failures = 0;
            return self.poll_every;
        };
        self.failures = self.failures.saturating_add(1);
        match f {
            Failure { outcome: Outcome::Throttled, retry_after: Some(wait), .. } => (*wait).max(Duration::from_secs(1)),
            Failure { transient: true, .. } => {
                let doubled = BACKOFF_FIRST.saturating_mul(1u32 << (self.failures - 1).min(16));
                doubled.min(BACKOFF_MAX)
            }
            // A refused token, an expired login, an answer that does not
            // hold together: asking again sooner changes nothing.
            _ => self.poll_every,
        }
    }
}

/// `wait` plus up to 10% (so pollers started together spread out).
pub fn jittered(wait: Duration) -> Duration {
    let extra = wait.as_millis() as u64 / 10;
    wait + Duration::from_millis(if extra == 0 { 0 } else { fastrand::u64(0..=extra) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(outcome: Outcome, transient: bool, retry_after: Option<u64>) -> Failure {
        Failure { outcome, message: String::new(), retry_after: retry_after.map(Duration::from_secs), transient }
    }

    #[test]
    fn backoff_doubles_on_server_failures_and_resets_on_success() {
        let mut s = Schedule::new(Duration::from_secs(300));
        let server = f(Outcome::Error, true, None);
        let waits: Vec<u64> = (0..9).map(|_| s.after(Some(&server)).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(s.failures(), 9);
        assert_eq!(s.after(None), Duration::from_secs(300));
        assert_eq!(s.failures(), 0);
        assert_eq!(s.after(Some(&server)), Duration::from_secs(30));
    }

    #[test]
    fn a_429_waits_what_the_server_says() {
        let mut s = Schedule::new(Duration::from_secs(300));
        assert_eq!(s.after(Some(&f(Outcome::Throttled, true, Some(900)))), Duration::from_secs(900));
        assert_eq!(s.after(Some(&f(Outcome::Throttled, true, Some(0)))), Duration::from_secs(1));
        assert_eq!(s.after(Some(&f(Outcome::Throttled, true, None))), Duration::from_secs(120), "no header: backoff (third failure)");
    }

    #[test]
    fn refusals_wait_the_interval() {
        let mut s = Schedule::new(Duration::from_secs(300));
        assert_eq!(s.after(Some(&f(Outcome::Unauthorized, false, None))), Duration::from_secs(300));
        assert_eq!(s.after(Some(&f(Outcome::Error, false, None))), Duration::from_secs(300));
        let j = jittered(Duration::from_secs(300));
        assert!(j >= Duration::from_secs(300) && j <= Duration::from_secs(330), "{j:?}");
    }
}
