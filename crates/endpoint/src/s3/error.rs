//! S3 errors: AWS's codes and statuses, rendered as S3's XML `<Error>`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// An S3 error, with the extra elements S3 adds (`BucketName`, `Key`, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct S3Error {
    pub code: &'static str,
    pub status: u16,
    pub message: String,
    pub extra: Vec<(&'static str, String)>,
}

pub type S3Result<T> = Result<T, S3Error>;

impl S3Error {
    pub fn new(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        S3Error {
            code,
            status,
            message: message.into(),
            extra: Vec::new(),
        }
    }

    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.extra.push((name, value.into()));
        self
    }

    pub fn no_such_bucket(name: &str) -> Self {
        Self::new("NoSuchBucket", 404, "The specified bucket does not exist")
            .with("BucketName", name)
    }

    pub fn no_such_key(key: &str) -> Self {
        Self::new("NoSuchKey", 404, "The specified key does not exist.").with("Key", key)
    }

    pub fn internal() -> Self {
        Self::new(
            "InternalError",
            500,
            "We encountered an internal error. Please try again.",
        )
    }

    /// The XML answer (HEAD requests get the status and no body).
    pub fn render(&self, request_id: &str, head: bool) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut body = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>");
        let mut put = |name: &str, value: &str| {
            body.push('<');
            body.push_str(name);
            body.push('>');
            crate::protocol::query::escape(value, &mut body);
            body.push_str("</");
            body.push_str(name);
            body.push('>');
        };
        put("Code", self.code);
        put("Message", &self.message);
        for (name, value) in &self.extra {
            put(name, value);
        }
        put("RequestId", request_id);
        body.push_str("</Error>");
        let mut response = if head {
            status.into_response()
        } else {
            (status, body).into_response()
        };
        let headers = response.headers_mut();
        if !head {
            headers.insert("content-type", HeaderValue::from_static("application/xml"));
        }
        if let Ok(id) = HeaderValue::from_str(request_id) {
            headers.insert("x-amz-request-id", id);
        }
        response
    }
}
