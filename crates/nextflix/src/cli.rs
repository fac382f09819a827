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
    /// Run the movie catalog API (TMDB-form records: /discover, /search, /media, ...).
    Catalog(CatalogArgs),
}

/// Flags every server subcommand has.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// Directory for what must survive a restart [default: $XDG_STATE_HOME/nextflix, else ~/.local/state/nextflix].
    #[arg(long, env = "NEXTFLIX_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

impl StateArgs {
    fn dir(&self) -> PathBuf {
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
            Command::Catalog(args) => run_catalog(args).await,
        }
    }
}

async fn run_catalog(args: CatalogArgs) -> anyhow::Result<()> {
    let config = nextflix_catalog::Config {
        data_dir: args.data_dir,
        state_dir: args.state.dir(),
    };
    let router = nextflix_catalog::build(&config).context("cannot load the catalog")?;
    let listener = server::bind(&args.bind).await?;
    let addr = listener.local_addr()?;
    tracing::info!(url = %format!("http://{addr}"), state_dir = %config.state_dir.display(), "catalog listening");
    server::run(listener, router).await?;
    tracing::info!("catalog stopped");
    Ok(())
}
