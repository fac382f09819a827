//! Durable storage behind a narrow interface: the engine hands over batches of
//! [`Op`]s (opaque bytes, keyed by queue and message) and gets them back at start.
//!
//! Group commit without a writer thread: the request that finds no write under
//! way writes every batch queued by then as one frame of a write-ahead log and
//! syncs once, then passes the turn to the first request that queued meanwhile.
//! A thousand concurrent requests cost one write and one fsync, not a thousand,
//! and no thread hand-off. A checkpointer moves the log into redb, the proven
//! store that is read at start, in large transactions off the answer path (see
//! [`wal`]). [`Pending::durable`] returns once its batch is on disk;
//! [`Store::write_behind`] queues a batch without waiting (for bookkeeping whose
//! loss on a crash is harmless, such as receive counts).
//!
//! The store knows nothing of queues or messages beyond their ids; the engine
//! decides what the bytes mean.

mod redb_backend;
mod wal;

use std::io;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

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
    /// The request waiting for it; `None` for a write-behind job, or once its
    /// request has been told to lead.
    done: Option<oneshot::Sender<Outcome>>,
}

/// What a waiting request hears.
#[derive(Debug)]
enum Outcome {
    /// The group holding its job was written (or failed).
    Written(Result<(), String>),
    /// It is to write the next group itself, its own job among them.
    Lead,
}

/// The handle the engine writes through; cheap to clone.
#[derive(Clone)]
pub struct Store {
    handle: Option<Arc<Handle>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("durable", &self.handle.is_some())
            .finish()
    }
}

/// A commit that could not be made durable.
#[derive(Debug, Clone, thiserror::Error)]
#[error("storage failed: {0}")]
pub struct StoreError(pub String);

/// What the handles, the waiting requests and the flusher share.
struct Core {
    queue: Mutex<Queue>,
    /// Wakes the flusher.
    wake: Condvar,
    /// Locked by the leader alone (`None` once closed).
    backend: Mutex<Option<Box<dyn Backend>>>,
    /// The backend panicked and was dropped: every write fails from then on.
    broken: AtomicBool,
    closed: Mutex<Option<oneshot::Sender<()>>>,
}

#[derive(Default)]
struct Queue {
    /// Jobs not yet taken by a leader. Whenever there are some, `leading` is set.
    jobs: Vec<Job>,
    /// Someone writes the next group: a request, or the flusher.
    leading: bool,
    /// The flusher is to lead (only write-behind jobs wait).
    flush: bool,
    /// Every handle is gone: the flusher writes what is left and closes.
    closing: bool,
}

/// The last [`Store`] handle to go tells the flusher to close.
struct Handle {
    core: Arc<Core>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.core.queue().closing = true;
        self.core.wake.notify_all();
    }
}

impl Core {
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes one group, then passes the lead on; the result is the group's,
    /// which holds the leader's own job.
    fn lead(&self) -> Result<(), String> {
        // Passed on even if the backend panics, so that nobody waits forever.
        struct Turn<'a>(&'a Core);
        impl Drop for Turn<'_> {
            fn drop(&mut self) {
                self.0.hand_over(false);
            }
        }
        let _turn = Turn(self);
        self.round()
    }

    /// Takes every waiting job, writes them as one group (one write and one
    /// sync), and tells each waiting request the outcome.
    fn round(&self) -> Result<(), String> {
        let mut jobs = std::mem::take(&mut self.queue().jobs);
        if jobs.is_empty() {
            return Ok(());
        }
        let ops: Vec<Op> = jobs
            .iter_mut()
            .flat_map(|j| std::mem::take(&mut j.ops))
            .collect();
        let count = ops.len();
        let result = {
            let mut backend = self.backend.lock().unwrap_or_else(|e| e.into_inner());
            let written = backend
                .as_mut()
                .map(|engine| std::panic::catch_unwind(AssertUnwindSafe(|| engine.write(ops))));
            match written {
                Some(Ok(written)) => written.map_err(|e| e.to_string()),
                Some(Err(_)) => {
                    // Its state is unknown now: a later group it accepted
                    // might not be read back, so it takes no more (an answer
                    // refused, not an ack lost).
                    self.broken.store(true, Ordering::Release);
                    let engine = backend.take();
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| drop(engine)));
                    Err("the storage engine failed; restart the endpoint".to_owned())
                }
                None => Err("the store is closed, or failed earlier".to_owned()),
            }
        };
        if let Err(err) = &result {
            tracing::error!(%err, ops = count, "store write failed");
        }
        for job in jobs {
            if let Some(done) = job.done {
                let _ = done.send(Outcome::Written(result.clone()));
            }
        }
        result
    }

    /// After a round: the lead goes to the first request still waiting, else
    /// to the flusher (or, for the flusher, stays: returns true), and lapses
    /// when nothing waits.
    fn hand_over(&self, flusher: bool) -> bool {
        let mut queue = self.queue();
        if queue.jobs.is_empty() {
            queue.leading = false;
            self.wake.notify_all();
            return false;
        }
        for job in queue.jobs.iter_mut() {
            if let Some(done) = job.done.take()
                && done.send(Outcome::Lead).is_ok()
            {
                return false;
            }
        }
        if flusher {
            return true;
        }
        queue.flush = true;
        self.wake.notify_all();
        false
    }

    /// The flusher: leads when only write-behind jobs wait, and at the end
    /// closes the backend once nothing waits any more.
    fn flush_loop(&self) {
        loop {
            {
                let mut queue = self.queue();
                loop {
                    if queue.flush {
                        queue.flush = false;
                        break;
                    }
                    if queue.closing && !queue.leading {
                        drop(queue);
                        self.backend
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .take();
                        if let Some(closed) =
                            self.closed.lock().unwrap_or_else(|e| e.into_inner()).take()
                        {
                            let _ = closed.send(());
                        }
                        return;
                    }
                    queue = self.wake.wait(queue).unwrap_or_else(|e| e.into_inner());
                }
            }
            loop {
                let _ = self.round();
                if !self.hand_over(true) {
                    break;
                }
            }
        }
    }
}

impl Store {
    /// Nothing is written anywhere: state lives and dies with the process.
    pub fn memory() -> (Store, Loaded) {
        (Store { handle: None }, Loaded::default())
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

    /// Starts writing through any backend.
    ///
    /// There is no writer thread on the answer path: the request that finds
    /// no group being written writes the next one itself (the leader), with
    /// every job queued by then, and wakes the others; whoever queued while
    /// it wrote waits, and the first of them leads next. A group thus costs
    /// no thread hand-off, and the requests it answers mostly run on the
    /// leader's own worker. A leader first yields once, so that the requests
    /// already runnable queue their jobs into its group. It then blocks its
    /// worker thread for the write and the sync (0.1 ms alone here, up to
    /// 0.4 ms under full CPU) while the runtime's other workers go on. A flusher thread leads only
    /// when nothing but write-behind jobs wait, and closes the backend at the
    /// end.
    pub fn start(backend: impl Backend) -> (Store, Closed) {
        let (closed_tx, closed_rx) = oneshot::channel::<()>();
        let core = Arc::new(Core {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            backend: Mutex::new(Some(Box::new(backend))),
            broken: AtomicBool::new(false),
            closed: Mutex::new(Some(closed_tx)),
        });
        let flusher = core.clone();
        let spawned = std::thread::Builder::new()
            .name("store-flush".into())
            .spawn(move || flusher.flush_loop());
        match spawned {
            Ok(_) => (
                Store {
                    handle: Some(Arc::new(Handle { core })),
                },
                Closed(Some(closed_rx)),
            ),
            Err(err) => {
                tracing::error!(%err, "cannot start the store flusher; running in memory");
                (Store { handle: None }, Closed(None))
            }
        }
    }

    /// Whether writes reach a disk.
    pub fn is_durable(&self) -> bool {
        self.handle.is_some()
    }

    /// False once the storage engine has failed for good (it panicked): every
    /// write is refused until a restart, and readiness says so.
    pub fn is_healthy(&self) -> bool {
        self.handle
            .as_ref()
            .is_none_or(|h| !h.core.broken.load(Ordering::Acquire))
    }

    /// Queues `ops` and returns a future that resolves once they are durable.
    /// Call it while holding the lock that ordered the change (so the store sees
    /// changes in the order memory did), and await the result after releasing it,
    /// with no other await in between: until it is awaited or dropped, it may
    /// hold the turn to write for every request of this store.
    pub fn submit(&self, ops: Vec<Op>) -> Pending {
        let Some(handle) = &self.handle else {
            return Pending(None);
        };
        if ops.is_empty() {
            return Pending(None);
        }
        let (done, rx) = oneshot::channel();
        let lead = {
            let mut queue = handle.core.queue();
            queue.jobs.push(Job {
                ops,
                done: Some(done),
            });
            !std::mem::replace(&mut queue.leading, true)
        };
        Pending(Some(Waiter {
            core: handle.core.clone(),
            rx,
            lead,
        }))
    }

    /// Queues `ops` without waiting for them.
    pub fn write_behind(&self, ops: Vec<Op>) {
        let Some(handle) = &self.handle else {
            return;
        };
        if ops.is_empty() {
            return;
        }
        let mut queue = handle.core.queue();
        queue.jobs.push(Job { ops, done: None });
        if !queue.leading {
            queue.leading = true;
            queue.flush = true;
            handle.core.wake.notify_all();
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
pub struct Pending(Option<Waiter>);

/// A request waiting for its job, or about to lead.
struct Waiter {
    core: Arc<Core>,
    rx: oneshot::Receiver<Outcome>,
    /// It queued the first job of a group: it is to write it.
    lead: bool,
}

impl std::fmt::Debug for Waiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiter").field("lead", &self.lead).finish()
    }
}

impl Pending {
    pub async fn durable(self) -> Result<(), StoreError> {
        let Some(mut waiter) = self.0 else {
            return Ok(());
        };
        if !waiter.lead {
            match (&mut waiter.rx).await {
                Ok(Outcome::Written(result)) => return result.map_err(StoreError),
                // Led by the drop if this future goes before it leads.
                Ok(Outcome::Lead) => waiter.lead = true,
                Err(_) => return Err(StoreError("the store writer has stopped".into())),
            }
        }
        // The requests ready to run (on this worker, or beside this one in the
        // same task, as a fan-out's deliveries) queue their jobs first and
        // share the sync.
        tokio::task::yield_now().await;
        waiter.lead = false;
        waiter.core.lead().map_err(StoreError)
    }
}

impl Drop for Waiter {
    /// A request dropped before it led (never awaited, or its future dropped)
    /// still writes its group: otherwise nobody would.
    fn drop(&mut self) {
        // No lead can arrive after `close`; one that arrived before is taken.
        self.rx.close();
        let lead =
            std::mem::take(&mut self.lead) || matches!(self.rx.try_recv(), Ok(Outcome::Lead));
        if !lead {
            return;
        }
        if std::thread::panicking() {
            // A write now could panic too, which would abort the process:
            // the turn goes to the next request (or the flusher) instead.
            self.core.hand_over(false);
        } else {
            let _ = self.core.lead();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::time::Duration;

    /// Records what reaches it, slowly, as a disk would.
    struct Slow {
        written: Arc<Mutex<Vec<(u64, u64)>>>,
        groups: Arc<Mutex<usize>>,
    }

    impl Backend for Slow {
        fn write(&mut self, ops: Vec<Op>) -> io::Result<()> {
            std::thread::sleep(Duration::from_micros(300));
            let mut written = self.written.lock().unwrap();
            for op in ops {
                if let Op::PutItem { owner, key, .. } = op {
                    written.push((owner, key));
                }
            }
            *self.groups.lock().unwrap() += 1;
            Ok(())
        }
        fn load(&mut self) -> io::Result<Loaded> {
            Ok(Loaded::default())
        }
    }

    fn put(owner: u64, key: u64) -> Vec<Op> {
        vec![Op::PutItem {
            owner,
            key,
            record: Vec::new(),
        }]
    }

    /// Many writers at once, some never waiting and some dropping their wait:
    /// every batch is written exactly once, in each writer's order, before its
    /// wait ends; groups are shared; and the store closes when every handle
    /// is gone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writers_share_groups_and_lose_nothing() {
        let written = Arc::new(Mutex::new(Vec::new()));
        let groups = Arc::new(Mutex::new(0));
        let (store, closed) = Store::start(Slow {
            written: written.clone(),
            groups: groups.clone(),
        });
        let mut tasks = Vec::new();
        for owner in 0..32u64 {
            let store = store.clone();
            let written = written.clone();
            tasks.push(tokio::spawn(async move {
                for key in 0..200u64 {
                    match key % 10 {
                        // Never awaited.
                        3 => drop(store.submit(put(owner, key))),
                        7 => store.write_behind(put(owner, key)),
                        // Awaited, but given up on at once.
                        5 => {
                            let pending = store.submit(put(owner, key));
                            let _ = tokio::time::timeout(Duration::ZERO, pending.durable()).await;
                        }
                        _ => {
                            store.submit(put(owner, key)).durable().await.unwrap();
                            assert!(
                                written.lock().unwrap().contains(&(owner, key)),
                                "acknowledged before written"
                            );
                        }
                    }
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        drop(store);
        tokio::time::timeout(Duration::from_secs(10), closed.wait())
            .await
            .expect("the store closes once its handles are gone");
        let written = written.lock().unwrap();
        assert_eq!(written.len(), 32 * 200);
        assert_eq!(written.iter().collect::<HashSet<_>>().len(), 32 * 200);
        for owner in 0..32 {
            let keys: Vec<u64> = written
                .iter()
                .filter(|(o, _)| *o == owner)
                .map(|(_, k)| *k)
                .collect();
            assert_eq!(keys, (0..200).collect::<Vec<_>>(), "owner {owner}");
        }
        let groups = *groups.lock().unwrap();
        assert!(
            groups < 32 * 200 / 2,
            "{groups} groups: commits are not shared"
        );
    }

    /// Write-behind jobs alone reach the backend too (the flusher leads).
    #[tokio::test]
    async fn write_behind_alone_is_written() {
        let written = Arc::new(Mutex::new(Vec::new()));
        let (store, closed) = Store::start(Slow {
            written: written.clone(),
            groups: Arc::new(Mutex::new(0)),
        });
        store.write_behind(put(1, 1));
        for _ in 0..200 {
            if !written.lock().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(*written.lock().unwrap(), vec![(1, 1)]);
        store.write_behind(put(1, 2));
        drop(store);
        closed.wait().await;
        assert_eq!(*written.lock().unwrap(), vec![(1, 1), (1, 2)]);
    }

    /// Panics on its first write.
    struct Fragile(bool);

    impl Backend for Fragile {
        fn write(&mut self, _: Vec<Op>) -> io::Result<()> {
            if !std::mem::replace(&mut self.0, true) {
                panic!("a backend bug");
            }
            Ok(())
        }
        fn load(&mut self) -> io::Result<Loaded> {
            Ok(Loaded::default())
        }
    }

    /// A backend that panics fails its group and every later one (its state
    /// is unknown), whoever leads: a request or the flusher. Nothing hangs, and
    /// the store still closes.
    #[tokio::test]
    async fn a_panicking_write_fails_later_writes_without_hanging() {
        for flusher_first in [false, true] {
            let (store, closed) = Store::start(Fragile(false));
            if flusher_first {
                store.write_behind(put(1, 1));
            } else {
                let first = store.submit(put(1, 1)).durable().await;
                assert!(first.is_err(), "the group that panicked fails");
            }
            let second =
                tokio::time::timeout(Duration::from_secs(5), store.submit(put(1, 2)).durable())
                    .await
                    .expect("the next write does not hang");
            assert!(second.is_err(), "a broken engine takes no more writes");
            assert!(!store.is_healthy(), "and the store says so");
            drop(store);
            tokio::time::timeout(Duration::from_secs(5), closed.wait())
                .await
                .expect("the store closes");
        }
    }

    /// Writes awaited side by side in one task (a fan-out's deliveries) share
    /// one group: the first to lead lets the others queue first.
    #[tokio::test]
    async fn writes_joined_in_one_task_share_a_group() {
        let groups = Arc::new(Mutex::new(0));
        let (store, _closed) = Store::start(Slow {
            written: Arc::new(Mutex::new(Vec::new())),
            groups: groups.clone(),
        });
        let write = |key| {
            let store = store.clone();
            async move { store.submit(put(1, key)).durable().await }
        };
        let results = tokio::join!(
            write(0),
            write(1),
            write(2),
            write(3),
            write(4),
            write(5),
            write(6),
            write(7)
        );
        for result in <[_; 8]>::from(results) {
            result.unwrap();
        }
        assert_eq!(*groups.lock().unwrap(), 1, "one sync for the eight writes");
    }
}
