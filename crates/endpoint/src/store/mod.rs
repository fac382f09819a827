//! Durable storage behind a narrow interface: the engine hands over batches of
//! [`Op`]s (opaque bytes, keyed by queue and message) and gets them back at start.
//!
//! One writer thread owns the backend. It takes every batch waiting in its channel,
//! writes them all as one frame of a write-ahead log and syncs once (group
//! commit): a thousand concurrent requests cost one write and one fsync, not a
//! thousand. A checkpointer moves the log into redb, the proven store that is
//! read at start, in large transactions off the answer path (see [`wal`]). [`Store::commit`] returns once
//! its batch is on disk; [`Store::write_behind`] queues a batch without waiting (for
//! bookkeeping whose loss on a crash is harmless, such as receive counts).
//!
//! The store knows nothing of queues or messages beyond their ids; the engine
//! decides what the bytes mean.

mod redb_backend;
mod wal;

use std::io;
use std::path::Path;
use std::sync::mpsc;

use tokio::sync::oneshot;

pub use redb_backend::RedbBackend;
pub use wal::{WalBackend, WalOptions};

/// One change to durable state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A resource record (queue, later topic or bucket), replacing any previous one.
    PutResource {
        id: u64,
        record: Vec<u8>,
    },
    /// Removes a resource and every item stored under it.
    DeleteResource {
        id: u64,
    },
    /// An item (a message) under a resource; its immutable part.
    PutItem {
        owner: u64,
        key: u64,
        record: Vec<u8>,
    },
    /// An item's mutable part (visibility, receive count), replacing the previous one.
    PutItemState {
        owner: u64,
        key: u64,
        state: Vec<u8>,
    },
    DeleteItem {
        owner: u64,
        key: u64,
    },
    /// Removes every item under a resource, keeping the resource.
    ClearItems {
        owner: u64,
    },
}

/// One stored item: (owner, key, record, state).
pub type LoadedItem = (u64, u64, Vec<u8>, Option<Vec<u8>>);

/// Everything stored, as read at start.
#[derive(Debug, Default)]
pub struct Loaded {
    pub resources: Vec<(u64, Vec<u8>)>,
    pub items: Vec<LoadedItem>,
}

/// What a storage engine must do.
pub trait Backend: Send + 'static {
    /// Applies the ops in order, atomically, durably.
    fn write(&mut self, ops: Vec<Op>) -> io::Result<()>;
    /// Reads everything back.
    fn load(&mut self) -> io::Result<Loaded>;
}

struct Job {
    ops: Vec<Op>,
    done: Option<oneshot::Sender<Result<(), String>>>,
}

/// The handle the engine writes through; cheap to clone.
#[derive(Clone)]
pub struct Store {
    jobs: Option<mpsc::Sender<Job>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("durable", &self.jobs.is_some())
            .finish()
    }
}

/// A commit that could not be made durable.
#[derive(Debug, Clone, thiserror::Error)]
#[error("storage failed: {0}")]
pub struct StoreError(pub String);

/// The largest number of batches one transaction takes.
const MAX_GROUP: usize = 4096;

impl Store {
    /// Nothing is written anywhere: state lives and dies with the process.
    pub fn memory() -> (Store, Loaded) {
        (Store { jobs: None }, Loaded::default())
    }

    /// Opens (or creates) the database `<name>.redb` and its log `<name>.wal/` in
    /// `dir`, reads them back, and starts the writer. The [`Closed`] completes
    /// once every handle is dropped and the database is closed.
    pub fn open(dir: &Path, name: &str) -> io::Result<(Store, Loaded, Closed)> {
        std::fs::create_dir_all(dir)?;
        let mut backend = WalBackend::open(dir, name, WalOptions::default())?;
        let loaded = backend.load()?;
        let (store, closed) = Self::start(backend);
        Ok((store, loaded, closed))
    }

    /// Starts the writer thread over any backend.
    ///
    /// Answering a group (waking each request's task) happens on a second thread,
    /// so the writer starts the next group's write and sync at once.
    pub fn start(mut backend: impl Backend) -> (Store, Closed) {
        let (tx, rx) = mpsc::channel::<Job>();
        let (closed_tx, closed_rx) = oneshot::channel::<()>();
        let (answer_tx, answer_rx) = mpsc::channel::<(Vec<Job>, Result<(), String>)>();
        let answerer = std::thread::Builder::new()
            .name("store-answer".into())
            .spawn(move || {
                while let Ok((jobs, result)) = answer_rx.recv() {
                    answer(jobs, &result);
                }
            });
        let answerer = match answerer {
            Ok(thread) => thread,
            Err(err) => {
                tracing::error!(%err, "cannot start the store writer; running in memory");
                return (Store { jobs: None }, Closed(None));
            }
        };
        let spawned = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut jobs = vec![first];
                    while jobs.len() < MAX_GROUP {
                        match rx.try_recv() {
                            Ok(job) => jobs.push(job),
                            Err(_) => break,
                        }
                    }
                    let ops: Vec<Op> = jobs.iter_mut().flat_map(|j| j.ops.drain(..)).collect();
                    let count = ops.len();
                    let result = backend.write(ops).map_err(|e| e.to_string());
                    if let Err(err) = &result {
                        tracing::error!(%err, ops = count, "store write failed");
                    }
                    if let Err(mpsc::SendError((jobs, result))) = answer_tx.send((jobs, result)) {
                        answer(jobs, &result);
                    }
                }
                drop(answer_tx);
                let _ = answerer.join();
                drop(backend);
                let _ = closed_tx.send(());
            });
        match spawned {
            Ok(_) => (Store { jobs: Some(tx) }, Closed(Some(closed_rx))),
            Err(err) => {
                tracing::error!(%err, "cannot start the store writer; running in memory");
                (Store { jobs: None }, Closed(None))
            }
        }
    }

    /// Whether writes reach a disk.
    pub fn is_durable(&self) -> bool {
        self.jobs.is_some()
    }

    /// Queues `ops` and returns a future that resolves once they are durable.
    /// Call it while holding the lock that ordered the change (so the store sees
    /// changes in the order memory did), and await the result after releasing it.
    pub fn submit(&self, ops: Vec<Op>) -> Pending {
        let Some(jobs) = &self.jobs else {
            return Pending(None);
        };
        if ops.is_empty() {
            return Pending(None);
        }
        let (done, wait) = oneshot::channel();
        if jobs
            .send(Job {
                ops,
                done: Some(done),
            })
            .is_err()
        {
            let (tx, rx) = oneshot::channel();
            let _ = tx.send(Err("the store writer has stopped".to_owned()));
            return Pending(Some(rx));
        }
        Pending(Some(wait))
    }

    /// Queues `ops` without waiting for them.
    pub fn write_behind(&self, ops: Vec<Op>) {
        if let Some(jobs) = &self.jobs
            && !ops.is_empty()
        {
            let _ = jobs.send(Job { ops, done: None });
        }
    }
}

/// Tells each job of a group how its write went.
fn answer(jobs: Vec<Job>, result: &Result<(), String>) {
    for job in jobs {
        if let Some(done) = job.done {
            let _ = done.send(result.clone());
        }
    }
}

/// Completes when a store's writer has stopped and its database is closed.
#[derive(Debug)]
pub struct Closed(Option<oneshot::Receiver<()>>);

impl Closed {
    /// Nothing to wait for (a store in memory).
    pub fn none() -> Self {
        Closed(None)
    }

    pub async fn wait(self) {
        if let Some(rx) = self.0 {
            let _ = rx.await;
        }
    }
}

/// A submitted batch; await [`Pending::durable`] for its outcome.
#[derive(Debug)]
pub struct Pending(Option<oneshot::Receiver<Result<(), String>>>);

impl Pending {
    pub async fn durable(self) -> Result<(), StoreError> {
        match self.0 {
            None => Ok(()),
            Some(wait) => match wait.await {
                Ok(result) => result.map_err(StoreError),
                Err(_) => Err(StoreError("the store writer has stopped".into())),
            },
        }
    }
}
