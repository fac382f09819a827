//! The console (`/_console`): what the tutorial checks in the AWS console, live.
//! Queues with their visible / in flight / delayed counts, the age of the oldest
//! message and small charts of messages in and out over the last ten minutes;
//! peeking at messages without receiving them, sending a test message, purging;
//! topics with their subscriptions and delivery counts (policy denials too);
//! buckets and their objects; the SNS delivery log, filterable.
//!
//! Server-rendered HTML (maud escapes every value); the page refreshes its live
//! part every few seconds by fetching `/_console/live` and swapping it in. Like
//! the admin routes, it is off with `--no-admin`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

use crate::http::AppState;
use crate::sns::delivery_log::Filter;
use crate::sqs::Ctx;
use crate::sqs::model::{MessageToSend, QueueUrlOnly, SendMessage};

/// One sample every this often; ten minutes are kept.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);
const SAMPLES: usize = 120;

/// One sample: (time, messages in so far, messages out so far).
type Sample = (u64, u64, u64);

/// The console's own state: per queue, the last [`SAMPLES`] samples; and the
/// services it links to (name → base URL), which `nextflix up` tells it.
#[derive(Debug, Default)]
pub struct History {
    samples: Mutex<HashMap<String, VecDeque<Sample>>>,
    services: Mutex<Vec<(String, String)>>,
    /// The parts whose readiness makes the system ready (name → readiness URL),
    /// once `nextflix up` has applied the topology and started them.
    parts: Mutex<Option<Vec<(String, String)>>>,
}

impl History {
    /// The services the console shows (their status, and the streaming
    /// service's pre-warmed titles).
    pub fn set_services(&self, services: Vec<(String, String)>) {
        *self.services.lock().unwrap_or_else(|e| e.into_inner()) = services;
    }

    /// The parts of the system (name → readiness URL): `GET /_nextflix/system/ready`
    /// answers 200 only when every one of them does.
    pub fn set_system_parts(&self, parts: Vec<(String, String)>) {
        *self.parts.lock().unwrap_or_else(|e| e.into_inner()) = Some(parts);
    }

    fn services(&self) -> Vec<(String, String)> {
        self.services
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn record(&self, now_ms: u64, queues: &[crate::sqs::engine::QueueSummary]) {
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        samples.retain(|name, _| queues.iter().any(|q| &q.name == name));
        for q in queues {
            let series = samples.entry(q.name.clone()).or_default();
            if series.len() == SAMPLES {
                series.pop_front();
            }
            series.push_back((now_ms, q.sent_total, q.removed_total));
        }
    }

    /// Messages in and out per sample interval, oldest first.
    fn rates(&self, queue: &str) -> Vec<(u64, u64)> {
        let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        let Some(series) = samples.get(queue) else {
            return Vec::new();
        };
        series
            .iter()
            .zip(series.iter().skip(1))
            .map(|(a, b)| (b.1.saturating_sub(a.1), b.2.saturating_sub(a.2)))
            .collect()
    }
}

/// Samples the queues' counters until the engine closes or is gone.
pub async fn run_sampler(sqs: crate::sqs::engine::WeakSqs, history: Arc<History>) {
    let mut ticker = tokio::time::interval(SAMPLE_EVERY);
    loop {
        ticker.tick().await;
        let Some(sqs) = sqs.upgrade().filter(|s| !s.is_closing()) else {
            return;
        };
        let now = sqs.clock().now_ms();
        history.record(now, &sqs.summaries());
    }
}

type Shared = State<Arc<AppState>>;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(page))
        .route("/live", get(live))
        .route("/queues/{name}", get(queue_page))
        .route("/queues/{name}/send", post(send))
        .route("/queues/{name}/purge", post(purge))
        .route("/buckets/{name}", get(bucket_page))
}

fn refused(app: &AppState) -> Option<Response> {
    (!app.admin).then(|| (StatusCode::NOT_FOUND, "the console is off (--no-admin)").into_response())
}

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#0f1115;color:#e6e6e6}
header{background:#181b22;padding:12px 24px;border-bottom:1px solid #2a2f3a;display:flex;gap:24px;align-items:baseline}
header h1{font-size:18px;margin:0;color:#e50914} header a{color:#9aa4b2}
main{padding:16px 24px} h2{font-size:15px;margin:24px 0 8px;color:#c9d1d9}
table{border-collapse:collapse;width:100%;margin-bottom:8px} th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #232834;vertical-align:top}
th{color:#9aa4b2;font-weight:600;font-size:12px;text-transform:uppercase} td.n{text-align:right;font-variant-numeric:tabular-nums}
a{color:#58a6ff;text-decoration:none} a:hover{text-decoration:underline}
code,pre{font:12px ui-monospace,SFMono-Regular,Menlo,monospace} pre{white-space:pre-wrap;word-break:break-all;margin:0;max-height:8em;overflow:auto}
.muted{color:#7d8590} .bad{color:#ff7b72} .ok{color:#56d364} .warn{color:#e3b341}
form.inline{display:inline} input,select,button{background:#0d1117;color:#e6e6e6;border:1px solid #30363d;border-radius:4px;padding:3px 6px;font:inherit}
button{cursor:pointer} button.danger{border-color:#da3633;color:#ff7b72}
.legend span{margin-right:12px}
"#;

const SCRIPT: &str = r#"
setInterval(async () => {
  const live = document.getElementById('live');
  if (!live || live.contains(document.activeElement) && document.activeElement.tagName !== 'BODY') return;
  try {
    const r = await fetch('/_console/live' + location.search, {cache: 'no-store'});
    if (r.ok) live.innerHTML = await r.text();
  } catch (e) {}
}, 3000);
"#;

fn layout(title: &str, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · Nextflix endpoint console" }
                    style { (PreEscaped(STYLE)) }
                }
                body {
                    header {
                        h1 { "Nextflix endpoint" }
                        a href="/_console" { "Console" }
                        a href="/_nextflix/metrics" { "Metrics" }
                        a href="/_nextflix/sns/deliveries" { "Delivery log (JSON)" }
                    }
                    main { (body) }
                    script { (PreEscaped(SCRIPT)) }
                }
            }
        }
        .into_string(),
    )
}

fn age(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 => format!("{:.1} h", s as f64 / 3600.0),
        _ => format!("{:.1} d", s as f64 / 86_400.0),
    }
}

/// Two polylines: messages in (green) and out (blue) per interval.
fn sparkline(rates: &[(u64, u64)]) -> Markup {
    let (w, h) = (160.0, 28.0);
    if rates.is_empty() {
        return html! { span.muted { "collecting…" } };
    }
    let max = rates
        .iter()
        .map(|(a, b)| (*a).max(*b))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let step = w / (SAMPLES.max(2) - 1) as f64;
    let offset = w - step * (rates.len().saturating_sub(1)) as f64;
    let points = |pick: fn(&(u64, u64)) -> u64| {
        rates
            .iter()
            .enumerate()
            .map(|(i, r)| {
                format!(
                    "{:.1},{:.1}",
                    offset + i as f64 * step,
                    h - 1.0 - (pick(r) as f64 / max) * (h - 2.0)
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let total_in: u64 = rates.iter().map(|r| r.0).sum();
    let total_out: u64 = rates.iter().map(|r| r.1).sum();
    html! {
        svg width="160" height="28" viewBox="0 0 160 28" role="img" aria-label=(format!("{total_in} in, {total_out} out in the last minutes")) {
            polyline fill="none" stroke="#56d364" stroke-width="1.5" points=(points(|r| r.0)) {}
            polyline fill="none" stroke="#58a6ff" stroke-width="1.5" points=(points(|r| r.1)) {}
        }
        br;
        span.muted { (total_in) " in · " (total_out) " out" }
    }
}

#[derive(Debug, Default, Deserialize)]
struct LogQuery {
    topic: Option<String>,
    queue: Option<String>,
    outcome: Option<String>,
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_ref()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn live_markup(app: &AppState, q: &LogQuery) -> Markup {
    let now = app.sqs.clock().now_ms();
    let queues = app.sqs.summaries();
    let topics = app.sns.overview();
    let counts = app.sns.log().counts();
    let buckets = app.s3.list_buckets();
    let filter = Filter {
        topic: non_empty(&q.topic),
        queue: non_empty(&q.queue),
        outcome: non_empty(&q.outcome),
        limit: 50,
        ..Default::default()
    };
    let log = app.sns.log().query(&filter);
    html! {
        h2 { "Queues (" (queues.len()) ")" }
        table {
            tr { th { "Queue" } th { "Visible" } th { "In flight" } th { "Delayed" } th { "Oldest" } th.legend { "Last 10 min " span.ok { "in" } " " span style="color:#58a6ff" { "out" } } th { "Actions" } }
            @for queue in &queues {
                tr {
                    td { a href=(format!("/_console/queues/{}", queue.name)) { (queue.name) } br; code.muted { (queue.arn) } }
                    td.n { (queue.visible) }
                    td.n { (queue.in_flight) }
                    td.n { (queue.delayed) }
                    td.n { @if let Some(sent) = queue.oldest_sent_ms { (age(now.saturating_sub(sent))) } @else { span.muted { "–" } } }
                    td { (sparkline(&app.console.rates(&queue.name))) }
                    td {
                        form.inline method="post" action=(format!("/_console/queues/{}/send", queue.name)) {
                            input name="body" placeholder="test message" aria-label=(format!("Message for {}", queue.name)) size="14";
                            " " button type="submit" { "Send" }
                        }
                        " "
                        form.inline method="post" action=(format!("/_console/queues/{}/purge", queue.name)) {
                            button.danger type="submit" { "Purge" }
                        }
                    }
                }
            }
        }
        h2 { "Topics (" (topics.len()) ")" }
        table {
            tr { th { "Topic" } th { "Subscriptions" } th { "Deliveries" } }
            @for (arn, subs) in &topics {
                tr {
                    td { code { (arn) } }
                    td {
                        @for sub in subs { div { code { (sub.protocol) } " → " code { (sub.endpoint) } } }
                        @if subs.is_empty() { span.muted { "none" } }
                    }
                    td {
                        @for ((outcome, topic), n) in counts.iter().filter(|((_, t), _)| t == arn) {
                            @let _ = topic;
                            div class=(match *outcome { "delivered" => "ok", "denied" | "failed" => "bad", _ => "warn" }) {
                                (outcome) ": " (n)
                            }
                        }
                    }
                }
            }
        }
        h2 { "Buckets (" (buckets.len()) ")" }
        table {
            tr { th { "Bucket" } th { "Objects" } }
            @for (name, _) in &buckets {
                tr { td { a href=(format!("/_console/buckets/{name}")) { (name) } } td.n { (app.s3.object_count(name)) } }
            }
        }
        h2 { "Delivery log" }
        form method="get" action="/_console" {
            input name="topic" placeholder="topic (ARN or name)" value=(q.topic.clone().unwrap_or_default()) aria-label="Topic";
            " " input name="queue" placeholder="queue (ARN or name)" value=(q.queue.clone().unwrap_or_default()) aria-label="Queue";
            " " select name="outcome" aria-label="Outcome" {
                option value="" { "any outcome" }
                @for o in ["delivered", "filtered_out", "denied", "failed", "retrying", "dead_lettered"] {
                    option value=(o) selected[q.outcome.as_deref() == Some(o)] { (o) }
                }
            }
            " " button type="submit" { "Filter" }
        }
        table {
            tr { th { "When" } th { "Outcome" } th { "Topic → endpoint" } th { "Message" } th { "Why" } }
            @for e in &log {
                tr {
                    td.muted { (age(now.saturating_sub(e.time_ms))) " ago" }
                    td class=(match e.outcome.as_str() { "delivered" => "ok", "denied" | "failed" => "bad", _ => "warn" }) { (e.outcome.as_str()) }
                    td { code { (e.topic_arn.rsplit(':').next().unwrap_or("")) } " → " code { (e.endpoint.rsplit(':').next().unwrap_or("")) } }
                    td { code.muted { (e.message_id) } }
                    td { (e.detail) }
                }
            }
            @if log.is_empty() { tr { td colspan="5" .muted { "No deliveries match." } } }
        }
    }
}

/// What the services say: each one's `/status`, and the streaming service's
/// `/warm` list. A service that does not answer within a moment is shown as such.
async fn services_markup(app: &AppState) -> Markup {
    let services = app.console.services();
    if services.is_empty() {
        return html! {};
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap_or_default();
    let get = |url: String| {
        let http = http.clone();
        async move {
            match http.get(&url).send().await {
                Ok(r) if r.status().is_success() => r.json::<serde_json::Value>().await.ok(),
                _ => None,
            }
        }
    };
    let mut statuses = Vec::new();
    let mut warm = None;
    for (name, url) in &services {
        statuses.push((
            name.clone(),
            url.clone(),
            get(format!("{url}/status")).await,
        ));
        if name == "streaming" {
            warm = get(format!("{url}/warm?limit=20")).await;
        }
    }
    let field = |v: &Option<serde_json::Value>, k: &str| {
        v.as_ref()
            .and_then(|v| v.get(k))
            .map_or("–".to_owned(), |x| x.to_string())
    };
    html! {
        h2 { "Services (" (statuses.len()) ")" }
        table {
            tr { th { "Service" } th { "Events processed" } th { "Failed" } th { "Messages deleted" } th { "Ready" } }
            @for (name, url, status) in &statuses {
                tr {
                    td { a href=(format!("{url}/status")) { (name) } }
                    @if status.is_some() {
                        td.n { (field(status, "eventsProcessed")) }
                        td.n { (field(status, "eventsFailed")) }
                        td.n { (field(status, "messagesDeleted")) }
                        td { (field(status, "ready")) }
                    } @else {
                        td.bad colspan="4" { "not answering" }
                    }
                }
            }
        }
        @if let Some(items) = warm.as_ref().and_then(|w| w.get("items")).and_then(|i| i.as_array()) {
            h2 { "Streaming: pre-warmed titles (" (items.len()) ")" }
            table {
                tr { th { "Title" } th { "Why" } th { "After" } th { "Hits" } }
                @for item in items {
                    tr {
                        td { (item.get("title").and_then(|t| t.as_str()).unwrap_or("")) " " code.muted { (item.get("mediaId").map(|v| v.to_string()).unwrap_or_default()) } }
                        td { (item.pointer("/reason/kind").and_then(|t| t.as_str()).unwrap_or("")) }
                        td { (item.pointer("/reason/after/title").and_then(|t| t.as_str()).unwrap_or("")) }
                        td.n { (item.get("hits").map(|v| v.to_string()).unwrap_or_default()) }
                    }
                }
                @if items.is_empty() { tr { td colspan="4" .muted { "Nothing warmed yet." } } }
            }
        }
    }
}

async fn page(State(app): Shared, Query(q): Query<LogQuery>) -> Response {
    if let Some(r) = refused(&app) {
        return r;
    }
    let services = services_markup(&app).await;
    layout(
        "Console",
        html! { div #live { (live_markup(&app, &q)) (services) } },
    )
    .into_response()
}

async fn live(State(app): Shared, Query(q): Query<LogQuery>) -> Response {
    if let Some(r) = refused(&app) {
        return r;
    }
    let services = services_markup(&app).await;
    Html(html! { (live_markup(&app, &q)) (services) }.into_string()).into_response()
}

async fn queue_page(State(app): Shared, Path(name): Path<String>) -> Response {
    if let Some(r) = refused(&app) {
        return r;
    }
    let Some(messages) = app.sqs.peek(&name, 200) else {
        return (
            StatusCode::NOT_FOUND,
            layout(
                "No such queue",
                html! { p { "No queue named " code { (name) } "." } },
            ),
        )
            .into_response();
    };
    let now = app.sqs.clock().now_ms();
    layout(
        &name,
        html! {
            h2 { "Queue " code { (name) } " — " (messages.len()) " message(s), peeked without receiving" }
            p.muted { "Peeking changes nothing: receive counts and visibility stay as they are." }
            table {
                tr { th { "Message" } th { "State" } th { "Receives" } th { "Age" } th { "Group" } th { "Body" } }
                @for m in &messages {
                    tr {
                        td { code.muted { (m.message_id) } }
                        td { (m.state) @if let Some(at) = m.visible_at { br; span.muted { "visible in " (age(at.saturating_sub(now))) } } }
                        td.n { (m.receive_count) }
                        td.n { (age(now.saturating_sub(m.sent_timestamp))) }
                        td { @if let Some(g) = &m.message_group_id { code { (g) } } }
                        td { pre { (m.body) } }
                    }
                }
            }
            p { a href="/_console" { "← back" } }
        },
    )
    .into_response()
}

#[derive(Debug, Deserialize)]
struct SendForm {
    body: String,
}

async fn send(
    State(app): Shared,
    Path(name): Path<String>,
    Form(form): Form<SendForm>,
) -> Response {
    if let Some(r) = refused(&app) {
        return r;
    }
    let fifo = name.ends_with(".fifo");
    let body = if form.body.trim().is_empty() {
        "test message from the console".to_owned()
    } else {
        form.body
    };
    let message = MessageToSend {
        message_body: Some(body),
        message_group_id: fifo.then(|| "console".to_owned()),
        message_deduplication_id: fifo.then(|| uuid::Uuid::new_v4().to_string()),
        ..Default::default()
    };
    let ctx = Ctx {
        base_url: String::new(),
        region: String::new(),
        sender_id: "console".to_owned(),
    };
    match app
        .sqs
        .send_message(
            &ctx,
            SendMessage {
                queue_url: Some(name),
                message,
            },
        )
        .await
    {
        Ok(_) => Redirect::to("/_console").into_response(),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            layout(
                "Not sent",
                html! { p.bad { (e.to_string()) } p { a href="/_console" { "← back" } } },
            ),
        )
            .into_response(),
    }
}

async fn purge(State(app): Shared, Path(name): Path<String>) -> Response {
    if let Some(r) = refused(&app) {
        return r;
    }
    match app
        .sqs
        .purge_queue(QueueUrlOnly {
            queue_url: Some(name),
        })
        .await
    {
        Ok(()) => Redirect::to("/_console").into_response(),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            layout(
                "Not purged",
                html! { p.bad { (e.to_string()) } p { a href="/_console" { "← back" } } },
            ),
        )
            .into_response(),
    }
}

async fn bucket_page(State(app): Shared, Path(name): Path<String>) -> Response {
    if let Some(r) = refused(&app) {
        return r;
    }
    let Ok(listing) = app.s3.list_objects(&name, "", None, None, 500) else {
        return (
            StatusCode::NOT_FOUND,
            layout(
                "No such bucket",
                html! { p { "No bucket named " code { (name) } "." } },
            ),
        )
            .into_response();
    };
    let now = app.sqs.clock().now_ms();
    layout(
        &name,
        html! {
            h2 { "Bucket " code { (name) } " — " (listing.objects.len()) @if listing.truncated { "+" } " object(s)" }
            table {
                tr { th { "Key" } th { "Size" } th { "Type" } th { "Modified" } }
                @for o in &listing.objects {
                    tr {
                        td { a href=(format!("/{name}/{}", crate::s3::percent_encode(&o.key))) { code { (o.key) } } }
                        td.n { (o.size) }
                        td { (o.content_type) }
                        td.muted { (age(now.saturating_sub(o.last_modified_ms))) " ago" }
                    }
                }
            }
            p { a href="/_console" { "← back" } }
        },
    )
    .into_response()
}

/// `GET /_nextflix/system/ready`: 200 once the topology is applied (the parts are
/// known) and every part's readiness answers 200; else 503, naming what is not ready.
pub async fn system_ready(State(app): Shared) -> Response {
    let parts = app
        .console
        .parts
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let Some(parts) = parts else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"ready": false, "reason": "the system is starting: the topology is not applied yet (or this endpoint does not run under nextflix up)"})),
        )
            .into_response();
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(1000))
        .build()
        .unwrap_or_default();
    let mut states = serde_json::Map::new();
    let mut all = true;
    for (name, url) in parts {
        let ok = matches!(http.get(&url).send().await, Ok(r) if r.status().is_success());
        all &= ok;
        states.insert(name, serde_json::Value::Bool(ok));
    }
    let status = if all {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(serde_json::json!({"ready": all, "parts": states})),
    )
        .into_response()
}
