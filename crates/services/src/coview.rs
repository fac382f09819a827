//! Which titles were watched together: each session's recent titles, and for every
//! pair of titles the number of sessions that watched both. The recommendation and
//! streaming services each keep one (in their own state). Pure data, no I/O.

use std::collections::{HashMap, VecDeque};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// Sessions' recent titles and the co-view counts they produced.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct CoViews {
    /// Session id to its titles, newest first; the least recently active session first.
    sessions: IndexMap<String, VecDeque<String>>,
    /// Title to title to the number of sessions that watched both.
    pairs: HashMap<String, HashMap<String, u64>>,
}

impl CoViews {
    /// Titles remembered per session.
    pub const SESSION_TITLES: usize = 20;
    /// Sessions remembered (the least recently active are forgotten first).
    pub const SESSIONS: usize = 10_000;

    /// Records that `session` watched `media`; true when the session had not watched
    /// it before (only then are pairs counted).
    pub fn view(&mut self, session: &str, media: &str) -> bool {
        let mut titles = self.sessions.shift_remove(session).unwrap_or_default();
        let new = if let Some(at) = titles.iter().position(|t| t == media) {
            titles.remove(at);
            false
        } else {
            for other in &titles {
                *self
                    .pairs
                    .entry(other.clone())
                    .or_default()
                    .entry(media.to_owned())
                    .or_default() += 1;
                *self
                    .pairs
                    .entry(media.to_owned())
                    .or_default()
                    .entry(other.clone())
                    .or_default() += 1;
            }
            true
        };
        titles.push_front(media.to_owned());
        titles.truncate(Self::SESSION_TITLES);
        self.sessions.insert(session.to_owned(), titles);
        while self.sessions.len() > Self::SESSIONS {
            self.sessions.shift_remove_index(0);
        }
        new
    }

    /// The session's titles, newest first.
    pub fn watched(&self, session: &str) -> Vec<String> {
        self.sessions
            .get(session)
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Titles watched in the same sessions as `media`, most shared first.
    pub fn with(&self, media: &str) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = self
            .pairs
            .get(media)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }

    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_counted_once_per_session() {
        let mut c = CoViews::default();
        assert!(c.view("s1", "a"));
        assert!(c.view("s1", "b"));
        assert!(!c.view("s1", "a"));
        assert!(c.view("s2", "a"));
        assert!(c.view("s2", "b"));
        assert!(c.view("s2", "c"));
        assert_eq!(c.with("a"), vec![("b".to_owned(), 2), ("c".to_owned(), 1)]);
        assert_eq!(c.watched("s1"), vec!["a", "b"]);
        assert_eq!(c.watched("nobody"), Vec::<String>::new());
        assert_eq!(c.sessions(), 2);
    }
}
