//! The API of the original (`/api/discover`, `/api/analytics`, `/ready`) and ours
//! (`/api/search`, `/metrics`, artwork, errors), against the real catalog and moto.

use serde_json::{Value, json};

use crate::support::{
    Catalog, Moto, Web, config, create_bucket, create_queue, create_topic, free_port, get_object,
    receive_one, unwrap_notification,
};

#[tokio::test]
async fn discover_answers_the_original_media_shape() {
    let catalog = Catalog::shared().await;
    let web = Web::start(nextflix_web::Config {
        image_url: "https://img.example/t/p".to_owned(),
        ..config(&catalog.url())
    })
    .await;
    let (status, body) = web.get_json("/api/discover?type=movie&genre=35").await;
    assert_eq!(status, 200);
    assert_eq!(body["type"], "Success");
    let data = body["data"].as_array().unwrap();
    assert!(!data.is_empty() && data.len() <= 20);
    // The same records, in the same order, as the catalog gives.
    let records: Vec<Value> =
        reqwest::get(format!("{}/discover?type=movie&genre=35", catalog.url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(data.len(), records.len());
    for (media, record) in data.iter().zip(&records) {
        let mut keys: Vec<&str> = media
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "banner", "genre", "id", "overview", "poster", "rating", "title"
            ]
        );
        assert_eq!(media["id"], record["id"]);
        assert_eq!(media["title"], record["title"]);
        assert_eq!(media["rating"], record["vote_average"]);
        assert_eq!(media["overview"], record["overview"]);
        if let Some(path) = record["poster_path"].as_str() {
            assert_eq!(
                media["poster"],
                format!("https://img.example/t/p/w500{path}")
            );
        }
        if let Some(path) = record["backdrop_path"].as_str() {
            assert_eq!(
                media["banner"],
                format!("https://img.example/t/p/original{path}")
            );
        }
        let genres = media["genre"].as_array().unwrap();
        assert!(genres.len() <= 3);
        assert!(
            genres
                .iter()
                .any(|g| g["id"] == 35 && g["name"] == "Comedy")
                || genres.len() == 3
        );
        for g in genres {
            assert!(g["name"].as_str().is_some_and(|n| !n.is_empty()));
        }
    }
    // TV records give their name as the title.
    let (status, body) = web.get_json("/api/discover?type=tv&genre=10765").await;
    assert_eq!(status, 200);
    assert!(
        body["data"][0]["title"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    // No genre: up to 20 at random.
    let (_, body) = web.get_json("/api/discover?type=movie").await;
    assert_eq!(body["data"].as_array().unwrap().len(), 20);
}

#[tokio::test]
async fn titles_without_images_get_artwork() {
    let catalog = Catalog::builtin().await;
    let web = Web::on(&catalog.url()).await;
    let (_, body) = web.get_json("/api/discover?type=movie&genre=18").await;
    let first = &body["data"][0];
    let poster = first["poster"].as_str().unwrap();
    assert!(poster.starts_with(&format!("/artwork/movie/{}.svg?kind=poster", first["id"])));
    let svg = web.get(poster).await;
    assert_eq!(svg.status(), 200);
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    let text = svg.text().await.unwrap();
    assert!(text.starts_with("<svg"));
    let escaped = web
        .get("/artwork/tv/7.svg?kind=backdrop&title=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await
        .text()
        .await
        .unwrap();
    assert!(!escaped.contains("<script"));
    assert!(escaped.contains("&lt;script&gt;"));
    assert_eq!(web.get("/artwork/book/7.svg").await.status(), 404);
    assert_eq!(web.get("/artwork/tv/seven.svg").await.status(), 404);
}

#[tokio::test]
async fn a_catalog_that_is_down_is_an_error_not_a_crash() {
    let dead = format!("http://127.0.0.1:{}", free_port());
    let web = Web::on(&dead).await;
    let (status, body) = web.get_json("/api/discover?type=movie").await;
    assert_eq!(status, 500);
    assert_eq!(body["type"], "Error");
    assert!(body["error"].as_str().is_some());
    let (status, body) = web.get_json("/api/search?q=heat").await;
    assert_eq!(status, 500);
    assert_eq!(body["type"], "Error");
    let ready = web.get("/ready").await;
    assert_eq!(ready.status(), 503);
    let browse = web.get("/browse").await;
    assert_eq!(browse.status(), 502);
    assert!(browse.text().await.unwrap().contains("cannot be reached"));
    let search = web.get("/search?q=heat").await;
    assert_eq!(search.status(), 200);
    assert!(
        search
            .text()
            .await
            .unwrap()
            .contains("Search is unavailable")
    );
    // The landing page does not need the catalog.
    assert_eq!(web.get("/").await.status(), 200);
}

#[tokio::test]
async fn ready_once_the_catalog_answers() {
    let port = free_port();
    let web = Web::on(&format!("http://127.0.0.1:{port}")).await;
    assert_eq!(web.get("/ready").await.status(), 503);
    let _catalog = Catalog::builtin_on(&format!("127.0.0.1:{port}")).await;
    let ready = web.get("/ready").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "OK");
}

#[tokio::test]
async fn search_uses_the_catalog_search() {
    let catalog = Catalog::builtin().await;
    let web = Web::on(&catalog.url()).await;
    let (status, body) = web.get_json("/api/search?q=amelie").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"][0]["title"], "Amélie");
    assert_eq!(body["data"][0]["mediaType"], "movie");
    let (_, body) = web.get_json("/api/search?q=office&type=tv").await;
    let data = body["data"].as_array().unwrap();
    assert!(!data.is_empty());
    assert!(data.iter().all(|t| t["mediaType"] == "tv"));
    let (status, body) = web.get_json("/api/search?q=").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], json!([]));
    let page = web.get("/search?q=amelie").await.text().await.unwrap();
    assert!(page.contains("Amélie"));
}

#[tokio::test]
async fn catalog_strings_are_escaped_on_every_page() {
    let evil = "<script>alert(\"x\")</script>";
    let movie = json!({
        "id": 1, "title": evil, "original_title": evil, "overview": "<img src=x onerror=alert(2)>",
        "genre_ids": [35, 28, 18, 9648], "vote_average": 7.1, "release_date": "2020-01-01",
        "poster_path": "\"><script>alert(3)</script>", "backdrop_path": null, "popularity": 1.0,
        "adult": false, "original_language": "en", "video": false, "vote_count": 1
    });
    let show = json!({
        "id": 2, "name": "<b>Bold</b> & Co", "original_name": "x", "overview": "o",
        "genre_ids": [10765, 16], "vote_average": 8.0, "first_air_date": "2020-01-01",
        "poster_path": null, "backdrop_path": null, "popularity": 1.0, "adult": false,
        "original_language": "en", "origin_country": ["US"], "vote_count": 1
    });
    let catalog = Catalog::with_records(&[movie], &[show]).await;
    let web = Web::on(&catalog.url()).await;
    for path in ["/browse", "/search?q=script", "/search?q=%3Cscript%3E", "/"] {
        let page = web.get(path).await.text().await.unwrap();
        assert!(!page.contains("<script>alert"), "{path}");
        assert!(!page.contains("<img src=x"), "{path}");
        assert!(!page.contains("<b>Bold"), "{path}");
    }
    let browse = web.get("/browse").await.text().await.unwrap();
    assert!(browse.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
    assert!(browse.contains("&lt;b&gt;Bold&lt;/b&gt; &amp; Co"));
    // The API gives the text as it is (JSON, not HTML).
    let (_, body) = web.get_json("/api/discover?type=movie&genre=35").await;
    assert_eq!(body["data"][0]["title"], evil);
}

#[tokio::test]
async fn events_go_to_the_bucket_and_the_queue() {
    let catalog = Catalog::builtin().await;
    let moto = Moto::start().await;
    let sdk = moto.sdk().await;
    create_bucket(&sdk, "events").await;
    let (queue, _) = create_queue(&sdk, "netflix-events").await;
    let web = Web::start(nextflix_web::Config {
        s3_bucket: Some("events".to_owned()),
        sqs_queue_url: Some(queue.clone()),
        ..moto.web_config(&catalog.url())
    })
    .await;
    let session = "0b6f3c1e-8a1d-4c57-9d43-3f0e6f1f6a21";
    // The session must exist for the cookie to be kept: make one first.
    let first = web.get("/").await;
    let session_id = crate::support::set_cookie_session(&first).unwrap_or(session.to_owned());
    let (status, event) = web
        .post(
            "/api/analytics",
            r#"{"mediaId": 100001}"#,
            Some(&session_id),
        )
        .await;
    assert_eq!(status, 200, "{event}");
    assert_eq!(event["mediaId"], 100001);
    assert_eq!(event["sessionId"], session_id.as_str());
    let activity = event["activityId"].as_str().unwrap();
    assert_eq!(uuid_version(activity), Some('4'));
    let timestamp = event["timestamp"].as_str().unwrap();
    assert_eq!(timestamp.len(), 24, "{timestamp}");
    assert!(timestamp.ends_with('Z') && timestamp.as_bytes()[10] == b'T');

    let body = receive_one(&sdk, &queue).await;
    let received: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(received, event);
    // Field order of the original.
    let keys: Vec<&str> = body.split('"').skip(1).step_by(4).take(4).collect();
    assert_eq!(
        keys,
        ["activityId", "sessionId", "timestamp", "mediaId"],
        "{body}"
    );

    let (content_type, stored) =
        get_object(&sdk, "events", &format!("{session_id}/{activity}.json")).await;
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert_eq!(serde_json::from_slice::<Value>(&stored).unwrap(), event);

    // A string id is kept as a string.
    let (status, event) = web
        .post(
            "/api/analytics",
            r#"{"mediaId": "200003"}"#,
            Some(&session_id),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(event["mediaId"], "200003");
    let (_, metrics) = (0, web.get("/metrics").await.text().await.unwrap());
    assert!(
        metrics.contains("web_events_total{outcome=\"sent\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("web_http_request_duration_seconds"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_topic_reaches_every_subscribed_queue_once() {
    let catalog = Catalog::builtin().await;
    let moto = Moto::start().await;
    let sdk = moto.sdk().await;
    let (search, search_arn) = create_queue(&sdk, "search").await;
    let (reco, reco_arn) = create_queue(&sdk, "recommendation").await;
    let (direct, _) = create_queue(&sdk, "not-used-with-a-topic").await;
    let topic = create_topic(&sdk, "netflix-events-topic", &[&search_arn, &reco_arn]).await;
    let web = Web::start(nextflix_web::Config {
        sns_topic_arn: Some(topic),
        sqs_queue_url: Some(direct.clone()),
        ..moto.web_config(&catalog.url())
    })
    .await;
    let (status, event) = web.post("/api/analytics", r#"{"mediaId": 7}"#, None).await;
    assert_eq!(status, 200, "{event}");
    for queue in [&search, &reco] {
        let got = unwrap_notification(&receive_one(&sdk, queue).await);
        assert_eq!(got, event);
    }
    // With a topic, the queue setting is not used.
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let out = sqs
        .receive_message()
        .queue_url(&direct)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert!(out.messages.unwrap_or_default().is_empty());
}

#[tokio::test]
async fn bad_analytics_bodies_are_400() {
    let catalog = Catalog::builtin().await;
    let web = Web::on(&catalog.url()).await;
    for body in [
        "",
        "not json",
        "[1]",
        "42",
        "{}",
        r#"{"mediaId": null}"#,
        r#"{"mediaId": {"a": 1}}"#,
        r#"{"mediaId": [1]}"#,
        r#"{"mediaId": true}"#,
        r#"{"mediaId": "  "}"#,
        r#"{"media_id": 1}"#,
    ] {
        let (status, answer) = web.post("/api/analytics", body, None).await;
        assert_eq!(status, 400, "{body:?}: {answer}");
        assert_eq!(answer["type"], "Error");
        assert!(answer["error"].as_str().is_some());
    }
    // Without any destination configured, a good body is simply answered.
    let (status, event) = web.post("/api/analytics", r#"{"mediaId": 1}"#, None).await;
    assert_eq!(status, 200);
    assert_eq!(event["mediaId"], 1);
    let wrong_method = web.get("/api/analytics").await;
    assert_eq!(wrong_method.status(), 405);
}

#[tokio::test]
async fn an_aws_endpoint_that_is_down_is_a_500() {
    let catalog = Catalog::builtin().await;
    let dead = format!("http://127.0.0.1:{}", free_port());
    let web = Web::start(nextflix_web::Config {
        aws_region: Some("us-east-1".to_owned()),
        aws_endpoint_url: Some(dead),
        aws_credentials: Some(crate::support::test_credentials()),
        s3_bucket: Some("events".to_owned()),
        sns_topic_arn: Some("arn:aws:sns:us-east-1:000000000000:netflix-events-topic".to_owned()),
        ..config(&catalog.url())
    })
    .await;
    let (status, answer) = web.post("/api/analytics", r#"{"mediaId": 1}"#, None).await;
    assert_eq!(status, 500, "{answer}");
    assert_eq!(answer["type"], "Error");
    assert!(
        answer["error"].as_str().unwrap().contains("cannot"),
        "{answer}"
    );
    let metrics = web.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("web_events_total{outcome=\"failed\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let catalog = Catalog::builtin().await;
    let web = Web::on(&catalog.url()).await;
    let page = web.get("/nowhere").await;
    assert_eq!(page.status(), 404);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let (status, body) = web.get_json("/api/nowhere").await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().is_some());
    assert_eq!(web.get("/assets/app.css").await.status(), 200);
    assert_eq!(web.get("/assets/nope.css").await.status(), 404);
}

fn uuid_version(id: &str) -> Option<char> {
    (id.len() == 36).then(|| id.chars().nth(14)).flatten()
}
