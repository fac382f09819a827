//! The redb backend: three tables in one file, written in one transaction per
//! group of batches, synced before the transaction returns. A fourth table holds
//! the last write-ahead-log group applied (see `wal`).

use std::io;
use std::path::Path;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

use super::{Backend, Loaded, Op};

const RESOURCES: TableDefinition<u64, &[u8]> = TableDefinition::new("resources");
const ITEMS: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("items");
const STATES: TableDefinition<(u64, u64), &[u8]> = TableDefinition::new("item_states");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const CHECKPOINT: &str = "wal_checkpoint";

fn io_err(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

/// redb's page cache.
const CACHE_BYTES: usize = 64 * 1024 * 1024;

/// A redb database file.
pub struct RedbBackend {
    db: Database,
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
            txn.open_table(STATES).map_err(io_err)?;
            txn.open_table(META).map_err(io_err)?;
        }
        txn.commit().map_err(io_err)?;
        Ok(RedbBackend { db })
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
        let mut txn = self.db.begin_write().map_err(io_err)?;
        txn.set_durability(Durability::Immediate).map_err(io_err)?;
        if let Some(group) = group {
            txn.open_table(META)
                .map_err(io_err)?
                .insert(CHECKPOINT, group)
                .map_err(io_err)?;
        }
        {
            let mut resources = txn.open_table(RESOURCES).map_err(io_err)?;
            let mut items = txn.open_table(ITEMS).map_err(io_err)?;
            let mut states = txn.open_table(STATES).map_err(io_err)?;
            for op in ops {
                match op {
                    Op::PutResource { id, record } => {
                        resources.insert(*id, record.as_slice()).map_err(io_err)?;
                    }
                    Op::DeleteResource { id } => {
                        resources.remove(*id).map_err(io_err)?;
                        items
                            .retain_in((*id, 0)..=(*id, u64::MAX), |_, _| false)
                            .map_err(io_err)?;
                        states
                            .retain_in((*id, 0)..=(*id, u64::MAX), |_, _| false)
                            .map_err(io_err)?;
                    }
                    Op::ClearItems { owner } => {
                        items
                            .retain_in((*owner, 0)..=(*owner, u64::MAX), |_, _| false)
                            .map_err(io_err)?;
                        states
                            .retain_in((*owner, 0)..=(*owner, u64::MAX), |_, _| false)
                            .map_err(io_err)?;
                    }
                    Op::PutItem { owner, key, record } => {
                        items
                            .insert((*owner, *key), record.as_slice())
                            .map_err(io_err)?;
                    }
                    Op::PutItemState { owner, key, state } => {
                        // A state for an item already deleted in this batch is dropped.
                        if items.get((*owner, *key)).map_err(io_err)?.is_some() {
                            states
                                .insert((*owner, *key), state.as_slice())
                                .map_err(io_err)?;
                        }
                    }
                    Op::DeleteItem { owner, key } => {
                        items.remove((*owner, *key)).map_err(io_err)?;
                        states.remove((*owner, *key)).map_err(io_err)?;
                    }
                }
            }
        }
        txn.commit().map_err(io_err)
    }
}

impl Backend for RedbBackend {
    fn write(&mut self, ops: Vec<Op>) -> io::Result<()> {
        self.apply(&ops, None)
    }

    fn load(&mut self) -> io::Result<Loaded> {
        let txn = self.db.begin_read().map_err(io_err)?;
        let resources_table = txn.open_table(RESOURCES).map_err(io_err)?;
        let items_table = txn.open_table(ITEMS).map_err(io_err)?;
        let states_table = txn.open_table(STATES).map_err(io_err)?;
        let mut loaded = Loaded::default();
        for entry in resources_table.iter().map_err(io_err)? {
            let (k, v) = entry.map_err(io_err)?;
            loaded.resources.push((k.value(), v.value().to_vec()));
        }
        let mut states = states_table.iter().map_err(io_err)?.peekable();
        for entry in items_table.iter().map_err(io_err)? {
            let (k, v) = entry.map_err(io_err)?;
            let key = k.value();
            // Both tables iterate in key order: merge them.
            let mut state = None;
            while let Some(Ok((sk, _))) = states.peek() {
                let skey = sk.value();
                if skey < key {
                    states.next();
                } else {
                    if skey == key
                        && let Some(Ok((_, sv))) = states.next()
                    {
                        state = Some(sv.value().to_vec());
                    }
                    break;
                }
            }
            loaded.items.push((key.0, key.1, v.value().to_vec(), state));
        }
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
}
