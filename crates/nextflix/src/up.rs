//! `nextflix up`: the whole system in one process. Starts the embedded endpoint
//! (unless `--aws`), applies the topology through the AWS SDK, starts the
//! catalog, the web frontend and the four services, waits until every part
//! answers its readiness check, prints the URLs, and on Ctrl-C stops them all,
//! the event sources first.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use clap::Args;
use nextflix_common::server::{self, ServerHandle};

use crate::cli::StateArgs;
use crate::topology::{self, Topology};

#[derive(Debug, Args)]
#[command(
    after_help = "Without --aws, an embedded AWS-compatible endpoint (SQS, SNS, S3) \
serves the topology; with --aws (or AWS_* settings pointing at AWS) the same topology is \
created on AWS through the SDK with the standard credential chain. Everything that must survive \
a restart lives under --state-dir."
)]
pub struct UpArgs {
    /// Address of the web frontend.
    #[arg(
        long,
        env = "WEB_BIND",
        default_value = "127.0.0.1:3000",
        value_name = "HOST:PORT"
    )]
    pub web_bind: String,

    /// Address of the catalog API.
    #[arg(
        long,
        env = "CATALOG_BIND",
        default_value = "127.0.0.1:8080",
        value_name = "HOST:PORT"
    )]
    pub catalog_bind: String,

    /// Address of the embedded AWS-compatible endpoint.
    #[arg(
        long,
        env = "ENDPOINT_BIND",
        default_value = "127.0.0.1:4566",
        value_name = "HOST:PORT"
    )]
    pub endpoint_bind: String,

    /// First port of the four services (search, recommendation, streaming, user take
    /// it and the next three); 0 gives each an ephemeral port.
    #[arg(
        long,
        env = "SERVICES_PORT",
        default_value_t = 8101,
        value_name = "PORT"
    )]
    pub services_port: u16,

    /// Host the services listen on.
    #[arg(
        long,
        env = "SERVICES_HOST",
        default_value = "127.0.0.1",
        value_name = "HOST"
    )]
    pub services_host: String,

    /// Concurrent consumers per service.
    #[arg(long, env = "SERVICE_WORKERS", default_value_t = 2, value_name = "N")]
    pub workers: usize,

    #[command(flatten)]
    pub state: StateArgs,

    /// Catalog data (data_movies.json, data_tv.json) [default: the built-in catalog].
    #[arg(long, env = "CATALOG_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// A TOML file changing the topology's names and attributes.
    #[arg(long, env = "NEXTFLIX_TOPOLOGY", value_name = "FILE")]
    pub topology: Option<PathBuf>,

    /// Use real AWS (standard AWS configuration) instead of the embedded endpoint.
    #[arg(long, env = "NEXTFLIX_AWS")]
    pub aws: bool,

    /// Keep web sessions in this Redis instead of the embedded store.
    #[arg(long, env = "REDIS_URL", value_name = "URL")]
    pub redis_url: Option<String>,

    /// Base URL of the title images.
    #[arg(
        long,
        env = "MOVIE_IMAGE_URL",
        default_value = "https://image.tmdb.org/t/p/",
        value_name = "URL"
    )]
    pub image_url: String,

    /// Print the topology (TOML) that would be applied, and exit.
    #[arg(long)]
    pub print_topology: bool,
}

/// The credentials the parts use against the embedded endpoint (which accepts any).
const LOCAL_KEY: (&str, &str) = ("nextflix", "nextflix-local-secret");

async fn local_sdk_config(endpoint_url: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint_url)
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            LOCAL_KEY.0,
            LOCAL_KEY.1,
            None,
            None,
            "nextflix-up",
        ))
        .load()
        .await
}

/// Waits until `url` answers 200, or fails after `limit`.
async fn wait_ready(name: &str, url: &str, limit: Duration) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let started = Instant::now();
    loop {
        if let Ok(response) = client.get(url).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < limit,
            "{name} is not ready at {url} after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    let topology = match &args.topology {
        Some(path) => Topology::load(path)?,
        None => Topology::default(),
    };
    if args.print_topology {
        print!("{}", toml::to_string_pretty(&topology)?);
        return Ok(());
    }
    let state_dir = args.state.dir();
    let started = Instant::now();
    // Installed first, so that Ctrl-C at any moment stops everything gracefully.
    let stop = nextflix_common::shutdown::signal();

    // 1. The AWS side: the embedded endpoint, or real AWS.
    let (endpoint, sdk, endpoint_url) = if args.aws {
        let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
        (None, sdk, None)
    } else {
        let listener = server::bind(&args.endpoint_bind).await?;
        let config = nextflix_endpoint::Config {
            state_dir: Some(state_dir.clone()),
            ..Default::default()
        };
        let endpoint = nextflix_endpoint::Endpoint::start(config, listener)
            .await
            .context("cannot start the endpoint")?;
        let url = endpoint.url();
        (Some(endpoint), local_sdk_config(&url).await, Some(url))
    };

    // 2. The topology.
    let applied = topology::apply(&topology, &sdk)
        .await
        .context("cannot apply the topology")?;
    tracing::info!(topic = %applied.topic_arn, changes = applied.changes, "topology applied");

    // 3. The catalog.
    let catalog_config = nextflix_catalog::Config {
        data_dir: args.data_dir.clone(),
        state_dir: state_dir.clone(),
    };
    let catalog_router =
        nextflix_catalog::build(&catalog_config).context("cannot load the catalog")?;
    let catalog = server::spawn(server::bind(&args.catalog_bind).await?, catalog_router)?;

    // 4. The four services, each on its own queue.
    let mut services = Vec::new();
    for (i, kind) in nextflix_services::Kind::ALL.into_iter().enumerate() {
        let queue_url = applied
            .service_queues
            .get(kind.name())
            .cloned()
            .with_context(|| format!("the topology has no queue for the {kind} service"))?;
        let config = nextflix_services::ServiceConfig {
            kind,
            queue_url,
            catalog_url: catalog.url(),
            state_dir: state_dir.clone(),
            workers: args.workers.max(1),
            aws: nextflix_services::AwsSettings {
                endpoint_url: endpoint_url.clone(),
                region: sdk.region().map(|r| r.as_ref().to_owned()),
                credentials: endpoint_url
                    .as_ref()
                    .map(|_| (LOCAL_KEY.0.to_owned(), LOCAL_KEY.1.to_owned())),
            },
        };
        let port = if args.services_port == 0 {
            0
        } else {
            args.services_port.saturating_add(i as u16)
        };
        let listener = server::bind(&format!("{}:{port}", args.services_host)).await?;
        let handle = nextflix_services::spawn(config, listener)
            .await
            .with_context(|| format!("cannot start the {kind} service"))?;
        services.push((kind, handle));
    }

    if let Some(endpoint) = &endpoint {
        endpoint.set_console_services(
            services
                .iter()
                .map(|(k, s)| (k.name().to_owned(), s.url()))
                .collect(),
        );
    }
    let service_url = |kind: nextflix_services::Kind| {
        services
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, s)| s.url())
    };

    // 5. The web frontend, publishing to the topic and storing in the bucket.
    let web_config = nextflix_web::Config {
        catalog_url: catalog.url(),
        image_url: args.image_url.clone(),
        aws_region: sdk.region().map(|r| r.as_ref().to_owned()),
        aws_endpoint_url: endpoint_url.clone(),
        aws_credentials: endpoint_url.as_ref().map(|_| nextflix_web::AwsCredentials {
            access_key_id: LOCAL_KEY.0.to_owned(),
            secret_access_key: LOCAL_KEY.1.to_owned(),
        }),
        s3_bucket: Some(applied.bucket.clone()),
        sns_topic_arn: Some(applied.topic_arn.clone()),
        redis_url: args.redis_url.clone(),
        state_dir: Some(state_dir.clone()),
        recommendation_url: service_url(nextflix_services::Kind::Recommendation),
        user_url: service_url(nextflix_services::Kind::User),
        ..nextflix_web::Config::default()
    };
    let web = nextflix_web::spawn(web_config, server::bind(&args.web_bind).await?)
        .await
        .context("cannot start the web frontend")?;

    // 6. Ready means ready: every part answers.
    let limit = Duration::from_secs(30);
    if let Some(endpoint) = &endpoint {
        wait_ready(
            "endpoint",
            &format!("{}/_nextflix/ready", endpoint.url()),
            limit,
        )
        .await?;
    }
    wait_ready("catalog", &format!("{}/ready", catalog.url()), limit).await?;
    wait_ready("web", &format!("{}/ready", web.url()), limit).await?;
    for (kind, service) in &services {
        wait_ready(kind.name(), &format!("{}/ready", service.url()), limit).await?;
    }

    if let Some(endpoint) = &endpoint {
        let mut parts = vec![
            ("catalog".to_owned(), format!("{}/ready", catalog.url())),
            ("web".to_owned(), format!("{}/ready", web.url())),
        ];
        for (kind, service) in &services {
            parts.push((kind.name().to_owned(), format!("{}/ready", service.url())));
        }
        endpoint.set_system_parts(parts);
    }
    println!();
    println!(
        "  Nextflix is up ({:.1} s).",
        started.elapsed().as_secs_f64()
    );
    println!();
    // One column of labels, wide enough for the longest service name.
    let line = |label: &str, value: &dyn std::fmt::Display| println!("  {label:<15} {value}");
    line("Web", &web.url());
    line("Catalog API", &catalog.url());
    for (kind, service) in &services {
        line(&kind.to_string(), &service.url());
    }
    match &endpoint {
        Some(endpoint) => {
            line(
                "AWS endpoint",
                &format!("{}   (AWS_ENDPOINT_URL; any credentials)", endpoint.url()),
            );
            line("Console", &format!("{}/_console", endpoint.url()));
            line(
                "Ready",
                &format!("{}/_nextflix/system/ready", endpoint.url()),
            );
        }
        None => line(
            "AWS",
            &format!(
                "real AWS ({})",
                sdk.region()
                    .map_or("default region".to_owned(), |r| r.to_string())
            ),
        ),
    }
    line("Topic", &applied.topic_arn);
    line("Queues", &applied.events_queue_url);
    for url in applied.service_queues.values() {
        line("", url);
    }
    line("Bucket", &format!("s3://{}", applied.bucket));
    line("State", &state_dir.display());
    println!();
    println!("  Ctrl-C stops everything.");
    println!();

    stop.await;
    stop_all(web, services, catalog, endpoint).await;
    Ok(())
}

async fn stop_all(
    web: ServerHandle,
    services: Vec<(nextflix_services::Kind, nextflix_services::ServiceHandle)>,
    catalog: ServerHandle,
    endpoint: Option<nextflix_endpoint::Endpoint>,
) {
    // The event source first, then the consumers (they finish or release what
    // they hold), then what they read from.
    if let Err(err) = web.shutdown().await {
        tracing::warn!(%err, "web frontend stopped with an error");
    }
    for (kind, service) in services {
        if let Err(err) = service.shutdown().await {
            tracing::warn!(%err, "the {kind} service stopped with an error");
        }
    }
    if let Err(err) = catalog.shutdown().await {
        tracing::warn!(%err, "catalog stopped with an error");
    }
    if let Some(endpoint) = endpoint
        && let Err(err) = endpoint.shutdown().await
    {
        tracing::warn!(%err, "endpoint stopped with an error");
    }
    tracing::info!("all parts stopped");
}
