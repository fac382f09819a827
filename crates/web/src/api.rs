//! The routes and their thin handlers, over state built once ([`AppState`]).
//!
//! Pages: `GET /`, `/browse`, `/search`. API of the original: `GET /api/discover`,
//! `POST /api/analytics`, `GET /ready`. Added: `GET /api/search` (the search page's
//! results as you type), `/artwork/{type}/{id}.svg`, `/assets/{name}`, `/status`,
//! `/metrics`. API errors are `{"type": "Error", "error": "..."}`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use maud::Markup;
use nextflix_common::error;
use nextflix_common::metrics::Metrics;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::artwork;
use crate::assets;
use crate::catalog::{CatalogClient, CatalogError};
use crate::config::Config;
use crate::events::{Event, Publisher};
use crate::media::{ArtKind, Images, MediaType, Title};
use crate::pages::{self, RowView};
use crate::session::{SessionId, SessionStore, Sessions};

/// The rows of `/browse` (SPEC 1.2): title, type, genre, tall cards.
pub const ROWS: [(&str, MediaType, Option<i64>, bool); 7] = [
    ("Only on Nextflix", MediaType::Tv, None, true),
    ("Comedies", MediaType::Movie, Some(35), false),
    ("Action", MediaType::Movie, Some(28), false),
    ("TV Sci-Fi and Horror", MediaType::Tv, Some(10765), false),
    ("Mystery Movies", MediaType::Movie, Some(9648), false),
    ("Animation", MediaType::Tv, Some(16), false),
    ("Drama", MediaType::Movie, Some(18), false),
];

/// Longest search text passed to the catalog, in characters.
const MAX_QUERY_CHARS: usize = 200;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    catalog: CatalogClient,
    services: crate::personal::ServicesClient,
    images: Images,
    publisher: Publisher,
    sessions: Sessions,
    metrics: Metrics,
    events: Family<EventLabels, Counter>,
    /// Set once the catalog has answered `/ready`.
    ready: Arc<AtomicBool>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    outcome: &'static str,
}

impl AppState {
    /// The catalog client, the session store and the AWS clients, built once.
    pub async fn new(config: Config) -> Result<Self, crate::Error> {
        let catalog = CatalogClient::new(&config.catalog_url)?;
        let store = match crate::config::non_empty(&config.redis_url) {
            Some(url) => SessionStore::redis(url, config.session_ttl)?,
            None => match &config.state_dir {
                Some(dir) => {
                    SessionStore::embedded(config.session_ttl, dir.join("web/sessions.json"))
                }
                None => SessionStore::memory(config.session_ttl),
            },
        };
        let publisher = Publisher::new(&config).await;
        tracing::info!(
            catalog = %config.catalog_url,
            sessions = ?store,
            events = %publisher.describe(),
            "web frontend configured"
        );
        let metrics = Metrics::new("web");
        let events = Family::<EventLabels, Counter>::default();
        metrics.register(
            "events",
            "MovieDetailsViewedEvents handled, by outcome (sent, failed)",
            events.clone(),
        );
        let services = crate::personal::ServicesClient::new(
            crate::config::non_empty(&config.recommendation_url),
            crate::config::non_empty(&config.user_url),
        )?;
        Ok(Self {
            catalog,
            services,
            images: Images::new(&config.image_url),
            publisher,
            sessions: Sessions {
                store,
                cookie_secure: config.cookie_secure,
            },
            metrics,
            events,
            ready: Arc::new(AtomicBool::new(false)),
        })
    }
}

/// The frontend's router, with request metrics on every route and sessions on the
/// pages and the analytics route.
pub fn router(state: AppState) -> Router {
    let with_session = Router::new()
        .route("/", get(landing))
        .route("/browse", get(browse))
        .route("/search", get(search_page))
        .route("/api/analytics", post(analytics))
        .layer(axum::middleware::from_fn_with_state(
            state.sessions.clone(),
            crate::session::ensure,
        ));
    Router::new()
        .merge(with_session)
        .route("/api/discover", get(discover))
        .route("/api/search", get(search_api))
        .route("/artwork/{type}/{file}", get(artwork_svg))
        .route("/assets/{name}", get(assets::serve))
        .route("/ready", get(ready))
        .route("/status", get(|| async { "OK" }))
        .route("/metrics", get(render_metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            Metrics::track,
        ))
        .with_state(state)
}

/// An error of the `/api/*` routes: `{"type": "Error", "error": "..."}`.
struct ApiFailure(StatusCode, String);

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "type": "Error", "error": self.1 }))).into_response()
    }
}

impl From<CatalogError> for ApiFailure {
    fn from(err: CatalogError) -> Self {
        tracing::error!(%err, "catalog call failed");
        match err {
            // The catalog's verdict on the visitor's parameters stands.
            CatalogError::Status { status, body, .. } if (400..500).contains(&status) => {
                let message = serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|v| v["error"].as_str().map(str::to_owned))
                    .unwrap_or(body);
                ApiFailure(
                    StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                    message,
                )
            }
            _ => ApiFailure(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The movie catalog is unavailable".to_owned(),
            ),
        }
    }
}

#[derive(Debug, Deserialize)]
struct DiscoverParams {
    r#type: Option<String>,
    genre: Option<String>,
}

/// `GET /api/discover?type=&genre=`: `{"type": "Success", "data": [Media]}`.
async fn discover(
    State(state): State<AppState>,
    Query(params): Query<DiscoverParams>,
) -> Result<Json<Value>, ApiFailure> {
    let records = state
        .catalog
        .discover(params.r#type.as_deref(), params.genre.as_deref())
        .await?;
    let data: Vec<_> = records.iter().map(|r| state.images.media(r)).collect();
    Ok(Json(json!({ "type": "Success", "data": data })))
}

#[derive(Debug, Deserialize)]
struct SearchParams {
    #[serde(default)]
    q: String,
    r#type: Option<String>,
}

impl SearchParams {
    fn query(&self) -> String {
        self.q.trim().chars().take(MAX_QUERY_CHARS).collect()
    }

    fn media_type(&self) -> Option<MediaType> {
        self.r#type.as_deref().and_then(MediaType::parse)
    }
}

async fn search_titles(
    state: &AppState,
    q: &str,
    media_type: Option<MediaType>,
) -> Result<Vec<Title>, CatalogError> {
    if q.is_empty() {
        return Ok(Vec::new());
    }
    let records = state.catalog.search(q, media_type).await?;
    Ok(records.iter().map(|r| state.images.title(r)).collect())
}

/// `GET /api/search?q=&type=`: `{"type": "Success", "data": [Title]}`.
async fn search_api(
    State(state): State<AppState>,
    Query(params): Query<SearchParams>,
) -> Result<Json<Value>, ApiFailure> {
    let titles = search_titles(&state, &params.query(), params.media_type()).await?;
    Ok(Json(json!({ "type": "Success", "data": titles })))
}

/// `POST /api/analytics {"mediaId"}`: builds the MovieDetailsViewedEvent, stores and
/// publishes it, and answers it.
async fn analytics(
    State(state): State<AppState>,
    Extension(session): Extension<SessionId>,
    body: Bytes,
) -> Result<Json<Event>, ApiFailure> {
    let bad = |m: &str| ApiFailure(StatusCode::BAD_REQUEST, m.to_owned());
    let Ok(Value::Object(mut fields)) = serde_json::from_slice::<Value>(&body) else {
        return Err(bad("The body must be a JSON object: {\"mediaId\": <id>}"));
    };
    let media_id = match fields.remove("mediaId") {
        Some(Value::Number(n)) => Value::Number(n),
        Some(Value::String(s)) if !s.trim().is_empty() => Value::String(s),
        Some(_) => return Err(bad("mediaId must be a number or a non-empty string")),
        None => return Err(bad("mediaId is required")),
    };
    let event = Event::new(&session.0, media_id);
    match state.publisher.send(&event).await {
        Ok(()) => {
            state
                .events
                .get_or_create(&EventLabels { outcome: "sent" })
                .inc();
            Ok(Json(event))
        }
        Err(err) => {
            state
                .events
                .get_or_create(&EventLabels { outcome: "failed" })
                .inc();
            tracing::error!(%err, activity_id = %event.activity_id, "MovieDetailsViewedEvent not delivered");
            Err(ApiFailure(
                StatusCode::INTERNAL_SERVER_ERROR,
                err.to_string(),
            ))
        }
    }
}

/// `GET /ready`: 200 `OK` once the catalog has answered (the AWS clients are built
/// before the server starts), 503 until then.
async fn ready(State(state): State<AppState>) -> Response {
    if state.ready.load(Ordering::Relaxed) || state.catalog.ready().await {
        state.ready.store(true, Ordering::Relaxed);
        "OK".into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Not ready: the movie catalog does not answer yet",
        )
            .into_response()
    }
}

async fn render_metrics(State(state): State<AppState>) -> Response {
    state.metrics.render()
}

/// An HTML page, never cached (sessions and random picks differ per visit).
fn page(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, Html(markup.into_string())).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src * data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    response
}

/// `GET /`: the sign-in landing page, over a wall of titles when the catalog
/// answers quickly (it is decoration: no catalog, no wall).
async fn landing(State(state): State<AppState>) -> Response {
    let wall = tokio::time::timeout(
        Duration::from_millis(1500),
        state.catalog.discover(Some("movie"), None),
    )
    .await;
    let titles: Vec<Title> = match wall {
        Ok(Ok(records)) => records.iter().map(|r| state.images.title(r)).collect(),
        _ => Vec::new(),
    };
    page(StatusCode::OK, pages::landing(&titles))
}

/// `GET /browse`: a random movie for the banner and the seven rows, fetched at once.
async fn browse(
    State(state): State<AppState>,
    Extension(session): Extension<SessionId>,
) -> Response {
    let personal = {
        let (services, catalog, images) = (
            state.services.clone(),
            state.catalog.clone(),
            state.images.clone(),
        );
        tokio::spawn(async move { services.rows(&session.0, &catalog, &images).await })
    };
    let banner = {
        let catalog = state.catalog.clone();
        tokio::spawn(async move { catalog.discover(Some("movie"), None).await })
    };
    let rows: Vec<_> = ROWS
        .iter()
        .map(|(_, media_type, genre, _)| {
            let catalog = state.catalog.clone();
            let genre = genre.map(|g| g.to_string());
            let kind = media_type.as_str();
            tokio::spawn(async move { catalog.discover(Some(kind), genre.as_deref()).await })
        })
        .collect();
    let banner = match banner.await {
        Ok(Ok(records)) => {
            use rand::seq::IndexedRandom;
            records
                .choose(&mut rand::rng())
                .map(|r| state.images.title(r))
        }
        Ok(Err(err)) => {
            tracing::error!(%err, "no banner title");
            None
        }
        Err(join) => {
            tracing::error!(%join, "banner task failed");
            None
        }
    };
    let mut views = Vec::with_capacity(ROWS.len());
    let mut failures = 0;
    for ((title, _, _, tall), task) in ROWS.iter().zip(rows) {
        let items = match task.await {
            Ok(Ok(records)) => Ok(records.iter().map(|r| state.images.title(r)).collect()),
            Ok(Err(err)) => {
                tracing::error!(%err, row = title, "row not loaded");
                failures += 1;
                Err("This row cannot be loaded right now.".to_owned())
            }
            Err(join) => {
                tracing::error!(%join, row = title, "row task failed");
                failures += 1;
                Err("This row cannot be loaded right now.".to_owned())
            }
        };
        views.push(RowView {
            title: std::borrow::Cow::Borrowed(title),
            tall: *tall,
            items,
        });
    }
    // The visitor's own rows (the services' work) come first.
    if let Ok(mut personal) = personal.await {
        personal.append(&mut views);
        views = personal;
    }
    let status = if failures == ROWS.len() {
        StatusCode::BAD_GATEWAY
    } else {
        StatusCode::OK
    };
    page(status, pages::browse(banner.as_ref(), &views))
}

/// `GET /search?q=&type=`: the search page, with results already there when the
/// address has a query (so it works without the script too).
async fn search_page(
    State(state): State<AppState>,
    Query(params): Query<SearchParams>,
) -> Response {
    let q = params.query();
    let media_type = params.media_type();
    let results = if q.is_empty() {
        None
    } else {
        Some(search_titles(&state, &q, media_type).await.map_err(|err| {
            tracing::error!(%err, "search failed");
            "Search is unavailable right now. Try again in a moment.".to_owned()
        }))
    };
    page(
        StatusCode::OK,
        pages::search(&q, media_type, results.as_ref()),
    )
}

#[derive(Debug, Deserialize)]
struct ArtParams {
    kind: Option<String>,
    #[serde(default)]
    title: String,
}

/// `GET /artwork/{movie|tv}/{id}.svg?kind=poster|backdrop|banner&title=...`.
async fn artwork_svg(
    Path((kind_of_media, file)): Path<(String, String)>,
    Query(params): Query<ArtParams>,
) -> Response {
    let media_type = MediaType::parse(&kind_of_media);
    let id = file
        .strip_suffix(".svg")
        .and_then(|id| id.parse::<i64>().ok());
    let (Some(media_type), Some(id)) = (media_type, id) else {
        return (StatusCode::NOT_FOUND, "no such artwork").into_response();
    };
    let kind = params
        .kind
        .as_deref()
        .and_then(ArtKind::parse)
        .unwrap_or(ArtKind::Poster);
    let svg = artwork::svg(media_type, id, &params.title, kind);
    let mut response = svg.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    // An SVG opened on its own must not run anything.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    response
}

/// Unknown paths: JSON under `/api/`, a page elsewhere.
async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        error::not_found(uri).await.into_response()
    } else {
        page(StatusCode::NOT_FOUND, pages::not_found(uri.path()))
    }
}
