//! The redb backend: the store's state between runs, in one redb file.
//!
//! Items are kept in chunks, not one B-tree entry each: a transaction writes
//! the records it adds under one owner as a single value, so that ten thousand
//! queued messages cost one insert into redb instead of ten thousand (each of
//! which rewrote a leaf page). An item deleted or replaced later is marked dead
//! by a small key beside its chunk; a chunk goes once every item in it is dead,
//! and a chunk that is mostly dead is compacted (its live items are written
//! again into a new chunk and it goes). An index in memory, item to chunk, says
//! where each item is; it is read from the file at start, and read again after
//! a transaction fails, so it never claims what the file does not hold.
//!
//! Tables:
//! - `resources`: id → record.
//! - `item_chunks`: (owner, chunk) → records, each `key u64 | length u32 | bytes`.
//! - `dead_items`: (owner, chunk, key) → (), items of a chunk no longer alive.
//! - `item_states`: (owner, key) → an item's mutable part.
//! - `items`: (owner, key) → record, one entry an item, as earlier versions
//!   wrote them; still read, and removed from as those items go, never added to.
//! - `meta`: the last write-ahead-log group applied (see `wal`).

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::io;
use std::path::Path;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, Table, TableDefinition};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::{Backend, Loaded, Op};

const RESOURCES: TableDefinition<u64, &[u8]> = TableDefinition::new("resources");
const ITEMS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("items");
const CHUNKS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("item_chunks");
const DEAD: TableDefinition<(u64, u64, u64), ()> = TableDefinition::new("dead_items");
const STATES: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("item_states");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const CHECKPOINT: &str = "wal_checkpoint";

/// The location of an item stored in the `items` table (chunks count from 1).
const LEGACY: u64 = 0;
/// A chunk is closed at this size; more records of the same owner and
/// transaction go into the next one.
const CHUNK_BYTES: usize = 256 << 10;
/// Bytes of sparse chunks one transaction reads back to compact, at most.
const COMPACT_BYTES: usize = 16 << 20;
/// A record's header in a chunk: key and length.
const RECORD_HEADER: usize = 12;

fn io_err(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

/// redb's page cache.
const CACHE_BYTES: usize = 64 * 1024 * 1024;

/// A redb database file.
pub struct RedbBackend {
    db: Database,
    /// Where every item is; `None` until read (or after a failed transaction).
    index: Option<Index>,
}

/// (owner, chunk).
type ChunkId = (u64, u64);

/// Where each item is, and how alive each chunk is.
#[derive(Default)]
struct Index {
    /// (owner, key) → chunk, or [`LEGACY`].
    items: HashMap<(u64, u64), u64>,
    chunks: HashMap<ChunkId, Chunk>,
    /// Chunks with at most a quarter of their items alive.
    sparse: BTreeSet<ChunkId>,
    /// Chunks with no item alive.
    empty: Vec<ChunkId>,
    next_chunk: u64,
}

#[derive(Debug, Clone, Copy)]
struct Chunk {
    live: usize,
    total: usize,
    bytes: usize,
}

impl Index {
    fn add_chunk(&mut self, id: ChunkId, chunk: Chunk) {
        self.next_chunk = self.next_chunk.max(id.1 + 1);
        if chunk.live == 0 {
            self.empty.push(id);
        } else if chunk.live * 4 <= chunk.total {
            self.sparse.insert(id);
        }
        self.chunks.insert(id, chunk);
    }

    fn clear(&mut self, owner: u64) {
        self.items.retain(|&(o, _), _| o != owner);
        self.chunks.retain(|&(o, _), _| o != owner);
        self.sparse.retain(|&(o, _)| o != owner);
        self.empty.retain(|&(o, _)| o != owner);
    }
}

/// The tables a transaction changes.
struct Tables<'t> {
    resources: Table<'t, u64, &'static [u8]>,
    items: Table<'t, (u64, u64), &'static [u8]>,
    chunks: Table<'t, (u64, u64), &'static [u8]>,
    dead: Table<'t, (u64, u64, u64), ()>,
    states: Table<'t, (u64, u64), &'static [u8]>,
}

impl Tables<'_> {
    /// Marks the stored record of an item dead (deleted or replaced).
    fn kill(&mut self, owner: u64, key: u64, index: &mut Index) -> io::Result<()> {
        match index.items.remove(&(owner, key)) {
            None => {}
            Some(LEGACY) => {
                self.items.remove((owner, key)).map_err(io_err)?;
            }
            Some(chunk) => {
                self.dead.insert((owner, chunk, key), ()).map_err(io_err)?;
                if let Some(c) = index.chunks.get_mut(&(owner, chunk)) {
                    c.live = c.live.saturating_sub(1);
                    if c.live == 0 {
                        index.sparse.remove(&(owner, chunk));
                        index.empty.push((owner, chunk));
                    } else if c.live * 4 <= c.total {
                        index.sparse.insert((owner, chunk));
                    }
                }
            }
        }
        Ok(())
    }

    /// Removes every item of `owner`.
    fn clear(&mut self, owner: u64, index: &mut Index) -> io::Result<()> {
        index.clear(owner);
        let all = (owner, 0)..=(owner, u64::MAX);
        self.items
            .retain_in(all.clone(), |_, _| false)
            .map_err(io_err)?;
        self.chunks
            .retain_in(all.clone(), |_, _| false)
            .map_err(io_err)?;
        self.states.retain_in(all, |_, _| false).map_err(io_err)?;
        self.dead
            .retain_in((owner, 0, 0)..=(owner, u64::MAX, u64::MAX), |_, _| false)
            .map_err(io_err)
    }
}

/// Calls `each(key, record)` for every record of a chunk.
fn parse_chunk(mut blob: &[u8], mut each: impl FnMut(u64, &[u8])) -> io::Result<()> {
    while !blob.is_empty() {
        let bad = || io::Error::new(io::ErrorKind::InvalidData, "a malformed item chunk");
        let (key, rest) = blob.split_first_chunk::<8>().ok_or_else(bad)?;
        let (len, rest) = rest.split_first_chunk::<4>().ok_or_else(bad)?;
        let len = u32::from_le_bytes(*len) as usize;
        if rest.len() < len {
            return Err(bad());
        }
        let (record, rest) = rest.split_at(len);
        each(u64::from_le_bytes(*key), record);
        blob = rest;
    }
    Ok(())
}

impl RedbBackend {
    pub fn open(path: &Path) -> io::Result<Self> {
        // The engine reads the file only at start: a small page cache is enough
        // (redb's default of 1 GiB would mostly hold what memory already has).
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(|e| io::Error::other(format!("cannot open {}: {e}", path.display())))?;
        let txn = db.begin_write().map_err(io_err)?;
        {
            txn.open_table(RESOURCES).map_err(io_err)?;
            txn.open_table(ITEMS).map_err(io_err)?;
            txn.open_table(CHUNKS).map_err(io_err)?;
            txn.open_table(DEAD).map_err(io_err)?;
            txn.open_table(STATES).map_err(io_err)?;
            txn.open_table(META).map_err(io_err)?;
        }
        txn.commit().map_err(io_err)?;
        Ok(RedbBackend { db, index: None })
    }

    /// The last log group this database holds (0 for none).
    pub fn checkpoint(&self) -> io::Result<u64> {
        let txn = self.db.begin_read().map_err(io_err)?;
        let meta = txn.open_table(META).map_err(io_err)?;
        Ok(meta
            .get(CHECKPOINT)
            .map_err(io_err)?
            .map_or(0, |v| v.value()))
    }

    /// Applies `ops` and records `group` as the last log group held, durably.
    pub fn write_through(&mut self, ops: &[Op], group: u64) -> io::Result<()> {
        self.apply(ops, Some(group))
    }

    fn apply(&mut self, ops: &[Op], group: Option<u64>) -> io::Result<()> {
        let mut index = match self.index.take() {
            Some(index) => index,
            None => self.read(false)?.0,
        };
        let result = apply(&self.db, &mut index, ops, group);
        // After a failure the index may describe changes that were rolled
        // back: it is dropped, and read again from the file when next needed.
        if result.is_ok() {
            self.index = Some(index);
        }
        result
    }

    /// Reads the index and, with `records`, everything stored.
    fn read(&self, records: bool) -> io::Result<(Index, Loaded)> {
        let txn = self.db.begin_read().map_err(io_err)?;
        let mut index = Index {
            next_chunk: LEGACY + 1,
            ..Index::default()
        };
        let mut loaded = Loaded::default();
        if records {
            for entry in txn
                .open_table(RESOURCES)
                .map_err(io_err)?
                .iter()
                .map_err(io_err)?
            {
                let (k, v) = entry.map_err(io_err)?;
                loaded.resources.push((k.value(), v.value().to_vec()));
            }
        }
        let mut items: Vec<(u64, u64, Vec<u8>)> = Vec::new();
        for entry in txn
            .open_table(ITEMS)
            .map_err(io_err)?
            .iter()
            .map_err(io_err)?
        {
            let (k, v) = entry.map_err(io_err)?;
            let (owner, key) = k.value();
            index.items.insert((owner, key), LEGACY);
            if records {
                items.push((owner, key, v.value().to_vec()));
            }
        }
        let dead_table = txn.open_table(DEAD).map_err(io_err)?;
        for entry in txn
            .open_table(CHUNKS)
            .map_err(io_err)?
            .iter()
            .map_err(io_err)?
        {
            let (k, v) = entry.map_err(io_err)?;
            let (owner, chunk) = k.value();
            let mut dead = HashSet::default();
            for entry in dead_table
                .range((owner, chunk, 0)..=(owner, chunk, u64::MAX))
                .map_err(io_err)?
            {
                dead.insert(entry.map_err(io_err)?.0.value().2);
            }
            let blob = v.value();
            let mut info = Chunk {
                live: 0,
                total: 0,
                bytes: blob.len(),
            };
            parse_chunk(blob, |key, record| {
                info.total += 1;
                if !dead.contains(&key) {
                    info.live += 1;
                    index.items.insert((owner, key), chunk);
                    if records {
                        items.push((owner, key, record.to_vec()));
                    }
                }
            })?;
            index.add_chunk((owner, chunk), info);
        }
        if records {
            items.sort_unstable_by_key(|&(owner, key, _)| (owner, key));
            let states_table = txn.open_table(STATES).map_err(io_err)?;
            let mut states = states_table.iter().map_err(io_err)?.peekable();
            loaded.items.reserve(items.len());
            for (owner, key, record) in items {
                // Both are in key order: merge them.
                let mut state = None;
                while let Some(Ok((sk, _))) = states.peek() {
                    let skey = sk.value();
                    if skey < (owner, key) {
                        states.next();
                    } else {
                        if skey == (owner, key)
                            && let Some(Ok((_, sv))) = states.next()
                        {
                            state = Some(sv.value().to_vec());
                        }
                        break;
                    }
                }
                loaded.items.push((owner, key, record, state));
            }
        }
        Ok((index, loaded))
    }
}

/// One transaction: `ops` in order, then compaction, then the records added
/// written as chunks.
fn apply(db: &Database, index: &mut Index, ops: &[Op], group: Option<u64>) -> io::Result<()> {
    let mut txn = db.begin_write().map_err(io_err)?;
    txn.set_durability(Durability::Immediate).map_err(io_err)?;
    if let Some(group) = group {
        txn.open_table(META)
            .map_err(io_err)?
            .insert(CHECKPOINT, group)
            .map_err(io_err)?;
    }
    {
        let mut t = Tables {
            resources: txn.open_table(RESOURCES).map_err(io_err)?,
            items: txn.open_table(ITEMS).map_err(io_err)?,
            chunks: txn.open_table(CHUNKS).map_err(io_err)?,
            dead: txn.open_table(DEAD).map_err(io_err)?,
            states: txn.open_table(STATES).map_err(io_err)?,
        };
        // Records added by this transaction, not yet in any chunk.
        let mut added: HashMap<(u64, u64), Cow<'_, [u8]>> = HashMap::default();
        for op in ops {
            match op {
                Op::PutResource { id, record } => {
                    t.resources.insert(*id, record.as_slice()).map_err(io_err)?;
                }
                Op::DeleteResource { id } => {
                    t.resources.remove(*id).map_err(io_err)?;
                    added.retain(|&(o, _), _| o != *id);
                    t.clear(*id, index)?;
                }
                Op::ClearItems { owner } => {
                    added.retain(|&(o, _), _| o != *owner);
                    t.clear(*owner, index)?;
                }
                Op::PutItem { owner, key, record } => {
                    if added
                        .insert((*owner, *key), Cow::Borrowed(record.as_slice()))
                        .is_none()
                    {
                        t.kill(*owner, *key, index)?;
                    }
                }
                Op::PutItemState { owner, key, state } => {
                    // A state for an item already deleted is dropped.
                    if added.contains_key(&(*owner, *key))
                        || index.items.contains_key(&(*owner, *key))
                    {
                        t.states
                            .insert((*owner, *key), state.as_slice())
                            .map_err(io_err)?;
                    }
                }
                Op::DeleteItem { owner, key } => {
                    if added.remove(&(*owner, *key)).is_none() {
                        t.kill(*owner, *key, index)?;
                    }
                    t.states.remove((*owner, *key)).map_err(io_err)?;
                }
            }
        }
        let Tables {
            mut chunks,
            mut dead,
            ..
        } = t;
        // Sparse chunks: their live records move into this transaction's chunks.
        let mut budget = COMPACT_BYTES;
        while budget > 0
            && let Some(id) = index.sparse.pop_first()
        {
            let Some(chunk) = index.chunks.remove(&id) else {
                continue;
            };
            budget = budget.saturating_sub(chunk.bytes);
            let blob = chunks.remove(id).map_err(io_err)?;
            if let Some(blob) = blob {
                let (owner, number) = id;
                parse_chunk(blob.value(), |key, record| {
                    if index.items.get(&(owner, key)) == Some(&number) {
                        index.items.remove(&(owner, key));
                        added.insert((owner, key), Cow::Owned(record.to_vec()));
                    }
                })?;
            }
            dead.retain_in((id.0, id.1, 0)..=(id.0, id.1, u64::MAX), |_, _| false)
                .map_err(io_err)?;
        }
        for id in std::mem::take(&mut index.empty) {
            if index.chunks.get(&id).is_some_and(|c| c.live == 0) {
                index.chunks.remove(&id);
                chunks.remove(id).map_err(io_err)?;
                dead.retain_in((id.0, id.1, 0)..=(id.0, id.1, u64::MAX), |_, _| false)
                    .map_err(io_err)?;
            }
        }
        let mut added: Vec<_> = added.into_iter().collect();
        added.sort_unstable_by_key(|&(id, _)| id);
        let mut rest = added.as_slice();
        while let Some(((owner, _), _)) = rest.first() {
            let owner = *owner;
            // As many records of this owner as fit (at least one).
            let mut n = 0;
            let mut bytes = 0;
            for ((o, _), record) in rest {
                let size = RECORD_HEADER + record.len();
                if *o != owner || (n > 0 && bytes + size > CHUNK_BYTES) {
                    break;
                }
                n += 1;
                bytes += size;
            }
            let (these, later) = rest.split_at(n);
            rest = later;
            let number = index.next_chunk;
            index.next_chunk += 1;
            let mut value = chunks
                .insert_reserve((owner, number), bytes)
                .map_err(io_err)?;
            let out = value.as_mut();
            let mut at = 0;
            for ((_, key), record) in these {
                out[at..at + 8].copy_from_slice(&key.to_le_bytes());
                out[at + 8..at + 12].copy_from_slice(&(record.len() as u32).to_le_bytes());
                out[at + 12..at + 12 + record.len()].copy_from_slice(record);
                at += RECORD_HEADER + record.len();
                index.items.insert((owner, *key), number);
            }
            drop(value);
            index.chunks.insert(
                (owner, number),
                Chunk {
                    live: n,
                    total: n,
                    bytes,
                },
            );
        }
    }
    txn.commit().map_err(io_err)
}

impl Backend for RedbBackend {
    fn write(&mut self, ops: Vec<Op>) -> io::Result<()> {
        self.apply(&ops, None)
    }

    fn load(&mut self) -> io::Result<Loaded> {
        let (index, loaded) = self.read(true)?;
        self.index = Some(index);
        Ok(loaded)
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_come_back_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        {
            let mut b = RedbBackend::open(&path).unwrap();
            b.write(vec![
                Op::PutResource {
                    id: 1,
                    record: b"q1".to_vec(),
                },
                Op::PutResource {
                    id: 2,
                    record: b"q2".to_vec(),
                },
                Op::PutItem {
                    owner: 1,
                    key: 10,
                    record: b"m10".to_vec(),
                },
                Op::PutItem {
                    owner: 1,
                    key: 11,
                    record: b"m11".to_vec(),
                },
                Op::PutItemState {
                    owner: 1,
                    key: 11,
                    state: b"s11".to_vec(),
                },
                Op::PutItem {
                    owner: 2,
                    key: 5,
                    record: b"m5".to_vec(),
                },
                Op::DeleteItem { owner: 1, key: 10 },
                Op::PutItemState {
                    owner: 1,
                    key: 10,
                    state: b"late".to_vec(),
                },
            ])
            .unwrap();
            b.write(vec![Op::DeleteResource { id: 2 }]).unwrap();
        }
        let mut b = RedbBackend::open(&path).unwrap();
        let loaded = b.load().unwrap();
        assert_eq!(loaded.resources, vec![(1, b"q1".to_vec())]);
        assert_eq!(
            loaded.items,
            vec![(1, 11, b"m11".to_vec(), Some(b"s11".to_vec()))]
        );
        b.write(vec![Op::ClearItems { owner: 1 }]).unwrap();
        assert!(b.load().unwrap().items.is_empty());
    }

    fn put(owner: u64, key: u64, record: &str) -> Op {
        Op::PutItem {
            owner,
            key,
            record: record.as_bytes().to_vec(),
        }
    }

    /// Rows of a table, for looking inside the file.
    fn rows<K: redb::Key + 'static, V: redb::Value + 'static>(
        b: &RedbBackend,
        table: TableDefinition<K, V>,
    ) -> usize {
        let txn = b.db.begin_read().unwrap();
        txn.open_table(table).unwrap().iter().unwrap().count()
    }

    #[test]
    fn deleted_and_replaced_items_stay_so_and_dead_chunks_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        let mut b = RedbBackend::open(&path).unwrap();
        b.write((0..10).map(|k| put(1, k, &format!("m{k}"))).collect())
            .unwrap();
        b.write(vec![
            Op::DeleteItem { owner: 1, key: 2 },
            Op::DeleteItem { owner: 1, key: 5 },
            put(1, 7, "new7"),
            Op::PutItemState {
                owner: 1,
                key: 8,
                state: b"s8".to_vec(),
            },
        ])
        .unwrap();
        assert_eq!(rows(&b, DEAD), 3, "two deleted, one replaced");
        drop(b);
        let mut b = RedbBackend::open(&path).unwrap();
        let loaded = b.load().unwrap();
        let got: Vec<(u64, String, Option<Vec<u8>>)> = loaded
            .items
            .into_iter()
            .map(|(_, k, r, s)| (k, String::from_utf8(r).unwrap(), s))
            .collect();
        let mut want: Vec<(u64, String, Option<Vec<u8>>)> = [0, 1, 3, 4, 6, 7, 8, 9]
            .into_iter()
            .map(|k| (k, format!("m{k}"), None))
            .collect();
        want[5].1 = "new7".into();
        want[6].2 = Some(b"s8".to_vec());
        assert_eq!(got, want);
        // Once every item of a chunk is dead, the chunk and its marks go.
        b.write(
            [0, 1, 3, 4, 6, 7, 8, 9]
                .into_iter()
                .map(|key| Op::DeleteItem { owner: 1, key })
                .collect(),
        )
        .unwrap();
        assert_eq!(rows(&b, CHUNKS), 0);
        assert_eq!(rows(&b, DEAD), 0);
        assert_eq!(rows(&b, STATES), 0);
        assert!(b.load().unwrap().items.is_empty());
    }

    #[test]
    fn a_mostly_dead_chunk_is_rewritten_with_only_its_live_items() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        let mut b = RedbBackend::open(&path).unwrap();
        b.write((0..100).map(|k| put(1, k, &format!("m{k}"))).collect())
            .unwrap();
        b.write(vec![Op::PutItemState {
            owner: 1,
            key: 99,
            state: b"s".to_vec(),
        }])
        .unwrap();
        b.write(
            (0..80)
                .map(|key| Op::DeleteItem { owner: 1, key })
                .collect(),
        )
        .unwrap();
        // One chunk of 20 live items, no marks left.
        assert_eq!(rows(&b, CHUNKS), 1);
        assert_eq!(rows(&b, DEAD), 0);
        drop(b);
        let mut b = RedbBackend::open(&path).unwrap();
        let loaded = b.load().unwrap();
        let keys: Vec<u64> = loaded.items.iter().map(|i| i.1).collect();
        assert_eq!(keys, (80..100).collect::<Vec<_>>());
        assert_eq!(loaded.items[0].2, b"m80");
        assert_eq!(loaded.items[19].3.as_deref(), Some(&b"s"[..]));
    }

    #[test]
    fn items_written_one_row_each_by_earlier_versions_are_read_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        {
            let b = RedbBackend::open(&path).unwrap();
            let txn = b.db.begin_write().unwrap();
            {
                let mut items = txn.open_table(ITEMS).unwrap();
                items.insert((1, 1), &b"old1"[..]).unwrap();
                items.insert((1, 2), &b"old2"[..]).unwrap();
            }
            txn.commit().unwrap();
        }
        let mut b = RedbBackend::open(&path).unwrap();
        assert_eq!(b.load().unwrap().items.len(), 2);
        b.write(vec![
            Op::DeleteItem { owner: 1, key: 1 },
            put(1, 2, "new2"),
            put(1, 3, "m3"),
        ])
        .unwrap();
        assert_eq!(rows(&b, ITEMS), 0);
        let loaded = b.load().unwrap();
        let got: Vec<(u64, &[u8])> = loaded.items.iter().map(|i| (i.1, i.2.as_slice())).collect();
        assert_eq!(got, vec![(2, &b"new2"[..]), (3, &b"m3"[..])]);
    }

    /// An item's record and state.
    type Stored = (Vec<u8>, Option<Vec<u8>>);

    /// Random changes over many transactions against a plain map: what the
    /// file gives back, and the index in memory, always match the model.
    #[test]
    fn random_changes_match_a_model() {
        use rand::{Rng, SeedableRng};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        let mut b = RedbBackend::open(&path).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut model: std::collections::BTreeMap<(u64, u64), Stored> = Default::default();
        for round in 0..60 {
            let mut ops = Vec::new();
            for _ in 0..rng.random_range(1..200) {
                let owner = rng.random_range(1..4);
                let key = rng.random_range(0..300);
                match rng.random_range(0..100) {
                    0..45 => {
                        let record = format!("r{round}-{key}").into_bytes();
                        // A state outlives a new record for the same item.
                        let state = model.get(&(owner, key)).and_then(|i| i.1.clone());
                        model.insert((owner, key), (record.clone(), state));
                        ops.push(Op::PutItem { owner, key, record });
                    }
                    45..60 => {
                        let state = format!("s{round}").into_bytes();
                        if let Some(item) = model.get_mut(&(owner, key)) {
                            item.1 = Some(state.clone());
                        }
                        ops.push(Op::PutItemState { owner, key, state });
                    }
                    60..99 => {
                        model.remove(&(owner, key));
                        ops.push(Op::DeleteItem { owner, key });
                    }
                    _ => {
                        model.retain(|&(o, _), _| o != owner);
                        ops.push(Op::ClearItems { owner });
                    }
                }
            }
            b.write(ops).unwrap();
            if round % 10 == 9 {
                drop(b);
                b = RedbBackend::open(&path).unwrap();
            }
            let in_memory = b.index.as_ref().map(|i| i.items.clone());
            let loaded = b.load().unwrap();
            let got: Vec<((u64, u64), Stored)> = loaded
                .items
                .into_iter()
                .map(|(o, k, r, s)| ((o, k), (r, s)))
                .collect();
            let want: Vec<_> = model.clone().into_iter().collect();
            assert_eq!(got, want, "round {round}");
            if let Some(in_memory) = in_memory {
                assert_eq!(in_memory, b.index.as_ref().unwrap().items, "round {round}");
            }
        }
    }
}
