//! TMDB's standard genre lists, the names behind `genre_ids`.

use crate::media::MediaType;

/// TMDB's movie genres.
pub const MOVIE_GENRES: &[(i64, &str)] = &[
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

/// TMDB's TV genres.
pub const TV_GENRES: &[(i64, &str)] = &[
    (10759, "Action & Adventure"),
    (16, "Animation"),
    (35, "Comedy"),
    (80, "Crime"),
    (99, "Documentary"),
    (18, "Drama"),
    (10751, "Family"),
    (10762, "Kids"),
    (9648, "Mystery"),
    (10763, "News"),
    (10764, "Reality"),
    (10765, "Sci-Fi & Fantasy"),
    (10766, "Soap"),
    (10767, "Talk"),
    (10768, "War & Politics"),
    (37, "Western"),
];

/// The genre list of a media type.
pub fn list(media_type: MediaType) -> &'static [(i64, &'static str)] {
    match media_type {
        MediaType::Movie => MOVIE_GENRES,
        MediaType::Tv => TV_GENRES,
    }
}

/// The name of a genre id for a media type, falling back to the other type's list
/// (TMDB records sometimes carry a genre of the other list).
pub fn name(media_type: MediaType, id: i64) -> Option<&'static str> {
    let lookup = |list: &'static [(i64, &'static str)]| {
        list.iter().find(|(gid, _)| *gid == id).map(|(_, n)| *n)
    };
    lookup(list(media_type)).or_else(|| lookup(list(media_type.other())))
}
