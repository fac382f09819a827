//! SNS errors: AWS's codes, HTTP statuses and fault sides, for both protocols.
//! SNS messages name the parameter: `Invalid parameter: TopicArn`.

/// An SNS error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct SnsError {
    pub code: &'static str,
    pub status: u16,
    pub message: String,
}

impl SnsError {
    pub fn new(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        SnsError {
            code,
            status,
            message: message.into(),
        }
    }

    pub fn sender_fault(&self) -> bool {
        self.status < 500
    }

    /// `InvalidParameter`: `Invalid parameter: <what>`.
    pub fn invalid(what: impl std::fmt::Display) -> Self {
        Self::new(
            "InvalidParameter",
            400,
            format!("Invalid parameter: {what}"),
        )
    }

    pub fn missing(name: &str) -> Self {
        Self::invalid(format!("{name} Reason: No value for required parameter"))
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new("NotFound", 404, message)
    }

    pub fn topic_not_found() -> Self {
        Self::not_found("Topic does not exist")
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("InternalError", 500, message)
    }
}

pub type SnsResult<T> = Result<T, SnsError>;
