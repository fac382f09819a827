//! The HTTP API: thin handlers over [`Catalog`], one per route.
//!
//! Routes of the original catalog (same paths and JSON): `GET /`, `GET /discover`,
//! `POST /updatePopularity`, `GET /status`, `GET /metrics`. Added for the other
//! parts: `GET /media/{type}/{id}`, `GET /search`, `GET /genres`, `GET /ready`.
//! Where the original crashed on bad input, these answer 400 with `{"error": ...}`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use nextflix_common::error::{self, ApiError};
use nextflix_common::metrics::Metrics;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use serde_json::{Value, json};

use crate::catalog::{Catalog, UpdateError};
use crate::collection::json_array;
use crate::media::MediaType;
use crate::search::Query as SearchQuery;

/// What every handler can reach.
#[derive(Clone)]
struct AppState {
    catalog: Arc<Catalog>,
    metrics: Metrics,
    updates: Family<TypeLabel, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TypeLabel {
    r#type: &'static str,
}

/// The catalog's router, with request metrics on every route.
pub fn router(catalog: Arc<Catalog>, metrics: Metrics) -> Router {
    let records = Family::<TypeLabel, Gauge>::default();
    let snapshot = catalog.snapshot();
    for media_type in MediaType::ALL {
        let label = TypeLabel {
            r#type: media_type.as_str(),
        };
        records
            .get_or_create(&label)
            .set(snapshot.collection(media_type).len() as i64);
    }
    metrics.register("records", "Records loaded, by type", records);
    let updates = Family::<TypeLabel, Counter>::default();
    metrics.register(
        "popularity_updates",
        "Popularity changes stored, by type",
        updates.clone(),
    );
    let state = AppState {
        catalog,
        metrics: metrics.clone(),
        updates,
    };
    Router::new()
        .route("/", get(home))
        .route("/discover", get(discover))
        .route("/updatePopularity", post(update_popularity))
        .route("/status", get(ok))
        .route("/ready", get(ok))
        .route("/metrics", get(render_metrics))
        .route("/media/{type}/{id}", get(media))
        .route("/search", get(search))
        .route("/genres", get(genres))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            Metrics::track,
        ))
        .with_state(state)
}

/// Query parameters in order; the first of repeated names counts, as in Flask.
type Params = Query<Vec<(String, String)>>;

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn json_response(body: Bytes) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn home() -> &'static str {
    "Nextflix movie catalog: this is an API, there is no UI here. \
     Try /discover?type=movie or /search?q=...\n"
}

async fn ok() -> &'static str {
    "OK"
}

async fn render_metrics(State(state): State<AppState>) -> Response {
    state.metrics.render()
}

/// `GET /discover?type=movie|tv&genre=<id>`.
async fn discover(State(state): State<AppState>, Query(params): Params) -> Response {
    let media_type = MediaType::from_discover_param(param(&params, "type"));
    let genre = match param(&params, "genre") {
        None | Some("") => None,
        Some(raw) => match parse_genre(raw) {
            Ok(genre) => Some(genre),
            Err(()) => {
                return ApiError::bad_request(format!(
                    "genre must be an integer genre id, got {raw:?}"
                ))
                .into_response();
            }
        },
    };
    let snapshot = state.catalog.snapshot();
    let collection = snapshot.collection(media_type);
    let body = match genre {
        Some(Some(genre)) => collection.genre_page(genre),
        // An integer too large for any genre id matches nothing.
        Some(None) => Bytes::from_static(b"[]"),
        None => collection.random_page(&mut rand::rng()),
    };
    json_response(body)
}

/// Python's `int()` on a query string: optional surrounding whitespace and sign,
/// digits with single underscores between them. `Ok(None)` for a valid integer
/// outside the range of any genre id.
fn parse_genre(raw: &str) -> Result<Option<i64>, ()> {
    let s = raw.trim();
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    let valid = !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.chars().all(|c| c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(());
    }
    let cleaned: String = s.chars().filter(|&c| c != '_').collect();
    Ok(cleaned.parse::<i64>().ok())
}

/// `POST /updatePopularity {"movieId": "<id>", "popularity": <number>, "type"?: "movie"|"tv"}`.
async fn update_popularity(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&body) else {
        return Err(ApiError::bad_request("Request body must be a JSON object"));
    };
    let media_type = match fields.get("type") {
        None | Some(Value::Null) => MediaType::Movie,
        Some(Value::String(s)) => MediaType::parse(s)
            .ok_or_else(|| ApiError::bad_request("type must be \"movie\" or \"tv\""))?,
        Some(_) => return Err(ApiError::bad_request("type must be \"movie\" or \"tv\"")),
    };
    let id_missing = || ApiError::bad_request("Movie Id value not provided or not found");
    let key = match fields.get("movieId") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        _ => return Err(id_missing()),
    };
    if state
        .catalog
        .snapshot()
        .collection(media_type)
        .get(&key)
        .is_none()
    {
        return Err(id_missing());
    }
    let popularity = match fields.get("popularity") {
        None | Some(Value::Null) => {
            return Err(ApiError::bad_request("Popularity value not provided"));
        }
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    }
    .ok_or_else(|| ApiError::bad_request("Popularity value must be a float"))?;
    if !popularity.is_finite() {
        return Err(ApiError::bad_request(
            "Popularity value must be a finite number",
        ));
    }
    match state
        .catalog
        .update_popularity(media_type, &key, popularity)
        .await
    {
        Ok(()) => {}
        Err(UpdateError::UnknownId) => return Err(id_missing()),
        Err(err @ UpdateError::Storage(_)) => {
            tracing::error!(%err, %media_type, %key, "popularity update failed");
            return Err(ApiError::internal(err.to_string()));
        }
    }
    state
        .updates
        .get_or_create(&TypeLabel {
            r#type: media_type.as_str(),
        })
        .inc();
    tracing::info!(%media_type, %key, popularity, "popularity updated");
    Ok(axum::Json(json!({
        "message": "Popularity updated successfully",
        "new_popularity": popularity,
    }))
    .into_response())
}

/// `GET /media/{movie|tv}/{id}`: one record, as in the data file.
async fn media(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let media_type = MediaType::parse(&kind)
        .ok_or_else(|| ApiError::not_found(format!("No media type {kind:?}: use movie or tv")))?;
    let snapshot = state.catalog.snapshot();
    let record = snapshot
        .collection(media_type)
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("No {media_type} with id {id:?}")))?;
    Ok(json_response(record.json.clone()))
}

/// `GET /search?q=<text>&type=movie|tv`: best title matches first, at most 20.
async fn search(
    State(state): State<AppState>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let raw = param(&params, "q").unwrap_or_default();
    if raw.trim().is_empty() {
        return Err(ApiError::bad_request(
            "q is required: the text to search for",
        ));
    }
    let types: &[MediaType] = match param(&params, "type") {
        None | Some("") => &MediaType::ALL,
        Some("movie") => &[MediaType::Movie],
        Some("tv") => &[MediaType::Tv],
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "type must be movie or tv, got {other:?}"
            )));
        }
    };
    let Some(query) = SearchQuery::new(raw) else {
        return Ok(json_response(Bytes::from_static(b"[]")));
    };
    let snapshot = state.catalog.snapshot();
    let hits = snapshot.search(&query, types);
    let items: Vec<&Bytes> = hits.iter().map(|r| &r.search_json).collect();
    Ok(json_response(json_array(&items)))
}

/// `GET /genres`: TMDB's movie and TV genres, with how many records have each.
async fn genres(State(state): State<AppState>) -> Response {
    json_response(state.catalog.snapshot().genres_json())
}

#[cfg(test)]
mod tests {
    use super::parse_genre;

    #[test]
    fn genre_parsing_follows_python_int() {
        assert_eq!(parse_genre("18"), Ok(Some(18)));
        assert_eq!(parse_genre(" +18 "), Ok(Some(18)));
        assert_eq!(parse_genre("-5"), Ok(Some(-5)));
        assert_eq!(parse_genre("10_765"), Ok(Some(10765)));
        assert_eq!(parse_genre("99999999999999999999999"), Ok(None));
        for bad in ["abc", "1.5", "_1", "1__0", "1_", "+", " ", "١٨x"] {
            assert_eq!(parse_genre(bad), Err(()), "{bad:?}");
        }
    }
}
