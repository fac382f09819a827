//! Starting a catalog on an ephemeral port, and small client helpers.

use std::path::PathBuf;

use nextflix_catalog::Config;
use nextflix_common::server::ServerHandle;
use serde_json::Value;

pub struct TestCatalog {
    pub server: ServerHandle,
    pub client: reqwest::Client,
    pub state: tempfile::TempDir,
}

impl TestCatalog {
    /// The built-in catalog with a fresh state directory.
    pub async fn start() -> Self {
        Self::start_with(None, tempfile::tempdir().unwrap()).await
    }

    /// The original data files from `../shared/catalog`.
    pub async fn start_shared() -> Self {
        Self::start_with(Some(shared_catalog_dir()), tempfile::tempdir().unwrap()).await
    }

    pub async fn start_with(data_dir: Option<PathBuf>, state: tempfile::TempDir) -> Self {
        let config = Config {
            data_dir,
            state_dir: state.path().to_owned(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = nextflix_catalog::spawn(&config, listener).unwrap();
        TestCatalog {
            server,
            client: reqwest::Client::new(),
            state,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// GET, expecting `status`, returning the JSON body.
    pub async fn get_json(&self, path: &str, status: u16) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status().as_u16(), status, "GET {path}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("application/json"),
            "GET {path}: {content_type}"
        );
        response.json().await.unwrap()
    }

    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let response = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_raw(path, body.to_string()).await
    }

    /// Stops the server, keeping the state directory.
    pub async fn stop(self) -> tempfile::TempDir {
        self.server.shutdown().await.unwrap();
        self.state
    }
}

/// `../shared/catalog` beside the project (or `$NEXTFLIX_SHARED_CATALOG`).
pub fn shared_catalog_dir() -> PathBuf {
    let dir = std::env::var_os("NEXTFLIX_SHARED_CATALOG")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/catalog")
        });
    assert!(
        dir.join("data_movies.json").is_file() && dir.join("data_tv.json").is_file(),
        "the original catalog data is expected in {} (set NEXTFLIX_SHARED_CATALOG)",
        dir.display()
    );
    dir
}

pub fn ids(records: &Value) -> Vec<i64> {
    records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}
