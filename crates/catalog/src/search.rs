//! Title search: case- and accent-insensitive matching, and the ranking of matches.
//!
//! Titles are folded once at load (transliterated to ASCII, lowercased, punctuation
//! turned into spaces), queries the same way per request. A match is ranked by how
//! it matches, best first:
//!
//! 0. the whole title is the query;
//! 1. the title starts with the query;
//! 2. a word of the title starts with the query;
//! 3. every word of the query starts some word of the title, in any order;
//! 4. the query appears anywhere in the title.
//!
//! Both the display title and the original-language title are tried; the better
//! rank counts. Ties go to the more popular record.

/// A title folded for matching.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchKey {
    title: String,
    original: String,
}

impl SearchKey {
    pub fn new(title: &str, original: &str) -> Self {
        let title = fold(title);
        let mut original = fold(original);
        if original == title {
            original.clear();
        }
        SearchKey { title, original }
    }

    /// The rank of this title for a folded query (see the module doc), or `None`.
    pub fn rank(&self, query: &Query) -> Option<u8> {
        let own = rank_one(&self.title, query);
        let original = if self.original.is_empty() {
            None
        } else {
            rank_one(&self.original, query)
        };
        match (own, original) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A query folded for matching.
#[derive(Debug, Clone)]
pub struct Query {
    folded: String,
    words: Vec<String>,
}

impl Query {
    /// `None` when nothing searchable is left after folding (only punctuation, say).
    pub fn new(raw: &str) -> Option<Self> {
        let folded = fold(raw);
        if folded.is_empty() {
            return None;
        }
        let words = folded.split(' ').map(str::to_owned).collect();
        Some(Query { folded, words })
    }
}

/// Lowercase ASCII words separated by single spaces: "Amélie!" -> "amelie",
/// "Spider-Man: No Way Home" -> "spider man no way home".
pub fn fold(text: &str) -> String {
    let ascii = deunicode::deunicode(text);
    let mut out = String::with_capacity(ascii.len());
    let mut pending_space = false;
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c.to_ascii_lowercase());
        } else if c == '\'' {
            // "Schindler's" matches "schindlers".
        } else {
            pending_space = true;
        }
    }
    out
}

fn rank_one(title: &str, query: &Query) -> Option<u8> {
    let q = query.folded.as_str();
    if title == q {
        return Some(0);
    }
    if title.starts_with(q) {
        return Some(1);
    }
    let mut found_inside = false;
    for (at, _) in title.match_indices(q) {
        if at == 0 || title.as_bytes()[at - 1] == b' ' {
            return Some(2);
        }
        found_inside = true;
    }
    let words: Vec<&str> = title.split(' ').collect();
    if query
        .words
        .iter()
        .all(|qw| words.iter().any(|w| w.starts_with(qw.as_str())))
    {
        return Some(3);
    }
    found_inside.then_some(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rank(title: &str, original: &str, q: &str) -> Option<u8> {
        SearchKey::new(title, original).rank(&Query::new(q).unwrap())
    }

    #[test]
    fn folds_case_accents_and_punctuation() {
        assert_eq!(fold("Amélie"), "amelie");
        assert_eq!(
            fold("  Spider-Man: No Way Home! "),
            "spider man no way home"
        );
        assert_eq!(fold("Schindler's List"), "schindlers list");
        assert_eq!(fold("Pokémon"), "pokemon");
        assert_eq!(fold("!!!"), "");
        assert!(Query::new("?!").is_none());
    }

    #[test]
    fn ranks_matches_best_first() {
        assert_eq!(rank("Dark", "", "DARK"), Some(0));
        assert_eq!(rank("Dark Waters", "", "dark"), Some(1));
        assert_eq!(rank("The Dark Knight", "", "dark"), Some(2));
        assert_eq!(rank("The Dark Knight", "", "knight dark"), Some(3));
        assert_eq!(rank("Undark", "", "dark"), Some(4));
        assert_eq!(rank("Heat", "", "dark"), None);
    }

    #[test]
    fn original_titles_match_too() {
        assert_eq!(
            rank("Money Heist", "La casa de papel", "casa de papel"),
            Some(2)
        );
        assert_eq!(
            rank("Amelie", "Le Fabuleux Destin d'Amélie Poulain", "fabuleux"),
            Some(2)
        );
    }
}
