//! The four consumers of the MovieDetailsViewedEvent (SPEC 2.4): search,
//! recommendation, streaming and user. Each consumes its own SQS queue through the
//! AWS SDK, keeps what it learns durably under the state directory, and answers a
//! small HTTP API.
//!
//! - [`config`]: [`ServiceConfig`], [`Kind`], [`AwsSettings`].
//! - [`event`]: the event, and reading it out of an SQS message (SNS envelope, raw delivery, plain).
//! - [`consumer`]: the one consume loop every service shares: long polling, batches,
//!   delete after success, release on shutdown.
//! - [`service`]: a running service: its state, the [`service::Handler`] trait the
//!   four implement, processing a batch, the routes they all share.
//! - [`catalog`]: the HTTP client of the catalog and the cache of titles it feeds.
//! - [`store`]: the state file, written atomically, and the set of events already seen.
//! - [`coview`]: which titles were watched in the same sessions.
//! - [`kinds`]: the four handlers, one file each.
//! - [`stats`]: the Prometheus metrics of the consume loop.
//!
//! [`spawn`] starts one service (its consumers and its HTTP server) on a listener;
//! `nextflix service <kind>` and `nextflix up` both go through it.

pub mod catalog;
pub mod config;
pub mod consumer;
pub mod coview;
pub mod event;
pub mod kinds;
pub mod service;
pub mod stats;
pub mod store;

use std::net::SocketAddr;

pub use config::{AwsSettings, Kind, ServiceConfig};
use tokio::net::TcpListener;

/// Why a service could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot load the {kind} service's state: {source}")]
    State {
        kind: Kind,
        #[source]
        source: store::StoreError,
    },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A running service: its consumers and its HTTP server.
pub struct ServiceHandle {
    kind: Kind,
    addr: SocketAddr,
    inner: service::Started,
}

impl std::fmt::Debug for ServiceHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceHandle")
            .field("kind", &self.kind)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl ServiceHandle {
    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`, for clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Graceful stop: no more receives; batches in flight are finished (or, past a
    /// short grace period, released to the queue with visibility 0); then the HTTP
    /// server stops after answering the requests in flight.
    pub async fn shutdown(self) -> Result<(), Error> {
        self.inner.shutdown().await
    }
}

/// Starts the service `config.kind`: loads its state, starts `config.workers`
/// consumers on its queue and serves its HTTP API on `listener`.
pub async fn spawn(config: ServiceConfig, listener: TcpListener) -> Result<ServiceHandle, Error> {
    let kind = config.kind;
    let addr = listener.local_addr()?;
    let inner = match kind {
        Kind::Search => service::start::<kinds::search::Search>(config, listener).await?,
        Kind::Recommendation => {
            service::start::<kinds::recommendation::Recommendation>(config, listener).await?
        }
        Kind::Streaming => service::start::<kinds::streaming::Streaming>(config, listener).await?,
        Kind::User => service::start::<kinds::user::User>(config, listener).await?,
    };
    Ok(ServiceHandle { kind, addr, inner })
}
