//! The Nextflix movie catalog (SPEC 1.1): TMDB "discover" records for movies and
//! TV shows, served from memory.
//!
//! - [`media`]: the records and loading them from TMDB-form data files.
//! - [`collection`]: one media type's records and their indexes.
//! - [`search`]: accent- and case-insensitive title matching and ranking.
//! - [`store`]: popularity changes, kept durably under the state directory.
//! - [`catalog`]: both collections behind one snapshot, and updates to it.
//! - [`api`]: the HTTP routes.
//! - [`genres`]: TMDB's genre names.
//!
//! [`spawn`] starts the catalog in the background on a listener, which is how the
//! `nextflix` binary and the tests run it.

pub mod api;
pub mod catalog;
pub mod collection;
pub mod genres;
pub mod media;
pub mod search;
pub mod store;

use std::sync::Arc;

pub use catalog::{Catalog, Config};
use nextflix_common::metrics::Metrics;
use nextflix_common::server::{self, ServerHandle};
use tokio::net::TcpListener;

/// Loads the catalog and builds its router.
pub fn build(config: &Config) -> Result<axum::Router, media::LoadError> {
    let catalog = Arc::new(Catalog::load(config)?);
    Ok(api::router(catalog, Metrics::new("catalog")))
}

/// Why the catalog could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Load(#[from] media::LoadError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Loads the catalog and serves it on `listener` in the background.
pub fn spawn(config: &Config, listener: TcpListener) -> Result<ServerHandle, StartError> {
    let router = build(config)?;
    Ok(server::spawn(listener, router)?)
}
