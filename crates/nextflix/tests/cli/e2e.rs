//! End to end in one test (issue #6): `nextflix up` on random ports, a real headless
//! Chromium (through chromedriver) opens the details of three titles, and within a
//! few seconds the four services have processed the three events, the bucket holds
//! three objects, and /browse shows the visitor's own rows with the right titles.
//! Screenshots go to `artifacts/e2e-*.png`.

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::Locator;
use serde_json::Value;

use crate::support::{Up, start_up};

/// How long the services and the bucket get to see the three events.
const PROCESSING_TIMEOUT: Duration = Duration::from_secs(15);

/// A port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// Starts `nextflix up` on ephemeral ports (images from a local port where nothing
/// answers, so the page shows its artwork and never leaves 127.0.0.1) and waits
/// for the URLs it prints once every part is ready.
fn start_local_up(state_dir: &Path) -> Up {
    let images = format!("http://127.0.0.1:{}/t/p/", free_port());
    let up = start_up(
        state_dir,
        &["--services-host", "127.0.0.1", "--image-url", &images],
    );
    for part in [
        "web",
        "catalog",
        "endpoint",
        "search",
        "recommendation",
        "streaming",
        "user",
    ] {
        let url = up
            .urls
            .get(part)
            .unwrap_or_else(|| panic!("no {part} URL printed: {:?}", up.urls));
        assert!(url.starts_with("http://127.0.0.1:"), "{part}: {url}");
    }
    up
}

/// A child process, killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// chromedriver on a random port and a headless Chromium session with a fresh
/// profile; both go away on drop (the session is closed first by [`Browser::close`]).
struct Browser {
    client: fantoccini::Client,
    _driver: Proc,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start() -> Self {
        let driver_bin =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned());
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
        let port = free_port();
        let child = Command::new(&driver_bin)
            .args([&format!("--port={port}"), "--allowed-ips=127.0.0.1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {driver_bin} (is it installed?): {e}"));
        let driver = Proc(child);
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "chromedriver did not listen on 127.0.0.1:{port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-gpu".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--window-size=1366,900".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({ "binary": chromium, "args": args }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = fantoccini::ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session through chromedriver");
        Browser {
            client,
            _driver: driver,
            _profile: profile,
        }
    }

    async fn js(&self, expression: &str) -> Value {
        self.client
            .execute(&format!("return ({expression});"), vec![])
            .await
            .expect("run a script in the page")
    }

    /// Polls a JavaScript expression until it is truthy; returns its value.
    async fn wait_for_js(&self, expression: &str, what: &str) -> Value {
        let start = Instant::now();
        loop {
            let value = self.js(expression).await;
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return value;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what} ({expression})"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        std::fs::write(artifacts_dir().join(name), png).expect("save the screenshot");
    }

    async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// `artifacts/` at the top of the project (gitignored).
fn artifacts_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../artifacts");
    std::fs::create_dir_all(&dir).expect("the artifacts folder");
    dir
}

/// The rows of the page as `[{title, cards: [{key, title}]}]`, in page order.
const ROWS_JS: &str = "[...document.querySelectorAll('section.row')].map(r => ({
    id: r.id,
    title: r.querySelector('h2.row__title').textContent,
    cards: [...r.querySelectorAll('.card')].map(c => {
        const t = JSON.parse(c.dataset.title);
        return { key: t.mediaType + ':' + t.id, id: String(t.id), title: t.title };
    }),
}))";

/// One opened title.
#[derive(Debug, Clone)]
struct Opened {
    key: String,
    id: String,
    title: String,
    activity: String,
}

/// Polls `check` until it returns `Some`, or fails with what it last saw.
async fn poll<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let start = Instant::now();
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) if start.elapsed() >= timeout => {
                panic!("{what}: not within {timeout:?}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

async fn get_json(http: &reqwest::Client, url: &str) -> Result<Value, String> {
    let response = http.get(url).send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    response.json().await.map_err(|e| e.to_string())
}

/// The keys of the bucket's objects, from a ListObjectsV2 answer (S3's XML).
fn keys(xml: &str) -> Vec<String> {
    xml.split("<Key>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</Key>").map(|(k, _)| k.to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_opens_three_titles_and_every_part_sees_them() {
    let started = Instant::now();
    let state = tempfile::tempdir().unwrap();
    let up = start_local_up(state.path());
    let web = up.urls["web"].clone();
    let endpoint = up.urls["endpoint"].clone();
    eprintln!("e2e: nextflix up ready after {:?}", started.elapsed());

    let browser = Browser::start().await;
    let c = &browser.client;

    // Sign in: the landing page's button leads to /browse.
    c.goto(&web).await.unwrap();
    c.find(Locator::Id("sign-in"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait_for_js(
            "location.pathname === '/browse' && document.querySelectorAll('section.row .card').length > 0",
            "the browse page with its rows",
        )
        .await;
    let session = c
        .get_named_cookie("session_id")
        .await
        .expect("a session cookie after signing in")
        .value()
        .to_owned();
    let rows = browser.js(ROWS_JS).await;
    let rows = rows.as_array().unwrap();
    assert!(
        !rows.iter().any(|r| r["title"] == "Recently viewed"),
        "a new visitor has no history yet: {rows:?}"
    );
    browser.screenshot("e2e-1-browse.png").await;

    // Three different titles: the first card of three rows, each a title not picked yet.
    let mut picks: Vec<(String, Value)> = Vec::new();
    for row in rows {
        let Some(card) = row["cards"].as_array().and_then(|c| c.first()) else {
            continue;
        };
        let fresh = picks.iter().all(|(_, p)| {
            p["key"] != card["key"] && p["title"] != card["title"] && p["id"] != card["id"]
        });
        if fresh {
            picks.push((row["id"].as_str().unwrap().to_owned(), card.clone()));
        }
        if picks.len() == 3 {
            break;
        }
    }
    assert_eq!(picks.len(), 3, "three different titles in {rows:?}");

    // Open each one's details from its card, wait for the event's answer, close it.
    let mut opened: Vec<Opened> = Vec::new();
    for (n, (row, card)) in picks.iter().enumerate() {
        let before = browser
            .js("document.body.dataset.lastActivity || ''")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let element = c
            .find(Locator::Css(&format!("#{row} .card")))
            .await
            .unwrap();
        browser
            .client
            .execute(
                "arguments[0].scrollIntoView({block: 'center', inline: 'nearest'}); return true;",
                vec![serde_json::to_value(&element).unwrap()],
            )
            .await
            .unwrap();
        element.click().await.unwrap();
        browser
            .wait_for_js(
                "!document.getElementById('details').hidden",
                "the details modal to open",
            )
            .await;
        let shown = browser
            .js("document.getElementById('details-title').textContent")
            .await;
        assert_eq!(shown, card["title"], "the modal shows the card's title");
        let activity = browser
            .wait_for_js(
                &format!(
                    "(() => {{ const b = document.body.dataset; \
                     if (b.lastActivityError) return 'error: ' + b.lastActivityError; \
                     return b.lastActivity && b.lastActivity !== {before:?} ? b.lastActivity : null; }})()"
                ),
                "the analytics answer",
            )
            .await
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            !activity.starts_with("error: "),
            "POST /api/analytics failed: {activity}"
        );
        browser
            .wait_for_js(
                "document.getAnimations().every(a => a.playState !== 'running')",
                "the modal's animation to end",
            )
            .await;
        browser
            .screenshot(&format!("e2e-2-details-{}.png", n + 1))
            .await;
        c.find(Locator::Css(".modal__close"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        browser
            .wait_for_js(
                "document.getElementById('details').hidden",
                "the details modal to close",
            )
            .await;
        opened.push(Opened {
            key: card["key"].as_str().unwrap().to_owned(),
            id: card["id"].as_str().unwrap().to_owned(),
            title: card["title"].as_str().unwrap().to_owned(),
            activity,
        });
    }
    let clicked = Instant::now();
    eprintln!(
        "e2e: opened {:?} after {:?}",
        opened.iter().map(|o| &o.title).collect::<Vec<_>>(),
        started.elapsed()
    );

    // Within a few seconds, all four services have processed the three events...
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    for kind in ["search", "recommendation", "streaming", "user"] {
        let url = format!("{}/status", up.urls[kind]);
        let status = poll(
            &format!("the {kind} service processing the three events"),
            PROCESSING_TIMEOUT.saturating_sub(clicked.elapsed()),
            || async {
                let status = get_json(&http, &url).await?;
                if status["eventsProcessed"] == 3 {
                    Ok(status)
                } else {
                    Err(status.to_string())
                }
            },
        )
        .await;
        assert_eq!(status["eventsProcessed"], 3, "{kind}: {status}");
    }
    // ...and the bucket holds the three events, as SESSION/ACTIVITY.json.
    let list = format!("{endpoint}/nextflix-events?list-type=2");
    let mut stored = poll(
        "three objects in the nextflix-events bucket",
        PROCESSING_TIMEOUT.saturating_sub(clicked.elapsed()),
        || async {
            let response = http.get(&list).send().await.map_err(|e| e.to_string())?;
            let status = response.status();
            let body = response.text().await.map_err(|e| e.to_string())?;
            let found = keys(&body);
            if status.is_success() && found.len() == 3 {
                Ok(found)
            } else {
                Err(format!("HTTP {status}: {body}"))
            }
        },
    )
    .await;
    let processed = clicked.elapsed();
    eprintln!("e2e: every part saw the three events {processed:?} after the last click");
    stored.sort();
    let mut expected: Vec<String> = opened
        .iter()
        .map(|o| format!("{session}/{}.json", o.activity))
        .collect();
    expected.sort();
    assert_eq!(stored, expected, "the bucket holds the three events");
    for o in &opened {
        let object: Value = get_json(
            &http,
            &format!("{endpoint}/nextflix-events/{session}/{}.json", o.activity),
        )
        .await
        .unwrap();
        assert_eq!(object["sessionId"], session.as_str(), "{object}");
        assert_eq!(object["activityId"], o.activity.as_str(), "{object}");
        assert_eq!(
            object["mediaId"].to_string().trim_matches('"'),
            o.id,
            "{object}"
        );
    }

    // The user service has the session's history: the three titles.
    let history = get_json(
        &http,
        &format!("{}/history?sessionId={session}", up.urls["user"]),
    )
    .await
    .unwrap();
    let mut seen: Vec<String> = history["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| i["mediaId"].to_string().trim_matches('"').to_owned())
                .collect()
        })
        .unwrap_or_default();
    seen.sort();
    let mut ids: Vec<String> = opened.iter().map(|o| o.id.clone()).collect();
    ids.sort();
    assert_eq!(seen, ids, "{history}");

    // Back on /browse: the visitor's own rows, with the right titles. The web asks
    // the services with a short timeout and leaves a row out when one is slow, so
    // reload until the rows are there.
    let opened_keys: BTreeSet<&str> = opened.iter().map(|o| o.key.as_str()).collect();
    let opened_titles: BTreeSet<&str> = opened.iter().map(|o| o.title.as_str()).collect();
    let browse = format!("{web}/browse");
    let rows = poll(
        "the personal rows on /browse",
        Duration::from_secs(15),
        || async {
            c.goto(&browse).await.map_err(|e| e.to_string())?;
            let rows = browser.js(ROWS_JS).await;
            let titles: Vec<&str> = rows
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|r| r["title"].as_str())
                .collect();
            let recent = titles.contains(&"Recently viewed");
            let recommended = titles
                .iter()
                .any(|t| *t == "Trending now" || t.starts_with("Because you watched "));
            if recent && recommended {
                Ok(rows)
            } else {
                Err(format!("{titles:?}"))
            }
        },
    )
    .await;
    let rows = rows.as_array().unwrap();
    let row_titles: Vec<&str> = rows.iter().filter_map(|r| r["title"].as_str()).collect();
    eprintln!("e2e: rows on /browse: {row_titles:?}");
    let cards = |row: &Value| -> BTreeSet<String> {
        row["cards"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["key"].as_str().unwrap().to_owned())
            .collect()
    };
    // The personal rows come first.
    assert_eq!(row_titles[0], "Recently viewed", "{row_titles:?}");
    let recent = rows
        .iter()
        .find(|r| r["title"] == "Recently viewed")
        .unwrap();
    let recent_keys = cards(recent);
    assert_eq!(
        recent_keys
            .iter()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        opened_keys,
        "Recently viewed shows exactly the three opened titles: {recent}"
    );
    // The most recent first.
    let recent_titles: Vec<&str> = recent["cards"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["title"].as_str())
        .collect();
    let newest_first: Vec<&str> = opened.iter().rev().map(|o| o.title.as_str()).collect();
    assert_eq!(recent_titles, newest_first, "Recently viewed, newest first");
    // "Because you watched X": X is one of the opened titles, and the row suggests
    // titles the visitor has not seen yet.
    for row in rows {
        let title = row["title"].as_str().unwrap();
        if let Some(because) = title.strip_prefix("Because you watched ") {
            assert!(
                opened_titles.contains(because),
                "{title}: not one of {opened_titles:?}"
            );
            let suggested = cards(row);
            assert!(!suggested.is_empty(), "{row}");
            assert!(
                suggested.iter().all(|k| !opened_keys.contains(k.as_str())),
                "{title} suggests an opened title: {row}"
            );
        }
    }
    // "Trending now": the only views so far are the three titles, one each.
    if let Some(trending) = rows.iter().find(|r| r["title"] == "Trending now") {
        assert_eq!(
            cards(trending)
                .iter()
                .map(String::as_str)
                .collect::<BTreeSet<_>>(),
            opened_keys,
            "Trending now: {trending}"
        );
    }
    browser
        .js("(() => { document.querySelector('section.row').scrollIntoView({block: 'start'}); window.scrollBy(0, -90); return true; })()")
        .await;
    browser
        .wait_for_js(
            "[...document.querySelectorAll('section.row')].slice(0, 2).every(r => [...r.querySelectorAll('img')].slice(0, 3).every(i => i.complete))",
            "the personal rows' images",
        )
        .await;
    browser.screenshot("e2e-3-personal-rows.png").await;
    browser.close().await;
    eprintln!("e2e: done in {:?}", started.elapsed());
    assert!(
        processed < PROCESSING_TIMEOUT,
        "processing took {processed:?}; logs: {:#?}",
        up.logs()
    );
}
