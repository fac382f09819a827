//! The signal that starts a graceful shutdown: Ctrl-C (SIGINT) or SIGTERM.

use std::future::Future;

/// Completes when the process is asked to stop. The handlers are installed when
/// this is called, not when the future is first polled: call it before telling
/// anyone the server is ready, so that a signal sent right after is not lost to
/// the default action (which would kill the process without a graceful stop).
pub fn signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let install = |kind: SignalKind, name: &'static str| match signal(kind) {
            Ok(s) => Some(s),
            Err(err) => {
                tracing::warn!(%err, "cannot listen for {name}");
                None
            }
        };
        let mut interrupt = install(SignalKind::interrupt(), "SIGINT");
        let mut terminate = install(SignalKind::terminate(), "SIGTERM");
        async move {
            let int = async {
                match interrupt.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let term = async {
                match terminate.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = int => tracing::info!("SIGINT received, shutting down"),
                _ = term => tracing::info!("SIGTERM received, shutting down"),
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            if tokio::signal::ctrl_c().await.is_ok() {
                tracing::info!("Ctrl-C received, shutting down");
            } else {
                std::future::pending::<()>().await;
            }
        }
    }
}
