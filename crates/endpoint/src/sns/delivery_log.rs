//! The delivery log: every SNS delivery attempt and every redrive, with its
//! outcome and reason, newest first, bounded in size; counted for `/metrics`.
//! A user whose message did not arrive asks it why in one request.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::clock::Clock;

/// What happened to one delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Delivered,
    FilteredOut,
    Denied,
    Failed,
    Retrying,
    DeadLettered,
    Moved,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::FilteredOut => "filtered_out",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
            Outcome::Retrying => "retrying",
            Outcome::DeadLettered => "dead_lettered",
            Outcome::Moved => "moved",
        }
    }
}

/// One line of the log.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub seq: u64,
    pub time_ms: u64,
    pub topic_arn: String,
    pub subscription_arn: String,
    /// The queue ARN or URL delivered to.
    pub endpoint: String,
    pub message_id: String,
    pub outcome: Outcome,
    pub detail: String,
}

/// A query of the log: every given field must match.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub topic: Option<String>,
    pub subscription: Option<String>,
    /// Matches the endpoint (a queue ARN, or its name at the end).
    pub queue: Option<String>,
    pub outcome: Option<String>,
    pub message_id: Option<String>,
    pub limit: usize,
}

struct Inner {
    entries: VecDeque<Entry>,
    next: u64,
    counts: std::collections::BTreeMap<(&'static str, String), u64>,
}

/// The shared log; cheap to clone.
#[derive(Clone)]
pub struct DeliveryLog {
    inner: Arc<Mutex<Inner>>,
    clock: Clock,
    capacity: usize,
}

impl std::fmt::Debug for DeliveryLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryLog")
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl DeliveryLog {
    pub fn new(clock: Clock, capacity: usize) -> Self {
        DeliveryLog {
            inner: Arc::new(Mutex::new(Inner {
                entries: VecDeque::new(),
                next: 1,
                counts: Default::default(),
            })),
            clock,
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn record(
        &self,
        topic: &str,
        subscription: &str,
        endpoint: &str,
        message_id: &str,
        outcome: Outcome,
        detail: String,
    ) {
        let time_ms = self.clock.now_ms();
        let mut inner = self.lock();
        let seq = inner.next;
        inner.next += 1;
        *inner
            .counts
            .entry((outcome.as_str(), topic.to_owned()))
            .or_default() += 1;
        if inner.entries.len() == self.capacity {
            inner.entries.pop_back();
        }
        inner.entries.push_front(Entry {
            seq,
            time_ms,
            topic_arn: topic.to_owned(),
            subscription_arn: subscription.to_owned(),
            endpoint: endpoint.to_owned(),
            message_id: message_id.to_owned(),
            outcome,
            detail,
        });
    }

    /// Newest first.
    pub fn query(&self, filter: &Filter) -> Vec<Entry> {
        let inner = self.lock();
        let contains = |want: &Option<String>, have: &str| {
            want.as_ref()
                .is_none_or(|w| have == w || have.ends_with(&format!(":{w}")))
        };
        inner
            .entries
            .iter()
            .filter(|e| contains(&filter.topic, &e.topic_arn))
            .filter(|e| contains(&filter.subscription, &e.subscription_arn))
            .filter(|e| contains(&filter.queue, &e.endpoint))
            .filter(|e| {
                filter
                    .outcome
                    .as_ref()
                    .is_none_or(|o| o == e.outcome.as_str())
            })
            .filter(|e| {
                filter
                    .message_id
                    .as_ref()
                    .is_none_or(|m| m == &e.message_id)
            })
            .take(filter.limit.max(1))
            .cloned()
            .collect()
    }

    /// Totals by (outcome, topic) since start.
    pub fn counts(&self) -> Vec<((&'static str, String), u64)> {
        self.lock()
            .counts
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_newest_first_and_filtered() {
        let log = DeliveryLog::new(Clock::virtual_at_now(), 3);
        for i in 0..5 {
            let outcome = if i % 2 == 0 {
                Outcome::Delivered
            } else {
                Outcome::Denied
            };
            log.record(
                "arn:aws:sns:us-east-1:0:t",
                "s",
                "arn:aws:sqs:us-east-1:0:q",
                &format!("m{i}"),
                outcome,
                String::new(),
            );
        }
        let all = log.query(&Filter {
            limit: 10,
            ..Default::default()
        });
        assert_eq!(
            all.iter()
                .map(|e| e.message_id.as_str())
                .collect::<Vec<_>>(),
            ["m4", "m3", "m2"]
        );
        let denied = log.query(&Filter {
            outcome: Some("denied".into()),
            queue: Some("q".into()),
            limit: 10,
            ..Default::default()
        });
        assert_eq!(denied.len(), 1);
        assert_eq!(log.counts().iter().map(|(_, n)| n).sum::<u64>(), 5);
    }
}
