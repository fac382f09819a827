//! The command line: subcommands, their flags and the environment variables that
//! stand in for the flags.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use nextflix_common::server;
use nextflix_common::telemetry::LogFormat;

/// Nextflix: the event-driven "Netflix" of the SQS/SNS tutorial, on one machine or on AWS.
#[derive(Debug, Parser)]
#[command(name = "nextflix", version, propagate_version = true)]
#[command(after_help = "Log level: RUST_LOG (e.g. RUST_LOG=debug, default info).")]
pub struct Cli {
    /// Log line format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "NEXTFLIX_LOG_FORMAT")]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole system on this machine: endpoint, topology, catalog, web and services.
    Up(crate::up::UpArgs),
    /// Run the movie catalog API (TMDB-form records: /discover, /search, /media, ...).
    Catalog(CatalogArgs),
    /// Run the AWS-compatible endpoint (SQS; JSON and Query protocols) that boto3, the AWS CLI and the SDKs talk to.
    Endpoint(EndpointArgs),
    /// Run the web frontend (pages /, /browse, /search; /api/discover, /api/analytics) on port 3000.
    Web(WebArgs),
    /// Run one of the four event consumers (search, recommendation, streaming, user) on its SQS queue, with its HTTP API.
    Service(ServiceArgs),
    /// Apply the topology (queues, topic, subscriptions, policies, bucket) through the AWS SDK and exit.
    #[command(subcommand)]
    Topology(TopologyCommand),
}

/// Flags every server subcommand has.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// Directory for what must survive a restart [default: $XDG_STATE_HOME/nextflix, else ~/.local/state/nextflix].
    #[arg(long, env = "NEXTFLIX_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

impl StateArgs {
    pub fn dir(&self) -> PathBuf {
        self.state_dir
            .clone()
            .unwrap_or_else(nextflix_common::paths::default_state_dir)
    }
}

#[derive(Debug, Args)]
#[command(
    after_help = "Routes: GET / /discover?type=movie|tv&genre=ID /media/{movie|tv}/ID \
/search?q=TEXT&type=movie|tv /genres /status /ready /metrics; POST /updatePopularity \
{\"movieId\": \"ID\", \"popularity\": N, \"type\": \"movie\"|\"tv\"}."
)]
pub struct CatalogArgs {
    /// Address to listen on.
    #[arg(
        long,
        env = "CATALOG_BIND",
        default_value = "127.0.0.1:8080",
        value_name = "HOST:PORT"
    )]
    pub bind: String,

    /// Directory holding data_movies.json and data_tv.json (TMDB form) [default: the built-in catalog].
    #[arg(long, env = "CATALOG_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    #[command(flatten)]
    pub state: StateArgs,
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Up(args) => crate::up::run(args).await,
            Command::Catalog(args) => run_catalog(args).await,
            Command::Endpoint(args) => run_endpoint(args).await,
            Command::Web(args) => run_web(args).await,
            Command::Service(args) => run_service(args).await,
            Command::Topology(command) => run_topology(command).await,
        }
    }
}

#[derive(Debug, Args)]
#[command(
    after_help = "Clients: set AWS_ENDPOINT_URL=http://127.0.0.1:4566 and any credentials \
(e.g. AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1). Queue URLs are \
http://<Host header>/<account-id>/<queue>. Admin routes under /_nextflix/: ready, metrics, \
sqs/queues, sqs/queues/NAME/messages (peek), clock/advance?seconds=N (with --virtual-clock)."
)]
pub struct EndpointArgs {
    /// Address to listen on.
    #[arg(
        long,
        env = "ENDPOINT_BIND",
        default_value = "127.0.0.1:4566",
        value_name = "HOST:PORT"
    )]
    pub bind: String,

    #[command(flatten)]
    pub state: StateArgs,

    /// Keep nothing on disk: state lives and dies with the process.
    #[arg(long, env = "ENDPOINT_IN_MEMORY")]
    pub in_memory: bool,

    /// The AWS account id in queue URLs and ARNs.
    #[arg(
        long,
        env = "ENDPOINT_ACCOUNT_ID",
        default_value = "000000000000",
        value_name = "ID"
    )]
    pub account_id: String,

    /// Start a virtual clock that moves only through POST /_nextflix/clock/advance (for tests).
    #[arg(long, env = "ENDPOINT_VIRTUAL_CLOCK")]
    pub virtual_clock: bool,

    /// Turn off the admin routes that peek at messages or move the clock.
    #[arg(long, env = "ENDPOINT_NO_ADMIN")]
    pub no_admin: bool,

    /// Verify every request's SigV4 signature (keys from --credentials, else this process's AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
    #[arg(long, env = "ENDPOINT_AUTH")]
    pub auth: bool,

    /// Extra CA certificates (PEM) to trust for https subscription endpoints, besides the system's.
    #[arg(long, env = "ENDPOINT_SNS_TRUST_STORE", value_name = "FILE")]
    pub sns_trust_store: Option<PathBuf>,

    /// With --auth: a file of accepted keys, one `ACCESS_KEY SECRET` pair a line.
    #[arg(
        long,
        env = "ENDPOINT_CREDENTIALS",
        value_name = "FILE",
        requires = "auth"
    )]
    pub credentials: Option<PathBuf>,
}

async fn run_endpoint(args: EndpointArgs) -> anyhow::Result<()> {
    let valid_account =
        args.account_id.len() == 12 && args.account_id.bytes().all(|b| b.is_ascii_digit());
    anyhow::ensure!(
        valid_account,
        "--account-id must be 12 digits, not {:?}",
        args.account_id
    );
    let state_dir = (!args.in_memory).then(|| args.state.dir());
    let auth = if !args.auth {
        None
    } else if let Some(file) = &args.credentials {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let keys = nextflix_endpoint::protocol::sigv4::Keys::parse(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        Some(keys)
    } else {
        let id = std::env::var("AWS_ACCESS_KEY_ID")
            .ok()
            .filter(|v| !v.is_empty());
        let secret = std::env::var("AWS_SECRET_ACCESS_KEY")
            .ok()
            .filter(|v| !v.is_empty());
        match (id, secret) {
            (Some(id), Some(secret)) => Some(nextflix_endpoint::protocol::sigv4::Keys::new([(
                id, secret,
            )])),
            _ => anyhow::bail!(
                "--auth needs --credentials FILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            ),
        }
    };
    if let Some(keys) = &auth {
        tracing::info!(keys = keys.len(), "verifying SigV4 signatures");
    }
    let config = nextflix_endpoint::Config {
        state_dir: state_dir.clone(),
        account_id: args.account_id,
        virtual_clock: args.virtual_clock,
        admin: !args.no_admin,
        auth,
        sns_trust_store: args.sns_trust_store,
    };
    let listener = server::bind(&args.bind).await?;
    let endpoint = nextflix_endpoint::Endpoint::start(config, listener)
        .await
        .context("cannot start the endpoint")?;
    let state = state_dir.map_or_else(|| "memory".to_owned(), |d| d.display().to_string());
    let stop = nextflix_common::shutdown::signal();
    tracing::info!(url = %endpoint.url(), state = %state, "endpoint listening");
    stop.await;
    endpoint.shutdown().await?;
    tracing::info!("endpoint stopped");
    Ok(())
}

async fn run_catalog(args: CatalogArgs) -> anyhow::Result<()> {
    let config = nextflix_catalog::Config {
        data_dir: args.data_dir,
        state_dir: args.state.dir(),
    };
    let router = nextflix_catalog::build(&config).context("cannot load the catalog")?;
    let listener = server::bind(&args.bind).await?;
    let addr = listener.local_addr()?;
    let stop = nextflix_common::shutdown::signal();
    tracing::info!(url = %format!("http://{addr}"), state_dir = %config.state_dir.display(), "catalog listening");
    server::serve(listener, router, stop).await?;
    tracing::info!("catalog stopped");
    Ok(())
}

#[derive(Debug, Args)]
#[command(
    after_help = "Pages: / (sign in), /browse, /search?q=TEXT. API: GET /api/discover?type=movie|tv&genre=ID, \
POST /api/analytics {\"mediaId\": ID} (the MovieDetailsViewedEvent: stored in S3 as SESSION/ACTIVITY.json when \
AWS_S3_BUCKET is set, published to AWS_SNS_TOPIC_ARN, or sent to AWS_SQS_QUEUE_URL when there is no topic), \
GET /api/search?q=TEXT, /ready, /metrics. AWS credentials and settings come from the standard AWS chain \
(AWS_ACCESS_KEY_ID, AWS_PROFILE, ...); AWS_ENDPOINT_URL points every AWS client at a local endpoint."
)]
pub struct WebArgs {
    /// Address to listen on.
    #[arg(
        long,
        env = "WEB_BIND",
        default_value = "127.0.0.1:3000",
        value_name = "HOST:PORT"
    )]
    pub bind: String,

    /// Base URL of the movie catalog API.
    #[arg(
        long,
        env = "MOVIE_CATALOG_SERVICE",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL"
    )]
    pub catalog_url: String,

    /// Base URL of the title images (the size, w500 or original, and the record's path are appended); titles without a reachable image get generated artwork.
    #[arg(
        long,
        env = "MOVIE_IMAGE_URL",
        default_value = "https://image.tmdb.org/t/p/",
        value_name = "URL"
    )]
    pub image_url: String,

    /// AWS region [default: the standard AWS chain, else us-east-1].
    #[arg(long, env = "AWS_REGION", value_name = "REGION")]
    pub aws_region: Option<String>,

    /// Endpoint for every AWS client, e.g. http://127.0.0.1:4566 for a local endpoint [default: AWS itself].
    #[arg(long, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub aws_endpoint_url: Option<String>,

    /// S3 bucket where every MovieDetailsViewedEvent is stored as SESSION_ID/ACTIVITY_ID.json.
    #[arg(long, env = "AWS_S3_BUCKET", value_name = "BUCKET")]
    pub s3_bucket: Option<String>,

    /// SQS queue URL the events are sent to when no SNS topic is set.
    #[arg(long, env = "AWS_SQS_QUEUE_URL", value_name = "URL")]
    pub sqs_queue_url: Option<String>,

    /// SNS topic ARN the events are published to.
    #[arg(long, env = "AWS_SNS_TOPIC_ARN", value_name = "ARN")]
    pub sns_topic_arn: Option<String>,

    /// Redis URL for session records (e.g. redis://127.0.0.1:6379) [default: kept by the web server itself].
    #[arg(long, env = "REDIS_URL", value_name = "URL")]
    pub redis_url: Option<String>,

    /// Base URL of the recommendation service ("Because you watched" and "Trending now" rows).
    #[arg(long, env = "RECOMMENDATION_SERVICE", value_name = "URL")]
    pub recommendation_url: Option<String>,

    /// Base URL of the user service (the "Recently viewed" row).
    #[arg(long, env = "USER_SERVICE", value_name = "URL")]
    pub user_url: Option<String>,

    /// Always mark the session cookie Secure (it is whenever X-Forwarded-Proto says https).
    #[arg(long, env = "WEB_COOKIE_SECURE")]
    pub cookie_secure: bool,

    #[command(flatten)]
    pub state: StateArgs,
}

async fn run_web(args: WebArgs) -> anyhow::Result<()> {
    let config = nextflix_web::Config {
        catalog_url: args.catalog_url,
        image_url: args.image_url,
        aws_region: args.aws_region,
        aws_endpoint_url: args.aws_endpoint_url,
        s3_bucket: args.s3_bucket,
        sqs_queue_url: args.sqs_queue_url,
        sns_topic_arn: args.sns_topic_arn,
        redis_url: args.redis_url,
        recommendation_url: args.recommendation_url,
        user_url: args.user_url,
        cookie_secure: args.cookie_secure,
        state_dir: Some(args.state.dir()),
        ..nextflix_web::Config::default()
    };
    let router = nextflix_web::build(config)
        .await
        .context("cannot start the web frontend")?;
    let listener = server::bind(&args.bind).await?;
    let addr = listener.local_addr()?;
    let stop = nextflix_common::shutdown::signal();
    tracing::info!(url = %format!("http://{addr}"), "web frontend listening");
    server::serve(listener, router, stop).await?;
    tracing::info!("web frontend stopped");
    Ok(())
}

/// The four consumers, as `nextflix service` names them.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ServiceKind {
    /// Views per title: the popularity that ranks search results (GET /popular, /popularity?ids=).
    Search,
    /// "Because you watched" rows and trending titles (GET /recommendations?sessionId=, /trending).
    Recommendation,
    /// Pre-warms the titles likely to be played next (GET /warm).
    Streaming,
    /// Each session's viewing history (GET /history?sessionId=).
    User,
}

impl From<ServiceKind> for nextflix_services::Kind {
    fn from(kind: ServiceKind) -> Self {
        match kind {
            ServiceKind::Search => nextflix_services::Kind::Search,
            ServiceKind::Recommendation => nextflix_services::Kind::Recommendation,
            ServiceKind::Streaming => nextflix_services::Kind::Streaming,
            ServiceKind::User => nextflix_services::Kind::User,
        }
    }
}

#[derive(Debug, Args)]
#[command(
    after_help = "Consumes the service's SQS queue (long polling, batches of 10, DeleteMessageBatch after \
the work succeeded) and accepts the MovieDetailsViewedEvent as an SNS notification, a raw delivery or a \
message sent straight to SQS; a message that cannot be processed is left on the queue (its redrive policy \
moves it to the dead-letter queue). State: STATE_DIR/services/KIND.json. Routes: GET /recommendations?sessionId=&limit= \
/trending?limit=&window=SECONDS (recommendation), /history?sessionId=&limit= (user), /popular?limit= \
/popularity?ids=ID,ID (search), /warm?limit= (streaming); all: /ready (503 until the queue answered), /status, \
/metrics. AWS settings come from the standard AWS chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, ...); without \
AWS_ENDPOINT_URL, a queue URL that is not on amazonaws.com is also the endpoint."
)]
pub struct ServiceArgs {
    /// Which service.
    #[arg(value_enum)]
    pub kind: ServiceKind,

    /// Address to listen on [default: 127.0.0.1:8101 search, 8102 recommendation, 8103 streaming, 8104 user].
    #[arg(long, env = "SERVICE_BIND", value_name = "HOST:PORT")]
    pub bind: Option<String>,

    /// The service's SQS queue [default: http://127.0.0.1:4566/000000000000/KIND].
    #[arg(long, env = "SERVICE_QUEUE_URL", value_name = "URL")]
    pub queue_url: Option<String>,

    /// Base URL of the movie catalog API (titles and genres of the viewed titles).
    #[arg(
        long,
        env = "MOVIE_CATALOG_SERVICE",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL"
    )]
    pub catalog_url: String,

    /// Concurrent consumers competing on the queue.
    #[arg(long, env = "SERVICE_WORKERS", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64), value_name = "N")]
    pub workers: u16,

    /// AWS region [default: the standard AWS chain, else us-east-1].
    #[arg(long, env = "AWS_REGION", value_name = "REGION")]
    pub aws_region: Option<String>,

    /// Endpoint for the SQS client, e.g. http://127.0.0.1:4566 [default: from a local queue URL, else AWS itself].
    #[arg(long, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub aws_endpoint_url: Option<String>,

    #[command(flatten)]
    pub state: StateArgs,
}

/// `scheme://host[:port]` of a queue URL that is not AWS's own, to use as the endpoint.
fn local_endpoint(queue_url: &str) -> Option<String> {
    let (scheme, rest) = queue_url.split_once("://")?;
    let authority = rest.split('/').next().filter(|a| !a.is_empty())?;
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    (!host.ends_with(".amazonaws.com") && !host.ends_with(".amazonaws.com.cn"))
        .then(|| format!("{scheme}://{authority}"))
}

async fn run_service(args: ServiceArgs) -> anyhow::Result<()> {
    let kind = nextflix_services::Kind::from(args.kind);
    let queue_url = args
        .queue_url
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| format!("http://127.0.0.1:4566/000000000000/{kind}"));
    let endpoint_url = args
        .aws_endpoint_url
        .filter(|u| !u.trim().is_empty())
        .or_else(|| local_endpoint(&queue_url));
    let config = nextflix_services::ServiceConfig {
        kind,
        queue_url,
        catalog_url: args.catalog_url,
        state_dir: args.state.dir(),
        workers: usize::from(args.workers),
        aws: nextflix_services::AwsSettings {
            endpoint_url,
            region: args.aws_region,
            credentials: None,
        },
    };
    let bind = args
        .bind
        .unwrap_or_else(|| format!("127.0.0.1:{}", kind.default_port()));
    let listener = server::bind(&bind).await?;
    let stop = nextflix_common::shutdown::signal();
    let service = nextflix_services::spawn(config, listener)
        .await
        .with_context(|| format!("cannot start the {kind} service"))?;
    tracing::info!(url = %service.url(), service = %kind, "service listening");
    stop.await;
    service.shutdown().await?;
    tracing::info!(service = %kind, "service stopped");
    Ok(())
}

/// `nextflix topology`: the topology of `nextflix up`, on its own (for a deployment
/// whose parts run apart: a one-shot container, a oneshot unit, a CI job).
#[derive(Debug, Subcommand)]
pub enum TopologyCommand {
    /// Create what is missing and set what differs, then print the addresses the parts need
    /// (KEY=VALUE lines, an environment file) and exit. A second run changes nothing.
    #[command(
        after_help = "AWS settings come from the standard AWS chain (AWS_ACCESS_KEY_ID, \
AWS_PROFILE, instance role, ...); AWS_ENDPOINT_URL points it at an AWS-compatible endpoint such \
as `nextflix endpoint`. Prints AWS_SNS_TOPIC_ARN, AWS_S3_BUCKET, AWS_SQS_QUEUE_URL (the tutorial's \
netflix-events queue) and one <SERVICE>_QUEUE_URL per service."
    )]
    Apply(TopologyApplyArgs),
    /// Print the topology (TOML) that `apply` would apply, and exit.
    Print(TopologyFileArgs),
}

#[derive(Debug, Args)]
pub struct TopologyFileArgs {
    /// A TOML file changing the topology's names and attributes (see `nextflix topology print`).
    #[arg(long, env = "NEXTFLIX_TOPOLOGY", value_name = "FILE")]
    pub topology: Option<PathBuf>,
}

impl TopologyFileArgs {
    fn load(&self) -> anyhow::Result<crate::topology::Topology> {
        match &self.topology {
            Some(path) => crate::topology::Topology::load(path),
            None => Ok(crate::topology::Topology::default()),
        }
    }
}

#[derive(Debug, Args)]
pub struct TopologyApplyArgs {
    #[command(flatten)]
    pub file: TopologyFileArgs,

    /// Keep trying for this long while the AWS side does not answer (e.g. an endpoint still starting).
    #[arg(
        long,
        env = "NEXTFLIX_TOPOLOGY_WAIT",
        default_value_t = 0,
        value_name = "SECONDS"
    )]
    pub wait: u64,
}

async fn run_topology(command: TopologyCommand) -> anyhow::Result<()> {
    let args = match command {
        TopologyCommand::Print(file) => {
            print!("{}", toml::to_string_pretty(&file.load()?)?);
            return Ok(());
        }
        TopologyCommand::Apply(args) => args,
    };
    let topology = args.file.load()?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(args.wait);
    let applied = loop {
        match crate::topology::apply(&topology, &sdk).await {
            Ok(applied) => break applied,
            Err(err) if std::time::Instant::now() < deadline => {
                tracing::warn!("{err:#}; trying again");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            Err(err) => return Err(err.context("cannot apply the topology")),
        }
    };
    tracing::info!(topic = %applied.topic_arn, changes = applied.changes, "topology applied");
    println!("AWS_SNS_TOPIC_ARN={}", applied.topic_arn);
    println!("AWS_S3_BUCKET={}", applied.bucket);
    println!("AWS_SQS_QUEUE_URL={}", applied.events_queue_url);
    for (service, url) in &applied.service_queues {
        let key: String = service
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        println!("{key}_QUEUE_URL={url}");
    }
    Ok(())
}
