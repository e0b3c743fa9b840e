//! The one retry policy: exponential backoff with "full jitter" (a wait
//! drawn uniformly between zero and a cap that doubles with each attempt),
//! so that callers that failed together do not retry together.

use std::time::Duration;

/// A backoff: the cap of attempt `n` is `base × 2^min(n, max_doublings)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    base_ms: u64,
    max_doublings: u32,
}

impl Backoff {
    pub const fn new(base_ms: u64, max_doublings: u32) -> Self {
        Backoff {
            base_ms,
            max_doublings,
        }
    }

    /// The longest wait before attempt `attempt`.
    pub fn cap(&self, attempt: u32) -> Duration {
        Duration::from_millis(self.base_ms << attempt.min(self.max_doublings))
    }

    /// A wait for attempt `attempt`, uniformly in `0..=cap`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let cap = self.cap(attempt).as_millis() as u64;
        Duration::from_millis(fastrand::u64(0..=cap))
    }

    /// Sleeps for [`Backoff::delay`].
    pub async fn wait(&self, attempt: u32) {
        tokio::time::sleep(self.delay(attempt)).await;
    }
}

/// Transactions cancelled by a conflict or throttling, and unprocessed batch reads.
pub const STORAGE: Backoff = Backoff::new(20, 6);
/// A cap counter written by many sends at once.
pub const COUNTER: Backoff = Backoff::new(5, 3);
/// Events EventBridge did not take.
pub const EVENTS: Backoff = Backoff::new(100, 4);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_doubles_up_to_its_bound_and_the_wait_stays_under_it() {
        let b = Backoff::new(20, 3);
        let caps: Vec<u128> = (0..6).map(|a| b.cap(a).as_millis()).collect();
        assert_eq!(caps, [20, 40, 80, 160, 160, 160]);
        for attempt in 0..6 {
            for _ in 0..200 {
                assert!(b.delay(attempt) <= b.cap(attempt));
            }
        }
        // Full jitter: waits spread over the whole range, not near the cap only.
        let short = (0..400)
            .filter(|_| b.delay(5) < Duration::from_millis(40))
            .count();
        assert!(short > 0, "no wait below a quarter of the cap in 400 draws");
    }
}
