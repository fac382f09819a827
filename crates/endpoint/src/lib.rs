//! `nextflix endpoint`: an AWS-compatible server for SQS, SNS and the S3 subset,
//! durable on local disk, that boto3, the AWS CLI and the AWS SDKs talk to
//! unchanged. It is a library first: [`Endpoint::start`] runs one in-process on
//! any address with its own state (a test gets its URL back); the binary is a
//! thin wrapper over the same call.
//!
//! Three layers, data flowing one way:
//! - [`http`] and [`protocol`]: the wire. Find the protocol and action, decode a
//!   typed request, encode the answer or AWS's error in the caller's protocol.
//! - [`sqs`]: the engine. AWS's semantics on typed requests; no wire format.
//! - [`store`]: durable writes with group commit (a write-ahead log in front of
//!   redb), everything read back at start.
//!
//! Time comes from a [`Clock`], real or virtual, so tests can move it.

pub mod clock;
pub mod console;
pub mod http;
pub mod protocol;
pub mod s3;
pub mod sns;
pub mod sqs;
pub mod store;
pub mod time;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use nextflix_common::server::{self, ServerHandle};
use tokio::net::TcpListener;

pub use clock::Clock;
pub use sqs::Sqs;

/// How an endpoint is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where state is kept; `None` keeps everything in memory (lost on exit).
    pub state_dir: Option<PathBuf>,
    /// The account id in queue URLs and ARNs.
    pub account_id: String,
    /// A clock that moves only when told (admin route or [`Endpoint::advance`]).
    pub virtual_clock: bool,
    /// Serve the admin routes that read or change state (peek, clock).
    pub admin: bool,
    /// Verify every request's SigV4 signature against these keys; `None` accepts
    /// any credentials, as local emulators do.
    pub auth: Option<protocol::sigv4::Keys>,
    /// Extra CA certificates (PEM) that `https` subscription endpoints may present,
    /// besides the system's roots.
    pub sns_trust_store: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            state_dir: None,
            account_id: "000000000000".to_owned(),
            virtual_clock: false,
            admin: true,
            auth: None,
            sns_trust_store: None,
        }
    }
}

/// A running endpoint.
#[derive(Debug)]
pub struct Endpoint {
    server: ServerHandle,
    sqs: Sqs,
    closed: Vec<store::Closed>,
    console: std::sync::Arc<console::History>,
}

impl Endpoint {
    /// Opens the state, starts the engine's timers and serves on `listener`.
    pub async fn start(config: Config, listener: TcpListener) -> io::Result<Endpoint> {
        let clock = if config.virtual_clock {
            Clock::virtual_at_now()
        } else {
            Clock::real()
        };
        let open = |name: &'static str| {
            let dir = config.state_dir.as_ref().map(|d| d.join("endpoint"));
            async move {
                match dir {
                    Some(dir) => {
                        tokio::task::spawn_blocking(move || store::Store::open(&dir, name))
                            .await
                            .map_err(io::Error::other)?
                    }
                    None => {
                        let (store, loaded) = store::Store::memory();
                        Ok((store, loaded, store::Closed::none()))
                    }
                }
            }
        };
        let (sqs_store, sqs_loaded, sqs_closed) = open("sqs").await?;
        let (sns_store, sns_loaded, sns_closed) = open("sns").await?;
        let sqs = Sqs::new(
            config.account_id.clone(),
            clock.clone(),
            sqs_store,
            sqs_loaded,
        );
        tokio::spawn(sqs.clone().run_reaper());
        let log = sns::delivery_log::DeliveryLog::new(clock.clone(), 10_000);
        // The SNS signing key is loaded or made in the background (making one
        // takes a while); signing and the certificate route wait for it.
        let signer =
            sns::signing::Signer::start(config.state_dir.as_ref().map(|d| d.join("endpoint")));
        let sns = sns::Sns::new(
            config.account_id.clone(),
            clock,
            sns_store,
            sns_loaded,
            sqs.clone(),
            sns::engine::Delivering {
                log,
                signer,
                http: sns::engine::http_client(config.sns_trust_store.as_deref())?,
            },
        );
        let (s3_store, s3_loaded, s3_closed) = open("s3").await?;
        let history = std::sync::Arc::new(console::History::default());
        let history_handle = history.clone();
        tokio::spawn(console::run_sampler(sqs.downgrade(), history.clone()));
        let blob_dir = config
            .state_dir
            .as_ref()
            .map(|d| d.join("endpoint").join("objects"));
        let s3 = s3::S3::new(sqs.clock().clone(), s3_store, s3_loaded, blob_dir)?;
        let router = http::router(
            sqs.clone(),
            sns,
            s3,
            config.admin,
            config.auth.clone(),
            history,
        );
        let server = server::spawn(listener, router)?;
        Ok(Endpoint {
            server,
            sqs,
            closed: vec![sqs_closed, sns_closed, s3_closed],
            console: history_handle,
        })
    }

    /// Starts on an ephemeral port of 127.0.0.1.
    pub async fn start_local(config: Config) -> io::Result<Endpoint> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        Self::start(config, listener).await
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:<port>`: what clients use as their endpoint URL.
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn sqs(&self) -> &Sqs {
        &self.sqs
    }

    /// The services the console shows (name → base URL): their status, and the
    /// streaming service's pre-warmed titles.
    pub fn set_console_services(&self, services: Vec<(String, String)>) {
        self.console.set_services(services);
    }

    /// The parts (name → readiness URL) that `GET /_nextflix/system/ready` checks.
    pub fn set_system_parts(&self, parts: Vec<(String, String)>) {
        self.console.set_system_parts(parts);
    }

    /// Moves a virtual clock forward (on a real clock it adds an offset).
    pub fn advance(&self, by: Duration) {
        self.sqs.clock().advance(by);
    }

    /// Stops accepting, ends waiting long polls, lets requests in flight finish,
    /// and returns once the databases are closed (so the same state directory can
    /// be opened again at once).
    pub async fn shutdown(self) -> io::Result<()> {
        let Endpoint {
            server,
            sqs,
            closed,
            ..
        } = self;
        sqs.close();
        let served = server.shutdown().await;
        drop(sqs);
        let wait = async {
            for c in closed {
                c.wait().await;
            }
        };
        // Background work (an HTTP delivery retrying, a move task) may still hold
        // a store for a moment; don't wait on it forever.
        if tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .is_err()
        {
            tracing::warn!("the stores were still in use 10 s after shutdown");
        }
        served
    }
}
