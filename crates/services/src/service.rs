//! A running service: its state (behind one lock, written to disk before any of a
//! batch's messages is deleted, with group commit across concurrent batches), the
//! [`Handler`] trait each of the four implements, processing a batch of events
//! (catalog look-ups first, then apply under the lock, then persist), and the
//! routes every service shares (`/ready`, `/status`, `/metrics`). The consume loop
//! itself lives in [`crate::consumer`]; the services' own rules live in
//! [`crate::kinds`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use nextflix_common::error::{self, ApiError};
use nextflix_common::metrics::Metrics;
use nextflix_common::server::{self, ServerHandle};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::Error;
use crate::catalog::{self, CatalogClient, Titles};
use crate::config::{Kind, ServiceConfig};
use crate::consumer;
use crate::event::{Event, EventError};
use crate::stats::Stats;
use crate::store::{Seen, Store};

/// The receive from which an event is applied even when the catalog cannot
/// describe its title (see [`Service::process`]).
pub const DEGRADE_AFTER: u32 = 3;

/// What a handler needs to know of each event's title before applying it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogNeed {
    Nothing,
    /// The title's record (type, name, genres).
    Title,
    /// The record and the titles of its first genre.
    SameGenre,
}

/// One of the four services: its state and what an event does to it.
pub trait Handler: Sized + Send + Sync + 'static {
    const KIND: Kind;
    const CATALOG: CatalogNeed;
    type State: Serialize + DeserializeOwned + Default + Send + Sync + 'static;

    /// Applies one event, never seen before, whose title is in `titles` when
    /// [`Handler::CATALOG`] asked for it. Must not fail: validation happened before.
    fn apply(state: &mut Self::State, titles: &Titles, event: &Event);

    /// A few numbers about the state, for `/status`.
    fn summary(state: &Self::State) -> Value;

    /// The service's own routes.
    fn routes() -> Router<Arc<Service<Self>>>;
}

/// What is saved: the handler's state, the events seen and the titles known.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(bound = "S: Serialize + DeserializeOwned + Default")]
pub struct Persisted<S> {
    #[serde(default)]
    pub seen: Seen,
    #[serde(default)]
    pub titles: Titles,
    #[serde(default)]
    pub data: S,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Applied now: delete it.
    Applied,
    /// Applied before (a redelivery): delete it.
    Duplicate,
    /// Not processed: leave it to come back (and reach the DLQ eventually).
    Failed(String),
}

impl Outcome {
    pub fn done(&self) -> bool {
        !matches!(self, Outcome::Failed(_))
    }
}

/// A service while it runs: shared by its consumers and its HTTP handlers.
pub struct Service<H: Handler> {
    pub config: ServiceConfig,
    pub(crate) sqs: aws_sdk_sqs::Client,
    pub stats: Stats,
    pub metrics: Metrics,
    state: Mutex<Persisted<H::State>>,
    store: Store,
    catalog: CatalogClient,
    ready: AtomicBool,
    last_event_ms: AtomicI64,
    /// Generations of the state: applied in memory, and written to disk.
    applied: AtomicU64,
    saved: AtomicU64,
    /// One state write at a time.
    writer: tokio::sync::Mutex<()>,
}

impl<H: Handler> Service<H> {
    /// Reads the state.
    pub fn read<R>(&self, f: impl FnOnce(&H::State, &Titles) -> R) -> R {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&state.data, &state.titles)
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    pub(crate) fn mark_ready(&self) {
        if !self.ready.swap(true, Ordering::Relaxed) {
            tracing::info!(service = %H::KIND, queue = %self.config.queue_url, "queue reached");
        }
    }

    /// Processes a batch: looks up what the handler needs in the catalog, then
    /// applies the new events and saves the state once. The outcomes are in the
    /// order of `events`; `receives[i]` is how many times event `i` was received
    /// (1 the first time). An event whose title the catalog could not describe
    /// fails, so that it comes back, until its [`DEGRADE_AFTER`]th receive: then it
    /// is applied without the title's details (a later view of the title asks the
    /// catalog again), so that a catalog outage does not send events to the DLQ.
    pub async fn process(
        &self,
        events: &[Result<Event, EventError>],
        receives: &[u32],
    ) -> Vec<Outcome> {
        let mut fetch_failed: HashMap<String, String> = HashMap::new();
        let mut fetched = Vec::new();
        if H::CATALOG != CatalogNeed::Nothing {
            let same_genre = H::CATALOG == CatalogNeed::SameGenre;
            let mut wanted: Vec<&str> = {
                let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                events
                    .iter()
                    .flatten()
                    .filter(|e| !state.seen.contains(&e.activity_id))
                    .map(|e| e.media_id.as_str())
                    .filter(|id| catalog::needs_fetch(&state.titles, id, same_genre))
                    .collect()
            };
            wanted.sort_unstable();
            wanted.dedup();
            for id in wanted {
                match catalog::fetch(&self.catalog, id, same_genre).await {
                    Ok(entries) => fetched.extend(entries),
                    Err(err) => {
                        tracing::warn!(service = %H::KIND, media_id = id, %err, "catalog look-up failed");
                        fetch_failed.insert(id.to_owned(), err.to_string());
                    }
                }
            }
        }

        let (mut outcomes, needed) = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let mut changed = !fetched.is_empty();
            catalog::merge(&mut state.titles, fetched);
            let outcomes: Vec<Outcome> = events
                .iter()
                .enumerate()
                .map(|(i, event)| match event {
                    Err(err) => Outcome::Failed(err.to_string()),
                    Ok(event) => {
                        let patient = receives.get(i).is_none_or(|&n| n < DEGRADE_AFTER);
                        if state.seen.contains(&event.activity_id) {
                            Outcome::Duplicate
                        } else if let Some(err) = fetch_failed.get(&event.media_id)
                            && patient
                        {
                            Outcome::Failed(err.clone())
                        } else {
                            let Persisted { seen, titles, data } = &mut *state;
                            H::apply(data, titles, event);
                            seen.insert(&event.activity_id);
                            changed = true;
                            Outcome::Applied
                        }
                    }
                })
                .collect();
            // The generation of the state this batch's deletes depend on: its own
            // changes, or (for a duplicate) whatever was applied before it.
            let needed = if changed {
                self.applied.fetch_add(1, Ordering::SeqCst) + 1
            } else if outcomes.contains(&Outcome::Duplicate) {
                self.applied.load(Ordering::SeqCst)
            } else {
                0
            };
            (outcomes, needed)
        };
        if let Err(err) = self.persist(needed).await {
            // The events stay applied in memory (and marked seen) and are saved with
            // a later batch. Not deleting them means they come back (as duplicates)
            // instead of being lost if the process dies first.
            tracing::error!(service = %H::KIND, %err, "cannot save the state");
            for outcome in &mut outcomes {
                if outcome.done() {
                    *outcome = Outcome::Failed(format!("cannot save the state: {err}"));
                }
            }
        }
        for (outcome, event) in outcomes.iter().zip(events) {
            match outcome {
                Outcome::Applied => {
                    self.stats.processed.inc();
                    if let Ok(event) = event {
                        self.last_event_ms
                            .fetch_max(event.timestamp_ms, Ordering::Relaxed);
                    }
                }
                Outcome::Duplicate => {
                    self.stats.duplicates.inc();
                }
                Outcome::Failed(_) => {
                    self.stats.failed.inc();
                }
            }
        }
        outcomes
    }

    /// Makes the state durable up to generation `needed` (group commit): batches
    /// that wait while one write runs are all covered by the next write, and the
    /// state lock is held only to serialize, never during the fsync.
    async fn persist(&self, needed: u64) -> Result<(), crate::store::StoreError> {
        if self.saved.load(Ordering::SeqCst) >= needed {
            return Ok(());
        }
        let _writer = self.writer.lock().await;
        if self.saved.load(Ordering::SeqCst) >= needed {
            return Ok(());
        }
        let (bytes, generation) = {
            let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            (
                crate::store::Store::encode(&*state),
                self.applied.load(Ordering::SeqCst),
            )
        };
        let bytes = bytes?;
        // The write ends with an fsync: on a multi-threaded runtime the other
        // tasks move off this thread meanwhile.
        let flavor = tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor());
        if matches!(flavor, Ok(tokio::runtime::RuntimeFlavor::MultiThread)) {
            tokio::task::block_in_place(|| self.store.write(&bytes))?;
        } else {
            self.store.write(&bytes)?;
        }
        self.saved.store(generation, Ordering::SeqCst);
        Ok(())
    }

    fn status(&self) -> Value {
        let (seen, titles, summary) = {
            let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            (
                state.seen.len(),
                state.titles.len(),
                H::summary(&state.data),
            )
        };
        let last = self.last_event_ms.load(Ordering::Relaxed);
        serde_json::json!({
            "service": H::KIND.name(),
            "queueUrl": self.config.queue_url,
            "ready": self.is_ready(),
            "workers": self.config.workers.max(1),
            "eventsProcessed": self.stats.processed.get(),
            "eventsDuplicate": self.stats.duplicates.get(),
            "eventsFailed": self.stats.failed.get(),
            "messagesDeleted": self.stats.deleted.get(),
            "messagesReleased": self.stats.released.get(),
            "lastEventAt": (last > 0).then(|| crate::event::format_ms(last)),
            "eventsRemembered": seen,
            "titlesKnown": titles,
            "state": summary,
        })
    }
}

/// Parses a `limit` query parameter: `default` when absent, 1..=`max` otherwise.
pub fn limit(raw: Option<&str>, default: usize, max: usize) -> Result<usize, ApiError> {
    match raw {
        None => Ok(default),
        Some(s) => match s.trim().parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_request(format!(
                "limit must be a whole number from 1 to {max}, not {s:?}"
            ))),
        },
    }
}

/// A required, non-empty `sessionId` query parameter.
pub fn session_id(raw: Option<&str>) -> Result<&str, ApiError> {
    match raw.map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(ApiError::bad_request("sessionId is required")),
    }
}

/// Query parameters every list route reads (each takes what it needs).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    pub session_id: Option<String>,
    pub limit: Option<String>,
    pub window: Option<String>,
    pub ids: Option<String>,
}

async fn ready<H: Handler>(State(svc): State<Arc<Service<H>>>) -> Response {
    if svc.is_ready() {
        "OK".into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "the queue was not reached yet",
        )
            .into_response()
    }
}

async fn status<H: Handler>(State(svc): State<Arc<Service<H>>>) -> Json<Value> {
    Json(svc.status())
}

async fn metrics<H: Handler>(State(svc): State<Arc<Service<H>>>) -> Response {
    svc.metrics.render()
}

fn router<H: Handler>(svc: Arc<Service<H>>) -> Router {
    let metrics_layer = axum::middleware::from_fn_with_state(svc.metrics.clone(), Metrics::track);
    H::routes()
        .route("/ready", get(ready::<H>))
        .route("/status", get(status::<H>))
        .route("/metrics", get(metrics::<H>))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(svc)
        .layer(metrics_layer)
}

/// A started service: what [`crate::ServiceHandle`] stops.
pub struct Started {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    server: ServerHandle,
}

impl Started {
    pub async fn shutdown(self) -> Result<(), Error> {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(err) = task.await {
                tracing::error!(%err, "a consumer task failed");
            }
        }
        self.server.shutdown().await?;
        Ok(())
    }
}

/// How long the readiness probe waits between attempts to reach the queue.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// Loads the state, starts the consumers and the HTTP server.
pub async fn start<H: Handler>(
    config: ServiceConfig,
    listener: TcpListener,
) -> Result<Started, Error> {
    if config.queue_url.trim().is_empty() {
        return Err(Error::Config("the queue URL is empty".into()));
    }
    let store =
        Store::open(&config.state_dir.join("services"), H::KIND.name()).map_err(|source| {
            Error::State {
                kind: H::KIND,
                source,
            }
        })?;
    let state: Persisted<H::State> = store.load().map_err(|source| Error::State {
        kind: H::KIND,
        source,
    })?;
    let catalog = CatalogClient::new(&config.catalog_url)
        .map_err(|e| Error::Config(format!("catalog client: {e}")))?;
    let sqs = consumer::sqs_client(&config.aws).await;
    let metrics = Metrics::new(H::KIND.name());
    let stats = Stats::register(&metrics);
    let workers = config.workers.max(1);
    let svc = Arc::new(Service::<H> {
        config,
        sqs,
        stats,
        metrics,
        state: Mutex::new(state),
        store,
        catalog,
        ready: AtomicBool::new(false),
        last_event_ms: AtomicI64::new(0),
        applied: AtomicU64::new(0),
        saved: AtomicU64::new(0),
        writer: tokio::sync::Mutex::new(()),
    });
    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::with_capacity(workers + 1);
    tasks.push(tokio::spawn(consumer::probe(
        svc.clone(),
        stopped.clone(),
        PROBE_INTERVAL,
    )));
    for worker in 0..workers {
        tasks.push(tokio::spawn(consumer::run(
            svc.clone(),
            worker,
            stopped.clone(),
        )));
    }
    let server = match server::spawn(listener, router(svc.clone())) {
        Ok(server) => server,
        Err(err) => {
            let _ = stop.send(true);
            return Err(err.into());
        }
    };
    tracing::info!(
        service = %H::KIND,
        url = %server.url(),
        queue = %svc.config.queue_url,
        workers,
        "service started"
    );
    Ok(Started {
        stop,
        tasks,
        server,
    })
}
