//! TMDB records as the frontend reads them, and what it makes of them: the
//! [`Media`] of `/api/discover` (the original's contract) and the [`Title`] the
//! pages and their script show (image URLs with their artwork fallbacks, match,
//! genre names).
//!
//! Image URLs are built here only: `<image base><size><path>` when the record has
//! a path, else the generated artwork (see [`crate::artwork`]).

use serde::Serialize;
use serde_json::Value;

use crate::genres;

/// Movie or TV show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

    /// `movie` or `tv`, nothing else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "movie" => Some(MediaType::Movie),
            "tv" => Some(MediaType::Tv),
            _ => None,
        }
    }

    /// The catalog's rule for `/discover?type=`: `tv` is TV, anything else movies.
    pub fn from_discover_param(s: Option<&str>) -> Self {
        if s == Some("tv") {
            MediaType::Tv
        } else {
            MediaType::Movie
        }
    }
}

/// The fields of a TMDB record that the frontend uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: i64,
    pub media_type: MediaType,
    /// `title` for movies, `name` for TV.
    pub title: String,
    pub overview: String,
    pub vote_average: f64,
    pub poster_path: Option<String>,
    pub backdrop_path: Option<String>,
    pub genre_ids: Vec<i64>,
    /// The first four characters of `release_date` / `first_air_date`.
    pub year: Option<String>,
}

impl Record {
    /// Reads a record; its `media_type` field wins over `fallback` (as in `/search`
    /// answers). `None` when it has no integer id.
    pub fn from_value(value: Value, fallback: MediaType) -> Option<Self> {
        let obj = value.as_object()?;
        let id = obj.get("id")?.as_i64()?;
        let text = |key: &str| obj.get(key).and_then(Value::as_str).map(str::to_owned);
        let media_type = obj
            .get("media_type")
            .and_then(Value::as_str)
            .and_then(MediaType::parse)
            .unwrap_or(fallback);
        let title = text("title")
            .or_else(|| text("name"))
            .or_else(|| text("original_title"))
            .or_else(|| text("original_name"))
            .unwrap_or_default();
        let path = |key: &str| text(key).filter(|p| !p.trim().is_empty());
        let year = text("release_date")
            .or_else(|| text("first_air_date"))
            .filter(|d| d.len() >= 4 && d.is_char_boundary(4))
            .map(|d| d[..4].to_owned());
        Some(Record {
            id,
            media_type,
            title,
            overview: text("overview").unwrap_or_default(),
            vote_average: obj
                .get("vote_average")
                .and_then(Value::as_f64)
                .unwrap_or(0.0),
            poster_path: path("poster_path"),
            backdrop_path: path("backdrop_path"),
            genre_ids: obj
                .get("genre_ids")
                .and_then(Value::as_array)
                .map(|ids| ids.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default(),
            year,
        })
    }

    /// Up to three genres with a TMDB name, in the record's order.
    pub fn genres(&self) -> Vec<Genre> {
        self.genre_ids
            .iter()
            .filter_map(|&id| genres::name(id).map(|name| Genre { id, name }))
            .take(3)
            .collect()
    }

    /// `vote_average × 10`, rounded: the "% match" of a card.
    pub fn match_percent(&self) -> i64 {
        (self.vote_average * 10.0).round().clamp(0.0, 100.0) as i64
    }
}

/// A genre id and its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Genre {
    pub id: i64,
    pub name: &'static str,
}

/// One title in `/api/discover`: the original's `Media` shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Media {
    pub id: i64,
    pub title: String,
    pub rating: f64,
    pub overview: String,
    pub poster: String,
    pub banner: String,
    pub genre: Vec<Genre>,
}

/// An image to show, and what to show instead when it cannot load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Image {
    pub src: String,
    pub fallback: String,
}

/// One title as the pages show it (also the items of `/api/search`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Title {
    pub id: i64,
    pub media_type: &'static str,
    pub title: String,
    pub rating: f64,
    pub overview: String,
    pub year: Option<String>,
    #[serde(rename = "match")]
    pub match_percent: i64,
    pub genres: Vec<&'static str>,
    /// Tall card (w500 poster).
    pub poster: Image,
    /// Wide card (w500 backdrop).
    pub backdrop: Image,
    /// Banner and details (original backdrop).
    pub banner: Image,
}

impl Title {
    /// The key the page script finds a title by.
    pub fn key(&self) -> String {
        format!("{}:{}", self.media_type, self.id)
    }
}

/// Which artwork to draw: its shape and layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtKind {
    /// 2:3, title centred.
    Poster,
    /// 16:9, title centred (cards).
    Backdrop,
    /// 16:9, the title drawn large and faint at the right, for behind the banner text.
    Banner,
}

impl ArtKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ArtKind::Poster => "poster",
            ArtKind::Backdrop => "backdrop",
            ArtKind::Banner => "banner",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "poster" => Some(ArtKind::Poster),
            "backdrop" => Some(ArtKind::Backdrop),
            "banner" => Some(ArtKind::Banner),
            _ => None,
        }
    }
}

/// Builds image URLs from the configured base (`MOVIE_IMAGE_URL`).
#[derive(Debug, Clone)]
pub struct Images {
    base: String,
}

impl Images {
    pub fn new(base: &str) -> Self {
        let mut base = base.trim().to_owned();
        if !base.ends_with('/') {
            base.push('/');
        }
        Self { base }
    }

    /// `<base><size><path>`, e.g. `https://image.tmdb.org/t/p/w500/abc.jpg`.
    pub fn url(&self, size: &str, path: &str) -> String {
        let path = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        format!("{}{size}{path}", self.base)
    }

    /// The frontend's own artwork for a record.
    pub fn artwork(record: &Record, kind: ArtKind) -> String {
        format!(
            "/artwork/{}/{}.svg?kind={}&title={}",
            record.media_type.as_str(),
            record.id,
            kind.as_str(),
            percent_encode(&record.title)
        )
    }

    fn image(&self, record: &Record, size: &str, path: Option<&str>, kind: ArtKind) -> Image {
        let fallback = Self::artwork(record, kind);
        let src = path.map_or_else(|| fallback.clone(), |p| self.url(size, p));
        Image { src, fallback }
    }

    /// The `Media` of `/api/discover`.
    pub fn media(&self, record: &Record) -> Media {
        Media {
            id: record.id,
            title: record.title.clone(),
            rating: record.vote_average,
            overview: record.overview.clone(),
            poster: self
                .image(
                    record,
                    "w500",
                    record.poster_path.as_deref(),
                    ArtKind::Poster,
                )
                .src,
            banner: self
                .image(
                    record,
                    "original",
                    record.backdrop_path.as_deref(),
                    ArtKind::Banner,
                )
                .src,
            genre: record.genres(),
        }
    }

    /// The page view of a record.
    pub fn title(&self, record: &Record) -> Title {
        let poster = record.poster_path.as_deref();
        let backdrop = record.backdrop_path.as_deref();
        Title {
            id: record.id,
            media_type: record.media_type.as_str(),
            title: record.title.clone(),
            rating: record.vote_average,
            overview: record.overview.clone(),
            year: record.year.clone(),
            match_percent: record.match_percent(),
            genres: record.genres().into_iter().map(|g| g.name).collect(),
            poster: self.image(record, "w500", poster, ArtKind::Poster),
            backdrop: self.image(record, "w500", backdrop, ArtKind::Backdrop),
            banner: self.image(record, "original", backdrop, ArtKind::Banner),
        }
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so the result
/// is safe in a query string, an HTML attribute and a JavaScript string alike.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(value: Value) -> Record {
        Record::from_value(value, MediaType::Movie).unwrap()
    }

    #[test]
    fn media_follows_the_original_contract() {
        let r = record(json!({
            "id": 7, "title": "Heat", "overview": "LA.", "vote_average": 7.94,
            "poster_path": "/p.jpg", "backdrop_path": "/b.jpg",
            "genre_ids": [28, 80, 18, 53, 99999], "release_date": "1995-12-15"
        }));
        let media = Images::new("https://img.test/t/p").media(&r);
        assert_eq!(media.poster, "https://img.test/t/p/w500/p.jpg");
        assert_eq!(media.banner, "https://img.test/t/p/original/b.jpg");
        let names: Vec<_> = media.genre.iter().map(|g| g.name).collect();
        assert_eq!(names, ["Action", "Crime", "Drama"]);
        assert_eq!(r.match_percent(), 79);
        assert_eq!(r.year.as_deref(), Some("1995"));
    }

    #[test]
    fn tv_names_and_missing_paths_fall_back_to_artwork() {
        let r = Record::from_value(
            json!({"id": 3, "name": "Dark & <Deep>", "poster_path": null}),
            MediaType::Tv,
        )
        .unwrap();
        assert_eq!(r.title, "Dark & <Deep>");
        let title = Images::new("https://img.test/").title(&r);
        assert_eq!(
            title.poster.src,
            "/artwork/tv/3.svg?kind=poster&title=Dark%20%26%20%3CDeep%3E"
        );
        assert_eq!(title.poster.src, title.poster.fallback);
    }

    #[test]
    fn search_records_carry_their_type() {
        let r = record(json!({"id": 1, "name": "X", "media_type": "tv"}));
        assert_eq!(r.media_type, MediaType::Tv);
        assert!(Record::from_value(json!({"id": "1"}), MediaType::Movie).is_none());
    }
}
