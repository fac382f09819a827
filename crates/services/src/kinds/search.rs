//! The search service: how often each title was viewed, the signal that ranks
//! search results (ties go to the more viewed) and the "Popular on Nextflix" list.
//!
//! `GET /popular?limit=` → `{"items": [{"mediaId", "type", "title", "views",
//! "lastViewedAt"}]}`, most viewed first; `GET /popularity?ids=1,2` → `{"items":
//! {"1": views, "2": 0}}`, for ranking a page of search results.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use nextflix_common::error::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalog::{Titles, describe};
use crate::config::Kind;
use crate::event::{Event, format_ms};
use crate::service::{self, CatalogNeed, Handler, ListQuery, Service};

/// The search service.
pub struct Search;

/// One title's views.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Popularity {
    pub views: u64,
    pub last_viewed_ms: i64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchState {
    views: HashMap<String, Popularity>,
    total: u64,
}

impl SearchState {
    /// Titles by views (most first; ties: most recently viewed, then id).
    pub fn popular(&self) -> Vec<(&str, &Popularity)> {
        let mut all: Vec<(&str, &Popularity)> =
            self.views.iter().map(|(k, v)| (k.as_str(), v)).collect();
        all.sort_by(|a, b| {
            b.1.views
                .cmp(&a.1.views)
                .then_with(|| b.1.last_viewed_ms.cmp(&a.1.last_viewed_ms))
                .then_with(|| a.0.cmp(b.0))
        });
        all
    }

    pub fn views(&self, id: &str) -> u64 {
        self.views.get(id).map_or(0, |p| p.views)
    }
}

impl Handler for Search {
    const KIND: Kind = Kind::Search;
    const CATALOG: CatalogNeed = CatalogNeed::Title;
    type State = SearchState;

    fn apply(state: &mut SearchState, _titles: &Titles, event: &Event) {
        let entry = state.views.entry(event.media_id.clone()).or_default();
        entry.views += 1;
        entry.last_viewed_ms = entry.last_viewed_ms.max(event.timestamp_ms);
        state.total += 1;
    }

    fn summary(state: &SearchState) -> Value {
        serde_json::json!({ "titles": state.views.len(), "views": state.total })
    }

    fn routes() -> Router<Arc<Service<Self>>> {
        Router::new()
            .route("/popular", get(popular))
            .route("/popularity", get(popularity))
    }
}

async fn popular(
    State(svc): State<Arc<Service<Search>>>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = service::limit(query.limit.as_deref(), 10, 100)?;
    let items: Vec<Value> = svc.read(|state, titles| {
        state
            .popular()
            .into_iter()
            .take(limit)
            .map(|(id, p)| {
                let mut item = describe(titles, id);
                item["views"] = p.views.into();
                item["lastViewedAt"] = format_ms(p.last_viewed_ms).into();
                item
            })
            .collect()
    });
    Ok(Json(serde_json::json!({ "items": items })))
}

async fn popularity(
    State(svc): State<Arc<Service<Search>>>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let raw = query
        .ids
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_request("ids is required (comma-separated mediaIds)"))?;
    let ids: Vec<&str> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if ids.len() > 100 {
        return Err(ApiError::bad_request("at most 100 ids"));
    }
    let items: serde_json::Map<String, Value> = svc.read(|state, _| {
        ids.iter()
            .map(|id| ((*id).to_owned(), state.views(id).into()))
            .collect()
    });
    Ok(Json(serde_json::json!({ "items": items })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_are_counted_and_ranked() {
        let mut state = SearchState::default();
        let titles = Titles::new();
        for (i, media) in ["a", "b", "b", "c", "b", "a"].iter().enumerate() {
            let event = crate::event::test_event(&i.to_string(), "s", media, i as i64);
            Search::apply(&mut state, &titles, &event);
        }
        let order: Vec<(&str, u64)> = state
            .popular()
            .iter()
            .map(|(id, p)| (*id, p.views))
            .collect();
        assert_eq!(order, [("b", 3), ("a", 2), ("c", 1)]);
        assert_eq!(state.views("zzz"), 0);
    }
}
