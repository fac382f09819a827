//! What a service is told when it starts: which of the four it is, its queue, the
//! catalog, where its state lives and how it reaches AWS. No behaviour here.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The four consumers of the MovieDetailsViewedEvent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Search,
    Recommendation,
    Streaming,
    User,
}

impl Kind {
    /// Every kind, in the order `nextflix up` starts them.
    pub const ALL: [Kind; 4] = [
        Kind::Search,
        Kind::Recommendation,
        Kind::Streaming,
        Kind::User,
    ];

    /// The lowercase name: the queue's name, the state file's name, the metrics prefix.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Search => "search",
            Kind::Recommendation => "recommendation",
            Kind::Streaming => "streaming",
            Kind::User => "user",
        }
    }

    /// The port the service listens on by default (search 8101 .. user 8104).
    pub fn default_port(self) -> u16 {
        match self {
            Kind::Search => 8101,
            Kind::Recommendation => 8102,
            Kind::Streaming => 8103,
            Kind::User => 8104,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is none of the four kinds.
#[derive(Debug, thiserror::Error)]
#[error("unknown service {0:?}: expected search, recommendation, streaming or user")]
pub struct UnknownKind(pub String);

impl FromStr for Kind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownKind(s.to_owned()))
    }
}

/// How the SQS client reaches AWS; every `None` falls back to the standard AWS chain.
#[derive(Clone, Default)]
pub struct AwsSettings {
    /// e.g. `http://127.0.0.1:4566` for the embedded endpoint.
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    /// Fixed `(access key id, secret access key)`.
    pub credentials: Option<(String, String)>,
}

impl fmt::Debug for AwsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsSettings")
            .field("endpoint_url", &self.endpoint_url)
            .field("region", &self.region)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|(id, _)| (id, "<secret>")),
            )
            .finish()
    }
}

/// One service's configuration.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub kind: Kind,
    /// The service's own SQS queue.
    pub queue_url: String,
    /// Base URL of the catalog API (`GET /media/{movie|tv}/{id}`, `GET /discover`).
    pub catalog_url: String,
    /// The state lives in `<state_dir>/services/<kind>.json`.
    pub state_dir: PathBuf,
    /// Concurrent consumers competing on the queue (at least one runs).
    pub workers: usize,
    pub aws: AwsSettings,
}
