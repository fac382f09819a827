//! The write-ahead log in front of redb: what makes a group commit one write and
//! one `fdatasync`.
//!
//! Each group of batches becomes one frame appended to the current log segment and
//! synced before the group's requests are answered. A checkpointer thread then
//! applies the same ops to redb in large transactions (many groups per commit,
//! off the answer path) and records in redb the last group it applied. A segment
//! whose every frame is in redb is recycled: renamed and overwritten in place,
//! which spares the file system the block allocation (and its journal commit)
//! that appending to a new file costs on every sync. A new log starts in a
//! growing file, but zero-fills spares in the background as soon as it is in
//! real use and moves onto the first one ready: here a sync that extends a file
//! took twice the time and 1.6 times the CPU of one that overwrites (`fdatasync`
//! must also write the inode, as the size changed).
//!
//! At open, frames newer than redb's checkpoint are replayed into redb, so the
//! rest of the store only ever reads redb.
//!
//! A frame: `magic u32 | payload length u32 | group u64 | crc32 u32 | payload`,
//! little-endian, the CRC covering the group and the payload. Groups are
//! numbered consecutively; replay takes frames in order and stops at the first
//! one that is torn, fails its CRC or does not carry the next group number
//! (stale frames left in a recycled segment carry older numbers).

use std::collections::{HashSet, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::redb_backend::RedbBackend;
use super::{Backend, Loaded, Op};

const MAGIC: u32 = 0x4C57_584E; // "NXWL"
const HEADER: usize = 20;
/// A segment's size; a frame larger than a segment gets a segment of its own.
const SEGMENT_BYTES: u64 = 16 * 1024 * 1024;
/// Zero-filled or recycled segments kept ready.
const SPARES: usize = 2;
/// Redb is committed at most this often (each commit costs syncs and page writes).
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);
/// Groups waiting for the checkpointer before the log writer waits for it.
const CHECKPOINT_BACKLOG: usize = 4096;
/// Bytes a new log writes into its growing first segment before spares are
/// zero-filled (so that a short-lived instance, a test's, writes no zeros).
const PREFILL_AFTER: u64 = 1024 * 1024;

/// How the log is laid out; tests shrink it.
#[derive(Debug, Clone, Copy)]
pub struct WalOptions {
    pub segment_bytes: u64,
    pub checkpoint_interval: Duration,
    /// Whether spare segments are zero-filled in the background once a new log
    /// is in real use (1 MiB, or a quarter of its first segment, written).
    pub prefill_spares: bool,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_bytes: SEGMENT_BYTES,
            checkpoint_interval: CHECKPOINT_INTERVAL,
            prefill_spares: true,
        }
    }
}

/// A redb database with a write-ahead log in `<name>.wal/` beside it.
pub struct WalBackend {
    dir: PathBuf,
    options: WalOptions,
    /// The database until the checkpointer takes it over.
    redb: Option<RedbBackend>,
    checkpointer: Option<Checkpointer>,
    current: Segment,
    /// Full segments, oldest first, waiting for their frames to reach redb.
    closed: VecDeque<Segment>,
    spares: Arc<Mutex<Vec<PathBuf>>>,
    next_spare: Arc<AtomicU64>,
    next_group: u64,
    frame: Vec<u8>,
    /// Segments reused so far.
    recycled: u64,
    prefilling: bool,
}

struct Segment {
    path: PathBuf,
    file: File,
    len: u64,
    last_group: u64,
    /// Whether the file already has its full size (a spare): a sync then only
    /// overwrites allocated blocks.
    allocated: bool,
}

struct Checkpointer {
    groups: mpsc::SyncSender<(u64, Vec<Op>)>,
    /// The last group redb holds.
    done: Arc<AtomicU64>,
    stop: Arc<Stop>,
    thread: JoinHandle<()>,
}

/// How the log tells its checkpointer to stop sleeping through its interval. A
/// flag under a mutex with a condition variable, not `Thread::unpark`: the
/// channel's blocking receive parks the same thread, and an unpark that lands
/// while the channel is waking it is merged into that wake-up and lost.
#[derive(Default)]
struct Stop {
    state: Mutex<StopState>,
    wake: Condvar,
}

#[derive(Default)]
struct StopState {
    /// The log is closing: checkpoint what is left now, then end.
    closing: bool,
    /// End without a last checkpoint (tests: a crash).
    halt: bool,
}

impl Stop {
    fn set(&self, halt: bool) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.closing = true;
        state.halt |= halt;
        self.wake.notify_all();
    }

    fn halted(&self) -> bool {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).halt
    }

    /// Sleeps for `wait` or until the log closes.
    fn sleep(&self, wait: Duration) {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let _ = self.wake.wait_timeout_while(state, wait, |s| !s.closing);
    }
}

/// Drops the changes that a later op of the same batch undoes: an item's record
/// or state followed by the item's deletion (or a clear of its owner) need never
/// reach redb. A message received and deleted soon after it was sent costs redb
/// nothing. The deletions stay: the item may be older than the batch.
fn drop_undone(batch: &mut Vec<Op>) {
    let undoes = |op: &Op| {
        matches!(
            op,
            Op::DeleteItem { .. } | Op::ClearItems { .. } | Op::DeleteResource { .. }
        )
    };
    if !batch.iter().any(undoes) {
        return;
    }
    let mut deleted: HashSet<(u64, u64)> = HashSet::new();
    let mut cleared: HashSet<u64> = HashSet::new();
    let mut keep = vec![true; batch.len()];
    for (i, op) in batch.iter().enumerate().rev() {
        match op {
            Op::DeleteItem { owner, key } => {
                deleted.insert((*owner, *key));
            }
            Op::ClearItems { owner } | Op::DeleteResource { id: owner } => {
                cleared.insert(*owner);
            }
            Op::PutItem { owner, key, .. } | Op::PutItemState { owner, key, .. } => {
                keep[i] = !cleared.contains(owner) && !deleted.contains(&(*owner, *key));
            }
            Op::PutResource { .. } => {}
        }
    }
    let mut i = 0;
    batch.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

/// The checkpointer: gathers the groups the log writer synced, and applies them
/// to redb at most once per `interval`, recording the last group applied.
///
/// It sleeps through the interval and then takes every group waiting at once,
/// rather than waking for each group the writer sends: a wake-up costs a
/// context switch, and the writer may send a few thousand groups a second.
fn checkpoint_loop(
    mut redb: RedbBackend,
    groups: mpsc::Receiver<(u64, Vec<Op>)>,
    done: &AtomicU64,
    interval: Duration,
    stop: &Stop,
) {
    let mut last_commit = Instant::now();
    // Ops not yet in redb, including any whose commit failed: those are retried,
    // never skipped (a checkpoint must not claim groups redb does not hold).
    let mut batch: Vec<Op> = Vec::new();
    let mut last = done.load(Ordering::Acquire);
    loop {
        let mut closing = false;
        if batch.is_empty() {
            match groups.recv() {
                Ok((group, ops)) => {
                    last = group;
                    batch.extend(ops);
                }
                Err(_) => closing = true,
            }
        }
        if !closing {
            // Woken early when the log closes.
            let wait = (last_commit + interval).saturating_duration_since(Instant::now());
            if !wait.is_zero() {
                stop.sleep(wait);
            }
            loop {
                match groups.try_recv() {
                    Ok((group, ops)) => {
                        last = group;
                        batch.extend(ops);
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => {
                        closing = true;
                        break;
                    }
                }
            }
        }
        if stop.halted() {
            return;
        }
        drop_undone(&mut batch);
        if !batch.is_empty() || last > done.load(Ordering::Acquire) {
            match redb.write_through(&batch, last) {
                Ok(()) => {
                    done.store(last, Ordering::Release);
                    batch.clear();
                }
                // The frames stay in the log (their segments are not recycled),
                // so a crash now still replays them.
                Err(err) => tracing::error!(%err, "checkpoint into redb failed; will retry"),
            }
        }
        last_commit = Instant::now();
        if closing {
            return;
        }
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn segment_name(first_group: u64) -> String {
    format!("{first_group:020}.log")
}

impl WalBackend {
    /// Opens `<name>.redb` and `<name>.wal/` in `dir`, replaying into redb every
    /// frame it has not yet applied.
    pub fn open(dir: &Path, name: &str, options: WalOptions) -> io::Result<WalBackend> {
        let mut redb = RedbBackend::open(&dir.join(format!("{name}.redb")))?;
        let wal_dir = dir.join(format!("{name}.wal"));
        fs::create_dir_all(&wal_dir)?;
        let checkpoint = redb.checkpoint()?;
        let replay = replay(&wal_dir, checkpoint)?;
        if !replay.ops.is_empty() {
            tracing::info!(
                frames = replay.frames,
                ops = replay.ops.len(),
                "replaying the write-ahead log"
            );
            redb.write_through(&replay.ops, replay.last_applied)?;
        }
        // Everything is in redb now: every segment can be reused.
        let mut files = Vec::new();
        for entry in fs::read_dir(&wal_dir)? {
            let path = entry?.path();
            if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                files.push((name.to_owned(), path));
            }
        }
        let mut next_spare = files
            .iter()
            .filter_map(|(name, _)| {
                let n = name.strip_prefix("spare-")?.strip_suffix(".log")?;
                n.parse::<u64>().ok().map(|n| n + 1)
            })
            .max()
            .unwrap_or(0);
        let mut spares = Vec::new();
        for (name, path) in files {
            let full = fs::metadata(&path)?.len() >= options.segment_bytes;
            if !name.ends_with(".log") || !full || spares.len() >= SPARES {
                // Partial files (a new log's first segments, a fill cut short) go.
                fs::remove_file(&path)?;
                continue;
            }
            if name.starts_with("spare-") {
                spares.push(path);
            } else {
                let spare = wal_dir.join(format!("spare-{next_spare}.log"));
                next_spare += 1;
                fs::rename(&path, &spare)?;
                spares.push(spare);
            }
        }
        sync_dir(&wal_dir)?;
        let next_group = replay.max_seen.max(checkpoint) + 1;
        let spares = Arc::new(Mutex::new(spares));
        let next_spare = Arc::new(AtomicU64::new(next_spare));
        let current = Self::take_segment(&wal_dir, &spares, next_group)?;
        Ok(WalBackend {
            dir: wal_dir,
            options,
            redb: Some(redb),
            checkpointer: None,
            current,
            closed: VecDeque::new(),
            spares,
            next_spare,
            next_group,
            frame: Vec::new(),
            recycled: 0,
            prefilling: false,
        })
    }

    /// A segment for frames from `first_group` on: a spare renamed, else a new file.
    fn take_segment(
        dir: &Path,
        spares: &Mutex<Vec<PathBuf>>,
        first_group: u64,
    ) -> io::Result<Segment> {
        let path = dir.join(segment_name(first_group));
        let spare = spares.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let allocated = spare.is_some();
        let file = match spare {
            Some(spare) => {
                fs::rename(&spare, &path)?;
                OpenOptions::new().read(true).write(true).open(&path)?
            }
            None => OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)?,
        };
        // The name must be durable before a frame in it is acknowledged.
        sync_dir(dir)?;
        Ok(Segment {
            path,
            file,
            len: 0,
            last_group: first_group.saturating_sub(1),
            allocated,
        })
    }

    /// Zero-fills spare segments in the background, so that even a new log's
    /// syncs overwrite allocated blocks.
    fn prefill(
        dir: &Path,
        spares: &Arc<Mutex<Vec<PathBuf>>>,
        next_spare: &Arc<AtomicU64>,
        bytes: u64,
    ) {
        let have = spares.lock().unwrap_or_else(|e| e.into_inner()).len();
        if have >= SPARES {
            return;
        }
        let (dir, spares, next_spare) = (dir.to_owned(), spares.clone(), next_spare.clone());
        let spawned = std::thread::Builder::new()
            .name("wal-prefill".into())
            .spawn(move || {
                for _ in have..SPARES {
                    let n = next_spare.fetch_add(1, Ordering::Relaxed);
                    let path = dir.join(format!("spare-{n}.log"));
                    let filled = (|| -> io::Result<()> {
                        let file = File::create(&path)?;
                        let zeros = vec![0u8; 1 << 20];
                        let mut at = 0;
                        while at < bytes {
                            let n = zeros.len().min((bytes - at) as usize);
                            file.write_all_at(&zeros[..n], at)?;
                            at += n as u64;
                        }
                        file.sync_all()?;
                        sync_dir(&dir)
                    })();
                    match filled {
                        Ok(()) => spares.lock().unwrap_or_else(|e| e.into_inner()).push(path),
                        Err(err) => {
                            tracing::warn!(%err, "cannot prepare a spare log segment");
                            let _ = fs::remove_file(&path);
                            return;
                        }
                    }
                }
            });
        if let Err(err) = spawned {
            tracing::warn!(%err, "cannot start the log segment filler");
        }
    }

    fn start_checkpointer(&mut self) -> io::Result<()> {
        let Some(redb) = self.redb.take() else {
            return Ok(());
        };
        let (groups, rx) = mpsc::sync_channel::<(u64, Vec<Op>)>(CHECKPOINT_BACKLOG);
        let done = Arc::new(AtomicU64::new(self.next_group - 1));
        let interval = self.options.checkpoint_interval;
        let done_by_thread = done.clone();
        let stop = Arc::new(Stop::default());
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("store-checkpoint".into())
            .spawn(move || checkpoint_loop(redb, rx, &done_by_thread, interval, &stopped))?;
        self.checkpointer = Some(Checkpointer {
            groups,
            done,
            stop,
            thread,
        });
        Ok(())
    }

    /// Moves to a new segment, recycling the full ones redb already holds.
    fn rotate(&mut self) -> io::Result<()> {
        let checkpointed = self
            .checkpointer
            .as_ref()
            .map_or(0, |c| c.done.load(Ordering::Acquire));
        let next = Self::take_segment(&self.dir, &self.spares, self.next_group)?;
        let full = std::mem::replace(&mut self.current, next);
        self.closed.push_back(full);
        while self
            .closed
            .front()
            .is_some_and(|s| s.last_group <= checkpointed)
        {
            let Some(old) = self.closed.pop_front() else {
                break;
            };
            let size = old.file.metadata()?.len();
            let mut spares = self.spares.lock().unwrap_or_else(|e| e.into_inner());
            if spares.len() < SPARES && size >= self.options.segment_bytes {
                let n = self.next_spare.fetch_add(1, Ordering::Relaxed);
                let spare = self.dir.join(format!("spare-{n}.log"));
                fs::rename(&old.path, &spare)?;
                spares.push(spare);
                self.recycled += 1;
            } else {
                fs::remove_file(&old.path)?;
            }
        }
        Ok(())
    }
}

impl Backend for WalBackend {
    fn write(&mut self, ops: Vec<Op>) -> io::Result<()> {
        if self.checkpointer.is_none() {
            self.start_checkpointer()?;
        }
        let group = self.next_group;
        self.frame.clear();
        encode_frame(&mut self.frame, group, &ops);
        let fits = self.current.len + self.frame.len() as u64 <= self.options.segment_bytes;
        // A growing segment is left as soon as a spare is ready.
        let spare_ready = !self.current.allocated
            && !self
                .spares
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_empty();
        if (!fits || spare_ready) && self.current.len > 0 {
            self.rotate()?;
        }
        let at = self.current.len;
        self.current.file.write_all_at(&self.frame, at)?;
        self.current.file.sync_data()?;
        self.current.len += self.frame.len() as u64;
        self.current.last_group = group;
        if self.options.prefill_spares
            && !self.prefilling
            && !self.current.allocated
            && self.current.len >= PREFILL_AFTER.min(self.options.segment_bytes / 4)
        {
            self.prefilling = true;
            Self::prefill(
                &self.dir,
                &self.spares,
                &self.next_spare,
                self.options.segment_bytes,
            );
        }
        self.next_group += 1;
        if let Some(checkpointer) = &self.checkpointer
            && checkpointer.groups.send((group, ops)).is_err()
        {
            return Err(io::Error::other("the checkpointer has stopped"));
        }
        Ok(())
    }

    fn load(&mut self) -> io::Result<Loaded> {
        match &mut self.redb {
            Some(redb) => redb.load(),
            None => Err(io::Error::other("the store is already running")),
        }
    }
}

impl WalBackend {
    /// Stops the checkpointer and waits for it: with `halt`, at once (a crash);
    /// otherwise after it has checkpointed what is left.
    fn stop_checkpointer(&mut self, halt: bool) {
        if let Some(Checkpointer {
            groups,
            stop,
            thread,
            ..
        }) = self.checkpointer.take()
        {
            // The flag first: a checkpointer woken by the closed channel must
            // already see whether it is to halt.
            stop.set(halt);
            drop(groups);
            let _ = thread.join();
        }
    }

    /// Stops as `kill -9` would: what is in the log stays there, nothing more
    /// reaches redb.
    #[cfg(test)]
    fn crash(mut self) {
        self.stop_checkpointer(true);
    }
}

impl Drop for WalBackend {
    fn drop(&mut self) {
        self.stop_checkpointer(false);
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Appends one frame holding `ops` to `out`.
fn encode_frame(out: &mut Vec<u8>, group: u64, ops: &[Op]) {
    let start = out.len();
    out.extend_from_slice(&[0u8; HEADER]);
    for op in ops {
        match op {
            Op::PutResource { id, record } => {
                out.push(1);
                out.extend_from_slice(&id.to_le_bytes());
                put_bytes(out, record);
            }
            Op::DeleteResource { id } => {
                out.push(2);
                out.extend_from_slice(&id.to_le_bytes());
            }
            Op::PutItem { owner, key, record } => {
                out.push(3);
                out.extend_from_slice(&owner.to_le_bytes());
                out.extend_from_slice(&key.to_le_bytes());
                put_bytes(out, record);
            }
            Op::PutItemState { owner, key, state } => {
                out.push(4);
                out.extend_from_slice(&owner.to_le_bytes());
                out.extend_from_slice(&key.to_le_bytes());
                put_bytes(out, state);
            }
            Op::DeleteItem { owner, key } => {
                out.push(5);
                out.extend_from_slice(&owner.to_le_bytes());
                out.extend_from_slice(&key.to_le_bytes());
            }
            Op::ClearItems { owner } => {
                out.push(6);
                out.extend_from_slice(&owner.to_le_bytes());
            }
        }
    }
    let payload_len = (out.len() - start - HEADER) as u32;
    let mut crc = crc32fast::Hasher::new();
    crc.update(&group.to_le_bytes());
    crc.update(&out[start + HEADER..]);
    let header = &mut out[start..start + HEADER];
    header[0..4].copy_from_slice(&MAGIC.to_le_bytes());
    header[4..8].copy_from_slice(&payload_len.to_le_bytes());
    header[8..16].copy_from_slice(&group.to_le_bytes());
    header[16..20].copy_from_slice(&crc.finalize().to_le_bytes());
}

/// Reads a payload's ops; `None` if it is malformed.
fn decode_ops(mut p: &[u8], ops: &mut Vec<Op>) -> Option<()> {
    fn u64_(p: &mut &[u8]) -> Option<u64> {
        let (head, rest) = p.split_first_chunk::<8>()?;
        *p = rest;
        Some(u64::from_le_bytes(*head))
    }
    fn bytes(p: &mut &[u8]) -> Option<Vec<u8>> {
        let (head, rest) = p.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*head) as usize;
        if rest.len() < len {
            return None;
        }
        let (value, rest) = rest.split_at(len);
        *p = rest;
        Some(value.to_vec())
    }
    while let Some((&tag, rest)) = p.split_first() {
        p = rest;
        let op = match tag {
            1 => Op::PutResource {
                id: u64_(&mut p)?,
                record: bytes(&mut p)?,
            },
            2 => Op::DeleteResource { id: u64_(&mut p)? },
            3 => Op::PutItem {
                owner: u64_(&mut p)?,
                key: u64_(&mut p)?,
                record: bytes(&mut p)?,
            },
            4 => Op::PutItemState {
                owner: u64_(&mut p)?,
                key: u64_(&mut p)?,
                state: bytes(&mut p)?,
            },
            5 => Op::DeleteItem {
                owner: u64_(&mut p)?,
                key: u64_(&mut p)?,
            },
            6 => Op::ClearItems {
                owner: u64_(&mut p)?,
            },
            _ => return None,
        };
        ops.push(op);
    }
    Some(())
}

/// What a log holds beyond a checkpoint.
#[derive(Debug, Default)]
struct Replay {
    ops: Vec<Op>,
    frames: usize,
    /// The last group applied (the checkpoint if none).
    last_applied: u64,
    /// The highest group number of any intact frame, applied or not: new groups
    /// must be numbered past every frame a recycled segment may still hold.
    max_seen: u64,
}

/// Reads the frames after `checkpoint`, in order, from the segments in `dir`.
fn replay(dir: &Path, checkpoint: u64) -> io::Result<Replay> {
    let mut segments: Vec<(u64, PathBuf)> = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if let Some(first) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".log"))
            .and_then(|n| n.parse::<u64>().ok())
        {
            segments.push((first, path));
        }
    }
    segments.sort();
    let mut out = Replay {
        last_applied: checkpoint,
        max_seen: checkpoint,
        ..Replay::default()
    };
    let mut ended = false;
    let mut data = Vec::new();
    for (_, path) in segments {
        data.clear();
        File::open(&path)?.read_to_end(&mut data)?;
        let mut at = 0usize;
        while let Some(header) = data.get(at..at + HEADER) {
            let word = |i: usize| {
                u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]])
            };
            if word(0) != MAGIC {
                break;
            }
            let len = word(4) as usize;
            let mut group_bytes = [0u8; 8];
            group_bytes.copy_from_slice(&header[8..16]);
            let group = u64::from_le_bytes(group_bytes);
            let Some(payload) = data.get(at + HEADER..at + HEADER + len) else {
                break;
            };
            let mut crc = crc32fast::Hasher::new();
            crc.update(&group_bytes);
            crc.update(payload);
            if crc.finalize() != word(16) {
                break;
            }
            out.max_seen = out.max_seen.max(group);
            at += HEADER + len;
            if ended || group <= out.last_applied {
                continue;
            }
            if group != out.last_applied + 1 {
                tracing::error!(
                    expected = out.last_applied + 1,
                    found = group,
                    segment = %path.display(),
                    "a gap in the write-ahead log: replay stops here"
                );
                ended = true;
                continue;
            }
            if decode_ops(payload, &mut out.ops).is_none() {
                tracing::error!(group, "an unreadable log frame: replay stops here");
                ended = true;
                continue;
            }
            out.last_applied = group;
            out.frames += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> WalOptions {
        WalOptions {
            segment_bytes: 4096,
            checkpoint_interval: Duration::from_millis(1),
            prefill_spares: false,
        }
    }

    fn item(owner: u64, key: u64, body: &str) -> Op {
        Op::PutItem {
            owner,
            key,
            record: body.as_bytes().to_vec(),
        }
    }

    fn add_queue(wal: &mut WalBackend) {
        let queue = Op::PutResource {
            id: 1,
            record: b"q".to_vec(),
        };
        wal.write(vec![queue]).unwrap();
    }

    fn keys(loaded: &Loaded) -> Vec<u64> {
        loaded.items.iter().map(|i| i.1).collect()
    }

    #[test]
    fn changes_undone_later_in_a_batch_are_dropped() {
        let state = |key| Op::PutItemState {
            owner: 1,
            key,
            state: b"s".to_vec(),
        };
        let mut batch = vec![
            item(1, 1, "gone"),
            state(1),
            item(1, 2, "stays"),
            item(2, 1, "cleared"),
            Op::DeleteItem { owner: 1, key: 1 },
            Op::ClearItems { owner: 2 },
            item(2, 2, "after the clear"),
            Op::DeleteItem { owner: 1, key: 9 },
            item(1, 1, "put again"),
        ];
        drop_undone(&mut batch);
        assert_eq!(
            batch,
            vec![
                item(1, 2, "stays"),
                Op::DeleteItem { owner: 1, key: 1 },
                Op::ClearItems { owner: 2 },
                item(2, 2, "after the clear"),
                Op::DeleteItem { owner: 1, key: 9 },
                item(1, 1, "put again"),
            ]
        );
        // And the outcome in redb is the same as applying everything.
        let dir = tempfile::tempdir().unwrap();
        let mut wal = WalBackend::open(dir.path(), "t", small()).unwrap();
        add_queue(&mut wal);
        wal.write(vec![
            item(1, 7, "sent"),
            Op::DeleteItem { owner: 1, key: 7 },
        ])
        .unwrap();
        wal.write(vec![item(1, 8, "kept")]).unwrap();
        drop(wal);
        let mut wal = WalBackend::open(dir.path(), "t", small()).unwrap();
        assert_eq!(keys(&wal.load().unwrap()), vec![8]);
    }

    #[test]
    fn frames_round_trip() {
        let ops = vec![
            Op::PutResource {
                id: 7,
                record: b"queue".to_vec(),
            },
            item(7, 1, "a"),
            Op::PutItemState {
                owner: 7,
                key: 1,
                state: b"s".to_vec(),
            },
            Op::DeleteItem { owner: 7, key: 1 },
            Op::ClearItems { owner: 7 },
            Op::DeleteResource { id: 7 },
        ];
        let mut frame = Vec::new();
        encode_frame(&mut frame, 42, &ops);
        let mut back = Vec::new();
        decode_ops(&frame[HEADER..], &mut back).unwrap();
        assert_eq!(back, ops);
        assert!(decode_ops(&frame[HEADER..frame.len() - 1], &mut Vec::new()).is_none());
    }

    /// A crash: the log is written and synced, the checkpointer never runs.
    #[test]
    fn acknowledged_groups_come_back_from_the_log_alone() {
        let dir = tempfile::tempdir().unwrap();
        let options = WalOptions {
            checkpoint_interval: Duration::from_secs(3600),
            ..small()
        };
        {
            let mut wal = WalBackend::open(dir.path(), "t", options).unwrap();
            add_queue(&mut wal);
            // Enough to fill several 4 KiB segments.
            for key in 0..200u64 {
                wal.write(vec![item(1, key, &"x".repeat(100))]).unwrap();
            }
            wal.write(vec![Op::DeleteItem { owner: 1, key: 3 }])
                .unwrap();
            // Simulate kill -9: nothing shuts down.
            wal.crash();
        }
        let mut wal = WalBackend::open(dir.path(), "t", options).unwrap();
        let loaded = wal.load().unwrap();
        assert_eq!(loaded.resources, vec![(1, b"q".to_vec())]);
        let expected: Vec<u64> = (0..200).filter(|k| *k != 3).collect();
        assert_eq!(keys(&loaded), expected);
        // Writing goes on after the replay, and survives another crash.
        wal.write(vec![item(1, 500, "after")]).unwrap();
        wal.crash();
        let mut wal = WalBackend::open(dir.path(), "t", options).unwrap();
        assert_eq!(keys(&wal.load().unwrap()).last(), Some(&500));
    }

    #[test]
    fn a_torn_tail_is_ignored_and_earlier_frames_kept() {
        let dir = tempfile::tempdir().unwrap();
        let options = WalOptions {
            checkpoint_interval: Duration::from_secs(3600),
            segment_bytes: 1 << 20,
            prefill_spares: false,
        };
        let segment;
        {
            let mut wal = WalBackend::open(dir.path(), "t", options).unwrap();
            add_queue(&mut wal);
            wal.write(vec![item(1, 1, "one")]).unwrap();
            wal.write(vec![item(1, 2, "two")]).unwrap();
            segment = wal.current.path.clone();
            wal.crash();
        }
        // The last frame loses its final byte, as a write cut by a crash would.
        let len = fs::metadata(&segment).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&segment)
            .unwrap()
            .set_len(len - 1)
            .unwrap();
        let mut wal = WalBackend::open(dir.path(), "t", options).unwrap();
        assert_eq!(keys(&wal.load().unwrap()), vec![1]);
        // A flipped bit fails the CRC the same way.
        wal.write(vec![item(1, 3, "three")]).unwrap();
        wal.write(vec![item(1, 4, "four")]).unwrap();
        let segment = wal.current.path.clone();
        wal.crash();
        let data = fs::read(&segment).unwrap();
        let first_len = HEADER + u32::from_le_bytes(data[4..8].try_into().unwrap()) as usize;
        let file = OpenOptions::new().write(true).open(&segment).unwrap();
        let flip = first_len + HEADER + 3;
        file.write_all_at(&[data[flip] ^ 1], flip as u64).unwrap();
        let mut wal = WalBackend::open(dir.path(), "t", options).unwrap();
        assert_eq!(keys(&wal.load().unwrap()), vec![1, 3]);
    }

    #[test]
    fn a_new_log_moves_off_its_growing_segment_once_a_spare_is_filled() {
        let dir = tempfile::tempdir().unwrap();
        let options = WalOptions {
            segment_bytes: 64 * 1024,
            prefill_spares: true,
            ..small()
        };
        let mut wal = WalBackend::open(dir.path(), "t", options).unwrap();
        add_queue(&mut wal);
        assert!(!wal.current.allocated, "a new log has no spare to start in");
        let first = wal.current.path.clone();
        // A quarter of a segment starts the filler; the next write after a spare
        // is ready moves to it, long before the first segment is full.
        let mut key = 0;
        let deadline = Instant::now() + Duration::from_secs(20);
        while !wal.current.allocated {
            assert!(Instant::now() < deadline, "never moved to a spare");
            wal.write(vec![item(1, key, &"z".repeat(100))]).unwrap();
            key += 1;
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_ne!(wal.current.path, first);
        assert!(fs::metadata(&first).unwrap().len() < options.segment_bytes);
        assert_eq!(
            fs::metadata(&wal.current.path).unwrap().len(),
            options.segment_bytes,
            "the spare was zero-filled to its full size"
        );
        // Everything written on either side of the move survives a crash.
        wal.crash();
        let mut wal = WalBackend::open(dir.path(), "t", options).unwrap();
        let expected: Vec<u64> = (0..key).collect();
        assert_eq!(keys(&wal.load().unwrap()), expected);
    }

    #[test]
    fn checkpoints_recycle_segments_and_stale_frames_never_replay() {
        let dir = tempfile::tempdir().unwrap();
        let options = WalOptions {
            prefill_spares: true,
            ..small()
        };
        {
            let mut wal = WalBackend::open(dir.path(), "t", options).unwrap();
            add_queue(&mut wal);
            for key in 0..300u64 {
                wal.write(vec![item(1, key, &"y".repeat(200))]).unwrap();
                if key % 50 == 0 {
                    // Let the checkpointer catch up so segments get recycled.
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            for key in 0..300u64 {
                wal.write(vec![Op::DeleteItem { owner: 1, key }]).unwrap();
            }
            wal.write(vec![item(1, 1000, "last")]).unwrap();
            assert!(wal.recycled > 0, "no segment was reused");
            let segments = fs::read_dir(&wal.dir).unwrap().count();
            // 600 frames of up to ~260 bytes in 4 KiB segments would be dozens.
            assert!(segments <= 2 + SPARES + 4, "{segments} segment files");
            wal.crash();
        }
        let mut wal = WalBackend::open(dir.path(), "t", options).unwrap();
        assert_eq!(keys(&wal.load().unwrap()), vec![1000]);
        drop(wal);
        // A clean close checkpoints everything.
        let mut wal = WalBackend::open(dir.path(), "t", options).unwrap();
        assert_eq!(keys(&wal.load().unwrap()), vec![1000]);
    }
}
