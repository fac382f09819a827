//! The HTTP face of the endpoint: one router for every AWS request (any path but
//! the admin prefix), which finds the service, protocol and action, decodes the
//! typed request, runs it and encodes the answer; and the admin routes under
//! [`ADMIN_PREFIX`], a path no AWS request can use (S3 bucket names cannot start
//! with `_`, SQS paths are `/<account>/<queue>`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;

use crate::protocol::{self, Wire, json, query, sigv4};
use crate::sqs::{self, Ctx, ErrorKind, Request, Sqs, SqsError};

/// Where the admin routes live.
pub const ADMIN_PREFIX: &str = "/_nextflix";

/// The largest request body accepted (a 1 MiB message, JSON-escaped, fits).
const BODY_LIMIT: usize = 16 * 1024 * 1024;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    service: &'static str,
    action: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    queue: String,
    state: &'static str,
}

/// The endpoint's own metrics.
#[derive(Clone)]
pub struct EndpointMetrics {
    registry: nextflix_common::metrics::Metrics,
    requests: Family<ActionLabels, Histogram, fn() -> Histogram>,
    messages: Family<QueueLabels, Gauge>,
    queues: Gauge,
}

fn action_histogram() -> Histogram {
    Histogram::new([
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0, 5.0, 20.0,
    ])
}

impl EndpointMetrics {
    fn new() -> Self {
        let registry = nextflix_common::metrics::Metrics::new("endpoint");
        let requests = Family::<ActionLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            action_histogram,
        );
        registry.register(
            "requests_duration_seconds",
            "AWS API requests by service, action and outcome (ok or the error code), and their latency",
            requests.clone(),
        );
        let messages = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "sqs_messages",
            "Messages in each queue by state (visible, in_flight, delayed)",
            messages.clone(),
        );
        let queues = Gauge::default();
        registry.register("sqs_queues", "Number of SQS queues", queues.clone());
        let _: Option<Counter> = None;
        EndpointMetrics {
            registry,
            requests,
            messages,
            queues,
        }
    }

    fn observe(&self, action: &str, outcome: &'static str, elapsed: Duration) {
        self.requests
            .get_or_create(&ActionLabels {
                service: "sqs",
                action: action.to_owned(),
                outcome,
            })
            .observe(elapsed.as_secs_f64());
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub sqs: Sqs,
    pub metrics: EndpointMetrics,
    pub admin: bool,
}

/// The router of an endpoint.
pub fn router(sqs: Sqs, admin: bool) -> Router {
    let state = AppState {
        sqs,
        metrics: EndpointMetrics::new(),
        admin,
    };
    let admin_routes = Router::new()
        .route("/ready", get(|| async { "OK" }))
        .route("/health", get(|| async { "OK" }))
        .route("/metrics", get(metrics))
        .route("/sqs/queues", get(list_queues))
        .route("/sqs/queues/{name}/messages", get(peek))
        .route("/clock", get(clock_now))
        .route("/clock/advance", post(advance_clock))
        .fallback(admin_not_found);
    Router::new()
        .nest(ADMIN_PREFIX, admin_routes)
        .fallback(aws)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(Arc::new(state))
}

type Shared = State<Arc<AppState>>;

/// Where the caller reached us, for URLs in answers.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or("localhost:4566");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https" || *p == "http")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}

/// Every AWS request.
async fn aws(
    State(app): Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = protocol::request_id();
    let started = Instant::now();
    let scope = sigv4::scope(&headers, uri.query());
    let ctx = Ctx {
        base_url: base_url(&headers),
        region: scope
            .as_ref()
            .map(|s| s.region.clone())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "us-east-1".to_owned()),
        sender_id: scope
            .as_ref()
            .map(|s| s.access_key.clone())
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| app.sqs.account_id().to_owned()),
    };
    // Decide the protocol and action.
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (wire, action, input) = if let Some(target) = target {
        let Some(action) = target.strip_prefix("AmazonSQS.") else {
            let err = SqsError::new(
                ErrorKind::UnknownOperationException,
                format!("The operation {target} is not known to this endpoint."),
            );
            return json::sqs_error(&err, &request_id);
        };
        let input = if body.iter().all(u8::is_ascii_whitespace) {
            serde_json::Value::Object(Default::default())
        } else {
            match serde_json::from_slice::<serde_json::Value>(&body) {
                Ok(v @ serde_json::Value::Object(_)) => v,
                _ => {
                    let err = SqsError::new(
                        ErrorKind::SerializationException,
                        "The request body is not a valid JSON object.",
                    );
                    app.metrics
                        .observe(action, "SerializationException", started.elapsed());
                    return json::sqs_error(&err, &request_id);
                }
            }
        };
        (Wire::Json, action.to_owned(), input)
    } else {
        let mut params: Vec<(String, String)> = uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        if method == Method::POST && (is_form(&headers) || !body.is_empty()) {
            params.extend(form_urlencoded::parse(&body).into_owned());
        }
        let (action, input) = query::decode(params);
        match action {
            Some(action) if !action.is_empty() => (Wire::Query, action, input),
            _ => {
                if method == Method::GET && uri.path() == "/" && uri.query().is_none() {
                    return (StatusCode::OK, "nextflix endpoint: SQS (JSON and Query protocols). See /_nextflix/ready.\n").into_response();
                }
                let err = SqsError::new(
                    ErrorKind::MissingAction,
                    "The request must contain the parameter Action.",
                );
                return query::sqs_error(&err, &request_id);
            }
        }
    };
    let respond_err = |err: &SqsError| match wire {
        Wire::Json => json::sqs_error(err, &request_id),
        Wire::Query => query::sqs_error(err, &request_id),
    };
    if let Some(service) = scope.as_ref().map(|s| s.service.as_str())
        && !service.is_empty()
        && service != "sqs"
    {
        let err = SqsError::new(
            ErrorKind::InvalidAction,
            format!("The service {service} is not served by this endpoint yet."),
        );
        return respond_err(&err);
    }
    let mut request = match Request::decode(&action, input) {
        Ok(r) => r,
        Err(err) => {
            let err = if wire == Wire::Json && err.kind == ErrorKind::InvalidAction {
                SqsError::new(ErrorKind::UnknownOperationException, err.message)
            } else {
                err
            };
            app.metrics
                .observe("unknown", err.kind.name(), started.elapsed());
            return respond_err(&err);
        }
    };
    // Older SDKs post to the queue URL itself.
    let path = uri.path();
    if path.len() > 1 && path.matches('/').count() >= 2 {
        request.set_queue_url_if_missing(format!("{}{}", ctx.base_url, path));
    }
    let result = sqs::dispatch(&app.sqs, &ctx, request).await;
    match result {
        Ok(value) => {
            app.metrics.observe(&action, "ok", started.elapsed());
            match wire {
                Wire::Json => json::ok(&value, &request_id),
                Wire::Query => query::ok(&action, query::SQS_XMLNS, &value, &request_id),
            }
        }
        Err(err) => {
            if err.kind == ErrorKind::InternalError {
                tracing::error!(action, error = %err, "request failed");
            } else {
                tracing::debug!(action, error = %err, "request refused");
            }
            app.metrics
                .observe(&action, err.kind.name(), started.elapsed());
            respond_err(&err)
        }
    }
}

async fn metrics(State(app): Shared) -> Response {
    let summaries = app.sqs.summaries();
    app.metrics.queues.set(summaries.len() as i64);
    app.metrics.messages.clear();
    for q in summaries {
        for (state, count) in [
            ("visible", q.visible),
            ("in_flight", q.in_flight),
            ("delayed", q.delayed),
        ] {
            app.metrics
                .messages
                .get_or_create(&QueueLabels {
                    queue: q.name.clone(),
                    state,
                })
                .set(count as i64);
        }
    }
    app.metrics.registry.render()
}

fn admin_refused(app: &AppState) -> Option<Response> {
    (!app.admin).then(|| {
        (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({"error": "admin routes are off (--no-admin)"})),
        )
            .into_response()
    })
}

async fn admin_not_found(uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({"error": format!("No admin route {}", uri.path())})),
    )
        .into_response()
}

async fn list_queues(State(app): Shared) -> Response {
    if let Some(refused) = admin_refused(&app) {
        return refused;
    }
    axum::Json(app.sqs.summaries()).into_response()
}

async fn peek(
    State(app): Shared,
    Path(name): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = admin_refused(&app) {
        return refused;
    }
    let limit = params
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100usize)
        .min(10_000);
    match app.sqs.peek(&name, limit) {
        Some(messages) => {
            axum::Json(serde_json::json!({ "queue": name, "messages": messages })).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({"error": format!("no queue named {name}")})),
        )
            .into_response(),
    }
}

async fn clock_now(State(app): Shared) -> Response {
    let clock = app.sqs.clock();
    axum::Json(serde_json::json!({"now_ms": clock.now_ms(), "virtual": clock.is_virtual()}))
        .into_response()
}

async fn advance_clock(
    State(app): Shared,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if let Some(refused) = admin_refused(&app) {
        return refused;
    }
    let clock = app.sqs.clock();
    if !clock.is_virtual() {
        return (
            StatusCode::CONFLICT,
            axum::Json(serde_json::json!({"error": "the clock is real; start the endpoint with --virtual-clock"})),
        )
            .into_response();
    }
    let seconds = params.get("seconds").and_then(|s| s.parse::<f64>().ok());
    match seconds {
        Some(s) if (0.0..=1e9).contains(&s) => {
            clock.advance(Duration::from_millis((s * 1000.0) as u64));
            axum::Json(serde_json::json!({"now_ms": clock.now_ms()})).into_response()
        }
        _ => (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({"error": "seconds must be a non-negative number"})),
        )
            .into_response(),
    }
}
