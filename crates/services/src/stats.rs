//! The consume loop's Prometheus metrics, registered on the service's own
//! [`Metrics`] (prefix: the service's name, e.g. `search_events_processed_total`),
//! and the counts `/status` shows.

use nextflix_common::metrics::Metrics;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;

/// Counters and the batch-size histogram of one service.
#[derive(Debug, Clone)]
pub struct Stats {
    pub processed: Counter,
    pub duplicates: Counter,
    pub failed: Counter,
    pub deleted: Counter,
    pub released: Counter,
    pub receive_errors: Counter,
    pub batch_size: Histogram,
}

impl Stats {
    pub fn register(metrics: &Metrics) -> Stats {
        let stats = Stats {
            processed: Counter::default(),
            duplicates: Counter::default(),
            failed: Counter::default(),
            deleted: Counter::default(),
            released: Counter::default(),
            receive_errors: Counter::default(),
            batch_size: Histogram::new([1.0, 2.0, 3.0, 5.0, 8.0, 10.0]),
        };
        metrics.register(
            "events_processed",
            "Events applied to the state",
            stats.processed.clone(),
        );
        metrics.register(
            "events_duplicate",
            "Events received again after they were applied (not applied twice)",
            stats.duplicates.clone(),
        );
        metrics.register(
            "events_failed",
            "Messages that could not be processed (left on the queue to come back)",
            stats.failed.clone(),
        );
        metrics.register(
            "messages_deleted",
            "Messages deleted from the queue after their work succeeded",
            stats.deleted.clone(),
        );
        metrics.register(
            "messages_released",
            "Messages made visible again at shutdown (ChangeMessageVisibility 0)",
            stats.released.clone(),
        );
        metrics.register(
            "receive_errors",
            "ReceiveMessage calls that failed",
            stats.receive_errors.clone(),
        );
        metrics.register(
            "batch_size",
            "Messages per non-empty ReceiveMessage answer",
            stats.batch_size.clone(),
        );
        stats
    }
}
