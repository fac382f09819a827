//! The catalog's state: both collections behind one atomically swapped snapshot,
//! and the popularity updates that replace it.
//!
//! Readers take the current snapshot without locking. An update is serialized by
//! one lock, written to disk first, and only then made visible, so a 200 from
//! `/updatePopularity` means the change survives a restart.

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::collection::Collection;
use crate::genres;
use crate::media::{self, LoadError, MediaType, Record};
use crate::search::Query;
use crate::store::{Overrides, PopularityStore};

/// How the catalog is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// A directory with `data_movies.json` and `data_tv.json` in TMDB form; the
    /// built-in catalog when `None`.
    pub data_dir: Option<PathBuf>,
    /// Where popularity changes are kept (the catalog uses `<state_dir>/catalog`).
    pub state_dir: PathBuf,
}

/// The most records `/search` answers with.
pub const SEARCH_LIMIT: usize = 20;

/// Everything a request reads, as of one moment.
#[derive(Debug)]
pub struct Snapshot {
    movie: Arc<Collection>,
    tv: Arc<Collection>,
    genres: Bytes,
}

impl Snapshot {
    fn new(movie: Arc<Collection>, tv: Arc<Collection>) -> Self {
        let list = |c: &Collection| -> Vec<Value> {
            genres::list(c.media_type())
                .iter()
                .map(|&(id, name)| {
                    let count = c.genre_counts().get(&id).copied().unwrap_or(0);
                    json!({ "id": id, "name": name, "count": count })
                })
                .collect()
        };
        let genres = serde_json::to_vec(&json!({ "movie": list(&movie), "tv": list(&tv) }))
            .unwrap_or_default();
        Snapshot {
            movie,
            tv,
            genres: Bytes::from(genres),
        }
    }

    pub fn collection(&self, media_type: MediaType) -> &Collection {
        match media_type {
            MediaType::Movie => &self.movie,
            MediaType::Tv => &self.tv,
        }
    }

    /// `GET /genres`: each type's TMDB genres with how many records have them.
    pub fn genres_json(&self) -> Bytes {
        self.genres.clone()
    }

    /// The best [`SEARCH_LIMIT`] matches of `query` among `types`.
    pub fn search<'a>(&'a self, query: &Query, types: &[MediaType]) -> Vec<&'a Record> {
        let mut hits: Vec<(u8, &Record)> = types
            .iter()
            .flat_map(|&t| self.collection(t).search(query))
            .collect();
        hits.sort_by(|(ra, a), (rb, b)| {
            ra.cmp(rb)
                .then(b.popularity.total_cmp(&a.popularity))
                .then_with(|| a.title.cmp(&b.title))
        });
        hits.truncate(SEARCH_LIMIT);
        hits.into_iter().map(|(_, r)| r).collect()
    }
}

/// Why a popularity update was refused.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("unknown id")]
    UnknownId,
    #[error("cannot store the new popularity: {0}")]
    Storage(std::io::Error),
}

/// The catalog: records served from memory, popularity kept on disk.
#[derive(Debug)]
pub struct Catalog {
    snapshot: ArcSwap<Snapshot>,
    store: PopularityStore,
    overrides: Mutex<Overrides>,
}

impl Catalog {
    /// Loads the records and applies the stored popularity changes.
    pub fn load(config: &Config) -> Result<Self, LoadError> {
        let store = PopularityStore::new(config.state_dir.join("catalog"));
        let overrides = store.load().map_err(LoadError::State)?;
        let movie = load_collection(MediaType::Movie, config, &overrides)?;
        let tv = load_collection(MediaType::Tv, config, &overrides)?;
        tracing::info!(
            movies = movie.len(),
            tv = tv.len(),
            source = %config.data_dir.as_ref().map_or("built-in".to_owned(), |d| d.display().to_string()),
            "catalog loaded"
        );
        Ok(Catalog {
            snapshot: ArcSwap::from_pointee(Snapshot::new(movie, tv)),
            store,
            overrides: Mutex::new(overrides),
        })
    }

    /// The current state; cheap, lock-free.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Sets a record's popularity, durably, then makes it visible.
    pub async fn update_popularity(
        &self,
        media_type: MediaType,
        key: &str,
        popularity: f64,
    ) -> Result<(), UpdateError> {
        let mut overrides = self.overrides.lock().await;
        let current = self.snapshot();
        let updated = current
            .collection(media_type)
            .with_popularity(key, popularity)
            .ok_or(UpdateError::UnknownId)?;
        let mut next = overrides.clone();
        next.of_mut(media_type).insert(key.to_owned(), popularity);
        let store = self.store.clone();
        let to_save = next.clone();
        tokio::task::spawn_blocking(move || store.save(&to_save))
            .await
            .map_err(|e| UpdateError::Storage(std::io::Error::other(e)))?
            .map_err(UpdateError::Storage)?;
        *overrides = next;
        let updated = Arc::new(updated);
        let (movie, tv) = match media_type {
            MediaType::Movie => (updated, current.tv.clone()),
            MediaType::Tv => (current.movie.clone(), updated),
        };
        self.snapshot.store(Arc::new(Snapshot::new(movie, tv)));
        Ok(())
    }
}

/// Loads one media type's records and applies its stored popularity changes.
fn load_collection(
    media_type: MediaType,
    config: &Config,
    overrides: &Overrides,
) -> Result<Arc<Collection>, LoadError> {
    let mut records = match &config.data_dir {
        Some(dir) => media::load_file(media_type, dir)?,
        None => media::load_default(media_type)?,
    };
    let changes = overrides.of(media_type);
    let mut applied = 0;
    for record in &mut records {
        if let Some(&popularity) = changes.get(&record.key) {
            *record = record.with_popularity(popularity);
            applied += 1;
        }
    }
    if applied < changes.len() {
        tracing::info!(
            %media_type,
            ignored = changes.len() - applied,
            "stored popularity changes for ids not in this catalog are kept but not applied"
        );
    }
    Ok(Arc::new(Collection::new(media_type, records)))
}
