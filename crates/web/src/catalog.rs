//! The catalog API, seen from the frontend: `GET /discover`, `/search`, `/media`
//! and `/ready` over HTTP, answered as TMDB records ([`Record`]).
//!
//! Every failure (catalog down, an error status, a body that is not records) is a
//! [`CatalogError`] with enough context to log; handlers decide what the visitor sees.

use std::time::Duration;

use serde_json::Value;

use crate::media::{MediaType, Record};

/// Why a catalog call gave no records.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("the catalog at {url} cannot be reached: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the catalog answered {status} to {url}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("the catalog's answer to {url} is not what was expected: {reason}")]
    Body { url: String, reason: String },
}

/// A client of one catalog.
#[derive(Debug, Clone)]
pub struct CatalogClient {
    base: String,
    http: reqwest::Client,
}

impl CatalogClient {
    pub fn new(base: &str) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
        })
    }

    /// `GET /discover?type=&genre=`: the parameters go through as the visitor gave them.
    pub async fn discover(
        &self,
        media_type: Option<&str>,
        genre: Option<&str>,
    ) -> Result<Vec<Record>, CatalogError> {
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(t) = media_type {
            query.push(("type", t));
        }
        if let Some(g) = genre {
            query.push(("genre", g));
        }
        let fallback = MediaType::from_discover_param(media_type);
        self.records("/discover", &query, fallback).await
    }

    /// `GET /search?q=&type=`: best matches first, each with its `media_type`.
    pub async fn search(
        &self,
        q: &str,
        media_type: Option<MediaType>,
    ) -> Result<Vec<Record>, CatalogError> {
        let mut query = vec![("q", q)];
        if let Some(t) = media_type {
            query.push(("type", t.as_str()));
        }
        self.records("/search", &query, MediaType::Movie).await
    }

    /// `GET /media/{type}/{id}`: one record, `None` when the catalog does not know it.
    pub async fn media(
        &self,
        media_type: MediaType,
        id: &str,
    ) -> Result<Option<Record>, CatalogError> {
        let path = format!("/media/{}/{id}", media_type.as_str());
        match self.get(&path, &[]).await {
            Ok(value) => Record::from_value(value, media_type)
                .map(Some)
                .ok_or_else(|| CatalogError::Body {
                    url: self.url(&path),
                    reason: "not a record".to_owned(),
                }),
            Err(CatalogError::Status { status: 404, .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// True when the catalog answers `GET /ready` with 200.
    pub async fn ready(&self) -> bool {
        let request = self
            .http
            .get(self.url("/ready"))
            .timeout(Duration::from_secs(2));
        matches!(request.send().await, Ok(r) if r.status().is_success())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn records(
        &self,
        path: &str,
        query: &[(&str, &str)],
        fallback: MediaType,
    ) -> Result<Vec<Record>, CatalogError> {
        let Value::Array(items) = self.get(path, query).await? else {
            return Err(CatalogError::Body {
                url: self.url(path),
                reason: "not a JSON array".to_owned(),
            });
        };
        Ok(items
            .into_iter()
            .filter_map(|item| Record::from_value(item, fallback))
            .collect())
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, CatalogError> {
        let url = self.url(path);
        let response = self
            .http
            .get(&url)
            .query(query)
            .send()
            .await
            .map_err(|source| CatalogError::Unreachable {
                url: url.clone(),
                source,
            })?;
        let status = response.status();
        if !status.is_success() {
            let mut body = response.text().await.unwrap_or_default();
            body.truncate(300);
            return Err(CatalogError::Status {
                url,
                status: status.as_u16(),
                body,
            });
        }
        response
            .json::<Value>()
            .await
            .map_err(|e| CatalogError::Body {
                url,
                reason: e.to_string(),
            })
    }
}
