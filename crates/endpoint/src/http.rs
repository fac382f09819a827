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
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;

use crate::protocol::{self, Wire, json, query, sigv4};
use crate::s3;
use crate::sns::{self, Sns, SnsError};
use crate::sqs::model::JsonBody;
use crate::sqs::{self, Ctx, ErrorKind, Request, Sqs, SqsError};

/// Where the admin routes live.
pub const ADMIN_PREFIX: &str = "/_nextflix";

/// The largest request body accepted (a 1 MiB message, JSON-escaped, fits; S3
/// objects up to this size).
const BODY_LIMIT: usize = 64 * 1024 * 1024;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    service: &'static str,
    action: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    topic: String,
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
    deliveries: Family<DeliveryLabels, Gauge>,
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
        let deliveries = Family::<DeliveryLabels, Gauge>::default();
        registry.register(
            "sns_deliveries",
            "SNS delivery attempts since start by topic and outcome (delivered, filtered_out, denied, failed, retrying, dead_lettered)",
            deliveries.clone(),
        );
        EndpointMetrics {
            deliveries,
            registry,
            requests,
            messages,
            queues,
        }
    }

    fn observe(
        &self,
        service: &'static str,
        action: &str,
        outcome: &'static str,
        elapsed: Duration,
    ) {
        self.requests
            .get_or_create(&ActionLabels {
                service,
                action: action.to_owned(),
                outcome,
            })
            .observe(elapsed.as_secs_f64());
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The console's history of queue counters.
    pub console: Arc<crate::console::History>,
    /// With `--auth`: the keys whose signatures are accepted.
    pub auth: Option<sigv4::Keys>,
    pub sqs: Sqs,
    pub sns: Sns,
    pub s3: s3::S3,
    pub metrics: EndpointMetrics,
    pub admin: bool,
}

/// The router of an endpoint.
pub fn router(
    sqs: Sqs,
    sns: Sns,
    s3: s3::S3,
    admin: bool,
    auth: Option<sigv4::Keys>,
    console: Arc<crate::console::History>,
) -> Router {
    let state = AppState {
        console,
        auth,
        sqs,
        sns,
        s3,
        metrics: EndpointMetrics::new(),
        admin,
    };
    let admin_routes = Router::new()
        .route("/ready", get(ready))
        .route("/system/ready", get(crate::console::system_ready))
        .route("/health", get(|| async { "OK" }))
        .route("/metrics", get(metrics))
        .route("/sqs/queues", get(list_queues))
        .route("/sqs/queues/{name}/messages", get(peek))
        .route("/sns/deliveries", get(deliveries))
        // The SNS signing certificate: subscribers need it, so it is served
        // even with the admin routes off.
        .route(
            "/sns/SimpleNotificationService.pem",
            get(|State(app): Shared| async move { app.sns.signer().cert_response().await }),
        )
        .route("/clock", get(clock_now))
        .route("/clock/advance", post(advance_clock))
        .fallback(admin_not_found);
    Router::new()
        .nest(ADMIN_PREFIX, admin_routes)
        .nest("/_console", crate::console::routes())
        .fallback(aws)
        .layer(DefaultBodyLimit::disable())
        .with_state(Arc::new(state))
}

type Shared = State<Arc<AppState>>;

/// Ready while every service's storage takes writes; after a storage engine
/// failed (every write is refused until a restart), 503 and which one.
async fn ready(State(app): Shared) -> Response {
    let failed: Vec<&str> = [
        ("sqs", app.sqs.storage_healthy()),
        ("sns", app.sns.storage_healthy()),
        ("s3", app.s3.storage_healthy()),
    ]
    .into_iter()
    .filter_map(|(name, ok)| (!ok).then_some(name))
    .collect();
    if failed.is_empty() {
        return (StatusCode::OK, "OK").into_response();
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "storage failed ({}): writes are refused until a restart; see the log\n",
            failed.join(", ")
        ),
    )
        .into_response()
}

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

/// Which service a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Sqs,
    Sns,
}

/// Every AWS request: find the service, protocol and action, then hand over.
async fn aws(
    State(app): Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let request_id = protocol::request_id();
    let Ok(body) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return too_large(&headers, &request_id);
    };
    if let Some(keys) = &app.auth {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let signed = sigv4::Signed {
            method: method.as_str(),
            path: uri.path(),
            query: uri.query(),
            headers: &headers,
            body: &body,
            now_ms,
        };
        if let Err(err) = keys.verify(&signed) {
            tracing::debug!(code = err.code, "request refused: {}", err.message);
            return auth_error(&err, &method, &uri, &headers, &request_id);
        }
    }
    let scope = sigv4::scope(&headers, uri.query());
    let base_url = base_url(&headers);
    let region = scope
        .as_ref()
        .map(|s| s.region.clone())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "us-east-1".to_owned());
    let signed_service = scope.as_ref().map(|s| s.service.as_str()).unwrap_or("");
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let has_action = uri
        .query()
        .is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "Action"))
        || (method == Method::POST
            && is_form(&headers)
            && form_urlencoded::parse(&body).any(|(k, _)| k == "Action"));
    let is_s3 = signed_service == "s3"
        || (signed_service.is_empty()
            && target.is_none()
            && !has_action
            && s3::looks_like_s3(&method, uri.path(), &headers));
    if is_s3 {
        return handle_s3(&app, method, &uri, headers, body, region, &request_id).await;
    }
    let (service, wire, action, input) = if let Some(target) = target {
        let (service, action) = if let Some(a) = target.strip_prefix("AmazonSQS.") {
            (Service::Sqs, a)
        } else if let Some(a) = target.strip_prefix("SNS_20100331.") {
            (Service::Sns, a)
        } else {
            let err = SqsError::new(
                ErrorKind::UnknownOperationException,
                format!("The operation {target} is not known to this endpoint."),
            );
            return json::sqs_error(&err, &request_id);
        };
        let input = if matches!(service, Service::Sqs) {
            // Decoded straight into the action's input later.
            Input::Body(body.clone())
        } else if body.iter().all(u8::is_ascii_whitespace) {
            Input::Value(serde_json::Value::Object(Default::default()))
        } else {
            match serde_json::from_slice::<serde_json::Value>(&body) {
                Ok(v @ serde_json::Value::Object(_)) => Input::Value(v),
                _ => {
                    let message = "The request body is not a valid JSON object.";
                    return json::sns_error(
                        &SnsError::new("SerializationException", 400, message),
                        &request_id,
                    );
                }
            }
        };
        (service, Wire::Json, action.to_owned(), input)
    } else {
        let mut params: Vec<(String, String)> = uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        if method == Method::POST && (is_form(&headers) || !body.is_empty()) {
            params.extend(form_urlencoded::parse(&body).into_owned());
        }
        let action = params
            .iter()
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        if action.is_empty() {
            if method == Method::GET && uri.path() == "/" && uri.query().is_none() {
                return (StatusCode::OK, "nextflix endpoint: SQS, SNS (JSON and Query protocols) and S3. See /_nextflix/ready.\n").into_response();
            }
            let err = SqsError::new(
                ErrorKind::MissingAction,
                "The request must contain the parameter Action.",
            );
            return query::sqs_error(&err, &request_id);
        }
        let is_sns_action = sns::model::ACTIONS.contains(&action.as_str());
        let is_sqs_action = sqs::model::ACTIONS.contains(&action.as_str());
        let service = match signed_service {
            "sns" => Service::Sns,
            "sqs" => Service::Sqs,
            _ if is_sns_action && !is_sqs_action => Service::Sns,
            _ if is_sns_action && params.iter().any(|(k, _)| k == "TopicArn") => Service::Sns,
            _ => Service::Sqs,
        };
        let dialect = match service {
            Service::Sqs => query::Dialect::Flattened,
            Service::Sns => query::Dialect::Wrapped,
        };
        let (_, input) = query::decode_as(params, dialect);
        (service, Wire::Query, action, Input::Value(input))
    };
    if !signed_service.is_empty() && !matches!(signed_service, "sqs" | "sns" | "s3") {
        let err = SqsError::new(
            ErrorKind::InvalidAction,
            format!("The service {signed_service} is not served by this endpoint yet."),
        );
        return match wire {
            Wire::Json => json::sqs_error(&err, &request_id),
            Wire::Query => query::sqs_error(&err, &request_id),
        };
    }
    let started = Instant::now();
    match service {
        Service::Sqs => {
            let ctx = Ctx {
                base_url,
                region,
                sender_id: scope
                    .as_ref()
                    .map(|s| s.access_key.clone())
                    .filter(|k| !k.is_empty())
                    .unwrap_or_else(|| app.sqs.account_id().to_owned()),
            };
            handle_sqs(
                &app,
                &ctx,
                wire,
                &action,
                input,
                uri.path(),
                &request_id,
                started,
            )
            .await
        }
        Service::Sns => {
            let ctx = sns::Ctx { base_url, region };
            let input = match input {
                Input::Value(value) => value,
                Input::Body(_) => serde_json::Value::Object(Default::default()),
            };
            handle_sns(&app, &ctx, wire, &action, input, &request_id, started).await
        }
    }
}

/// A refused signature, in the shape of the protocol the request used.
fn auth_error(
    err: &sigv4::AuthError,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    request_id: &str,
) -> Response {
    let service = sigv4::scope(headers, uri.query())
        .map(|s| s.service)
        .unwrap_or_default();
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let has_action = uri.query().is_some_and(|q| q.contains("Action=")) || is_form(headers);
    if service == "s3"
        || (service.is_empty()
            && target.is_empty()
            && !has_action
            && s3::looks_like_s3(method, uri.path(), headers))
    {
        return s3::S3Error::new(err.s3_code(), err.status, err.message.clone())
            .render(request_id, *method == Method::HEAD);
    }
    if !target.is_empty() {
        let namespace = if target.starts_with("SNS_") {
            "sns"
        } else {
            "sqs"
        };
        let body = serde_json::json!({"__type": format!("com.amazonaws.{namespace}#{}", err.code), "message": err.message});
        let mut response = (
            StatusCode::from_u16(err.status).unwrap_or(StatusCode::FORBIDDEN),
            body.to_string(),
        )
            .into_response();
        let h = response.headers_mut();
        h.insert(
            "content-type",
            axum::http::HeaderValue::from_static(json::CONTENT_TYPE),
        );
        if let Ok(v) = axum::http::HeaderValue::from_str(&format!("{};Sender", err.code)) {
            h.insert("x-amzn-query-error", v);
        }
        if let Ok(v) = axum::http::HeaderValue::from_str(request_id) {
            h.insert("x-amzn-requestid", v);
        }
        return response;
    }
    let xmlns = if service == "sns" {
        query::SNS_XMLNS
    } else {
        query::SQS_XMLNS
    };
    query::error(xmlns, err.status, err.code, true, &err.message, request_id)
}

/// A body over [`BODY_LIMIT`] (or one that broke off), refused in the shape of
/// the protocol the request used.
fn too_large(headers: &HeaderMap, request_id: &str) -> Response {
    let message = format!("The request body is larger than {BODY_LIMIT} bytes, or was cut off.");
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if target.starts_with("SNS_") {
        json::sns_error(&SnsError::new("InvalidParameter", 413, message), request_id)
    } else if !target.is_empty() {
        json::sqs_error(
            &SqsError::new(ErrorKind::RequestEntityTooLarge, message),
            request_id,
        )
    } else if is_form(headers) {
        query::sqs_error(
            &SqsError::new(ErrorKind::RequestEntityTooLarge, message),
            request_id,
        )
    } else {
        s3::S3Error::new(
            "EntityTooLarge",
            400,
            "Your proposed upload exceeds the maximum allowed object size.",
        )
        .render(request_id, false)
    }
}

/// An S3 REST request.
async fn handle_s3(
    app: &AppState,
    method: Method,
    uri: &Uri,
    headers: HeaderMap,
    body: Bytes,
    region: String,
    request_id: &str,
) -> Response {
    let host = headers.get("host").and_then(|h| h.to_str().ok());
    let (bucket, key) = s3::address(host, uri.path());
    let query: Vec<(String, String)> = uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let started = Instant::now();
    let label = match (&bucket, &key, &method) {
        (None, _, _) => "ListBuckets",
        (Some(_), None, &Method::PUT) => "CreateBucket",
        (Some(_), None, &Method::DELETE) => "DeleteBucket",
        (Some(_), None, &Method::HEAD) => "HeadBucket",
        (Some(_), None, &Method::POST) => "DeleteObjects",
        (Some(_), None, _) => "ListObjects",
        (Some(_), Some(_), &Method::PUT) => "PutObject",
        (Some(_), Some(_), &Method::HEAD) => "HeadObject",
        (Some(_), Some(_), &Method::DELETE) => "DeleteObject",
        (Some(_), Some(_), _) => "GetObject",
    };
    let request = s3::RestRequest {
        method,
        bucket,
        key,
        query,
        headers,
        body,
        region,
    };
    let response = s3::handle(&app.s3, request, request_id).await;
    let outcome = if response.status().is_success() || response.status().is_redirection() {
        "ok"
    } else {
        "error"
    };
    app.metrics.observe("s3", label, outcome, started.elapsed());
    response
}

/// An action's input: a JSON protocol body not yet decoded (SQS decodes it
/// straight into the action's shape), or JSON already parsed.
enum Input {
    Body(Bytes),
    Value(serde_json::Value),
}

#[allow(clippy::too_many_arguments)]
async fn handle_sqs(
    app: &AppState,
    ctx: &Ctx,
    wire: Wire,
    action: &str,
    input: Input,
    path: &str,
    request_id: &str,
    started: Instant,
) -> Response {
    let respond_err = |err: &SqsError| match wire {
        Wire::Json => json::sqs_error(err, request_id),
        Wire::Query => query::sqs_error(err, request_id),
    };
    let decoded = match input {
        Input::Value(value) => Request::decode(action, value),
        Input::Body(body) => Request::decode(action, JsonBody(&body)),
    };
    let mut request = match decoded {
        Ok(r) => r,
        Err(err) => {
            let err = if wire == Wire::Json && err.kind == ErrorKind::InvalidAction {
                SqsError::new(ErrorKind::UnknownOperationException, err.message)
            } else {
                err
            };
            app.metrics
                .observe("sqs", "unknown", err.kind.name(), started.elapsed());
            return respond_err(&err);
        }
    };
    // Older SDKs post to the queue URL itself.
    if path.len() > 1 && path.matches('/').count() >= 2 {
        request.set_queue_url_if_missing(format!("{}{}", ctx.base_url, path));
    }
    match sqs::dispatch(&app.sqs, ctx, wire, request).await {
        Ok(output) => {
            app.metrics.observe("sqs", action, "ok", started.elapsed());
            match (output, wire) {
                (sqs::Output::Json(body), _) => json::ok_body(body, request_id),
                (sqs::Output::Tree(value), Wire::Json) => json::ok(&value, request_id),
                (sqs::Output::Tree(value), Wire::Query) => {
                    query::ok(action, query::SQS_XMLNS, &value, request_id)
                }
            }
        }
        Err(err) => {
            if err.kind == ErrorKind::InternalError {
                tracing::error!(action, error = %err, "request failed");
            } else {
                tracing::debug!(action, error = %err, "request refused");
            }
            app.metrics
                .observe("sqs", action, err.kind.name(), started.elapsed());
            respond_err(&err)
        }
    }
}

async fn handle_sns(
    app: &AppState,
    ctx: &sns::Ctx,
    wire: Wire,
    action: &str,
    input: serde_json::Value,
    request_id: &str,
    started: Instant,
) -> Response {
    let respond_err = |err: &SnsError| match wire {
        Wire::Json => json::sns_error(err, request_id),
        Wire::Query => query::error(
            query::SNS_XMLNS,
            err.status,
            err.code,
            err.sender_fault(),
            &err.message,
            request_id,
        ),
    };
    let request = match sns::Request::decode(action, input) {
        Ok(r) => r,
        Err(err) => {
            app.metrics
                .observe("sns", "unknown", err.code, started.elapsed());
            return respond_err(&err);
        }
    };
    match sns::dispatch(&app.sns, ctx, request).await {
        Ok(value) => {
            app.metrics.observe("sns", action, "ok", started.elapsed());
            match wire {
                Wire::Json => json::ok(&value, request_id),
                Wire::Query => query::ok_wrapped(action, query::SNS_XMLNS, &value, request_id),
            }
        }
        Err(err) => {
            if err.status >= 500 {
                tracing::error!(action, error = %err, "request failed");
            }
            app.metrics
                .observe("sns", action, err.code, started.elapsed());
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
    app.metrics.deliveries.clear();
    for ((outcome, topic), count) in app.sns.log().counts() {
        app.metrics
            .deliveries
            .get_or_create(&DeliveryLabels { topic, outcome })
            .set(count as i64);
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
        .min(PEEK_MAX);
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

/// The most messages one peek lists (100 unless `limit` says otherwise).
const PEEK_MAX: usize = 100_000;

/// The delivery log, newest first: `?topic=&subscription=&queue=&outcome=&message_id=&limit=`.
async fn deliveries(State(app): Shared, Query(params): Query<HashMap<String, String>>) -> Response {
    if let Some(refused) = admin_refused(&app) {
        return refused;
    }
    let filter = sns::delivery_log::Filter {
        topic: params.get("topic").cloned(),
        subscription: params.get("subscription").cloned(),
        queue: params.get("queue").cloned(),
        outcome: params.get("outcome").cloned(),
        message_id: params.get("message_id").cloned(),
        limit: params
            .get("limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(100usize)
            .min(10_000),
    };
    axum::Json(serde_json::json!({ "deliveries": app.sns.log().query(&filter) })).into_response()
}
