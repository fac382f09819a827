//! The original catalog's data files (`../shared/catalog`): every record comes
//! back field for field, and `/discover` follows the original's rules on them.

use indexmap::IndexMap;
use serde_json::Value;

use nextflix_catalog::search::fold;

use crate::support::{TestCatalog, ids, shared_catalog_dir};

fn load(file: &str) -> IndexMap<String, Value> {
    let text = std::fs::read_to_string(shared_catalog_dir().join(file)).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn every_record_comes_back_field_for_field() {
    let c = TestCatalog::start_shared().await;
    for (kind, file) in [("movie", "data_movies.json"), ("tv", "data_tv.json")] {
        let records = load(file);
        assert!(records.len() > 100, "{file} looks too small");
        for (key, record) in &records {
            let served = c.get_json(&format!("/media/{kind}/{key}"), 200).await;
            assert_eq!(&served, record, "{kind} {key}");
        }
    }
}

#[tokio::test]
async fn discover_follows_the_original_rules_on_the_original_data() {
    let c = TestCatalog::start_shared().await;
    for (kind, file) in [("movie", "data_movies.json"), ("tv", "data_tv.json")] {
        let records = load(file);
        let mut genres: Vec<i64> = records
            .values()
            .flat_map(|r| {
                r["genre_ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|g| g.as_i64().unwrap())
            })
            .collect();
        genres.sort();
        genres.dedup();
        for genre in genres {
            let expected: Vec<&Value> = records
                .values()
                .filter(|r| {
                    r["genre_ids"]
                        .as_array()
                        .unwrap()
                        .contains(&Value::from(genre))
                })
                .take(20)
                .collect();
            let served = c
                .get_json(&format!("/discover?type={kind}&genre={genre}"), 200)
                .await;
            let served: Vec<&Value> = served.as_array().unwrap().iter().collect();
            assert_eq!(served, expected, "{kind} genre {genre}");
        }
        let page = c.get_json(&format!("/discover?type={kind}"), 200).await;
        assert_eq!(ids(&page).len(), 20);
        for record in page.as_array().unwrap() {
            assert_eq!(Some(record), records.get(&record["id"].to_string()));
        }
    }
}

#[tokio::test]
async fn search_finds_original_titles() {
    let c = TestCatalog::start_shared().await;
    let records = load("data_movies.json");
    // A title searched for exactly comes first (or ties with a same-named title).
    for record in records.values().take(50) {
        let title = record["title"].as_str().unwrap();
        let hits = c
            .client
            .get(c.url("/search"))
            .query(&[("q", title), ("type", "movie")])
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        let q = fold(title);
        let hits = hits.as_array().unwrap();
        let at = hits
            .iter()
            .position(|h| h["id"] == record["id"])
            .unwrap_or_else(|| panic!("searching {title:?} did not find it"));
        // Only other exact matches (of the title or the original title) may come first.
        for before in &hits[..at] {
            let exact = ["title", "original_title"]
                .iter()
                .any(|f| fold(before[*f].as_str().unwrap_or_default()) == q);
            assert!(exact, "searching {title:?}: {} came first", before["title"]);
        }
    }
}
