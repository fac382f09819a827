//! Prometheus metrics: one registry per server, and the layer that counts and times
//! every HTTP request by method, route and status.
//!
//! A server builds a [`Metrics`], registers its own metrics on it, adds
//! [`Metrics::layer`] to its router and serves [`Metrics::render`] at `/metrics`.
//! No global state: several servers in one process (as in tests or `nextflix up`)
//! each keep their own numbers.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, RwLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Metric, Registry};

/// Latency buckets in seconds: 50 µs to about 10 s.
const LATENCY_BUCKETS: [f64; 16] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 10.0,
];

/// The labels of one HTTP request. All borrowed from static strings, so that
/// recording a request allocates nothing.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: &'static str,
    /// The route pattern (`/media/{type}/{id}`), never the raw path, so that
    /// the number of series stays bounded; `unmatched` for the 404 fallback.
    route: &'static str,
    status: u16,
}

/// Route patterns as `&'static str`. A router has a fixed, small set of patterns,
/// so each is leaked once and reused for the life of the process.
fn intern(route: &str) -> &'static str {
    static ROUTES: LazyLock<RwLock<HashSet<&'static str>>> = LazyLock::new(Default::default);
    if let Some(found) = ROUTES.read().unwrap_or_else(|e| e.into_inner()).get(route) {
        return found;
    }
    let mut routes = ROUTES.write().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = routes.get(route) {
        return found;
    }
    let leaked: &'static str = Box::leak(route.to_owned().into_boxed_str());
    routes.insert(leaked);
    leaked
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// A server's metrics registry and its HTTP request metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<RwLock<Registry>>,
    latency: Family<HttpLabels, Histogram, fn() -> Histogram>,
}

impl Metrics {
    /// A registry whose metric names all start with `prefix_` (e.g. `catalog`).
    pub fn new(prefix: &str) -> Self {
        let mut registry = Registry::with_prefix(prefix);
        let latency = Family::<HttpLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        // The histogram's `_count` is the request count by method, route and status.
        registry.register(
            "http_request_duration_seconds",
            "HTTP requests served and the time to answer them, by method, route and status",
            latency.clone(),
        );
        Self {
            registry: Arc::new(RwLock::new(registry)),
            latency,
        }
    }

    /// Adds a metric of the part's own (a counter, gauge, family, ...).
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        let mut registry = self.registry.write().unwrap_or_else(|e| e.into_inner());
        registry.register(name, help, metric);
    }

    /// The OpenMetrics text exposition of everything registered.
    pub fn encode(&self) -> String {
        let registry = self.registry.read().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        if let Err(err) = prometheus_client::encoding::text::encode(&mut out, &registry) {
            tracing::error!(%err, "cannot encode metrics");
        }
        out
    }

    /// An axum handler body for `GET /metrics`.
    pub fn render(&self) -> Response {
        let mut response = self.encode().into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        );
        response
    }

    /// Middleware that records every request; add it with
    /// `axum::middleware::from_fn_with_state(metrics.clone(), Metrics::track)`.
    pub async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
        let start = Instant::now();
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", |p| intern(p.as_str()));
        let method = method_label(request.method());
        let response = next.run(request).await;
        let labels = HttpLabels {
            method,
            route,
            status: response.status().as_u16(),
        };
        metrics
            .latency
            .get_or_create(&labels)
            .observe(start.elapsed().as_secs_f64());
        response
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}
