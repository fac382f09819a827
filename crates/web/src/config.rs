//! The frontend's settings. The `nextflix web` subcommand fills them from flags and
//! the environment variables of the original (`MOVIE_CATALOG_SERVICE`, ...); tests
//! fill them directly, so that nothing reads or changes the process environment here.

use std::path::PathBuf;
use std::time::Duration;

/// One day: the life of a session, its cookie and its Redis record.
pub const SESSION_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// How the frontend is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Base URL of the catalog API (`MOVIE_CATALOG_SERVICE`).
    pub catalog_url: String,
    /// Base URL of the images (`MOVIE_IMAGE_URL`); sizes (`w500`, `original`) and
    /// paths are appended to it.
    pub image_url: String,
    /// `AWS_REGION`; the standard AWS chain decides when `None` (then `us-east-1`).
    pub aws_region: Option<String>,
    /// Endpoint of every AWS service (`AWS_ENDPOINT_URL`); the standard chain
    /// decides when `None`. With an endpoint, S3 uses path-style addressing.
    pub aws_endpoint_url: Option<String>,
    /// Fixed credentials; the standard AWS chain when `None` (what the binary uses).
    pub aws_credentials: Option<AwsCredentials>,
    /// `AWS_S3_BUCKET`: every event is stored there as `<sessionId>/<activityId>.json`.
    pub s3_bucket: Option<String>,
    /// `AWS_SQS_QUEUE_URL`: events are sent there when no topic is set.
    pub sqs_queue_url: Option<String>,
    /// `AWS_SNS_TOPIC_ARN`: events are published there.
    pub sns_topic_arn: Option<String>,
    /// `RECOMMENDATION_SERVICE`: base URL of the recommendation service; the
    /// "Because you watched" and "Trending now" rows come from it.
    pub recommendation_url: Option<String>,
    /// `USER_SERVICE`: base URL of the user service; "Recently viewed" comes from it.
    pub user_url: Option<String>,
    /// `REDIS_URL`: session records live in Redis; in memory when `None`.
    pub redis_url: Option<String>,
    /// Always mark the session cookie `Secure` (it is also marked when a request
    /// came over HTTPS, per `X-Forwarded-Proto`).
    pub cookie_secure: bool,
    /// Life of a session; [`SESSION_TTL`] unless a test wants it short.
    pub session_ttl: Duration,
    /// Where the embedded session store keeps its sessions (`web/sessions.json`
    /// below it); in memory only when `None`. Unused with Redis.
    pub state_dir: Option<PathBuf>,
}

/// An access key pair, for callers that do not want the standard chain.
#[derive(Clone)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            catalog_url: "http://127.0.0.1:8080".to_owned(),
            image_url: "https://image.tmdb.org/t/p/".to_owned(),
            aws_region: None,
            aws_endpoint_url: None,
            aws_credentials: None,
            s3_bucket: None,
            sqs_queue_url: None,
            sns_topic_arn: None,
            recommendation_url: None,
            user_url: None,
            redis_url: None,
            cookie_secure: false,
            session_ttl: SESSION_TTL,
            state_dir: None,
        }
    }
}

impl Config {
    /// True when any event destination is set, so the AWS clients are needed.
    pub fn uses_aws(&self) -> bool {
        self.s3_bucket.is_some() || self.sqs_queue_url.is_some() || self.sns_topic_arn.is_some()
    }
}

/// An empty string is no setting, as an unset environment variable would be.
pub(crate) fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}
