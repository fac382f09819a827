//! Catalog records in TMDB "discover" form, and loading them from data files.
//!
//! A data file is one JSON object keyed by the record id as a string, values in
//! TMDB form (`data_movies.json`, `data_tv.json`). The file order is kept: the
//! genre rule of `/discover` depends on it. Each record keeps every field it was
//! given, unchanged, and is serialized once at load.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use indexmap::IndexMap;
use serde_json::Value;

use crate::search::SearchKey;

/// Movies or TV shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaType {
    Movie,
    Tv,
}

impl MediaType {
    pub const ALL: [MediaType; 2] = [MediaType::Movie, MediaType::Tv];

    /// `movie` or `tv`, as in URLs and TMDB's `media_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::Movie => "movie",
            MediaType::Tv => "tv",
        }
    }

    /// Parses exactly `movie` or `tv`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "movie" => Some(MediaType::Movie),
            "tv" => Some(MediaType::Tv),
            _ => None,
        }
    }

    /// The original catalog's rule for `?type=`: `tv` picks TV shows, anything
    /// else (missing included) picks movies.
    pub fn from_discover_param(param: Option<&str>) -> Self {
        if param == Some("tv") {
            MediaType::Tv
        } else {
            MediaType::Movie
        }
    }

    /// The other type.
    pub fn other(self) -> Self {
        match self {
            MediaType::Movie => MediaType::Tv,
            MediaType::Tv => MediaType::Movie,
        }
    }

    /// The field holding the display title (`title` for movies, `name` for TV).
    pub fn title_field(self) -> &'static str {
        match self {
            MediaType::Movie => "title",
            MediaType::Tv => "name",
        }
    }

    /// The field holding the original-language title.
    pub fn original_title_field(self) -> &'static str {
        match self {
            MediaType::Movie => "original_title",
            MediaType::Tv => "original_name",
        }
    }

    /// The data file name in a `--data-dir`.
    pub fn file_name(self) -> &'static str {
        match self {
            MediaType::Movie => "data_movies.json",
            MediaType::Tv => "data_tv.json",
        }
    }
}

impl std::fmt::Display for MediaType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a data file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin} is not a JSON object of TMDB records keyed by id: {source}")]
    Parse {
        origin: String,
        source: serde_json::Error,
    },
    #[error("{origin}: record {key:?}: {problem}")]
    Record {
        origin: String,
        key: String,
        problem: String,
    },
    #[error("{0}")]
    State(String),
}

/// One catalog record: its fields as given, plus what serving needs, computed once.
#[derive(Debug, Clone)]
pub struct Record {
    /// The key of the record in its data file (the id as a string).
    pub key: String,
    pub media_type: MediaType,
    /// Every field of the record, sorted by name (as the original's JSON is).
    pub fields: BTreeMap<String, Value>,
    pub genre_ids: Vec<i64>,
    /// The display title (`title` or `name`).
    pub title: String,
    pub popularity: f64,
    /// The record serialized, as `/discover` and `/media` send it.
    pub json: Bytes,
    /// The record with `media_type` added, as `/search` sends it.
    pub search_json: Bytes,
    pub search_key: SearchKey,
}

impl Record {
    /// Checks a record's fields and prepares it for serving.
    pub fn new(
        media_type: MediaType,
        key: String,
        fields: BTreeMap<String, Value>,
    ) -> Result<Self, String> {
        match fields.get("id") {
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {}
            Some(other) => return Err(format!("\"id\" must be an integer, not {other}")),
            None => return Err("\"id\" is missing".into()),
        }
        let genre_ids = match fields.get("genre_ids") {
            Some(Value::Array(ids)) => ids
                .iter()
                .map(|v| {
                    v.as_i64()
                        .ok_or_else(|| format!("\"genre_ids\" must hold integers, found {v}"))
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(other) => return Err(format!("\"genre_ids\" must be an array, not {other}")),
            None => Vec::new(),
        };
        let title_field = media_type.title_field();
        let title = match fields.get(title_field) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => return Err(format!("\"{title_field}\" must be a string, not {other}")),
            None => return Err(format!("\"{title_field}\" is missing")),
        };
        let original = fields
            .get(media_type.original_title_field())
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let popularity = match fields.get("popularity") {
            Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
            Some(Value::Null) | None => 0.0,
            Some(other) => return Err(format!("\"popularity\" must be a number, not {other}")),
        };
        let search_key = SearchKey::new(&title, &original);
        let mut record = Record {
            key,
            media_type,
            fields,
            genre_ids,
            title,
            popularity,
            json: Bytes::new(),
            search_json: Bytes::new(),
            search_key,
        };
        record.serialize();
        Ok(record)
    }

    /// A copy of the record with a new popularity.
    pub fn with_popularity(&self, popularity: f64) -> Self {
        let mut record = self.clone();
        record.popularity = popularity;
        record
            .fields
            .insert("popularity".into(), Value::from(popularity));
        record.serialize();
        record
    }

    fn serialize(&mut self) {
        // Serializing a map of JSON values cannot fail.
        let json = serde_json::to_vec(&self.fields).unwrap_or_default();
        let mut with_type = self.fields.clone();
        with_type.insert("media_type".into(), Value::from(self.media_type.as_str()));
        let search_json = serde_json::to_vec(&with_type).unwrap_or_default();
        self.json = Bytes::from(json);
        self.search_json = Bytes::from(search_json);
    }
}

/// Parses a data file's text into records, in file order.
pub fn parse(media_type: MediaType, origin: &str, text: &str) -> Result<Vec<Record>, LoadError> {
    let raw: IndexMap<String, BTreeMap<String, Value>> =
        serde_json::from_str(text).map_err(|source| LoadError::Parse {
            origin: origin.to_owned(),
            source,
        })?;
    raw.into_iter()
        .map(|(key, fields)| {
            Record::new(media_type, key.clone(), fields).map_err(|problem| LoadError::Record {
                origin: origin.to_owned(),
                key,
                problem,
            })
        })
        .collect()
}

/// Reads `data_movies.json` or `data_tv.json` from a data directory.
pub fn load_file(media_type: MediaType, dir: &Path) -> Result<Vec<Record>, LoadError> {
    let path = dir.join(media_type.file_name());
    let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Read {
        path: path.clone(),
        source,
    })?;
    parse(media_type, &path.display().to_string(), &text)
}

/// The catalog the project ships, used when no `--data-dir` is given.
pub fn load_default(media_type: MediaType) -> Result<Vec<Record>, LoadError> {
    let (origin, text) = match media_type {
        MediaType::Movie => (
            "the built-in movie catalog",
            include_str!("../data/movies.json"),
        ),
        MediaType::Tv => ("the built-in TV catalog", include_str!("../data/tv.json")),
    };
    parse(media_type, origin, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_file_order_and_every_field() {
        let text = r#"{"9": {"id": 9, "title": "B", "genre_ids": [18], "extra": {"x": 1}},
                       "3": {"id": 3, "title": "A", "genre_ids": [], "popularity": 2}}"#;
        let records = parse(MediaType::Movie, "test", text).unwrap();
        assert_eq!(records[0].key, "9");
        assert_eq!(records[1].key, "3");
        assert_eq!(records[0].fields["extra"]["x"], 1);
        assert_eq!(records[1].popularity, 2.0);
        let back: Value = serde_json::from_slice(&records[1].json).unwrap();
        assert_eq!(back["popularity"], 2);
    }

    #[test]
    fn rejects_bad_records_with_their_key() {
        let err = parse(
            MediaType::Tv,
            "f",
            r#"{"1": {"id": 1, "title": "no name"}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("\"1\"") && err.contains("\"name\" is missing"),
            "{err}"
        );
        let err = parse(MediaType::Movie, "f", r#"{"1": {"id": "x", "title": "t"}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("integer"), "{err}");
        let err = parse(MediaType::Movie, "f", r#"[1, 2]"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a JSON object"), "{err}");
    }

    #[test]
    fn popularity_update_changes_the_served_json() {
        let records = parse(
            MediaType::Movie,
            "t",
            r#"{"1": {"id": 1, "title": "T", "popularity": 1.5}}"#,
        )
        .unwrap();
        let updated = records[0].with_popularity(42.25);
        let back: Value = serde_json::from_slice(&updated.json).unwrap();
        assert_eq!(back["popularity"], 42.25);
        let back: Value = serde_json::from_slice(&updated.search_json).unwrap();
        assert_eq!(back["media_type"], "movie");
    }
}
