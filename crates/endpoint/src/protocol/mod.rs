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

/// Undoes percent-encoding (`%2F` → `/`); with `plus_is_space`, `+` is a space,
/// as in a query string. Invalid escapes are kept as they are.
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b'+', _) if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
