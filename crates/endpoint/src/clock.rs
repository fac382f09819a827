//! Time as the engine sees it: real time by default, or a virtual clock that only
//! moves when a test advances it, so visibility timeouts, delays, retention and the
//! FIFO deduplication window can be tested without sleeping.
//!
//! All times are milliseconds since the Unix epoch.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;

/// The engine's clock; cheap to clone.
#[derive(Debug, Clone)]
pub struct Clock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Milliseconds added to real time (real clock) or the current time itself
    /// (virtual clock).
    value: AtomicU64,
    is_virtual: bool,
    /// Woken whenever a virtual clock moves.
    moved: Notify,
}

fn real_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Clock {
    /// Real time.
    pub fn real() -> Self {
        Clock {
            inner: Arc::new(Inner {
                value: AtomicU64::new(0),
                is_virtual: false,
                moved: Notify::new(),
            }),
        }
    }

    /// A virtual clock starting at the current real time, moving only on [`Clock::advance`].
    pub fn virtual_at_now() -> Self {
        Clock {
            inner: Arc::new(Inner {
                value: AtomicU64::new(real_now_ms()),
                is_virtual: true,
                moved: Notify::new(),
            }),
        }
    }

    pub fn is_virtual(&self) -> bool {
        self.inner.is_virtual
    }

    /// Now, in milliseconds since the epoch.
    pub fn now_ms(&self) -> u64 {
        let value = self.inner.value.load(Ordering::Acquire);
        if self.inner.is_virtual {
            value
        } else {
            real_now_ms() + value
        }
    }

    /// Moves the clock forward (a virtual clock; on a real clock it adds an offset,
    /// which the admin route allows for manual testing).
    pub fn advance(&self, by: Duration) {
        self.inner
            .value
            .fetch_add(by.as_millis() as u64, Ordering::AcqRel);
        self.inner.moved.notify_waiters();
    }

    /// Completes once the clock reads at least `deadline_ms`. On a virtual clock
    /// this waits for [`Clock::advance`]; on the real clock, for time to pass.
    pub async fn sleep_until(&self, deadline_ms: u64) {
        loop {
            let moved = self.inner.moved.notified();
            let now = self.now_ms();
            if now >= deadline_ms {
                return;
            }
            if self.inner.is_virtual {
                moved.await;
            } else {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(deadline_ms - now)) => {}
                    _ = moved => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn virtual_time_moves_only_when_advanced() {
        let clock = Clock::virtual_at_now();
        let start = clock.now_ms();
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(clock.now_ms(), start);
        let waiter = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.sleep_until(start + 30_000).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        clock.advance(Duration::from_secs(30));
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(clock.now_ms(), start + 30_000);
    }
}
