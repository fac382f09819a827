//! The recommendation service: "Because you watched X" (titles watched in the same
//! sessions as X by other viewers, then titles of X's genre from the catalog) and
//! what is trending (views per title over a sliding window).
//!
//! `GET /recommendations?sessionId=&limit=` → `{"sessionId", "rows": [{"because":
//! {"mediaId", "type", "title"}, "items": [{"mediaId", "type", "title", "reason":
//! "coViewed"|"sameGenre", "sessions"?}]}]}`, one row for each of the session's
//! [`Recommendation::ROWS`] most recent titles; `GET /trending?limit=&window=SECONDS`
//! → `{"windowSeconds", "items": [{"mediaId", "type", "title", "views"}]}`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use nextflix_common::error::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalog::{Titles, describe};
use crate::config::Kind;
use crate::coview::CoViews;
use crate::event::{Event, now_ms};
use crate::service::{self, CatalogNeed, Handler, ListQuery, Service};

/// The recommendation service.
pub struct Recommendation;

impl Recommendation {
    /// Rows of recommendations: one per recent title.
    pub const ROWS: usize = 3;
    /// The longest trending window, and how long views are kept for it.
    pub const MAX_WINDOW_MS: i64 = 24 * 3600 * 1000;
    /// Views kept for trending at most.
    pub const MAX_VIEWS: usize = 100_000;
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecommendationState {
    coviews: CoViews,
    /// `(event time in ms, mediaId)` of recent views, in arrival order.
    recent: VecDeque<(i64, String)>,
}

/// One recommended title and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    pub media_id: String,
    /// `Some(n)`: watched in `n` sessions together; `None`: same genre.
    pub sessions: Option<u64>,
}

impl RecommendationState {
    /// The rows for `session`: its recent titles and what to watch because of each.
    pub fn rows(&self, session: &str, titles: &Titles, limit: usize) -> Vec<(String, Vec<Pick>)> {
        let watched = self.coviews.watched(session);
        let seen: HashSet<&str> = watched.iter().map(String::as_str).collect();
        watched
            .iter()
            .take(Recommendation::ROWS)
            .map(|because| {
                let mut picked: HashSet<String> = HashSet::new();
                let mut picks = Vec::new();
                for (other, n) in self.coviews.with(because) {
                    if picks.len() >= limit {
                        break;
                    }
                    if !seen.contains(other.as_str()) && picked.insert(other.clone()) {
                        picks.push(Pick {
                            media_id: other,
                            sessions: Some(n),
                        });
                    }
                }
                let same_genre = titles
                    .get(because)
                    .and_then(|t| t.same_genre.as_deref())
                    .unwrap_or_default();
                for other in same_genre {
                    if picks.len() >= limit {
                        break;
                    }
                    if !seen.contains(other.as_str()) && picked.insert(other.clone()) {
                        picks.push(Pick {
                            media_id: other.clone(),
                            sessions: None,
                        });
                    }
                }
                (because.clone(), picks)
            })
            .collect()
    }

    /// Titles by views since `since_ms` (most first, ties by id).
    pub fn trending(&self, since_ms: i64) -> Vec<(String, u64)> {
        let mut counts: HashMap<&str, u64> = HashMap::new();
        for (at, id) in &self.recent {
            if *at >= since_ms {
                *counts.entry(id.as_str()).or_default() += 1;
            }
        }
        let mut out: Vec<(String, u64)> =
            counts.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }
}

impl Handler for Recommendation {
    const KIND: Kind = Kind::Recommendation;
    const CATALOG: CatalogNeed = CatalogNeed::SameGenre;
    type State = RecommendationState;

    fn apply(state: &mut RecommendationState, _titles: &Titles, event: &Event) {
        state.coviews.view(&event.session_id, &event.media_id);
        state
            .recent
            .push_back((event.timestamp_ms, event.media_id.clone()));
        let horizon = now_ms().max(event.timestamp_ms) - Self::MAX_WINDOW_MS;
        state.recent.retain(|(at, _)| *at >= horizon);
        while state.recent.len() > Self::MAX_VIEWS {
            state.recent.pop_front();
        }
    }

    fn summary(state: &RecommendationState) -> Value {
        serde_json::json!({
            "sessions": state.coviews.sessions(),
            "recentViews": state.recent.len(),
        })
    }

    fn routes() -> Router<Arc<Service<Self>>> {
        Router::new()
            .route("/recommendations", get(recommendations))
            .route("/trending", get(trending))
    }
}

async fn recommendations(
    State(svc): State<Arc<Service<Recommendation>>>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let session = service::session_id(query.session_id.as_deref())?;
    let limit = service::limit(query.limit.as_deref(), 10, 50)?;
    let rows: Vec<Value> = svc.read(|state, titles| {
        state
            .rows(session, titles, limit)
            .into_iter()
            .map(|(because, picks)| {
                let items: Vec<Value> = picks
                    .into_iter()
                    .map(|pick| {
                        let mut item = describe(titles, &pick.media_id);
                        match pick.sessions {
                            Some(n) => {
                                item["reason"] = "coViewed".into();
                                item["sessions"] = n.into();
                            }
                            None => item["reason"] = "sameGenre".into(),
                        }
                        item
                    })
                    .collect();
                serde_json::json!({ "because": describe(titles, &because), "items": items })
            })
            .collect()
    });
    Ok(Json(
        serde_json::json!({ "sessionId": session, "rows": rows }),
    ))
}

async fn trending(
    State(svc): State<Arc<Service<Recommendation>>>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = service::limit(query.limit.as_deref(), 10, 100)?;
    let max_window = (Recommendation::MAX_WINDOW_MS / 1000) as usize;
    let window = service::limit(query.window.as_deref(), 3600, max_window)
        .map_err(|_| ApiError::bad_request(format!("window must be 1 to {max_window} seconds")))?;
    let since = now_ms() - window as i64 * 1000;
    let items: Vec<Value> = svc.read(|state, titles| {
        state
            .trending(since)
            .into_iter()
            .take(limit)
            .map(|(id, views)| {
                let mut item = describe(titles, &id);
                item["views"] = views.into();
                item
            })
            .collect()
    });
    Ok(Json(
        serde_json::json!({ "windowSeconds": window, "items": items }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{MediaType, Title};

    fn event(activity: &str, session: &str, media: &str, at: i64) -> Event {
        crate::event::test_event(activity, session, media, at)
    }

    #[test]
    fn co_viewed_titles_come_first_then_the_genre() {
        let mut titles = Titles::new();
        titles.insert(
            "a".into(),
            Title {
                media_type: Some(MediaType::Movie),
                title: Some("A".into()),
                genre_ids: vec![18],
                same_genre: Some(vec!["b".into(), "g1".into(), "g2".into()]),
            },
        );
        let mut state = RecommendationState::default();
        let now = now_ms();
        for (i, (s, m)) in [
            ("s1", "a"),
            ("s1", "b"),
            ("s2", "a"),
            ("s2", "c"),
            ("s3", "a"),
            ("s3", "b"),
        ]
        .iter()
        .enumerate()
        {
            Recommendation::apply(&mut state, &titles, &event(&i.to_string(), s, m, now));
        }
        Recommendation::apply(&mut state, &titles, &event("x", "me", "a", now));
        let rows = state.rows("me", &titles, 4);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0, "a");
        let picks: Vec<(&str, Option<u64>)> = rows[0]
            .1
            .iter()
            .map(|p| (p.media_id.as_str(), p.sessions))
            .collect();
        assert_eq!(
            picks,
            [("b", Some(2)), ("c", Some(1)), ("g1", None), ("g2", None)]
        );
        assert!(state.rows("nobody", &titles, 4).is_empty());
        let trending = state.trending(now - 1000);
        assert_eq!(trending[0], ("a".to_owned(), 4));
        assert!(state.trending(now + 1).is_empty());
    }

    #[test]
    fn old_views_leave_the_window() {
        let mut state = RecommendationState::default();
        let old = now_ms() - Recommendation::MAX_WINDOW_MS - 1000;
        Recommendation::apply(&mut state, &Titles::new(), &event("1", "s", "a", old));
        assert!(state.recent.is_empty());
    }
}
