//! The JSON 1.0 protocol: `POST /` with `X-Amz-Target: <Prefix>.<Action>` and a
//! JSON body; answers `application/x-amz-json-1.0`. Errors carry `__type` and, for
//! services that were Query-compatible (SQS), the legacy code in
//! `x-amzn-query-error: <Code>;<Sender|Receiver>`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::sqs::SqsError;

pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

fn with_headers(status: StatusCode, body: Vec<u8>, request_id: &str) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

/// A successful answer.
pub fn ok(result: &serde_json::Value, request_id: &str) -> Response {
    let body = serde_json::to_vec(result).unwrap_or_else(|_| b"{}".to_vec());
    with_headers(StatusCode::OK, body, request_id)
}

/// A successful answer whose JSON is already encoded.
pub fn ok_body(body: Vec<u8>, request_id: &str) -> Response {
    with_headers(StatusCode::OK, body, request_id)
}

/// An SQS error in the JSON protocol's shape.
pub fn sqs_error(error: &SqsError, request_id: &str) -> Response {
    let body = serde_json::json!({
        "__type": format!("com.amazonaws.sqs#{}", error.kind.name()),
        "message": error.message,
    });
    let status = StatusCode::from_u16(error.kind.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = with_headers(status, body.to_string().into_bytes(), request_id);
    let fault = if error.kind.sender_fault() {
        "Sender"
    } else {
        "Receiver"
    };
    if let Ok(value) = HeaderValue::from_str(&format!("{};{fault}", error.kind.query_code())) {
        response.headers_mut().insert("x-amzn-query-error", value);
    }
    response
}

/// An SNS error in the JSON protocol's shape: `__type` is the exception shape,
/// `x-amzn-query-error` the Query code.
pub fn sns_error(error: &crate::sns::SnsError, request_id: &str) -> Response {
    let body = serde_json::json!({
        "__type": format!("com.amazonaws.sns#{}Exception", error.code),
        "message": error.message,
    });
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = with_headers(status, body.to_string().into_bytes(), request_id);
    let fault = if error.sender_fault() {
        "Sender"
    } else {
        "Receiver"
    };
    if let Ok(value) = HeaderValue::from_str(&format!("{};{fault}", error.code)) {
        response.headers_mut().insert("x-amzn-query-error", value);
    }
    response
}
