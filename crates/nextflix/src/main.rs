//! `nextflix`: the whole system in one binary. Wiring only: each subcommand turns
//! its flags into a part's configuration and runs that part; the parts live in
//! their own crates.

mod cli;
mod topology;
mod up;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    nextflix_common::telemetry::init(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("nextflix: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli.run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("nextflix: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
