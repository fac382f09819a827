//! Durable popularity changes: one small JSON file under the state directory,
//! replaced atomically (write a temporary file, fsync it, rename it over the old
//! one, fsync the directory), so that a crash leaves either the old or the new
//! file, never half of one.
//!
//! The file holds only the changes, `{"movie": {"<id>": <popularity>}, "tv": {...}}`,
//! and is applied over the data files at load.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::media::MediaType;

/// Popularity changes by media type and record key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Overrides {
    #[serde(default)]
    pub movie: BTreeMap<String, f64>,
    #[serde(default)]
    pub tv: BTreeMap<String, f64>,
}

impl Overrides {
    pub fn of(&self, media_type: MediaType) -> &BTreeMap<String, f64> {
        match media_type {
            MediaType::Movie => &self.movie,
            MediaType::Tv => &self.tv,
        }
    }

    pub fn of_mut(&mut self, media_type: MediaType) -> &mut BTreeMap<String, f64> {
        match media_type {
            MediaType::Movie => &mut self.movie,
            MediaType::Tv => &mut self.tv,
        }
    }
}

/// Where the overrides live.
#[derive(Debug, Clone)]
pub struct PopularityStore {
    dir: PathBuf,
}

impl PopularityStore {
    const FILE: &'static str = "popularity.json";

    /// A store in `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        PopularityStore { dir: dir.into() }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(Self::FILE)
    }

    /// Reads the overrides; none when the file does not exist yet. A file that
    /// exists but cannot be read is an error: it is never silently replaced.
    pub fn load(&self) -> Result<Overrides, String> {
        let path = self.path();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| format!("{} is not a popularity file: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Overrides::default()),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Replaces the file with `overrides`, durably, before returning.
    pub fn save(&self, overrides: &Overrides) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let bytes = serde_json::to_vec_pretty(overrides).map_err(std::io::Error::other)?;
        let mut file = tempfile::NamedTempFile::new_in(&self.dir)?;
        file.write_all(&bytes)?;
        file.as_file().sync_all()?;
        file.persist(self.path()).map_err(|e| e.error)?;
        sync_dir(&self.dir)
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = PopularityStore::new(dir.path().join("catalog"));
        assert_eq!(store.load().unwrap(), Overrides::default());
        let mut o = Overrides::default();
        o.movie.insert("12".into(), 3.5);
        o.tv.insert("7".into(), 1e6);
        store.save(&o).unwrap();
        assert_eq!(store.load().unwrap(), o);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("catalog"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("popularity.json")]);
    }

    #[test]
    fn corrupt_file_is_an_error_not_a_reset() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("popularity.json"), b"{not json").unwrap();
        let err = PopularityStore::new(dir.path()).load().unwrap_err();
        assert!(err.contains("not a popularity file"), "{err}");
    }
}
