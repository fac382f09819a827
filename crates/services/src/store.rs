//! A service's state on disk: one JSON file, replaced atomically (temporary file,
//! fsync, rename, fsync of the folder), so a crash leaves either the old state or
//! the new one. Also [`Seen`], the bounded set of activity ids already applied,
//! which makes a redelivered event a no-op. This module knows nothing of events'
//! meaning or of SQS.

use std::collections::{HashSet, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid state file: {source}")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// One JSON state file.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
}

impl Store {
    /// The file `<dir>/<name>.json`; the folder is created if missing.
    pub fn open(dir: &Path, name: &str) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_owned(),
            source,
        })?;
        Ok(Store {
            path: dir.join(format!("{name}.json")),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved state, or the default when nothing was saved yet.
    pub fn load<T: DeserializeOwned + Default>(&self) -> Result<T, StoreError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| StoreError::Corrupt {
                path: self.path.clone(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
            Err(source) => Err(StoreError::Io {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Replaces the saved state with `value`, durably, before returning.
    pub fn save<T: Serialize>(&self, value: &T) -> Result<(), StoreError> {
        self.write(&Self::encode(value)?)
    }

    /// `value` as the file's bytes.
    pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
        serde_json::to_vec(value).map_err(|e| StoreError::Io {
            path: PathBuf::from("<state>"),
            source: std::io::Error::other(e),
        })
    }

    /// Replaces the file with `bytes` (from [`Store::encode`]), durably.
    pub fn write(&self, bytes: &[u8]) -> Result<(), StoreError> {
        let io = |source| StoreError::Io {
            path: self.path.clone(),
            source,
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        tmp.write_all(bytes).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(&self.path).map_err(|e| io(e.error))?;
        #[cfg(unix)]
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
        Ok(())
    }
}

/// The most recent activity ids applied, oldest first; at most [`Seen::CAPACITY`].
/// A redelivery comes within minutes (a visibility timeout, a lost delete) and at
/// worst within the queue's retention period: the window this covers is that many
/// events back, enough for the services' scale while keeping the state file small
/// (it is rewritten after every batch).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(from = "VecDeque<String>", into = "VecDeque<String>")]
pub struct Seen {
    order: VecDeque<String>,
    set: HashSet<String>,
}

impl Seen {
    pub const CAPACITY: usize = 50_000;

    pub fn contains(&self, id: &str) -> bool {
        self.set.contains(id)
    }

    /// Records `id`; false when it was already there.
    pub fn insert(&mut self, id: &str) -> bool {
        if !self.set.insert(id.to_owned()) {
            return false;
        }
        self.order.push_back(id.to_owned());
        while self.order.len() > Self::CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

impl From<VecDeque<String>> for Seen {
    fn from(order: VecDeque<String>) -> Self {
        let mut seen = Seen::default();
        for id in order {
            seen.insert(&id);
        }
        seen
    }
}

impl From<Seen> for VecDeque<String> {
    fn from(seen: Seen) -> Self {
        seen.order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_defaults_when_missing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("services"), "user").unwrap();
        let empty: Vec<u32> = store.load().unwrap();
        assert!(empty.is_empty());
        store.save(&vec![1u32, 2, 3]).unwrap();
        store.save(&vec![4u32]).unwrap();
        let back: Vec<u32> = store.load().unwrap();
        assert_eq!(back, vec![4]);
        std::fs::write(store.path(), b"{broken").unwrap();
        assert!(matches!(
            store.load::<Vec<u32>>(),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn seen_is_a_set_that_survives_serialization() {
        let mut seen = Seen::default();
        assert!(seen.insert("a"));
        assert!(!seen.insert("a"));
        assert!(seen.insert("b"));
        let json = serde_json::to_string(&seen).unwrap();
        assert_eq!(json, r#"["a","b"]"#);
        let back: Seen = serde_json::from_str(&json).unwrap();
        assert!(back.contains("a") && back.contains("b") && back.len() == 2);
    }
}
