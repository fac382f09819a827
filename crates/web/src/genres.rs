//! TMDB's standard genre names (SPEC 1.2), the names behind a record's `genre_ids`.
//!
//! The frontend keeps its own copy rather than reaching into the catalog's code:
//! parts share only HTTP. The lists are TMDB's and do not change.

/// TMDB's movie genres.
const MOVIE: &[(i64, &str)] = &[
    (28, "Action"),
    (12, "Adventure"),
    (16, "Animation"),
    (35, "Comedy"),
    (80, "Crime"),
    (99, "Documentary"),
    (18, "Drama"),
    (10751, "Family"),
    (14, "Fantasy"),
    (36, "History"),
    (27, "Horror"),
    (10402, "Music"),
    (9648, "Mystery"),
    (10749, "Romance"),
    (878, "Science Fiction"),
    (10770, "TV Movie"),
    (53, "Thriller"),
    (10752, "War"),
    (37, "Western"),
];

/// The genres TMDB's TV list adds to (or names differently from) the movie list.
const TV_ONLY: &[(i64, &str)] = &[
    (10759, "Action & Adventure"),
    (10762, "Kids"),
    (10763, "News"),
    (10764, "Reality"),
    (10765, "Sci-Fi & Fantasy"),
    (10766, "Soap"),
    (10767, "Talk"),
    (10768, "War & Politics"),
];

/// The name of a genre id, from either list (records sometimes carry a genre of
/// the other list); `None` for an id TMDB does not have.
pub fn name(id: i64) -> Option<&'static str> {
    MOVIE
        .iter()
        .chain(TV_ONLY)
        .find(|(gid, _)| *gid == id)
        .map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_come_from_both_lists() {
        assert_eq!(super::name(35), Some("Comedy"));
        assert_eq!(super::name(10765), Some("Sci-Fi & Fantasy"));
        assert_eq!(super::name(1), None);
    }
}
