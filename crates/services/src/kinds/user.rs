//! The user service: each session's viewing history, newest first, one entry per
//! title (its latest viewing), at most [`User::HISTORY`] titles per session.
//!
//! `GET /history?sessionId=&limit=` → `{"sessionId", "items": [{"mediaId",
//! "viewedAt", "activityId"}]}`.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use indexmap::IndexMap;
use nextflix_common::error::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalog::Titles;
use crate::config::Kind;
use crate::event::{Event, format_ms};
use crate::service::{self, CatalogNeed, Handler, ListQuery, Service};

/// The user service.
pub struct User;

/// One title in a session's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Viewed {
    pub media_id: String,
    pub viewed_at_ms: i64,
    pub activity_id: String,
}

/// Sessions' histories; the least recently active session first.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct UserState {
    sessions: IndexMap<String, Vec<Viewed>>,
}

impl User {
    pub const HISTORY: usize = 50;
    pub const SESSIONS: usize = 10_000;
}

impl UserState {
    pub fn history(&self, session: &str) -> &[Viewed] {
        self.sessions.get(session).map_or(&[], Vec::as_slice)
    }
}

impl Handler for User {
    const KIND: Kind = Kind::User;
    const CATALOG: CatalogNeed = CatalogNeed::Nothing;
    type State = UserState;

    fn apply(state: &mut UserState, _titles: &Titles, event: &Event) {
        let mut history = state
            .sessions
            .shift_remove(&event.session_id)
            .unwrap_or_default();
        let newer_known = history
            .iter()
            .any(|v| v.media_id == event.media_id && v.viewed_at_ms >= event.timestamp_ms);
        if !newer_known {
            history.retain(|v| v.media_id != event.media_id);
            history.push(Viewed {
                media_id: event.media_id.clone(),
                viewed_at_ms: event.timestamp_ms,
                activity_id: event.activity_id.clone(),
            });
            history.sort_by(|a, b| {
                b.viewed_at_ms
                    .cmp(&a.viewed_at_ms)
                    .then_with(|| a.activity_id.cmp(&b.activity_id))
            });
            history.truncate(Self::HISTORY);
        }
        state.sessions.insert(event.session_id.clone(), history);
        while state.sessions.len() > Self::SESSIONS {
            state.sessions.shift_remove_index(0);
        }
    }

    fn summary(state: &UserState) -> Value {
        serde_json::json!({ "sessions": state.sessions.len() })
    }

    fn routes() -> Router<Arc<Service<Self>>> {
        Router::new().route("/history", get(history))
    }
}

async fn history(
    State(svc): State<Arc<Service<User>>>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let session = service::session_id(query.session_id.as_deref())?;
    let limit = service::limit(query.limit.as_deref(), User::HISTORY, User::HISTORY)?;
    let items: Vec<Value> = svc.read(|state, _| {
        state
            .history(session)
            .iter()
            .take(limit)
            .map(|v| {
                serde_json::json!({
                    "mediaId": v.media_id,
                    "viewedAt": format_ms(v.viewed_at_ms),
                    "activityId": v.activity_id,
                })
            })
            .collect()
    });
    Ok(Json(
        serde_json::json!({ "sessionId": session, "items": items }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(activity: &str, session: &str, media: &str, at: i64) -> Event {
        crate::event::test_event(activity, session, media, at)
    }

    #[test]
    fn history_is_newest_first_and_deduplicated() {
        let mut state = UserState::default();
        let titles = Titles::new();
        User::apply(&mut state, &titles, &event("1", "s", "a", 1000));
        User::apply(&mut state, &titles, &event("2", "s", "b", 2000));
        User::apply(&mut state, &titles, &event("3", "s", "a", 3000));
        // Late and older: does not move "b".
        User::apply(&mut state, &titles, &event("4", "s", "b", 500));
        let ids: Vec<&str> = state
            .history("s")
            .iter()
            .map(|v| v.media_id.as_str())
            .collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(state.history("s")[0].activity_id, "3");
        assert!(state.history("other").is_empty());
    }

    #[test]
    fn history_is_bounded() {
        let mut state = UserState::default();
        for i in 0..(User::HISTORY as i64 + 5) {
            User::apply(
                &mut state,
                &Titles::new(),
                &event(&i.to_string(), "s", &i.to_string(), i),
            );
        }
        assert_eq!(state.history("s").len(), User::HISTORY);
        assert_eq!(
            state.history("s")[0].media_id,
            (User::HISTORY + 4).to_string()
        );
    }
}
