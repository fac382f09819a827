//! `nextflix catalog`: help, configuration by flags and environment, graceful
//! shutdown, and popularity that survives a restart of the process (even SIGKILL).

use serde_json::{Value, json};

use crate::support::{Server, run};

#[test]
fn help_explains_the_commands_and_flags() {
    let (ok, out, _) = run(&["--help"]);
    assert!(ok);
    assert!(out.contains("catalog"), "{out}");
    let (ok, out, _) = run(&["catalog", "--help"]);
    assert!(ok);
    for needle in [
        "--bind",
        "--data-dir",
        "--state-dir",
        "CATALOG_BIND",
        "CATALOG_DATA_DIR",
        "NEXTFLIX_STATE_DIR",
        "/discover",
    ] {
        assert!(out.contains(needle), "{needle} not in\n{out}");
    }
    let (ok, _, err) = run(&["no-such-command"]);
    assert!(!ok);
    assert!(err.contains("no-such-command"), "{err}");
}

#[test]
fn a_bad_data_dir_fails_with_a_clear_message() {
    let empty = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let (ok, _, err) = run(&[
        "catalog",
        "--data-dir",
        empty.path().to_str().unwrap(),
        "--state-dir",
        state.path().to_str().unwrap(),
        "--bind",
        "127.0.0.1:0",
    ]);
    assert!(!ok);
    assert!(err.contains("data_movies.json"), "{err}");
}

async fn update(client: &reqwest::Client, url: &str, body: Value) -> Value {
    let r = client
        .post(format!("{url}/updatePopularity"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

async fn popularity(client: &reqwest::Client, url: &str, kind: &str, id: &str) -> Value {
    get_json(client, &format!("{url}/media/{kind}/{id}")).await["popularity"].clone()
}

#[tokio::test]
async fn popularity_survives_sigterm_and_sigkill_restarts() {
    let state = tempfile::tempdir().unwrap();
    let env = [("NEXTFLIX_STATE_DIR", state.path())];
    let client = reqwest::Client::new();

    let mut server = Server::start(&["catalog"], &env);
    let movies = get_json(&client, &format!("{}/discover?type=movie", server.url)).await;
    let shows = get_json(&client, &format!("{}/discover?type=tv", server.url)).await;
    let movie = movies[0]["id"].to_string();
    let show = shows[0]["id"].to_string();
    update(
        &client,
        &server.url,
        json!({"movieId": movie, "popularity": 4242.5}),
    )
    .await;
    update(
        &client,
        &server.url,
        json!({"movieId": show, "type": "tv", "popularity": "17"}),
    )
    .await;
    let status = server.signal("TERM");
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
    let logs: Vec<String> = server.logs.try_iter().collect();
    assert!(logs.iter().any(|l| l.contains("SIGTERM")), "{logs:#?}");

    let mut server = Server::start(&["catalog"], &env);
    assert_eq!(
        popularity(&client, &server.url, "movie", &movie).await,
        json!(4242.5)
    );
    assert_eq!(
        popularity(&client, &server.url, "tv", &show).await,
        json!(17.0)
    );
    // Acknowledged means on disk: SIGKILL right after the answer loses nothing.
    update(
        &client,
        &server.url,
        json!({"movieId": movie, "popularity": 1.25}),
    )
    .await;
    server.signal("KILL");

    let server = Server::start(&["catalog"], &env);
    assert_eq!(
        popularity(&client, &server.url, "movie", &movie).await,
        json!(1.25)
    );
    assert_eq!(
        popularity(&client, &server.url, "tv", &show).await,
        json!(17.0)
    );
}

#[tokio::test]
async fn the_data_dir_comes_from_the_environment_too() {
    let data = tempfile::tempdir().unwrap();
    std::fs::write(
        data.path().join("data_movies.json"),
        r#"{"7": {"id": 7, "title": "Only One", "genre_ids": [18]}}"#,
    )
    .unwrap();
    std::fs::write(data.path().join("data_tv.json"), "{}").unwrap();
    let state = tempfile::tempdir().unwrap();
    let server = Server::start(
        &["catalog"],
        &[
            ("CATALOG_DATA_DIR", data.path()),
            ("NEXTFLIX_STATE_DIR", state.path()),
        ],
    );
    let page = get_json(&reqwest::Client::new(), &format!("{}/discover", server.url)).await;
    assert_eq!(
        page,
        json!([{"id": 7, "title": "Only One", "genre_ids": [18]}])
    );
}
