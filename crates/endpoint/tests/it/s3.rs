//! S3 objects on disk: small objects are kept inline in their store record,
//! larger ones in files; both kinds answer GET, HEAD, ranges and copies, survive a
//! restart, and leave nothing behind once deleted or replaced.

use std::path::Path;

use nextflix_endpoint::Endpoint;
use nextflix_endpoint::s3::engine::INLINE_MAX;

use crate::support::start_with;

/// A bare S3 client over path-style URLs (no signatures: the endpoint runs
/// without `--auth`).
struct S3 {
    url: String,
    http: reqwest::Client,
}

impl S3 {
    fn new(endpoint: &Endpoint) -> Self {
        S3 {
            url: endpoint.url(),
            http: reqwest::Client::new(),
        }
    }

    async fn put(&self, path: &str, body: Vec<u8>) -> reqwest::Response {
        self.http
            .put(format!("{}/{path}", self.url))
            .header("content-type", "application/octet-stream")
            .header("x-amz-meta-kind", "test")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    async fn get(&self, path: &str, range: Option<&str>) -> (u16, Vec<u8>) {
        let mut request = self.http.get(format!("{}/{path}", self.url));
        if let Some(range) = range {
            request = request.header("range", range);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.bytes().await.unwrap().to_vec())
    }

    async fn head(&self, path: &str) -> reqwest::Response {
        self.http
            .head(format!("{}/{path}", self.url))
            .send()
            .await
            .unwrap()
    }

    async fn delete(&self, path: &str) -> u16 {
        self.http
            .delete(format!("{}/{path}", self.url))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn copy(&self, from: &str, to: &str) -> u16 {
        self.http
            .put(format!("{}/{to}", self.url))
            .header("x-amz-copy-source", format!("/{from}"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

/// Bytes that differ from one object to the next.
fn data(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// The object files in the state dir.
fn files(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("endpoint/objects"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_and_file_objects_survive_a_restart_and_leave_nothing_when_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let small = data(1, 300);
    let edge = data(2, INLINE_MAX);
    let large = data(3, INLINE_MAX + 1);
    {
        let endpoint = start_with(Some(dir.path()), true).await;
        let s3 = S3::new(&endpoint);
        assert_eq!(s3.put("events", Vec::new()).await.status(), 200);
        for (key, body) in [
            ("s/small.json", &small),
            ("s/edge", &edge),
            ("s/large", &large),
        ] {
            let put = s3.put(&format!("events/{key}"), body.clone()).await;
            assert_eq!(put.status(), 200, "{key}");
        }
        // Only the large one has a file.
        assert_eq!(files(dir.path()), 1);
        // Replaced and deleted objects of both kinds.
        assert_eq!(
            s3.put("events/gone-inline", data(4, 10)).await.status(),
            200
        );
        assert_eq!(
            s3.put("events/gone-file", data(5, INLINE_MAX * 2))
                .await
                .status(),
            200
        );
        assert_eq!(s3.delete("events/gone-inline").await, 204);
        assert_eq!(s3.delete("events/gone-file").await, 204);
        assert_eq!(s3.put("events/grows", data(6, 10)).await.status(), 200);
        assert_eq!(
            s3.put("events/grows", data(7, INLINE_MAX * 3))
                .await
                .status(),
            200
        );
        assert_eq!(
            s3.put("events/shrinks", data(8, INLINE_MAX * 3))
                .await
                .status(),
            200
        );
        assert_eq!(s3.put("events/shrinks", data(9, 20)).await.status(), 200);
        assert_eq!(s3.put("events/again", data(10, 20)).await.status(), 200);
        assert_eq!(s3.put("events/again", data(11, 30)).await.status(), 200);
        assert_eq!(s3.copy("events/s/small.json", "events/copied").await, 200);
        // Files: large, grows.
        assert_eq!(files(dir.path()), 2);
        endpoint.shutdown().await.unwrap();
    }
    let endpoint = start_with(Some(dir.path()), true).await;
    let s3 = S3::new(&endpoint);
    for (key, body) in [
        ("s/small.json", &small),
        ("s/edge", &edge),
        ("s/large", &large),
        ("copied", &small),
        ("grows", &data(7, INLINE_MAX * 3)),
        ("shrinks", &data(9, 20)),
        ("again", &data(11, 30)),
    ] {
        let (status, got) = s3.get(&format!("events/{key}"), None).await;
        assert_eq!(status, 200, "{key}");
        assert!(got == *body, "{key}: the bytes differ after the restart");
        let head = s3.head(&format!("events/{key}")).await;
        assert_eq!(head.status(), 200, "{key}");
        assert_eq!(
            head.headers()["content-length"].to_str().unwrap(),
            body.len().to_string()
        );
        assert_eq!(head.headers()["x-amz-meta-kind"], "test", "{key}");
    }
    // Ranges of an inline object.
    let (status, part) = s3.get("events/s/small.json", Some("bytes=10-19")).await;
    assert_eq!(status, 206);
    assert_eq!(part, small[10..20]);
    let (status, tail) = s3.get("events/s/small.json", Some("bytes=-5")).await;
    assert_eq!(status, 206);
    assert_eq!(tail, small[small.len() - 5..]);
    for gone in ["gone-inline", "gone-file"] {
        assert_eq!(
            s3.get(&format!("events/{gone}"), None).await.0,
            404,
            "{gone}"
        );
    }
    // Nothing but the two live file-backed objects has a file.
    assert_eq!(files(dir.path()), 2);
    // Deleting the inline objects after the restart deletes their records: the
    // bucket empties and can go, and stays gone after another restart.
    for key in [
        "s/small.json",
        "s/edge",
        "s/large",
        "copied",
        "grows",
        "shrinks",
        "again",
    ] {
        assert_eq!(s3.delete(&format!("events/{key}")).await, 204, "{key}");
    }
    assert_eq!(files(dir.path()), 0);
    assert_eq!(s3.delete("events").await, 204);
    endpoint.shutdown().await.unwrap();
    let endpoint = start_with(Some(dir.path()), true).await;
    let s3 = S3::new(&endpoint);
    assert_eq!(s3.get("events/s/small.json", None).await.0, 404);
    assert_eq!(s3.head("events").await.status(), 404);
    endpoint.shutdown().await.unwrap();
}
