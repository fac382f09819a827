//! The catalog seen from the services: an HTTP client of `GET /media/{movie|tv}/{id}`
//! and `GET /discover?type=&genre=`, and [`Titles`], the cache of what it answered
//! (kept in each service's state, so a title is asked for once). An event carries
//! only a mediaId: the movie is tried first, then the TV show.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Movie or TV show, as the catalog's paths spell them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaType {
    Movie,
    Tv,
}

impl MediaType {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::Movie => "movie",
            MediaType::Tv => "tv",
        }
    }
}

/// What a service remembers of one title.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Title {
    /// `None` when the catalog knows no such title.
    #[serde(rename = "type")]
    pub media_type: Option<MediaType>,
    pub title: Option<String>,
    #[serde(default)]
    pub genre_ids: Vec<u64>,
    /// Titles of the same (first) genre, in the catalog's order; `None` until asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_genre: Option<Vec<String>>,
}

/// Titles by mediaId.
pub type Titles = HashMap<String, Title>;

/// `{"mediaId", "type", "title"}` of a title, with nulls for what is unknown.
pub fn describe(titles: &Titles, id: &str) -> Value {
    let title = titles.get(id);
    serde_json::json!({
        "mediaId": id,
        "type": title.and_then(|t| t.media_type),
        "title": title.and_then(|t| t.title.clone()),
    })
}

/// Why the catalog could not answer. The event is then not deleted: it comes back.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog request {url} failed: {source}")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("catalog answered {status} to {url}")]
    Status { url: String, status: u16 },
    #[error("catalog answered {url} with something that is not a record: {detail}")]
    Shape { url: String, detail: String },
}

/// An HTTP client of the catalog API.
#[derive(Debug, Clone)]
pub struct CatalogClient {
    http: reqwest::Client,
    base: String,
}

impl CatalogClient {
    pub fn new(base: &str) -> Result<CatalogClient, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(CatalogClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    async fn get(&self, url: String) -> Result<Option<Value>, CatalogError> {
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|source| CatalogError::Http {
                url: url.clone(),
                source,
            })?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(CatalogError::Status {
                url,
                status: status.as_u16(),
            });
        }
        response
            .json::<Value>()
            .await
            .map(Some)
            .map_err(|e| CatalogError::Shape {
                url,
                detail: e.to_string(),
            })
    }

    /// The title `id`: the movie if there is one, else the TV show, else `None`.
    pub async fn title(&self, id: &str) -> Result<Option<(MediaType, Value)>, CatalogError> {
        for media_type in [MediaType::Movie, MediaType::Tv] {
            let url = format!("{}/media/{}/{id}", self.base, media_type.as_str());
            if let Some(record) = self.get(url).await? {
                return Ok(Some((media_type, record)));
            }
        }
        Ok(None)
    }

    /// The catalog's first records of `genre` (at most 20, in data-file order).
    pub async fn discover(
        &self,
        media_type: MediaType,
        genre: u64,
    ) -> Result<Vec<Value>, CatalogError> {
        let url = format!(
            "{}/discover?type={}&genre={genre}",
            self.base,
            media_type.as_str()
        );
        match self.get(url.clone()).await? {
            Some(Value::Array(records)) => Ok(records),
            Some(_) => Err(CatalogError::Shape {
                url,
                detail: "not an array".into(),
            }),
            None => Err(CatalogError::Status { url, status: 404 }),
        }
    }
}

/// The id of a record, as a string.
fn record_id(record: &Value) -> Option<String> {
    match record.get("id")? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// A catalog record (movie: `title`; TV: `name`) as a [`Title`].
pub fn title_of(media_type: MediaType, record: &Value) -> Title {
    let name = record
        .get("title")
        .or_else(|| record.get("name"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let genre_ids = record
        .get("genre_ids")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    Title {
        media_type: Some(media_type),
        title: name,
        genre_ids,
        same_genre: None,
    }
}

/// Whether `titles` lacks something about `id` that a handler needs.
pub fn needs_fetch(titles: &Titles, id: &str, same_genre: bool) -> bool {
    match titles.get(id) {
        None => true,
        Some(t) => same_genre && t.media_type.is_some() && t.same_genre.is_none(),
    }
}

/// Asks the catalog about `id` (and, with `same_genre`, the titles of its first
/// genre); the answer is the entries to merge into [`Titles`] with [`merge`].
pub async fn fetch(
    client: &CatalogClient,
    id: &str,
    same_genre: bool,
) -> Result<Vec<(String, Title)>, CatalogError> {
    let Some((media_type, record)) = client.title(id).await? else {
        return Ok(vec![(id.to_owned(), Title::default())]);
    };
    let mut title = title_of(media_type, &record);
    let mut entries = Vec::new();
    if same_genre {
        let mut ids = Vec::new();
        if let Some(&genre) = title.genre_ids.first() {
            for record in client.discover(media_type, genre).await? {
                if let Some(other) = record_id(&record).filter(|other| other != id) {
                    entries.push((other.clone(), title_of(media_type, &record)));
                    ids.push(other);
                }
            }
        }
        title.same_genre = Some(ids);
    }
    entries.push((id.to_owned(), title));
    Ok(entries)
}

/// Adds fetched entries to `titles`, never dropping a known same-genre list.
pub fn merge(titles: &mut Titles, entries: Vec<(String, Title)>) {
    for (id, title) in entries {
        match titles.get_mut(&id) {
            Some(known) if title.same_genre.is_none() => {
                if known.media_type.is_none() {
                    known.media_type = title.media_type;
                    known.title = title.title;
                    known.genre_ids = title.genre_ids;
                }
            }
            _ => {
                titles.insert(id, title);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_become_titles() {
        let movie = serde_json::json!({"id": 1, "title": "A", "genre_ids": [18, 80]});
        let tv = serde_json::json!({"id": 2, "name": "B", "genre_ids": [16]});
        let a = title_of(MediaType::Movie, &movie);
        assert_eq!(a.title.as_deref(), Some("A"));
        assert_eq!(a.genre_ids, vec![18, 80]);
        assert_eq!(title_of(MediaType::Tv, &tv).title.as_deref(), Some("B"));
        assert_eq!(record_id(&movie).as_deref(), Some("1"));
    }

    #[test]
    fn merging_keeps_same_genre_lists() {
        let mut titles = Titles::new();
        let full = Title {
            media_type: Some(MediaType::Movie),
            title: Some("A".into()),
            genre_ids: vec![18],
            same_genre: Some(vec!["2".into()]),
        };
        merge(&mut titles, vec![("1".into(), full.clone())]);
        let plain = Title {
            same_genre: None,
            ..full.clone()
        };
        merge(&mut titles, vec![("1".into(), plain)]);
        assert_eq!(titles["1"], full);
        assert!(!needs_fetch(&titles, "1", true));
        assert!(needs_fetch(&titles, "2", false));
        assert_eq!(describe(&titles, "1")["title"], "A");
        assert_eq!(describe(&titles, "9")["type"], Value::Null);
    }
}
