//! The wire: how a request names its service, action and protocol, and how
//! results and errors go back in the caller's protocol. Nothing here knows what
//! an action does.
//!
//! - [`json`]: the JSON 1.0 protocol (`X-Amz-Target: AmazonSQS.<Action>`).
//! - [`query`]: the Query protocol (form-encoded `Action=...`, XML answers).
//! - [`sigv4`]: what the Authorization header says (region, service, access key).

pub mod json;
pub mod query;
pub mod sigv4;

/// The two wire protocols of AWS's query-era services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Json,
    Query,
}

/// A fresh request id, as AWS returns in `x-amzn-RequestId`.
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
