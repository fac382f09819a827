//! The Nextflix web frontend (SPEC 1.2): server-rendered pages, the `/api/*` routes
//! of the original NetflixFrontend, sessions, and the publisher of the
//! MovieDetailsViewedEvent.
//!
//! - [`config`]: what the frontend is told (catalog URL, image base, AWS, Redis).
//! - [`catalog`]: the HTTP client of the catalog API; the only way to its data.
//! - [`media`]: TMDB records turned into the `Media` of the API and the titles of the pages.
//! - [`genres`]: TMDB's genre names.
//! - [`session`]: the `session_id` cookie and where session records live (Redis or memory).
//! - [`events`]: the MovieDetailsViewedEvent and where it goes (S3, SQS, SNS).
//! - [`artwork`]: generated SVG art for titles without (reachable) images.
//! - [`pages`]: the HTML of `/`, `/browse` and `/search`.
//! - [`assets`]: the CSS and JavaScript, embedded in the binary.
//! - [`api`]: the routes and their thin handlers.
//!
//! [`build`] makes the router; [`spawn`] serves it in the background, which is how
//! the `nextflix` binary and the tests run the frontend.

pub mod api;
pub mod artwork;
pub mod assets;
pub mod catalog;
pub mod config;
pub mod events;
pub mod genres;
pub mod media;
pub mod pages;
pub mod personal;
pub mod session;
mod time;

pub use config::{AwsCredentials, Config};
use nextflix_common::server::{self, ServerHandle};
use tokio::net::TcpListener;

/// Why the frontend could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid setting: {0}")]
    Config(String),
    #[error("cannot set up the catalog client: {0}")]
    Catalog(#[from] reqwest::Error),
    #[error("cannot set up the Redis session store: {0}")]
    Redis(#[from] redis::RedisError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Builds the frontend's router: the catalog client, the session store and the
/// AWS clients are all made here, once.
pub async fn build(config: Config) -> Result<axum::Router, Error> {
    let state = api::AppState::new(config).await?;
    Ok(api::router(state))
}

/// Builds the frontend and serves it on `listener` in the background.
pub async fn spawn(config: Config, listener: TcpListener) -> Result<ServerHandle, Error> {
    let router = build(config).await?;
    Ok(server::spawn(listener, router)?)
}
