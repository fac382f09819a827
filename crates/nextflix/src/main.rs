//! `nextflix`: the whole system in one binary. Wiring only: each subcommand turns
//! its flags into a part's configuration and runs that part; the parts live in
//! their own crates.

mod cli;
mod topology;
mod up;

use clap::Parser;

/// mimalloc: the endpoint and the web allocate many small short-lived buffers per
/// request, where it costs markedly less CPU than glibc's malloc (bench/RESULTS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Transparent huge pages off for this process: with them, the kernel zeroes 2 MiB
/// pages as the allocator first touches its arenas, which cost a fifth of the
/// endpoint's CPU under load and most of a restart's (bench/RESULTS.md).
fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes integer arguments only and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

fn main() -> std::process::ExitCode {
    disable_transparent_huge_pages();
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
