//! The streaming service: pre-warms what is likely to be played next. For each
//! viewed title, the titles most watched with it in other sessions and the first
//! titles of its genre are fetched from the catalog (their records are kept, ready
//! to play) and put at the head of a bounded warm list, each with its reason.
//!
//! `GET /warm?limit=` → `{"items": [{"mediaId", "type", "title", "reason":
//! {"kind": "coViewed"|"sameGenre", "after": {"mediaId", "type", "title"}},
//! "warmedAt", "hits"}]}`, most recently warmed first.

use std::collections::{HashSet, VecDeque};
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
use crate::event::{Event, format_ms};
use crate::service::{self, CatalogNeed, Handler, ListQuery, Service};

/// The streaming service.
pub struct Streaming;

impl Streaming {
    /// Titles warmed per view, of each kind.
    pub const PER_VIEW: usize = 3;
    /// The warm list's length.
    pub const WARM: usize = 100;
}

/// Why a title is warm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReasonKind {
    CoViewed,
    SameGenre,
}

/// One warm title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Warm {
    pub media_id: String,
    pub kind: ReasonKind,
    /// The title whose viewing warmed it.
    pub after: String,
    pub warmed_at_ms: i64,
    /// How many views warmed it.
    pub hits: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct StreamingState {
    coviews: CoViews,
    warm: VecDeque<Warm>,
}

impl StreamingState {
    pub fn warm(&self) -> impl Iterator<Item = &Warm> {
        self.warm.iter()
    }

    fn heat(&mut self, media_id: &str, kind: ReasonKind, after: &str, at: i64) {
        let hits = match self.warm.iter().position(|w| w.media_id == media_id) {
            Some(i) => self.warm.remove(i).map_or(0, |w| w.hits),
            None => 0,
        };
        self.warm.push_front(Warm {
            media_id: media_id.to_owned(),
            kind,
            after: after.to_owned(),
            warmed_at_ms: at,
            hits: hits + 1,
        });
        self.warm.truncate(Streaming::WARM);
    }
}

impl Handler for Streaming {
    const KIND: Kind = Kind::Streaming;
    const CATALOG: CatalogNeed = CatalogNeed::SameGenre;
    type State = StreamingState;

    fn apply(state: &mut StreamingState, titles: &Titles, event: &Event) {
        let viewed = event.media_id.as_str();
        state.coviews.view(&event.session_id, viewed);
        let watched: HashSet<String> = state
            .coviews
            .watched(&event.session_id)
            .into_iter()
            .collect();
        let mut next: Vec<(String, ReasonKind)> = Vec::new();
        for (other, _) in state.coviews.with(viewed) {
            if next.len() >= Self::PER_VIEW {
                break;
            }
            if !watched.contains(&other) {
                next.push((other, ReasonKind::CoViewed));
            }
        }
        let same_genre = titles
            .get(viewed)
            .and_then(|t| t.same_genre.as_deref())
            .unwrap_or_default();
        let mut genre_picks = 0;
        for other in same_genre {
            if genre_picks >= Self::PER_VIEW {
                break;
            }
            if !watched.contains(other) && !next.iter().any(|(id, _)| id == other) {
                next.push((other.clone(), ReasonKind::SameGenre));
                genre_picks += 1;
            }
        }
        // The best candidate ends up first.
        for (id, kind) in next.iter().rev() {
            state.heat(id, *kind, viewed, event.timestamp_ms);
        }
    }

    fn summary(state: &StreamingState) -> Value {
        serde_json::json!({ "warm": state.warm.len(), "sessions": state.coviews.sessions() })
    }

    fn routes() -> Router<Arc<Service<Self>>> {
        Router::new().route("/warm", get(warm))
    }
}

async fn warm(
    State(svc): State<Arc<Service<Streaming>>>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = service::limit(query.limit.as_deref(), 20, Streaming::WARM)?;
    let items: Vec<Value> = svc.read(|state, titles| {
        state
            .warm()
            .take(limit)
            .map(|w| {
                let mut item = describe(titles, &w.media_id);
                item["reason"] = serde_json::json!({
                    "kind": w.kind,
                    "after": describe(titles, &w.after),
                });
                item["warmedAt"] = format_ms(w.warmed_at_ms).into();
                item["hits"] = w.hits.into();
                item
            })
            .collect()
    });
    Ok(Json(serde_json::json!({ "items": items })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{MediaType, Title};

    fn event(activity: &str, session: &str, media: &str) -> Event {
        crate::event::test_event(activity, session, media, 1)
    }

    #[test]
    fn viewing_warms_co_viewed_then_same_genre_titles() {
        let mut titles = Titles::new();
        titles.insert(
            "a".into(),
            Title {
                media_type: Some(MediaType::Movie),
                title: Some("A".into()),
                genre_ids: vec![18],
                same_genre: Some(vec![
                    "b".into(),
                    "g1".into(),
                    "g2".into(),
                    "g3".into(),
                    "g4".into(),
                ]),
            },
        );
        let mut state = StreamingState::default();
        Streaming::apply(&mut state, &titles, &event("1", "s1", "b"));
        Streaming::apply(&mut state, &titles, &event("2", "s1", "a"));
        // s1 watched both: nothing co-viewed to warm for s1 beyond the genre.
        Streaming::apply(&mut state, &titles, &event("3", "s2", "a"));
        let warm: Vec<(&str, ReasonKind)> = state
            .warm()
            .map(|w| (w.media_id.as_str(), w.kind))
            .collect();
        assert_eq!(
            &warm[..4],
            [
                ("b", ReasonKind::CoViewed),
                ("g1", ReasonKind::SameGenre),
                ("g2", ReasonKind::SameGenre),
                ("g3", ReasonKind::SameGenre),
            ]
        );
        assert_eq!(
            state.warm().find(|w| w.media_id == "g1").map(|w| w.hits),
            Some(2)
        );
    }
}
