//! The SQS engine: the queues of one endpoint and every action's semantics, on
//! typed requests. No wire format lives here (the protocols decode into
//! [`model`](crate::sqs::model) and encode what comes back) and no file format
//! (changes go to the [`Store`] as opaque records).
//!
//! Concurrency: each queue has its own lock; an action takes one queue's lock at a
//! time, hands its store ops to the writer while still holding it (so the disk sees
//! changes in the order memory did), releases it, and only then awaits durability.
//! Time comes from the [`Clock`]. One background task (the reaper) wakes when the
//! earliest delay, visibility timeout or retention of any queue falls due; long
//! polls wait on their queue's `Notify` and wake when a message becomes visible.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::sqs::attributes::{self, QueueSettings, RedriveAllow};
use crate::sqs::digest;
use crate::sqs::error::{ErrorKind, SqsError, SqsResult};
use crate::sqs::model::*;
use crate::sqs::queue::{
    DEDUP_KEY_BIT, DEDUP_WINDOW_MS, Dedup, MessageExtra, MessageRecord, MessageState, Messages,
    ReceiptProblem,
};
use crate::sqs::receipt::Receipt;
use crate::sqs::validate;
use crate::store::{Loaded, Op, Store};

/// Who is asking, and how they reached us: what URLs and ARNs are built from.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// `http://host:port` as the client addressed us.
    pub base_url: String,
    /// The region of the request's signature (`us-east-1` when unsigned).
    pub region: String,
    /// The caller's access key id, or the account id.
    pub sender_id: String,
}

/// A queue as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct QueueRecord {
    name: String,
    region: String,
    settings: QueueSettings,
    tags: BTreeMap<String, String>,
    created_s: u64,
    last_modified_s: u64,
}

struct QueueState {
    record: QueueRecord,
    messages: Messages,
    /// The due time registered with the reaper, if any.
    scheduled: Option<u64>,
    last_purge_ms: Option<u64>,
    /// ReceiveRequestAttemptId → (until, the receipts it handed out).
    attempts: HashMap<String, (u64, Vec<(u64, u64)>)>,
}

/// One queue: its identity, and its state behind its lock.
pub struct Queue {
    pub id: u64,
    pub name: String,
    pub arn: String,
    pub fifo: bool,
    state: Mutex<QueueState>,
    /// Woken (one waiter per message) when messages become visible.
    visible: Notify,
    deleted: AtomicBool,
    /// For the console's charts: messages in and out since start.
    sent_total: AtomicU64,
    removed_total: AtomicU64,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn count_in(&self, n: usize) {
        self.sent_total.fetch_add(n as u64, Ordering::Relaxed);
    }

    fn count_out(&self, n: usize) {
        self.removed_total.fetch_add(n as u64, Ordering::Relaxed);
    }

    fn wake(&self, count: usize) {
        for _ in 0..count.min(64) {
            self.visible.notify_one();
        }
    }
}

/// The outcome of a delivery from another service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Durable in the queue, with this SQS message id.
    Delivered(String),
    /// The queue's policy does not allow it, and why.
    Denied(String),
    /// No such queue.
    NoQueue,
    /// The queue refused the message (too large, FIFO rules, storage).
    Rejected(SqsError),
}

/// Live counts of a queue, for the console and metrics.
#[derive(Debug, Clone, Serialize)]
pub struct QueueSummary {
    pub name: String,
    pub arn: String,
    pub visible: usize,
    pub in_flight: usize,
    pub delayed: usize,
    pub oldest_sent_ms: Option<u64>,
    /// Messages added since start (sent, delivered by SNS, moved in).
    pub sent_total: u64,
    /// Messages that left since start (deleted, moved out, expired, purged).
    pub removed_total: u64,
}

/// A message as the admin peek shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PeekedMessage {
    pub message_id: String,
    pub body: String,
    pub state: &'static str,
    pub receive_count: u32,
    pub sent_timestamp: u64,
    pub visible_at: Option<u64>,
    pub message_group_id: Option<String>,
    pub message_attributes: MessageAttributes,
}

#[derive(Debug, Clone)]
struct MoveTask {
    handle: String,
    source_arn: String,
    destination_arn: Option<String>,
    rate: Option<i64>,
    status: &'static str,
    moved: u64,
    to_move: u64,
    started_ms: u64,
    failure: Option<String>,
}

struct Inner {
    account_id: String,
    clock: Clock,
    store: Store,
    queues: RwLock<BTreeMap<String, Arc<Queue>>>,
    deleted_at: Mutex<HashMap<String, u64>>,
    next_queue_id: AtomicU64,
    next_seq: AtomicU64,
    nonce: AtomicU64,
    reaper: Mutex<BTreeSet<(u64, u64)>>,
    reaper_wake: Arc<Notify>,
    move_tasks: Mutex<Vec<Arc<Mutex<MoveTask>>>>,
    /// Set at shutdown: long polls return at once.
    closing: AtomicBool,
    /// Woken at shutdown, for background work that waits (see [`Sqs::closed`]).
    closed: Notify,
}

/// A weak handle on the engine, for background loops.
#[derive(Clone)]
pub struct WeakSqs(std::sync::Weak<Inner>);

impl WeakSqs {
    pub fn upgrade(&self) -> Option<Sqs> {
        self.0.upgrade().map(|inner| Sqs { inner })
    }
}

/// The SQS service of an endpoint; cheap to clone.
#[derive(Clone)]
pub struct Sqs {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Sqs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sqs").finish_non_exhaustive()
    }
}

const MS: u64 = 1000;

/// What sends read of a queue's settings before taking its lock.
#[derive(Debug, Clone, Copy)]
struct SendSettings {
    max_size: u32,
    delay_ms: u64,
    content_dedup: bool,
}

/// A message made ready to send before its queue's lock is taken.
struct Ready {
    /// The batch entry's id.
    entry_id: Option<String>,
    message_id: String,
    md5_of_body: String,
    md5_of_attributes: Option<String>,
    md5_of_system_attributes: Option<String>,
    /// FIFO: the deduplication id given, or the body's SHA-256 (none is an error).
    dedup_id: Option<String>,
    record: MessageRecord,
    /// A standard queue's record in its stored form, final already.
    stored: Option<Vec<u8>>,
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).unwrap_or_default()
}

/// How a queue's messages are keyed in the store: queue ids are resources; a
/// message is an item of its queue.
impl Sqs {
    /// The engine over `store`, with everything `loaded` from it restored. Messages
    /// that were in flight stay hidden until their visibility timeout ends.
    pub fn new(account_id: String, clock: Clock, store: Store, loaded: Loaded) -> Sqs {
        let now = clock.now_ms();
        let mut queues = BTreeMap::new();
        let mut by_id: HashMap<u64, Arc<Queue>> = HashMap::new();
        let mut max_id = 0;
        for (id, bytes) in &loaded.resources {
            let Ok(record) = postcard::from_bytes::<QueueRecord>(bytes) else {
                tracing::error!(id, "skipping an unreadable queue record");
                continue;
            };
            max_id = max_id.max(*id);
            let queue = Arc::new(Self::make_queue(*id, &account_id, record));
            by_id.insert(*id, queue.clone());
            queues.insert(queue.name.clone(), queue);
        }
        let mut max_seq = 0;
        let mut restored = 0usize;
        for (owner, seq, record, state) in loaded.items {
            max_seq = max_seq.max(seq & !DEDUP_KEY_BIT);
            let Some(queue) = by_id.get(&owner) else {
                continue;
            };
            if seq & DEDUP_KEY_BIT != 0 {
                if let Ok((key, dedup)) = postcard::from_bytes::<(String, Dedup)>(&record)
                    && dedup.until_ms > now
                {
                    queue.lock().messages.remember_dedup(key, dedup);
                }
                continue;
            }
            let Ok(record) = postcard::from_bytes::<MessageRecord>(&record) else {
                tracing::error!(owner, seq, "skipping an unreadable message");
                continue;
            };
            // A message in flight at the crash stays hidden until its timeout (if
            // its receive reached the disk; else it is visible again).
            let state: MessageState = state
                .and_then(|s| postcard::from_bytes(&s).ok())
                .unwrap_or_default();
            queue.lock().messages.insert(seq, record, state, now);
            restored += 1;
        }
        if !queues.is_empty() {
            tracing::info!(
                queues = queues.len(),
                messages = restored,
                "restored SQS state"
            );
        }
        let sqs = Sqs {
            inner: Arc::new(Inner {
                account_id,
                clock,
                store,
                queues: RwLock::new(queues),
                deleted_at: Mutex::new(HashMap::new()),
                next_queue_id: AtomicU64::new(max_id + 1),
                next_seq: AtomicU64::new(max_seq + 1),
                nonce: AtomicU64::new(rand::random::<u64>() >> 8),
                reaper: Mutex::new(BTreeSet::new()),
                reaper_wake: Arc::new(Notify::new()),
                move_tasks: Mutex::new(Vec::new()),
                closing: AtomicBool::new(false),
                closed: Notify::new(),
            }),
        };
        for queue in by_id.values() {
            let mut state = queue.lock();
            sqs.schedule(queue, &mut state);
        }
        sqs
    }

    fn make_queue(id: u64, account_id: &str, record: QueueRecord) -> Queue {
        let fifo = record.settings.fifo_queue;
        Queue {
            id,
            name: record.name.clone(),
            arn: format!(
                "arn:aws:sqs:{}:{}:{}",
                record.region, account_id, record.name
            ),
            fifo,
            state: Mutex::new(QueueState {
                record,
                messages: Messages::new(fifo),
                scheduled: None,
                last_purge_ms: None,
                attempts: HashMap::new(),
            }),
            visible: Notify::new(),
            deleted: AtomicBool::new(false),
            sent_total: AtomicU64::new(0),
            removed_total: AtomicU64::new(0),
        }
    }

    /// Ends every waiting long poll (they answer with what they have) and makes
    /// new ones return at once: the endpoint is shutting down.
    pub fn close(&self) {
        self.inner.closing.store(true, Ordering::Release);
        self.inner.closed.notify_waiters();
        let queues: Vec<Arc<Queue>> = self.all_queues();
        for queue in queues {
            queue.visible.notify_waiters();
        }
        self.inner.reaper_wake.notify_one();
    }

    /// Every queue, in name order (a snapshot: the lock is not held).
    fn all_queues(&self) -> Vec<Arc<Queue>> {
        self.inner
            .queues
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// A handle that does not keep the engine (and its store) alive.
    pub fn downgrade(&self) -> WeakSqs {
        WeakSqs(Arc::downgrade(&self.inner))
    }

    /// Completes when [`Sqs::close`] is called (at once if it was).
    pub async fn closed(&self) {
        let notified = self.inner.closed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.is_closing() {
            return;
        }
        notified.await;
    }

    /// Whether [`Sqs::close`] was called: background loops should end.
    pub fn is_closing(&self) -> bool {
        self.inner.closing.load(Ordering::Acquire)
    }

    pub fn account_id(&self) -> &str {
        &self.inner.account_id
    }

    /// Whether the queues' storage still takes writes.
    pub fn storage_healthy(&self) -> bool {
        self.inner.store.is_healthy()
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    fn now(&self) -> u64 {
        self.inner.clock.now_ms()
    }

    fn queue_url(&self, ctx: &Ctx, name: &str) -> String {
        format!("{}/{}/{}", ctx.base_url, self.inner.account_id, name)
    }

    fn queue_by_name(&self, name: &str) -> Option<Arc<Queue>> {
        self.inner
            .queues
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// The queue an ARN names (any region of ours).
    pub fn queue_by_arn(&self, arn: &str) -> Option<Arc<Queue>> {
        let name = arn.rsplit(':').next()?;
        self.queue_by_name(name).filter(|q| q.arn == arn)
    }

    /// The queue a QueueUrl names: its last path segment (and the account before it, if any).
    fn resolve(&self, url: Option<&str>) -> SqsResult<Arc<Queue>> {
        let url = url
            .filter(|u| !u.is_empty())
            .ok_or_else(|| SqsError::missing("QueueUrl"))?;
        let path = match url.find("://") {
            Some(i) => url[i + 3..].find('/').map_or("", |j| &url[i + 3 + j..]),
            None => url,
        };
        let mut parts = path.trim_matches('/').rsplit('/');
        let name = parts.next().unwrap_or_default();
        if let Some(account) = parts.next()
            && account != self.inner.account_id
            && account.bytes().all(|b| b.is_ascii_digit())
            && account.len() == 12
        {
            return Err(SqsError::queue_does_not_exist());
        }
        self.queue_by_name(name)
            .ok_or_else(SqsError::queue_does_not_exist)
    }

    fn next_nonce(&self) -> u64 {
        // Unique per receive, and not guessable from the sequence.
        let n = self.inner.nonce.fetch_add(1, Ordering::Relaxed);
        n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5DEE_CE66_D1CE_4E5B
    }

    /// Registers the queue's next due moment with the reaper.
    fn schedule(&self, queue: &Queue, state: &mut QueueState) {
        let retention = u64::from(state.record.settings.message_retention_period) * MS;
        let Some(due) = state.messages.next_due(retention) else {
            return;
        };
        if state.scheduled.is_some_and(|s| s <= due) {
            return;
        }
        state.scheduled = Some(due);
        let mut reaper = self.inner.reaper.lock().unwrap_or_else(|e| e.into_inner());
        let earliest = reaper.first().map(|(d, _)| *d);
        reaper.insert((due, queue.id));
        drop(reaper);
        if earliest.is_none_or(|e| due < e) {
            self.inner.reaper_wake.notify_one();
        }
    }

    /// Brings a locked queue up to `now`: due messages become visible (waking long
    /// polls), expired ones are deleted.
    fn advance(&self, queue: &Queue, state: &mut QueueState, now: u64) {
        let retention = u64::from(state.record.settings.message_retention_period) * MS;
        let (woke, expired) = state.messages.advance(now, retention);
        queue.count_out(expired.len());
        let dedup_expired = state.messages.take_expired_dedup();
        if !expired.is_empty() || !dedup_expired.is_empty() {
            let messages = expired.iter().copied();
            let dedups = dedup_expired.iter().map(|seq| seq | DEDUP_KEY_BIT);
            self.inner.store.write_behind(
                messages
                    .chain(dedups)
                    .map(|key| Op::DeleteItem {
                        owner: queue.id,
                        key,
                    })
                    .collect(),
            );
        }
        if state.scheduled.is_some_and(|s| s <= now) {
            state.scheduled = None;
        }
        state.attempts.retain(|_, (until, _)| *until > now);
        self.schedule(queue, state);
        queue.wake(woke);
    }

    /// The background task that makes delayed and in-flight messages visible when
    /// they fall due and drops expired ones. Runs until the engine is dropped.
    pub async fn run_reaper(self) {
        let weak = Arc::downgrade(&self.inner);
        drop(self);
        loop {
            let Some(inner) = weak.upgrade() else { return };
            let sqs = Sqs { inner };
            let wake_handle = sqs.inner.reaper_wake.clone();
            let wake = wake_handle.notified();
            tokio::pin!(wake);
            wake.as_mut().enable();
            let now = sqs.now();
            let next = {
                let mut reaper = sqs.inner.reaper.lock().unwrap_or_else(|e| e.into_inner());
                match reaper.first().copied() {
                    Some((due, id)) if due <= now => {
                        reaper.pop_first();
                        Ok(id)
                    }
                    other => Err(other.map(|(due, _)| due)),
                }
            };
            match next {
                Ok(id) => {
                    let queue = sqs
                        .inner
                        .queues
                        .read()
                        .unwrap_or_else(|e| e.into_inner())
                        .values()
                        .find(|q| q.id == id)
                        .cloned();
                    if let Some(queue) = queue {
                        let mut state = queue.lock();
                        if state.scheduled.is_some_and(|s| s <= now) {
                            state.scheduled = None;
                        }
                        sqs.advance(&queue, &mut state, now);
                    }
                }
                Err(due) => {
                    let clock = sqs.inner.clock.clone();
                    drop(sqs);
                    match due {
                        Some(due) => {
                            tokio::select! {
                                _ = clock.sleep_until(due) => {}
                                _ = wake => {}
                            }
                        }
                        None => {
                            // Nothing scheduled: wait for work, checking now and then
                            // whether the engine is gone.
                            tokio::select! {
                                _ = wake => {}
                                _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
                            }
                        }
                    }
                }
            }
        }
    }

    async fn durable(pending: crate::store::Pending) -> SqsResult<()> {
        pending.durable().await.map_err(|e| {
            tracing::error!(%e, "a change could not be made durable");
            SqsError::internal("The change could not be stored. Please try again.")
        })
    }

    // ---- Queues --------------------------------------------------------------

    pub async fn create_queue(&self, ctx: &Ctx, req: CreateQueue) -> SqsResult<QueueUrlResult> {
        let name = req
            .queue_name
            .filter(|n| !n.is_empty())
            .ok_or_else(|| SqsError::missing("QueueName"))?;
        validate::queue_name(&name)?;
        let wants_fifo = req
            .attributes
            .get("FifoQueue")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if wants_fifo != name.ends_with(".fifo") {
            return Err(SqsError::invalid_parameter(
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, or \
                 underscores, must end with .fifo suffix and be 1 to 80 in length.",
            ));
        }
        let mut settings = QueueSettings::defaults(wants_fifo);
        settings.apply(&req.attributes, true)?;
        validate_tags(&req.tags, 0)?;
        if let Some(existing) = self.queue_by_name(&name) {
            let state = existing.lock();
            let mut current = Attributes::new();
            state.record.settings.render(&mut current);
            let mut wanted = Attributes::new();
            settings.render(&mut wanted);
            for key in req.attributes.keys() {
                if current.get(key) != wanted.get(key) {
                    return Err(SqsError::new(
                        ErrorKind::QueueNameExists,
                        format!(
                            "A queue already exists with the same name and a different value for attribute {key}"
                        ),
                    ));
                }
            }
            return Ok(QueueUrlResult {
                queue_url: self.queue_url(ctx, &name),
            });
        }
        let now = self.now();
        if let Some(deleted) = self
            .inner
            .deleted_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&name)
            && now < deleted + 60 * MS
        {
            return Err(SqsError::new(
                ErrorKind::QueueDeletedRecently,
                "You must wait 60 seconds after deleting a queue before you can create another \
                 with the same name.",
            ));
        }
        let id = self.inner.next_queue_id.fetch_add(1, Ordering::Relaxed);
        let arn = format!(
            "arn:aws:sqs:{}:{}:{}",
            ctx.region, self.inner.account_id, name
        );
        self.check_redrive(&arn, wants_fifo, &settings)?;
        let record = QueueRecord {
            name: name.clone(),
            region: ctx.region.clone(),
            settings,
            tags: req.tags,
            created_s: now / MS,
            last_modified_s: now / MS,
        };
        let bytes = encode(&record);
        let pending = {
            let mut queues = self.inner.queues.write().unwrap_or_else(|e| e.into_inner());
            if queues.contains_key(&name) {
                // Created concurrently with the same name: that one stands.
                None
            } else {
                queues.insert(
                    name.clone(),
                    Arc::new(Self::make_queue(id, &self.inner.account_id, record)),
                );
                Some(
                    self.inner
                        .store
                        .submit(vec![Op::PutResource { id, record: bytes }]),
                )
            }
        };
        if let Some(pending) = pending {
            Self::durable(pending).await?;
            tracing::info!(queue = %name, "queue created");
        }
        Ok(QueueUrlResult {
            queue_url: self.queue_url(ctx, &name),
        })
    }

    /// A RedrivePolicy's target must exist, be of the same type, and allow us.
    fn check_redrive(&self, arn: &str, fifo: bool, settings: &QueueSettings) -> SqsResult<()> {
        let Some(redrive) = &settings.redrive_policy else {
            return Ok(());
        };
        let reason = |r: &str| {
            SqsError::new(
                ErrorKind::InvalidParameterValue,
                format!(
                    "Value {{\"deadLetterTargetArn\":\"{}\",\"maxReceiveCount\":{}}} for parameter RedrivePolicy is invalid. Reason: {r}",
                    redrive.dead_letter_target_arn, redrive.max_receive_count
                ),
            )
        };
        let target = self
            .queue_by_arn(&redrive.dead_letter_target_arn)
            .ok_or_else(|| reason("Dead-letter target does not exist."))?;
        if target.fifo != fifo {
            return Err(reason(
                "Dead-letter queue must be of the same type (standard or FIFO) as the source queue.",
            ));
        }
        if target.arn == arn {
            return Err(reason("Dead-letter target cannot be the queue itself."));
        }
        let allowed = match &target.lock().record.settings.redrive_allow_policy {
            None | Some((_, RedriveAllow::AllowAll)) => true,
            Some((_, RedriveAllow::DenyAll)) => false,
            Some((_, RedriveAllow::ByQueue(arns))) => arns.iter().any(|a| a == arn),
        };
        if !allowed {
            return Err(reason(
                "Dead-letter target does not allow this queue as a source (RedriveAllowPolicy).",
            ));
        }
        Ok(())
    }

    pub async fn delete_queue(&self, req: QueueUrlOnly) -> SqsResult<()> {
        let queue = self.resolve(req.queue_url.as_deref())?;
        let pending = {
            let mut queues = self.inner.queues.write().unwrap_or_else(|e| e.into_inner());
            if queues.get(&queue.name).is_none_or(|q| q.id != queue.id) {
                return Err(SqsError::queue_does_not_exist());
            }
            queues.remove(&queue.name);
            queue.deleted.store(true, Ordering::Release);
            self.inner
                .store
                .submit(vec![Op::DeleteResource { id: queue.id }])
        };
        self.inner
            .deleted_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(queue.name.clone(), self.now());
        queue.visible.notify_waiters();
        Self::durable(pending).await?;
        tracing::info!(queue = %queue.name, "queue deleted");
        Ok(())
    }

    pub fn get_queue_url(&self, ctx: &Ctx, req: GetQueueUrl) -> SqsResult<QueueUrlResult> {
        let name = req
            .queue_name
            .filter(|n| !n.is_empty())
            .ok_or_else(|| SqsError::missing("QueueName"))?;
        if let Some(owner) = &req.queue_owner_aws_account_id
            && owner != &self.inner.account_id
        {
            return Err(SqsError::queue_does_not_exist());
        }
        let queue = self
            .queue_by_name(&name)
            .ok_or_else(SqsError::queue_does_not_exist)?;
        Ok(QueueUrlResult {
            queue_url: self.queue_url(ctx, &queue.name),
        })
    }

    pub fn list_queues(&self, ctx: &Ctx, req: ListQueues) -> SqsResult<ListQueuesResult> {
        let limit = page_limit(req.max_results)?;
        let after = match req.next_token.as_deref().filter(|t| !t.is_empty()) {
            None => None,
            Some(token) => Some(
                decode_token(token)
                    .ok_or_else(|| SqsError::invalid_parameter("Invalid NextToken value."))?,
            ),
        };
        let prefix = req.queue_name_prefix.unwrap_or_default();
        let queues = self.inner.queues.read().unwrap_or_else(|e| e.into_inner());
        let names = queues
            .keys()
            .filter(|n| n.starts_with(&prefix))
            .filter(|n| after.as_ref().is_none_or(|a| n.as_str() > a.as_str()));
        let take = limit.unwrap_or(1000);
        let mut page: Vec<&String> = names.take(take + 1).collect();
        let more = page.len() > take;
        page.truncate(take);
        let next_token = (more && limit.is_some())
            .then(|| page.last().map(|n| encode_token(n)))
            .flatten();
        Ok(ListQueuesResult {
            queue_urls: page.iter().map(|n| self.queue_url(ctx, n)).collect(),
            next_token,
        })
    }

    pub fn get_queue_attributes(&self, req: GetQueueAttributes) -> SqsResult<AttributesResult> {
        let queue = self.resolve(req.queue_url.as_deref())?;
        for name in &req.attribute_names {
            if !attributes::ALL_NAMES.contains(&name.as_str()) {
                return Err(SqsError::new(
                    ErrorKind::InvalidAttributeName,
                    format!("Unknown Attribute {name}."),
                ));
            }
        }
        let mut all = Attributes::new();
        {
            let now = self.now();
            let mut state = queue.lock();
            self.advance(&queue, &mut state, now);
            state.record.settings.render(&mut all);
            let (visible, in_flight, delayed) = state.messages.counts();
            all.insert("ApproximateNumberOfMessages".into(), visible.to_string());
            all.insert(
                "ApproximateNumberOfMessagesNotVisible".into(),
                in_flight.to_string(),
            );
            all.insert(
                "ApproximateNumberOfMessagesDelayed".into(),
                delayed.to_string(),
            );
            all.insert(
                "CreatedTimestamp".into(),
                state.record.created_s.to_string(),
            );
            all.insert(
                "LastModifiedTimestamp".into(),
                state.record.last_modified_s.to_string(),
            );
            all.insert("QueueArn".into(), queue.arn.clone());
        }
        let wants_all = req.attribute_names.iter().any(|n| n == "All");
        let attributes = if wants_all {
            all
        } else {
            all.into_iter()
                .filter(|(k, _)| req.attribute_names.contains(k))
                .collect()
        };
        Ok(AttributesResult { attributes })
    }

    pub async fn set_queue_attributes(&self, req: SetQueueAttributes) -> SqsResult<()> {
        let queue = self.resolve(req.queue_url.as_deref())?;
        let attrs = req.attributes.unwrap_or_default();
        let mut settings = queue.lock().record.settings.clone();
        settings.apply(&attrs, false)?;
        self.check_redrive(&queue.arn, queue.fifo, &settings)?;
        let pending = {
            let mut state = queue.lock();
            state.record.settings = settings;
            state.record.last_modified_s = self.now() / MS;
            let pending = self.inner.store.submit(vec![Op::PutResource {
                id: queue.id,
                record: encode(&state.record),
            }]);
            // Retention may have shortened, delays changed: re-plan.
            state.scheduled = None;
            self.schedule(&queue, &mut state);
            pending
        };
        Self::durable(pending).await
    }

    pub async fn purge_queue(&self, req: QueueUrlOnly) -> SqsResult<()> {
        let queue = self.resolve(req.queue_url.as_deref())?;
        let now = self.now();
        let pending = {
            let mut state = queue.lock();
            if state.last_purge_ms.is_some_and(|t| now < t + 60 * MS) {
                return Err(SqsError::new(
                    ErrorKind::PurgeQueueInProgress,
                    format!(
                        "Only one PurgeQueue operation on {} is allowed every 60 seconds.",
                        queue.name
                    ),
                ));
            }
            state.last_purge_ms = Some(now);
            let purged = state.messages.clear();
            queue.count_out(purged.len());
            self.inner
                .store
                .submit(vec![Op::ClearItems { owner: queue.id }])
        };
        Self::durable(pending).await?;
        tracing::info!(queue = %queue.name, "queue purged");
        Ok(())
    }

    // ---- Sending -------------------------------------------------------------

    /// Checks one message against the queue's rules; returns its size.
    fn check_message(&self, queue: &Queue, max_size: u32, m: &MessageToSend) -> SqsResult<usize> {
        let body = m
            .message_body
            .as_deref()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| SqsError::missing("MessageBody"))?;
        validate::text(body)?;
        let size = body.len()
            + validate::message_attributes(&m.message_attributes, false)?
            + validate::message_attributes(&m.message_system_attributes, true)?;
        if size > max_size as usize {
            return Err(SqsError::invalid_parameter(format!(
                "One or more parameters are invalid. Reason: Message must be shorter than {max_size} bytes."
            )));
        }
        if let Some(delay) = m.delay_seconds {
            if !(0..=900).contains(&delay) {
                return Err(SqsError::invalid_value(
                    "DelaySeconds",
                    delay,
                    "must be >= 0 and <= 900.",
                ));
            }
            if queue.fifo {
                return Err(SqsError::invalid_value(
                    "DelaySeconds",
                    delay,
                    "The request include parameter that is not valid for this queue type.",
                ));
            }
        }
        for (name, value) in [
            ("MessageGroupId", &m.message_group_id),
            ("MessageDeduplicationId", &m.message_deduplication_id),
        ] {
            if let Some(v) = value {
                let ok = !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic());
                if !ok {
                    return Err(SqsError::invalid_value(
                        name,
                        v,
                        &format!(
                            "{name} can only include alphanumeric and punctuation characters. 1 to 128 in length."
                        ),
                    ));
                }
            }
        }
        if queue.fifo {
            if m.message_group_id.is_none() {
                return Err(SqsError::missing("MessageGroupId"));
            }
        } else if m.message_deduplication_id.is_some() {
            return Err(SqsError::invalid_parameter(
                "The request include parameter that is not valid for this queue type",
            ));
        }
        Ok(size)
    }

    /// What sends read of a queue's settings before preparing messages.
    fn send_settings(queue: &Queue) -> SendSettings {
        let state = queue.lock();
        let settings = &state.record.settings;
        SendSettings {
            max_size: settings.maximum_message_size,
            delay_ms: u64::from(settings.delay_seconds) * MS,
            content_dedup: settings.content_based_deduplication,
        }
    }

    /// Does the costly part of sending checked messages, before the queue's lock
    /// is taken: checksums, ids, records, and for a standard queue the stored
    /// bytes. With these under the lock, two workers sending batches to one queue
    /// spent much of their time waiting for each other.
    fn prepare(
        ctx: &Ctx,
        queue: &Queue,
        settings: SendSettings,
        now: u64,
        messages: Vec<MessageToSend>,
    ) -> Vec<Ready> {
        messages
            .into_iter()
            .map(|m| {
                let body = m.message_body.unwrap_or_default();
                let md5_of_body = digest::md5_of_body(&body);
                let md5_of_attributes = digest::md5_of_attributes(&m.message_attributes);
                let md5_of_system_attributes =
                    digest::md5_of_attributes(&m.message_system_attributes);
                let dedup_id = if queue.fifo {
                    m.message_deduplication_id.or_else(|| {
                        settings.content_dedup.then(|| {
                            use sha2::Digest as _;
                            hex::encode(sha2::Sha256::digest(body.as_bytes()))
                        })
                    })
                } else {
                    None
                };
                let message_id = uuid::Uuid::new_v4().to_string();
                let delay_ms = m.delay_seconds.map_or(settings.delay_ms, |d| d as u64 * MS);
                let record = MessageRecord::new(
                    message_id.clone(),
                    body,
                    md5_of_body.clone(),
                    now,
                    ctx.sender_id.clone(),
                    now + delay_ms,
                    MessageExtra {
                        attributes: m.message_attributes,
                        md5_of_attributes: md5_of_attributes.clone(),
                        system_attributes: m.message_system_attributes,
                        md5_of_system_attributes: md5_of_system_attributes.clone(),
                        group_id: m.message_group_id,
                        deduplication_id: None,
                        sequence_number: None,
                        dead_letter_source: None,
                    },
                );
                // A FIFO record gets its deduplication id and sequence number
                // under the lock, so it is encoded there.
                let stored = (!queue.fifo).then(|| encode(&record));
                Ready {
                    entry_id: m.id,
                    message_id,
                    md5_of_body,
                    md5_of_attributes,
                    md5_of_system_attributes,
                    dedup_id,
                    record,
                    stored,
                }
            })
            .collect()
    }

    /// Adds prepared messages to a locked queue; returns each one's result and the ops.
    fn enqueue(
        &self,
        queue: &Queue,
        state: &mut QueueState,
        now: u64,
        messages: Vec<Ready>,
        ops: &mut Vec<Op>,
    ) -> Vec<SqsResult<SendMessageResult>> {
        let per_group_dedup = state.record.settings.deduplication_scope == "messageGroup";
        let mut woke = 0;
        let mut results = Vec::with_capacity(messages.len());
        for ready in messages {
            let Ready {
                entry_id,
                message_id,
                md5_of_body,
                md5_of_attributes,
                md5_of_system_attributes,
                dedup_id,
                mut record,
                stored,
            } = ready;
            let mut dedup_key = None;
            if queue.fifo {
                let Some(id) = dedup_id else {
                    results.push(Err(SqsError::invalid_parameter(
                        "The queue should either have ContentBasedDeduplication enabled or \
                         MessageDeduplicationId provided explicitly",
                    )));
                    continue;
                };
                let key = if per_group_dedup {
                    format!(
                        "{}\u{0}{id}",
                        record.extra().group_id.as_deref().unwrap_or_default()
                    )
                } else {
                    id.clone()
                };
                if let Some(hit) = state.messages.dedup_hit(&key, now) {
                    results.push(Ok(SendMessageResult {
                        id: entry_id,
                        message_id: hit.message_id.clone(),
                        md5_of_message_body: md5_of_body,
                        md5_of_message_attributes: md5_of_attributes,
                        md5_of_message_system_attributes: md5_of_system_attributes,
                        sequence_number: hit.sequence_number.clone(),
                    }));
                    continue;
                }
                dedup_key = Some((key, id));
            }
            let seq = self.inner.next_seq.fetch_add(1, Ordering::Relaxed);
            let mut sequence_number = None;
            let stored = match stored {
                Some(bytes) => bytes,
                None => {
                    let number = format!("{:020}", seq + 18_000_000_000_000_000_000u64 / 1000);
                    let extra = record.extra_mut();
                    extra.deduplication_id = dedup_key.as_ref().map(|(_, id)| id.clone());
                    extra.sequence_number = Some(number.clone());
                    sequence_number = Some(number);
                    encode(&record)
                }
            };
            if let Some((key, _)) = dedup_key {
                let dedup = Dedup {
                    until_ms: now + DEDUP_WINDOW_MS,
                    message_id: message_id.clone(),
                    sequence_number: sequence_number.clone(),
                    seq,
                };
                ops.push(Op::PutItem {
                    owner: queue.id,
                    key: seq | DEDUP_KEY_BIT,
                    record: encode(&(&key, &dedup)),
                });
                state.messages.remember_dedup(key, dedup);
            }
            ops.push(Op::PutItem {
                owner: queue.id,
                key: seq,
                record: stored,
            });
            queue.count_in(1);
            if state
                .messages
                .insert(seq, record, MessageState::default(), now)
            {
                woke += 1;
            }
            results.push(Ok(SendMessageResult {
                id: entry_id,
                message_id,
                md5_of_message_body: md5_of_body,
                md5_of_message_attributes: md5_of_attributes,
                md5_of_message_system_attributes: md5_of_system_attributes,
                sequence_number,
            }));
        }
        self.schedule(queue, state);
        queue.wake(woke);
        results
    }

    pub async fn send_message(&self, ctx: &Ctx, req: SendMessage) -> SqsResult<SendMessageResult> {
        let queue = self.resolve(req.queue_url.as_deref())?;
        let settings = Self::send_settings(&queue);
        self.check_message(&queue, settings.max_size, &req.message)?;
        let now = self.now();
        let ready = Self::prepare(ctx, &queue, settings, now, vec![req.message]);
        let mut ops = Vec::with_capacity(1);
        let (result, pending) = {
            let mut state = queue.lock();
            let mut results = self.enqueue(&queue, &mut state, now, ready, &mut ops);
            (results.pop(), self.inner.store.submit(ops))
        };
        Self::durable(pending).await?;
        result.unwrap_or_else(|| Err(SqsError::internal("no result")))
    }

    pub async fn send_message_batch(
        &self,
        ctx: &Ctx,
        req: SendMessageBatch,
    ) -> SqsResult<BatchResult<SendMessageResult>> {
        let queue = self.resolve(req.queue_url.as_deref())?;
        let entries = req.entries.unwrap_or_default();
        validate::batch_ids(
            "SendMessageBatchRequestEntry",
            entries.iter().map(|e| e.id.as_deref()),
        )?;
        let settings = Self::send_settings(&queue);
        let max_size = settings.max_size;
        let mut failed = Vec::new();
        let mut accepted = Vec::new();
        let mut total = 0;
        for entry in entries {
            let id = entry.id.clone().unwrap_or_default();
            match self.check_message(&queue, max_size, &entry) {
                Ok(size) => {
                    total += size;
                    accepted.push(entry);
                }
                Err(e) => failed.push(BatchResultErrorEntry::new(&id, &e)),
            }
        }
        if total > 1_048_576 {
            return Err(SqsError::new(
                ErrorKind::BatchRequestTooLong,
                format!(
                    "Batch requests cannot be longer than 1048576 bytes. You have sent {total} bytes."
                ),
            ));
        }
        let ids: Vec<String> = accepted
            .iter()
            .map(|e| e.id.clone().unwrap_or_default())
            .collect();
        let now = self.now();
        let ready = Self::prepare(ctx, &queue, settings, now, accepted);
        let mut ops = Vec::with_capacity(ready.len());
        let (results, pending) = {
            let mut state = queue.lock();
            let results = self.enqueue(&queue, &mut state, now, ready, &mut ops);
            (results, self.inner.store.submit(ops))
        };
        Self::durable(pending).await?;
        let mut successful = Vec::new();
        for (id, result) in ids.iter().zip(results) {
            match result {
                Ok(ok) => successful.push(ok),
                Err(e) => failed.push(BatchResultErrorEntry::new(id, &e)),
            }
        }
        Ok(BatchResult { successful, failed })
    }

    /// Delivers a message from another service (an SNS topic `source_arn`) to the
    /// queue `queue_arn`, if the queue's policy lets that service send; returns once
    /// the message is durable.
    pub async fn deliver(
        &self,
        queue_arn: &str,
        service: &str,
        source_arn: &str,
        message: MessageToSend,
    ) -> Delivery {
        let Some(queue) = self.queue_by_arn(queue_arn) else {
            return Delivery::NoQueue;
        };
        let (policy, max_size) = {
            let state = queue.lock();
            (
                state.record.settings.policy.clone(),
                state.record.settings.maximum_message_size,
            )
        };
        let access = crate::sqs::policy::Access {
            service,
            action: "SendMessage",
            resource: &queue.arn,
            source_arn,
        };
        if let crate::sqs::policy::Decision::Denied(why) =
            crate::sqs::policy::evaluate(policy.as_deref(), &access)
        {
            return Delivery::Denied(why);
        }
        if let Err(e) = self.check_message(&queue, max_size, &message) {
            return Delivery::Rejected(e);
        }
        let ctx = Ctx {
            base_url: String::new(),
            region: String::new(),
            sender_id: self.inner.account_id.clone(),
        };
        let now = self.now();
        let settings = Self::send_settings(&queue);
        let ready = Self::prepare(&ctx, &queue, settings, now, vec![message]);
        let mut ops = Vec::with_capacity(1);
        let (result, pending) = {
            let mut state = queue.lock();
            let mut results = self.enqueue(&queue, &mut state, now, ready, &mut ops);
            (results.pop(), self.inner.store.submit(ops))
        };
        if let Err(e) = Self::durable(pending).await {
            return Delivery::Rejected(e);
        }
        match result {
            Some(Ok(r)) => Delivery::Delivered(r.message_id),
            Some(Err(e)) => Delivery::Rejected(e),
            None => Delivery::Rejected(SqsError::internal("no result")),
        }
    }

    // ---- Receiving -----------------------------------------------------------

    pub async fn receive_message(&self, req: ReceiveMessage) -> SqsResult<ReceiveMessageResult> {
        let queue = self.resolve(req.queue_url.as_deref())?;
        let max = req.max_number_of_messages.unwrap_or(1);
        if !(1..=10).contains(&max) {
            return Err(SqsError::invalid_value(
                "MaxNumberOfMessages",
                max,
                "Must be between 1 and 10, if provided.",
            ));
        }
        if let Some(v) = req.visibility_timeout
            && !(0..=43_200).contains(&v)
        {
            return Err(SqsError::invalid_value(
                "VisibilityTimeout",
                v,
                "Must be >= 0 and <= 43200, if provided.",
            ));
        }
        if let Some(w) = req.wait_time_seconds
            && !(0..=20).contains(&w)
        {
            return Err(SqsError::invalid_value(
                "WaitTimeSeconds",
                w,
                "Must be >= 0 and <= 20, if provided.",
            ));
        }
        if let Some(attempt) = &req.receive_request_attempt_id {
            let ok = !attempt.is_empty()
                && attempt.len() <= 128
                && attempt.bytes().all(|b| b.is_ascii_graphic());
            if !ok {
                return Err(SqsError::invalid_value(
                    "ReceiveRequestAttemptId",
                    attempt,
                    "ReceiveRequestAttemptId can only include alphanumeric and punctuation characters. 1 to 128 in length.",
                ));
            }
        }
        let (default_wait, _) = {
            let state = queue.lock();
            (state.record.settings.receive_message_wait_time_seconds, ())
        };
        let wait_ms = req
            .wait_time_seconds
            .map_or(u64::from(default_wait), |w| w as u64)
            * MS;
        let deadline = self.now() + wait_ms;
        let dlq = self.dead_letter_target(&queue);
        loop {
            let notified = queue.visible.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if queue.deleted.load(Ordering::Acquire) {
                return Err(SqsError::queue_does_not_exist());
            }
            let messages = self.try_receive(&queue, &req, max as usize, dlq.as_ref());
            let now = self.now();
            if !messages.is_empty() || now >= deadline || self.inner.closing.load(Ordering::Acquire)
            {
                return Ok(ReceiveMessageResult { messages });
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = self.inner.clock.sleep_until(deadline) => {}
            }
        }
    }

    /// The dead-letter queue and maxReceiveCount of a queue, if it has a live one.
    fn dead_letter_target(&self, queue: &Queue) -> Option<(Arc<Queue>, u32)> {
        let redrive = queue.lock().record.settings.redrive_policy.clone()?;
        let target = self.queue_by_arn(&redrive.dead_letter_target_arn)?;
        Some((target, redrive.max_receive_count))
    }

    fn try_receive(
        &self,
        queue: &Queue,
        req: &ReceiveMessage,
        max: usize,
        dlq: Option<&(Arc<Queue>, u32)>,
    ) -> Vec<ReceivedMessage> {
        let now = self.now();
        let (taken, visibility_ms) = {
            let mut state = queue.lock();
            self.advance(queue, &mut state, now);
            let visibility_ms = req
                .visibility_timeout
                .map_or(u64::from(state.record.settings.visibility_timeout), |v| {
                    v as u64
                })
                * MS;
            // A retried receive (same attempt id) gets the same messages while they
            // are still in flight under that receive.
            if let Some(attempt) = &req.receive_request_attempt_id
                && queue.fifo
                && let Some((_, receipts)) = state.attempts.get(attempt)
            {
                let again: Vec<_> = receipts
                    .iter()
                    .filter(|(seq, nonce)| state.messages.check_receipt(*seq, *nonce).is_ok())
                    .filter_map(|(seq, nonce)| {
                        let m = state.messages.get(*seq)?;
                        Some(crate::sqs::queue::Received {
                            seq: *seq,
                            nonce: *nonce,
                            record: m.record.clone(),
                            state: m.state,
                        })
                    })
                    .collect();
                if !again.is_empty() {
                    let taken = crate::sqs::queue::Taken {
                        received: again,
                        dead_lettered: Vec::new(),
                    };
                    drop(state);
                    return self.render_received(queue, req, taken.received);
                }
            }
            let taken = state.messages.take(
                max,
                now,
                visibility_ms,
                dlq.map(|(_, count)| *count),
                || self.next_nonce(),
            );
            if !taken.received.is_empty() {
                if let Some(attempt) = req
                    .receive_request_attempt_id
                    .clone()
                    .filter(|_| queue.fifo)
                {
                    let receipts = taken.received.iter().map(|r| (r.seq, r.nonce)).collect();
                    state
                        .attempts
                        .insert(attempt, (now + DEDUP_WINDOW_MS, receipts));
                }
                let ops = taken
                    .received
                    .iter()
                    .map(|r| Op::PutItemState {
                        owner: queue.id,
                        key: r.seq,
                        state: encode(&r.state),
                    })
                    .collect();
                // Receive counts are bookkeeping: after a crash a message may come
                // back with a lower count, which at-least-once allows.
                self.inner.store.write_behind(ops);
            }
            self.schedule(queue, &mut state);
            (taken, visibility_ms)
        };
        let _ = visibility_ms;
        if !taken.dead_lettered.is_empty()
            && let Some((target, _)) = dlq
        {
            self.move_messages(queue, target, taken.dead_lettered, now, "maxReceiveCount");
        }
        self.render_received(queue, req, taken.received)
    }

    /// Moves messages (already taken out of `from` in memory) into `to`, keeping
    /// their ids, bodies and send times; one store batch deletes and inserts.
    fn move_messages(
        &self,
        from: &Queue,
        to: &Queue,
        messages: Vec<(u64, Arc<MessageRecord>)>,
        now: u64,
        reason: &str,
    ) {
        let count = messages.len();
        from.count_out(count);
        to.count_in(count);
        let mut ops = Vec::with_capacity(count * 2);
        let mut state = to.lock();
        let mut woke = 0;
        for (old_seq, record) in messages {
            // Removed from its queue: the record is no longer shared.
            let mut record = Arc::unwrap_or_clone(record);
            let seq = self.inner.next_seq.fetch_add(1, Ordering::Relaxed);
            if record.extra().dead_letter_source.is_none() {
                record.extra_mut().dead_letter_source = Some(from.arn.clone());
            }
            record.visible_from_ms = now;
            ops.push(Op::PutItem {
                owner: to.id,
                key: seq,
                record: encode(&record),
            });
            ops.push(Op::DeleteItem {
                owner: from.id,
                key: old_seq,
            });
            if state
                .messages
                .insert(seq, record, MessageState::default(), now)
            {
                woke += 1;
            }
        }
        self.inner.store.write_behind(ops);
        self.schedule(to, &mut state);
        drop(state);
        to.wake(woke);
        tracing::info!(from = %from.name, to = %to.name, count, reason, "messages moved");
    }

    fn render_received(
        &self,
        queue: &Queue,
        req: &ReceiveMessage,
        received: Vec<crate::sqs::queue::Received>,
    ) -> Vec<ReceivedMessage> {
        let wanted: Vec<&str> = req
            .attribute_names
            .iter()
            .chain(&req.message_system_attribute_names)
            .map(String::as_str)
            .collect();
        let all = wanted.contains(&"All");
        let want = |name: &str| all || wanted.contains(&name);
        received
            .into_iter()
            .map(|r| {
                // The queue still holds the record: the answer gets its own copy.
                let mut record = Arc::unwrap_or_clone(r.record);
                let mut attributes = Attributes::new();
                let mut put = |name: &str, value: Option<String>| {
                    if let Some(value) = value
                        && want(name)
                    {
                        attributes.insert(name.to_owned(), value);
                    }
                };
                put("SenderId", Some(record.sender_id.clone()));
                put("SentTimestamp", Some(record.sent_ms.to_string()));
                put(
                    "ApproximateReceiveCount",
                    Some(r.state.receive_count.to_string()),
                );
                put(
                    "ApproximateFirstReceiveTimestamp",
                    r.state.first_receive_ms.map(|t| t.to_string()),
                );
                let extra = record.take_extra();
                put("MessageGroupId", extra.group_id);
                put("MessageDeduplicationId", extra.deduplication_id);
                put("SequenceNumber", extra.sequence_number);
                put(
                    "AWSTraceHeader",
                    extra
                        .system_attributes
                        .get("AWSTraceHeader")
                        .and_then(|v| v.string_value.clone()),
                );
                put("DeadLetterQueueSourceArn", extra.dead_letter_source);
                let message_attributes: MessageAttributes = extra
                    .attributes
                    .into_iter()
                    .filter(|(name, _)| attribute_wanted(&req.message_attribute_names, name))
                    .collect();
                let md5_of_message_attributes = digest::md5_of_attributes(&message_attributes);
                ReceivedMessage {
                    message_id: record.message_id,
                    receipt_handle: Receipt {
                        queue_id: queue.id,
                        seq: r.seq,
                        nonce: r.nonce,
                    }
                    .encode(),
                    md5_of_body: record.md5_of_body,
                    body: record.body,
                    attributes,
                    md5_of_message_attributes,
                    message_attributes,
                }
            })
            .collect()
    }

    // ---- Deleting and visibility ---------------------------------------------

    fn receipt(queue: &Queue, handle: Option<&str>) -> SqsResult<Receipt> {
        let handle = handle
            .filter(|h| !h.is_empty())
            .ok_or_else(|| SqsError::missing("ReceiptHandle"))?;
        match Receipt::decode(handle) {
            Some(r) if r.queue_id == queue.id => Ok(r),
            _ => Err(SqsError::new(
                ErrorKind::ReceiptHandleIsInvalid,
                format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
            )),
        }
    }

    /// Deletes under a locked queue; returns the op to store, if any.
    fn delete_locked(
        &self,
        queue: &Queue,
        state: &mut QueueState,
        receipt: Receipt,
    ) -> SqsResult<Option<Op>> {
        match state.messages.is_latest_receipt(receipt.seq, receipt.nonce) {
            // Already gone: deleting is idempotent.
            Err(ReceiptProblem::Gone) | Err(ReceiptProblem::NotInFlight) => Ok(None),
            Ok(true) => {
                state.messages.remove(receipt.seq);
                queue.count_out(1);
                if queue.fifo {
                    // The message's group may be unlocked now: wake a long poll.
                    queue.wake(1);
                }
                Ok(Some(Op::DeleteItem {
                    owner: queue.id,
                    key: receipt.seq,
                }))
            }
            // Received again since: a FIFO queue refuses the old handle; a standard
            // queue answers success and keeps the message, as AWS documents.
            Ok(false) if queue.fifo => Err(SqsError::new(
                ErrorKind::ReceiptHandleIsInvalid,
                "The receipt handle has expired.",
            )),
            Ok(false) => Ok(None),
        }
    }

    pub async fn delete_message(&self, req: DeleteMessage) -> SqsResult<()> {
        let queue = self.resolve(req.queue_url.as_deref())?;
        let receipt = Self::receipt(&queue, req.receipt_handle.as_deref())?;
        let pending = {
            let mut state = queue.lock();
            let op = self.delete_locked(&queue, &mut state, receipt)?;
            op.map(|op| self.inner.store.submit(vec![op]))
        };
        if let Some(pending) = pending {
            Self::durable(pending).await?;
        }
        Ok(())
    }

    pub async fn delete_message_batch(&self, req: ReceiptBatch) -> SqsResult<BatchResult<IdOnly>> {
        let queue = self.resolve(req.queue_url.as_deref())?;
        let entries = req.entries.unwrap_or_default();
        validate::batch_ids(
            "DeleteMessageBatchRequestEntry",
            entries.iter().map(|e| e.id.as_deref()),
        )?;
        let mut failed = Vec::new();
        let mut successful = Vec::new();
        let mut ops = Vec::new();
        let pending = {
            let mut state = queue.lock();
            for entry in &entries {
                let id = entry.id.clone().unwrap_or_default();
                let result = Self::receipt(&queue, entry.receipt_handle.as_deref())
                    .and_then(|r| self.delete_locked(&queue, &mut state, r));
                match result {
                    Ok(op) => {
                        ops.extend(op);
                        successful.push(IdOnly { id });
                    }
                    Err(e) => failed.push(BatchResultErrorEntry::new(&id, &e)),
                }
            }
            self.inner.store.submit(ops)
        };
        Self::durable(pending).await?;
        Ok(BatchResult { successful, failed })
    }

    fn change_locked(
        &self,
        queue: &Queue,
        state: &mut QueueState,
        receipt: Receipt,
        timeout: Option<i64>,
        now: u64,
    ) -> SqsResult<Op> {
        let timeout = timeout.ok_or_else(|| SqsError::missing("VisibilityTimeout"))?;
        if !(0..=43_200).contains(&timeout) {
            return Err(SqsError::invalid_value(
                "VisibilityTimeout",
                timeout,
                "VisibilityTimeout must be an integer between 0 and 43200",
            ));
        }
        match state.messages.check_receipt(receipt.seq, receipt.nonce) {
            Ok(()) => {}
            Err(ReceiptProblem::Gone) => {
                return Err(SqsError::invalid_parameter(format!(
                    "Value {} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.",
                    Receipt::encode(&receipt)
                )));
            }
            Err(ReceiptProblem::NotInFlight) => {
                return Err(SqsError::new(
                    ErrorKind::MessageNotInflight,
                    "Message does not exist or is not available for visibility timeout change.",
                ));
            }
        }
        let first = state
            .messages
            .get(receipt.seq)
            .and_then(|m| m.state.first_receive_ms)
            .unwrap_or(now);
        let timeout_ms = timeout as u64 * MS;
        if now + timeout_ms > first + 43_200 * MS {
            return Err(SqsError::invalid_value(
                "VisibilityTimeout",
                timeout,
                "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]",
            ));
        }
        let (new_state, visible) = state
            .messages
            .change_visibility(receipt.seq, now, timeout_ms)
            .ok_or_else(|| SqsError::internal("message vanished"))?;
        if visible {
            queue.wake(1);
        }
        Ok(Op::PutItemState {
            owner: queue.id,
            key: receipt.seq,
            state: encode(&new_state),
        })
    }

    pub async fn change_message_visibility(&self, req: ChangeMessageVisibility) -> SqsResult<()> {
        let queue = self.resolve(req.queue_url.as_deref())?;
        let receipt = Self::receipt(&queue, req.receipt_handle.as_deref())?;
        let now = self.now();
        let pending = {
            let mut state = queue.lock();
            self.advance(&queue, &mut state, now);
            let op =
                self.change_locked(&queue, &mut state, receipt, req.visibility_timeout, now)?;
            self.schedule(&queue, &mut state);
            self.inner.store.submit(vec![op])
        };
        Self::durable(pending).await
    }

    pub async fn change_message_visibility_batch(
        &self,
        req: ReceiptBatch,
    ) -> SqsResult<BatchResult<IdOnly>> {
        let queue = self.resolve(req.queue_url.as_deref())?;
        let entries = req.entries.unwrap_or_default();
        validate::batch_ids(
            "ChangeMessageVisibilityBatchRequestEntry",
            entries.iter().map(|e| e.id.as_deref()),
        )?;
        let now = self.now();
        let mut failed = Vec::new();
        let mut successful = Vec::new();
        let mut ops = Vec::new();
        let pending = {
            let mut state = queue.lock();
            self.advance(&queue, &mut state, now);
            for entry in &entries {
                let id = entry.id.clone().unwrap_or_default();
                let result = Self::receipt(&queue, entry.receipt_handle.as_deref()).and_then(|r| {
                    self.change_locked(&queue, &mut state, r, entry.visibility_timeout, now)
                });
                match result {
                    Ok(op) => {
                        ops.push(op);
                        successful.push(IdOnly { id });
                    }
                    Err(e) => failed.push(BatchResultErrorEntry::new(&id, &e)),
                }
            }
            self.schedule(&queue, &mut state);
            self.inner.store.submit(ops)
        };
        Self::durable(pending).await?;
        Ok(BatchResult { successful, failed })
    }

    // ---- Tags, permissions, dead-letter sources ------------------------------

    async fn update_record(
        &self,
        queue: &Queue,
        change: impl FnOnce(&mut QueueRecord) -> SqsResult<()>,
    ) -> SqsResult<()> {
        let pending = {
            let mut state = queue.lock();
            let mut record = state.record.clone();
            change(&mut record)?;
            state.record = record;
            self.inner.store.submit(vec![Op::PutResource {
                id: queue.id,
                record: encode(&state.record),
            }])
        };
        Self::durable(pending).await
    }

    pub async fn tag_queue(&self, req: TagQueue) -> SqsResult<()> {
        let queue = self.resolve(req.queue_url.as_deref())?;
        let tags = req.tags.unwrap_or_default();
        if tags.is_empty() {
            return Err(SqsError::missing("Tags"));
        }
        self.update_record(&queue, |record| {
            let new = tags
                .keys()
                .filter(|k| !record.tags.contains_key(*k))
                .count();
            validate_tags(&tags, record.tags.len() + new - tags.len())?;
            record.tags.extend(tags);
            Ok(())
        })
        .await
    }

    pub async fn untag_queue(&self, req: UntagQueue) -> SqsResult<()> {
        let queue = self.resolve(req.queue_url.as_deref())?;
        let keys = req.tag_keys.unwrap_or_default();
        if keys.is_empty() {
            return Err(SqsError::missing("TagKeys"));
        }
        self.update_record(&queue, |record| {
            for key in &keys {
                record.tags.remove(key);
            }
            Ok(())
        })
        .await
    }

    pub fn list_queue_tags(&self, req: QueueUrlOnly) -> SqsResult<TagsResult> {
        let queue = self.resolve(req.queue_url.as_deref())?;
        let tags = queue.lock().record.tags.clone();
        Ok(TagsResult { tags })
    }

    pub fn list_dead_letter_source_queues(
        &self,
        ctx: &Ctx,
        req: ListDeadLetterSourceQueues,
    ) -> SqsResult<DeadLetterSourcesResult> {
        let queue = self.resolve(req.queue_url.as_deref())?;
        let limit = page_limit(req.max_results)?;
        let after = req.next_token.as_deref().and_then(decode_token);
        let queues: Vec<Arc<Queue>> = self.all_queues();
        let sources: Vec<String> = queues
            .iter()
            .filter(|q| after.as_ref().is_none_or(|a| q.name.as_str() > a.as_str()))
            .filter(|q| {
                q.lock()
                    .record
                    .settings
                    .redrive_policy
                    .as_ref()
                    .is_some_and(|r| r.dead_letter_target_arn == queue.arn)
            })
            .map(|q| q.name.clone())
            .collect();
        let take = limit.unwrap_or(1000);
        let next_token =
            (limit.is_some() && sources.len() > take).then(|| encode_token(&sources[take - 1]));
        Ok(DeadLetterSourcesResult {
            queue_urls: sources
                .iter()
                .take(take)
                .map(|n| self.queue_url(ctx, n))
                .collect(),
            next_token,
        })
    }

    pub async fn add_permission(&self, req: AddPermission) -> SqsResult<()> {
        let queue = self.resolve(req.queue_url.as_deref())?;
        let label = req
            .label
            .filter(|l| !l.is_empty())
            .ok_or_else(|| SqsError::missing("Label"))?;
        if label.len() > 80
            || !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(SqsError::invalid_value(
                "Label",
                &label,
                "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length.",
            ));
        }
        let accounts = req
            .aws_account_ids
            .filter(|a| !a.is_empty())
            .ok_or_else(|| SqsError::missing("AWSAccountIds"))?;
        let actions = req
            .actions
            .filter(|a| !a.is_empty())
            .ok_or_else(|| SqsError::missing("Actions"))?;
        const ALLOWED: [&str; 9] = [
            "*",
            "SendMessage",
            "ReceiveMessage",
            "DeleteMessage",
            "ChangeMessageVisibility",
            "GetQueueAttributes",
            "GetQueueUrl",
            "ListDeadLetterSourceQueues",
            "PurgeQueue",
        ];
        for action in &actions {
            if !ALLOWED.contains(&action.as_str()) {
                return Err(SqsError::invalid_value(
                    "ActionName.1",
                    action,
                    "Please refer to the appropriate WSDL for a list of valid actions.",
                ));
            }
        }
        let arn = queue.arn.clone();
        self.update_record(&queue, move |record| {
            let mut policy: serde_json::Value = record
                .settings
                .policy
                .as_deref()
                .and_then(|p| serde_json::from_str(p).ok())
                .unwrap_or_else(|| serde_json::json!({"Version": "2012-10-17", "Id": format!("{arn}/SQSDefaultPolicy"), "Statement": []}));
            let statements = policy
                .get_mut("Statement")
                .and_then(|s| s.as_array_mut())
                .ok_or_else(|| SqsError::invalid_parameter("The queue's Policy has no Statement list."))?;
            if statements.iter().any(|s| s.get("Sid").and_then(|v| v.as_str()) == Some(label.as_str())) {
                return Err(SqsError::invalid_value("Label", &label, "Already exists."));
            }
            statements.push(serde_json::json!({
                "Sid": label,
                "Effect": "Allow",
                "Principal": {"AWS": accounts.iter().map(|a| format!("arn:aws:iam::{a}:root")).collect::<Vec<_>>()},
                "Action": actions.iter().map(|a| format!("SQS:{a}")).collect::<Vec<_>>(),
                "Resource": arn,
            }));
            record.settings.policy = Some(policy.to_string());
            Ok(())
        })
        .await
    }

    pub async fn remove_permission(&self, req: RemovePermission) -> SqsResult<()> {
        let queue = self.resolve(req.queue_url.as_deref())?;
        let label = req
            .label
            .filter(|l| !l.is_empty())
            .ok_or_else(|| SqsError::missing("Label"))?;
        self.update_record(&queue, move |record| {
            let not_found =
                || SqsError::invalid_value("Label", &label, "can't find label on existing policy.");
            let mut policy: serde_json::Value = record
                .settings
                .policy
                .as_deref()
                .and_then(|p| serde_json::from_str(p).ok())
                .ok_or_else(not_found)?;
            let statements = policy
                .get_mut("Statement")
                .and_then(|s| s.as_array_mut())
                .ok_or_else(not_found)?;
            let before = statements.len();
            statements.retain(|s| s.get("Sid").and_then(|v| v.as_str()) != Some(label.as_str()));
            if statements.len() == before {
                return Err(not_found());
            }
            record.settings.policy = if statements.is_empty() {
                None
            } else {
                Some(policy.to_string())
            };
            Ok(())
        })
        .await
    }

    // ---- Message move tasks ----------------------------------------------------

    pub fn start_message_move_task(
        &self,
        req: StartMessageMoveTask,
    ) -> SqsResult<TaskHandleResult> {
        let source_arn = req
            .source_arn
            .filter(|s| !s.is_empty())
            .ok_or_else(|| SqsError::missing("SourceArn"))?;
        let source = self.queue_by_arn(&source_arn).ok_or_else(|| {
            SqsError::new(
                ErrorKind::ResourceNotFoundException,
                "The resource that you specified for the SourceArn parameter doesn't exist.",
            )
        })?;
        let queues: Vec<Arc<Queue>> = self.all_queues();
        let is_dlq = queues.iter().any(|q| {
            q.lock()
                .record
                .settings
                .redrive_policy
                .as_ref()
                .is_some_and(|r| r.dead_letter_target_arn == source_arn)
        });
        if !is_dlq {
            return Err(SqsError::invalid_parameter(
                "Source queue must be configured as a Dead Letter Queue.",
            ));
        }
        if let Some(dest) = &req.destination_arn {
            let target = self.queue_by_arn(dest).ok_or_else(|| {
                SqsError::new(ErrorKind::ResourceNotFoundException, "The resource that you specified for the DestinationArn parameter doesn't exist.")
            })?;
            if target.id == source.id {
                return Err(SqsError::invalid_parameter(
                    "Source and destination queues must be different.",
                ));
            }
        }
        if let Some(rate) = req.max_number_of_messages_per_second
            && !(1..=500).contains(&rate)
        {
            return Err(SqsError::invalid_value(
                "MaxNumberOfMessagesPerSecond",
                rate,
                "Must be between 1 and 500.",
            ));
        }
        let mut tasks = self
            .inner
            .move_tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if tasks.iter().any(|t| {
            let t = t.lock().unwrap_or_else(|e| e.into_inner());
            t.source_arn == source_arn && t.status == "RUNNING"
        }) {
            return Err(SqsError::invalid_parameter(
                "There is already a task running. Only one active task is allowed for a source queue arn at a given time.",
            ));
        }
        let now = self.now();
        let handle = base64::engine::general_purpose::STANDARD.encode(
            serde_json::json!({"taskId": uuid::Uuid::new_v4().to_string(), "sourceArn": source_arn}).to_string(),
        );
        let to_move = source.lock().messages.counts().0 as u64;
        let task = Arc::new(Mutex::new(MoveTask {
            handle: handle.clone(),
            source_arn,
            destination_arn: req.destination_arn,
            rate: req.max_number_of_messages_per_second,
            status: "RUNNING",
            moved: 0,
            to_move,
            started_ms: now,
            failure: None,
        }));
        tasks.push(task.clone());
        drop(tasks);
        tokio::spawn(self.clone().run_move_task(source, task));
        Ok(TaskHandleResult {
            task_handle: handle,
        })
    }

    async fn run_move_task(self, source: Arc<Queue>, task: Arc<Mutex<MoveTask>>) {
        let (rate, destination) = {
            let t = task.lock().unwrap_or_else(|e| e.into_inner());
            (t.rate, t.destination_arn.clone())
        };
        let batch = rate.map_or(100, |r| r.clamp(1, 100) as usize);
        loop {
            {
                let t = task.lock().unwrap_or_else(|e| e.into_inner());
                if t.status != "RUNNING" || t.moved >= t.to_move {
                    break;
                }
            }
            let now = self.now();
            let taken: Vec<(u64, Arc<MessageRecord>)> = {
                let mut state = source.lock();
                self.advance(&source, &mut state, now);
                let seqs = state.messages.first_visible(batch);
                seqs.into_iter()
                    .filter_map(|seq| state.messages.remove(seq).map(|m| (seq, m.record)))
                    .collect()
            };
            if taken.is_empty() {
                break;
            }
            let count = taken.len() as u64;
            // Group by destination: the given one, or each message's original source.
            let mut by_dest: HashMap<String, Vec<(u64, MessageRecord)>> = HashMap::new();
            for (seq, record) in taken {
                let record = Arc::unwrap_or_clone(record);
                let dest = destination
                    .clone()
                    .or_else(|| record.extra().dead_letter_source.clone())
                    .unwrap_or_default();
                by_dest.entry(dest).or_default().push((seq, record));
            }
            for (dest, messages) in by_dest {
                match self.queue_by_arn(&dest) {
                    Some(target) => {
                        let messages = messages
                            .into_iter()
                            .map(|(seq, mut r)| {
                                r.extra_mut().dead_letter_source = None;
                                (seq, Arc::new(r))
                            })
                            .collect();
                        self.move_messages(&source, &target, messages, now, "message move task");
                    }
                    None => {
                        // Put them back and fail the task.
                        let mut state = source.lock();
                        for (seq, record) in messages {
                            state
                                .messages
                                .insert(seq, record, MessageState::default(), now);
                        }
                        drop(state);
                        let mut t = task.lock().unwrap_or_else(|e| e.into_inner());
                        t.status = "FAILED";
                        t.failure = Some("AWS.SimpleQueueService.NonExistentQueue".into());
                        return;
                    }
                }
            }
            {
                let mut t = task.lock().unwrap_or_else(|e| e.into_inner());
                t.moved += count;
            }
            if let Some(rate) = rate {
                let pause = count * 1000 / rate.max(1) as u64;
                self.inner.clock.sleep_until(self.now() + pause).await;
            } else {
                tokio::task::yield_now().await;
            }
        }
        let mut t = task.lock().unwrap_or_else(|e| e.into_inner());
        t.status = match t.status {
            "CANCELLING" => "CANCELLED",
            "RUNNING" => "COMPLETED",
            other => other,
        };
    }

    pub fn list_message_move_tasks(
        &self,
        req: ListMessageMoveTasks,
    ) -> SqsResult<ListMoveTasksResult> {
        let source_arn = req
            .source_arn
            .filter(|s| !s.is_empty())
            .ok_or_else(|| SqsError::missing("SourceArn"))?;
        if self.queue_by_arn(&source_arn).is_none() {
            return Err(SqsError::new(
                ErrorKind::ResourceNotFoundException,
                "The resource that you specified for the SourceArn parameter doesn't exist.",
            ));
        }
        let max = match req.max_results {
            None => 1,
            Some(n) if (1..=10).contains(&n) => n as usize,
            Some(n) => {
                return Err(SqsError::invalid_value(
                    "MaxResults",
                    n,
                    "Must be between 1 and 10.",
                ));
            }
        };
        let tasks = self
            .inner
            .move_tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let results = tasks
            .iter()
            .rev()
            .map(|t| t.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .filter(|t| t.source_arn == source_arn)
            .take(max)
            .map(|t| MoveTaskEntry {
                task_handle: (t.status == "RUNNING").then(|| t.handle.clone()),
                status: t.status.to_owned(),
                source_arn: t.source_arn,
                destination_arn: t.destination_arn,
                max_number_of_messages_per_second: t.rate,
                approximate_number_of_messages_moved: t.moved,
                approximate_number_of_messages_to_move: Some(t.to_move),
                failure_reason: t.failure,
                started_timestamp: t.started_ms,
            })
            .collect();
        Ok(ListMoveTasksResult { results })
    }

    pub fn cancel_message_move_task(
        &self,
        req: CancelMessageMoveTask,
    ) -> SqsResult<MovedCountResult> {
        let handle = req
            .task_handle
            .filter(|h| !h.is_empty())
            .ok_or_else(|| SqsError::missing("TaskHandle"))?;
        let tasks = self
            .inner
            .move_tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let task = tasks
            .iter()
            .find(|t| t.lock().unwrap_or_else(|e| e.into_inner()).handle == handle)
            .ok_or_else(|| {
                SqsError::new(ErrorKind::ResourceNotFoundException, "Task does not exist.")
            })?;
        let mut t = task.lock().unwrap_or_else(|e| e.into_inner());
        if t.status != "RUNNING" {
            return Err(SqsError::invalid_parameter(
                "Only active tasks can be cancelled.",
            ));
        }
        t.status = "CANCELLING";
        Ok(MovedCountResult {
            approximate_number_of_messages_moved: t.moved,
        })
    }

    // ---- For the console and admin routes --------------------------------------

    pub fn summaries(&self) -> Vec<QueueSummary> {
        let queues: Vec<Arc<Queue>> = self.all_queues();
        let now = self.now();
        queues
            .iter()
            .map(|q| {
                let mut state = q.lock();
                self.advance(q, &mut state, now);
                let (visible, in_flight, delayed) = state.messages.counts();
                QueueSummary {
                    name: q.name.clone(),
                    arn: q.arn.clone(),
                    visible,
                    in_flight,
                    delayed,
                    oldest_sent_ms: state.messages.oldest_sent_ms(),
                    sent_total: q.sent_total.load(Ordering::Relaxed),
                    removed_total: q.removed_total.load(Ordering::Relaxed),
                }
            })
            .collect()
    }

    /// The queue's messages without receiving them: nothing about them changes.
    pub fn peek(&self, name: &str, limit: usize) -> Option<Vec<PeekedMessage>> {
        let queue = self.queue_by_name(name)?;
        let now = self.now();
        let mut state = queue.lock();
        self.advance(&queue, &mut state, now);
        Some(
            state
                .messages
                .peek(limit)
                .into_iter()
                .map(|(_, record, st, phase, until)| PeekedMessage {
                    message_id: record.message_id.clone(),
                    body: record.body.clone(),
                    state: phase,
                    receive_count: st.receive_count,
                    sent_timestamp: record.sent_ms,
                    visible_at: (until > 0).then_some(until),
                    message_group_id: record.extra().group_id.clone(),
                    message_attributes: record.extra().attributes.clone(),
                })
                .collect(),
        )
    }
}

fn attribute_wanted(wanted: &[String], name: &str) -> bool {
    wanted.iter().any(|w| {
        w == "All"
            || w == ".*"
            || w == name
            || w.strip_suffix(".*")
                .is_some_and(|prefix| name.starts_with(&format!("{prefix}.")))
    })
}

fn validate_tags(tags: &BTreeMap<String, String>, existing: usize) -> SqsResult<()> {
    if tags.len() + existing > 50 {
        return Err(SqsError::invalid_parameter(
            "Too many tags added for queue. Maximum is 50.",
        ));
    }
    for (key, value) in tags {
        if key.is_empty() || key.len() > 128 {
            return Err(SqsError::invalid_parameter(format!(
                "Tag key {key:?} must be 1 to 128 characters."
            )));
        }
        if value.len() > 256 {
            return Err(SqsError::invalid_parameter(format!(
                "Tag value for {key:?} must be at most 256 characters."
            )));
        }
    }
    Ok(())
}

/// A listing's MaxResults: 1 to 1000 when given.
fn page_limit(max_results: Option<i64>) -> SqsResult<Option<usize>> {
    match max_results {
        None => Ok(None),
        Some(n) if (1..=1000).contains(&n) => Ok(Some(n as usize)),
        Some(n) => Err(SqsError::invalid_value(
            "MaxResults",
            n,
            "MaxResults must be an integer between 1 and 1000.",
        )),
    }
}

fn encode_token(name: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(name)
}

fn decode_token(token: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    String::from_utf8(bytes).ok()
}
