//! What every Nextflix server shares, written once.
//!
//! Each part (catalog, web, endpoint, services) is its own crate and owns its own
//! routes and rules; this crate owns only the plumbing they all need the same way:
//!
//! - [`telemetry`]: structured logs through `tracing`.
//! - [`metrics`]: a Prometheus registry per server and the HTTP request metrics layer.
//! - [`error`]: the JSON error body (`{"error": "..."}`) of our own APIs.
//! - [`server`]: binding, serving with graceful shutdown, and a handle for tests.
//! - [`shutdown`]: the SIGINT / SIGTERM future.
//! - [`paths`]: where state lives by default.

pub mod error;
pub mod metrics;
pub mod paths;
pub mod server;
pub mod shutdown;
pub mod telemetry;
