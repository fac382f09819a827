//! Every route, happy and unhappy paths, on a small catalog written by the test.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::support::{TestCatalog, ids};

/// A data directory with 30 movies and 25 TV shows whose shape the tests know.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let special = [
        (1, "Amélie", "Le Fabuleux Destin d'Amélie Poulain"),
        (2, "The Dark Knight", "The Dark Knight"),
        (3, "Dark", "Dark"),
        (4, "Dark Waters", "Dark Waters"),
        (5, "Undark", "Undark"),
    ];
    let mut movies = indexmap::IndexMap::<String, Value>::new();
    for id in 1..=30i64 {
        let (title, original) = special
            .iter()
            .find(|(i, _, _)| *i == id)
            .map(|(_, t, o)| (t.to_string(), o.to_string()))
            .unwrap_or_else(|| (format!("Movie {id}"), format!("Movie {id}")));
        let genres = if id % 2 == 0 {
            json!([18, 35])
        } else {
            json!([18])
        };
        movies.insert(
            id.to_string(),
            json!({"adult": false, "backdrop_path": "/b.jpg", "genre_ids": genres, "id": id,
                   "original_language": "en", "original_title": original, "overview": "o",
                   "popularity": id as f64 + 0.5, "poster_path": "/p.jpg", "release_date": "2001-01-01",
                   "title": title, "video": false, "vote_average": 7.1, "vote_count": 10}),
        );
    }
    let mut tv = indexmap::IndexMap::<String, Value>::new();
    for id in 101..=125i64 {
        tv.insert(
            id.to_string(),
            json!({"adult": false, "backdrop_path": null, "first_air_date": "2010-05-05",
                   "genre_ids": [10765, 18], "id": id, "name": format!("Show {id}"),
                   "origin_country": ["DE"], "original_language": "de",
                   "original_name": format!("Sendung {id}"), "overview": "o", "popularity": 3,
                   "poster_path": null, "vote_average": 8, "vote_count": 5}),
        );
    }
    // An IndexMap keeps the insertion order in the file, which the genre rule reads.
    std::fs::write(
        dir.path().join("data_movies.json"),
        serde_json::to_string(&movies).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("data_tv.json"),
        serde_json::to_string(&tv).unwrap(),
    )
    .unwrap();
    dir
}

async fn start_fixture() -> (TestCatalog, tempfile::TempDir) {
    let data = fixture();
    let catalog =
        TestCatalog::start_with(Some(data.path().to_owned()), tempfile::tempdir().unwrap()).await;
    (catalog, data)
}

#[tokio::test]
async fn home_status_and_ready_answer_plain_text() {
    let (c, _data) = start_fixture().await;
    let home = c.get("/").await;
    assert_eq!(home.status(), 200);
    assert!(
        home.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(home.text().await.unwrap().contains("API"));
    for path in ["/status", "/ready"] {
        let r = c.get(path).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap(), "OK");
    }
}

#[tokio::test]
async fn discover_without_genre_is_twenty_random_records_of_the_type() {
    let (c, _data) = start_fixture().await;
    let mut seen_orders = HashSet::new();
    for _ in 0..5 {
        let page = c.get_json("/discover?type=movie", 200).await;
        let got = ids(&page);
        assert_eq!(got.len(), 20);
        assert_eq!(got.iter().collect::<HashSet<_>>().len(), 20, "distinct");
        assert!(got.iter().all(|id| (1..=30).contains(id)));
        seen_orders.insert(got);
    }
    assert!(seen_orders.len() > 1, "five random pages were all the same");
    // Anything but `tv` means movies, as in the original; so does no type at all.
    for path in [
        "/discover",
        "/discover?type=film",
        "/discover?type=TV",
        "/discover?genre=",
    ] {
        let got = ids(&c.get_json(path, 200).await);
        assert!(got.iter().all(|id| (1..=30).contains(id)), "{path}");
    }
    let tv = c.get_json("/discover?type=tv", 200).await;
    assert_eq!(ids(&tv).len(), 20);
    assert!(tv[0]["name"].is_string() && tv[0].get("title").is_none());
}

#[tokio::test]
async fn discover_with_genre_is_the_first_twenty_in_file_order() {
    let (c, _data) = start_fixture().await;
    let drama = c.get_json("/discover?type=movie&genre=18", 200).await;
    assert_eq!(ids(&drama), (1..=20).collect::<Vec<_>>());
    let comedy = c.get_json("/discover?genre=35", 200).await;
    assert_eq!(ids(&comedy), (2..=30).step_by(2).collect::<Vec<_>>());
    // Python's int() accepts surrounding spaces and a sign.
    assert_eq!(c.get_json("/discover?genre=%2018%20", 200).await, drama);
    assert_eq!(c.get_json("/discover?genre=%2B18", 200).await, drama);
    assert_eq!(
        c.get_json("/discover?type=tv&genre=10765", 200)
            .await
            .as_array()
            .unwrap()
            .len(),
        20
    );
    assert_eq!(c.get_json("/discover?genre=99", 200).await, json!([]));
    assert_eq!(c.get_json("/discover?genre=-18", 200).await, json!([]));
    assert_eq!(
        c.get_json("/discover?genre=123456789012345678901234567890", 200)
            .await,
        json!([])
    );
    // The first of repeated parameters counts.
    assert_eq!(
        ids(&c.get_json("/discover?genre=35&genre=18", 200).await),
        ids(&comedy)
    );
}

#[tokio::test]
async fn discover_with_a_non_numeric_genre_is_a_400_not_a_crash() {
    let (c, _data) = start_fixture().await;
    for genre in ["abc", "1.5", "18x", "%FF"] {
        let body = c.get_json(&format!("/discover?genre={genre}"), 400).await;
        assert!(
            body["error"].as_str().unwrap().contains("genre"),
            "{genre}: {body}"
        );
    }
}

#[tokio::test]
async fn update_popularity_changes_what_is_served() {
    let (c, _data) = start_fixture().await;
    let (status, body) = c
        .post_json(
            "/updatePopularity",
            &json!({"movieId": "2", "popularity": "12.5"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"message": "Popularity updated successfully", "new_popularity": 12.5})
    );
    assert_eq!(c.get_json("/media/movie/2", 200).await["popularity"], 12.5);
    let drama = c.get_json("/discover?genre=18", 200).await;
    assert_eq!(drama[1]["popularity"], 12.5);
    // An integer id and a number work too; so does a TV show.
    let (status, body) = c
        .post_json("/updatePopularity", &json!({"movieId": 3, "popularity": 7}))
        .await;
    assert_eq!((status, &body["new_popularity"]), (200, &json!(7.0)));
    let (status, _) = c
        .post_json(
            "/updatePopularity",
            &json!({"movieId": "101", "type": "tv", "popularity": 1e3}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(c.get_json("/media/tv/101", 200).await["popularity"], 1000.0);
}

#[tokio::test]
async fn update_popularity_rejects_bad_input_with_the_original_messages() {
    let (c, _data) = start_fixture().await;
    let id_error = "Movie Id value not provided or not found";
    let cases = [
        (json!({"popularity": 1}), id_error),
        (json!({"movieId": "9999", "popularity": 1}), id_error),
        (json!({"movieId": "9999"}), id_error),
        (json!({"movieId": null, "popularity": 1}), id_error),
        (json!({"movieId": ["1"], "popularity": 1}), id_error),
        // A TV id is not a movie id.
        (json!({"movieId": "101", "popularity": 1}), id_error),
        (json!({"movieId": "1"}), "Popularity value not provided"),
        (
            json!({"movieId": "1", "popularity": null}),
            "Popularity value not provided",
        ),
        (
            json!({"movieId": "1", "popularity": "high"}),
            "Popularity value must be a float",
        ),
        (
            json!({"movieId": "1", "popularity": true}),
            "Popularity value must be a float",
        ),
        (
            json!({"movieId": "1", "popularity": [1]}),
            "Popularity value must be a float",
        ),
        (
            json!({"movieId": "1", "popularity": "nan"}),
            "Popularity value must be a finite number",
        ),
        (
            json!({"movieId": "1", "popularity": "inf"}),
            "Popularity value must be a finite number",
        ),
        (
            json!({"movieId": "1", "popularity": 1, "type": "book"}),
            "type must be \"movie\" or \"tv\"",
        ),
    ];
    for (body, message) in cases {
        let (status, answer) = c.post_json("/updatePopularity", &body).await;
        assert_eq!(
            (status, answer),
            (400, json!({ "error": message })),
            "{body}"
        );
    }
    for raw in [
        "",
        "not json",
        "[1, 2]",
        "\"movieId\"",
        "{\"movieId\": \"1\",",
    ] {
        let (status, answer) = c.post_raw("/updatePopularity", raw).await;
        assert_eq!(status, 400, "{raw:?}");
        assert_eq!(
            answer,
            json!({"error": "Request body must be a JSON object"})
        );
    }
    // Nothing was changed by the refused requests.
    assert_eq!(c.get_json("/media/movie/1", 200).await["popularity"], 1.5);
}

#[tokio::test]
async fn media_returns_one_record_or_a_json_404() {
    let (c, _data) = start_fixture().await;
    let movie = c.get_json("/media/movie/1", 200).await;
    assert_eq!(movie["title"], "Amélie");
    assert_eq!(movie["genre_ids"], json!([18]));
    assert_eq!(c.get_json("/media/tv/125", 200).await["name"], "Show 125");
    let missing = c.get_json("/media/movie/31", 404).await;
    assert!(missing["error"].as_str().unwrap().contains("31"));
    c.get_json("/media/tv/1", 404).await;
    c.get_json("/media/book/1", 404).await;
}

#[tokio::test]
async fn search_is_case_and_accent_insensitive_and_ranked() {
    let (c, _data) = start_fixture().await;
    let hits = c.get_json("/search?q=AMELIE", 200).await;
    assert_eq!(ids(&hits), vec![1]);
    assert_eq!(hits[0]["media_type"], "movie");
    assert_eq!(
        ids(&c.get_json("/search?q=am%C3%A9lie", 200).await),
        vec![1]
    );
    assert_eq!(
        ids(&c.get_json("/search?q=fabuleux%20destin", 200).await),
        vec![1]
    );
    // Exact, then prefix, then word, then inside a word.
    assert_eq!(
        ids(&c.get_json("/search?q=dark", 200).await),
        vec![3, 4, 2, 5]
    );
    // Ties go to the more popular title.
    let movies = ids(&c.get_json("/search?q=movie", 200).await);
    assert_eq!(movies.len(), 20, "at most 20");
    assert_eq!(movies[0], 30);
    // Type filter, original titles, and both types by default.
    let tv = c.get_json("/search?q=sendung%20101&type=tv", 200).await;
    assert_eq!(ids(&tv), vec![101]);
    assert_eq!(tv[0]["media_type"], "tv");
    assert_eq!(
        c.get_json("/search?q=show&type=movie", 200).await,
        json!([])
    );
    assert_eq!(
        c.get_json("/search?q=nothing-like-this", 200).await,
        json!([])
    );
    assert_eq!(c.get_json("/search?q=%3F%21", 200).await, json!([]));
}

#[tokio::test]
async fn search_rejects_a_missing_query_or_an_unknown_type() {
    let (c, _data) = start_fixture().await;
    for path in [
        "/search",
        "/search?q=",
        "/search?q=%20%20",
        "/search?q=dark&type=book",
    ] {
        let body = c.get_json(path, 400).await;
        assert!(body["error"].is_string(), "{path}");
    }
}

#[tokio::test]
async fn genres_lists_tmdb_names_with_counts() {
    let (c, _data) = start_fixture().await;
    let genres = c.get_json("/genres", 200).await;
    let find = |kind: &str, id: i64| {
        genres[kind]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        find("movie", 18),
        json!({"id": 18, "name": "Drama", "count": 30})
    );
    assert_eq!(
        find("movie", 35),
        json!({"id": 35, "name": "Comedy", "count": 15})
    );
    assert_eq!(find("movie", 28)["count"], 0);
    assert_eq!(
        find("tv", 10765),
        json!({"id": 10765, "name": "Sci-Fi & Fantasy", "count": 25})
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let (c, _data) = start_fixture().await;
    c.get("/discover?type=movie").await;
    c.get("/discover?genre=abc").await;
    c.get("/nowhere").await;
    let response = c.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("catalog_records{type=\"movie\"} 30"),
        "{text}"
    );
    let line = |route: &str, status: u16| {
        format!(
            "catalog_http_request_duration_seconds_count{{method=\"GET\",route=\"{route}\",status=\"{status}\"}} 1"
        )
    };
    for expected in [
        line("/discover", 200),
        line("/discover", 400),
        line("unmatched", 404),
    ] {
        assert!(text.contains(&expected), "missing {expected} in\n{text}");
    }
    assert!(text.contains("catalog_http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_json() {
    let (c, _data) = start_fixture().await;
    let body = c.get_json("/no/such/path", 404).await;
    assert!(body["error"].as_str().unwrap().contains("/no/such/path"));
    let response = c.get("/updatePopularity").await;
    assert_eq!(response.status(), 405);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("GET"));
    let (status, _) = c.post_json("/discover", &json!({})).await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn popularity_survives_a_restart_for_movies_and_tv() {
    let data = fixture();
    let c =
        TestCatalog::start_with(Some(data.path().to_owned()), tempfile::tempdir().unwrap()).await;
    c.post_json(
        "/updatePopularity",
        &json!({"movieId": "5", "popularity": 55.5}),
    )
    .await;
    c.post_json(
        "/updatePopularity",
        &json!({"movieId": "110", "type": "tv", "popularity": "66"}),
    )
    .await;
    let state = c.stop().await;
    let c = TestCatalog::start_with(Some(data.path().to_owned()), state).await;
    assert_eq!(c.get_json("/media/movie/5", 200).await["popularity"], 55.5);
    assert_eq!(c.get_json("/media/tv/110", 200).await["popularity"], 66.0);
    assert_eq!(c.get_json("/media/movie/6", 200).await["popularity"], 6.5);
}

#[tokio::test]
async fn a_bad_data_dir_or_state_file_stops_the_start_with_a_reason() {
    let state = tempfile::tempdir().unwrap();
    let config = |data: &std::path::Path| nextflix_catalog::Config {
        data_dir: Some(data.to_owned()),
        state_dir: state.path().to_owned(),
    };
    let empty = tempfile::tempdir().unwrap();
    let err = nextflix_catalog::build(&config(empty.path()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("data_movies.json"), "{err}");

    let data = fixture();
    std::fs::write(data.path().join("data_tv.json"), "{\"1\": [}").unwrap();
    let err = nextflix_catalog::build(&config(data.path()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("data_tv.json") && err.contains("not a JSON object"),
        "{err}"
    );

    let data = fixture();
    std::fs::create_dir_all(state.path().join("catalog")).unwrap();
    std::fs::write(state.path().join("catalog/popularity.json"), "garbage").unwrap();
    let err = nextflix_catalog::build(&config(data.path()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("popularity"), "{err}");
}
