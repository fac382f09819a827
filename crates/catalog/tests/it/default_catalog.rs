//! The built-in catalog: big enough, well formed, and filling every row of the
//! browse page (SPEC 1.2) with at least 12 titles.

use serde_json::Value;

use crate::support::{TestCatalog, ids};

/// The browse page's rows: (title, type, genre); `None` is any genre.
const ROWS: [(&str, &str, Option<i64>); 7] = [
    ("Only on Nextflix", "tv", None),
    ("Comedies", "movie", Some(35)),
    ("Action", "movie", Some(28)),
    ("TV Sci-Fi and Horror", "tv", Some(10765)),
    ("Mystery Movies", "movie", Some(9648)),
    ("Animation", "tv", Some(16)),
    ("Drama", "movie", Some(18)),
];

#[tokio::test]
async fn every_browse_row_has_at_least_twelve_titles() {
    let c = TestCatalog::start().await;
    for (row, kind, genre) in ROWS {
        let path = match genre {
            Some(g) => format!("/discover?type={kind}&genre={g}"),
            None => format!("/discover?type={kind}"),
        };
        let page = c.get_json(&path, 200).await;
        assert!(
            ids(&page).len() >= 12,
            "row {row:?} has {}",
            ids(&page).len()
        );
    }
}

#[tokio::test]
async fn it_has_150_movies_and_100_shows_in_tmdb_form() {
    let c = TestCatalog::start().await;
    let genres = c.get_json("/genres", 200).await;
    let metrics = c.get("/metrics").await.text().await.unwrap();
    let count = |kind: &str| -> usize {
        let prefix = format!("catalog_records{{type=\"{kind}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(count("movie") >= 150, "{} movies", count("movie"));
    assert!(count("tv") >= 100, "{} shows", count("tv"));
    assert!(genres["movie"].as_array().unwrap().len() >= 19);

    let movie_fields = [
        "adult",
        "backdrop_path",
        "genre_ids",
        "id",
        "original_language",
        "original_title",
        "overview",
        "popularity",
        "poster_path",
        "release_date",
        "title",
        "video",
        "vote_average",
        "vote_count",
    ];
    let tv_fields = [
        "adult",
        "backdrop_path",
        "first_air_date",
        "genre_ids",
        "id",
        "name",
        "origin_country",
        "original_language",
        "original_name",
        "overview",
        "popularity",
        "poster_path",
        "vote_average",
        "vote_count",
    ];
    for (kind, fields) in [("movie", &movie_fields[..]), ("tv", &tv_fields[..])] {
        for _ in 0..5 {
            for record in c
                .get_json(&format!("/discover?type={kind}"), 200)
                .await
                .as_array()
                .unwrap()
            {
                let keys: Vec<&str> = record
                    .as_object()
                    .unwrap()
                    .keys()
                    .map(String::as_str)
                    .collect();
                assert_eq!(keys, fields, "{kind} {record}");
                let overview = record["overview"].as_str().unwrap();
                assert!(overview.split_whitespace().count() >= 8, "{kind} {record}");
                let id = &record["id"];
                let one: Value = c.get_json(&format!("/media/{kind}/{id}"), 200).await;
                assert_eq!(&one, record);
            }
        }
    }
}

#[tokio::test]
async fn accented_titles_are_found_without_accents() {
    let c = TestCatalog::start().await;
    let hits = c.get_json("/search?q=amelie", 200).await;
    assert!(
        hits.as_array()
            .unwrap()
            .iter()
            .any(|h| h["title"].as_str().unwrap().contains("Amélie")),
        "{hits}"
    );
}
