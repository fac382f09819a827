//! `nextflix up` as a user runs it: the whole system on ephemeral ports, the
//! event's path from the web to the topic, the queues and the bucket, a second
//! run that changes nothing, and Ctrl-C stopping everything.

use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::start_up;

/// The `changes` field of the "topology applied" log line.
fn topology_changes(logs: &mpsc::Receiver<String>) -> u64 {
    for line in logs.try_iter() {
        if let Ok(v) = serde_json::from_str::<Value>(&line)
            && v["message"] == "topology applied"
        {
            return v["changes"].as_u64().unwrap_or(u64::MAX);
        }
    }
    panic!("no 'topology applied' line logged");
}

/// GETs `url` and reads its JSON answer.
async fn get_json(http: &reqwest::Client, url: String) -> Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_runs_the_whole_event_path_and_a_second_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut up = start_up(dir.path(), &[]);
    let (web, catalog, endpoint) = (
        up.urls["web"].clone(),
        up.urls["catalog"].clone(),
        up.urls["endpoint"].clone(),
    );
    assert!(
        topology_changes(&up.logs) > 10,
        "a first run creates the topology"
    );

    let http = reqwest::Client::new();
    for ready in [
        format!("{web}/ready"),
        format!("{catalog}/ready"),
        format!("{endpoint}/_nextflix/ready"),
    ] {
        assert_eq!(
            http.get(&ready).send().await.unwrap().status(),
            200,
            "{ready}"
        );
    }

    // A visitor opens a title's details: the MovieDetailsViewedEvent.
    let titles: Value = http
        .get(format!("{catalog}/discover?type=movie"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let media_id = titles[0]["id"].clone();
    let page = http.get(format!("{web}/browse")).send().await.unwrap();
    assert!(page.status().is_success());
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let response = http
        .post(format!("{web}/api/analytics"))
        .header("cookie", &cookie)
        .json(&json!({"mediaId": media_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let event: Value = response.json().await.unwrap();
    assert_eq!(event["mediaId"], media_id);
    assert_eq!(
        format!("session_id={}", event["sessionId"].as_str().unwrap()),
        cookie
    );

    // SNS delivered it to every subscribed queue (the tutorial's queue and the four services').
    let log: Value = http
        .get(format!(
            "{endpoint}/_nextflix/sns/deliveries?outcome=delivered"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut queues: Vec<String> = log["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d["endpoint"]
                .as_str()
                .unwrap()
                .rsplit(':')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    queues.sort();
    assert_eq!(
        queues,
        [
            "netflix-events",
            "recommendation",
            "search",
            "streaming",
            "user"
        ]
    );
    let denied: Value = http
        .get(format!(
            "{endpoint}/_nextflix/sns/deliveries?outcome=denied"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(denied["deliveries"], json!([]));
    // The tutorial's queue holds the event in SNS's envelope.
    let peek: Value = http
        .get(format!(
            "{endpoint}/_nextflix/sqs/queues/netflix-events/messages"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let envelope: Value =
        serde_json::from_str(peek["messages"][0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(envelope["Type"], "Notification");
    let inner: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(inner, event);

    // And the bucket holds it as <sessionId>/<activityId>.json.
    let key = format!(
        "{}/{}.json",
        event["sessionId"].as_str().unwrap(),
        event["activityId"].as_str().unwrap()
    );
    let object = http
        .get(format!("{endpoint}/nextflix-events/{key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(object.status(), 200);
    assert_eq!(object.headers()["content-type"], "application/json");
    let stored: Value = object.json().await.unwrap();
    assert_eq!(stored, event);

    // The four services consumed it: the user service has the session's history,
    // the recommendation service counts it as trending.
    let session = event["sessionId"].as_str().unwrap().to_owned();
    let user = up.urls["user"].clone();
    let mut history = Value::Null;
    for _ in 0..100 {
        history = http
            .get(format!("{user}/history?sessionId={session}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if history["items"].as_array().is_some_and(|i| !i.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        history["items"][0]["mediaId"],
        media_id.to_string().trim_matches('"'),
        "{history}"
    );
    let trending: Value = http
        .get(format!("{}/trending", up.urls["recommendation"]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(trending["items"][0]["views"], 1, "{trending}");
    // A service counts an event as processed once its state is saved, which can
    // come a moment after the state shows the event: wait for the count.
    for kind in ["search", "recommendation", "streaming", "user"] {
        let mut status = Value::Null;
        for _ in 0..100 {
            status = get_json(&http, format!("{}/status", up.urls[kind])).await;
            if status["eventsProcessed"] != 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(status["eventsProcessed"], 1, "{kind}: {status}");
    }

    // The system's readiness: every part answers.
    let system: Value = http
        .get(format!("{endpoint}/_nextflix/system/ready"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(system["ready"], true, "{system}");
    assert_eq!(system["parts"].as_object().unwrap().len(), 6, "{system}");

    // The console shows the services, and what the streaming service pre-warmed.
    let console = http
        .get(format!("{endpoint}/_console"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(console.contains("Services (4)"), "{console}");
    assert!(
        console.contains("Streaming: pre-warmed titles"),
        "{console}"
    );
    assert!(!console.contains("not answering"), "{console}");

    // The web shows the services' work: the visitor's own rows come first.
    let page = http
        .get(format!("{web}/browse"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let recent = page.find("Recently viewed").expect("a Recently viewed row");
    assert!(page.contains("Trending now"), "a Trending now row");
    assert!(
        recent < page.find("Comedies").unwrap(),
        "personal rows come first"
    );
    let name = titles[0]["title"].as_str().unwrap();
    if !name.contains(['&', '<', '>', '"', '\'']) {
        assert!(page[recent..].contains(name), "{name} in Recently viewed");
    }

    // Ctrl-C stops everything, cleanly.
    let status = std::process::Command::new("kill")
        .args(["-INT", &up.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = up.child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");

    // Again on the same state: nothing to change, and the event is still in the bucket.
    let again = start_up(dir.path(), &[]);
    assert_eq!(topology_changes(&again.logs), 0);
    let endpoint = again.urls["endpoint"].clone();
    let object = http
        .get(format!("{endpoint}/nextflix-events/{key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(object.status(), 200);
}

#[test]
fn up_explains_itself_and_prints_its_topology() {
    let (ok, out, _) = crate::support::run(&["up", "--help"]);
    assert!(ok);
    for flag in [
        "--web-bind",
        "--catalog-bind",
        "--endpoint-bind",
        "--state-dir",
        "--topology",
        "--aws",
    ] {
        assert!(out.contains(flag), "{flag} missing from --help");
    }
    let (ok, out, _) = crate::support::run(&["up", "--print-topology"]);
    assert!(ok);
    assert!(out.contains("netflix-events-topic"), "{out}");
    assert!(out.contains("recommendation-dlq"), "{out}");
}
