//! SQS errors: AWS's error codes, HTTP statuses and fault sides, one enum for both
//! wire protocols. The JSON protocol sends `__type` (`com.amazonaws.sqs#<Name>`)
//! and the legacy code in `x-amzn-query-error`; the Query protocol sends the
//! legacy code in `<Error><Code>`.

/// Which error, named as in AWS's SQS API reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    QueueDoesNotExist,
    QueueDeletedRecently,
    QueueNameExists,
    InvalidAttributeName,
    InvalidAttributeValue,
    ReceiptHandleIsInvalid,
    MessageNotInflight,
    TooManyEntriesInBatchRequest,
    EmptyBatchRequest,
    BatchEntryIdsNotDistinct,
    BatchRequestTooLong,
    InvalidBatchEntryId,
    InvalidMessageContents,
    UnsupportedOperation,
    PurgeQueueInProgress,
    OverLimit,
    InvalidAddress,
    InvalidSecurity,
    ResourceNotFoundException,
    /// Common errors (not in the service model, shared by all AWS query services).
    InvalidParameterValue,
    MissingParameter,
    InvalidAction,
    MissingAction,
    AccessDenied,
    InternalError,
    /// A JSON-protocol body that is not JSON, or an unknown `X-Amz-Target`.
    SerializationException,
    UnknownOperationException,
    /// A request body over the endpoint's limit.
    RequestEntityTooLarge,
}

impl ErrorKind {
    /// The shape name, as in `__type` and the SDKs' exception names.
    pub fn name(self) -> &'static str {
        use ErrorKind::*;
        match self {
            QueueDoesNotExist => "QueueDoesNotExist",
            QueueDeletedRecently => "QueueDeletedRecently",
            QueueNameExists => "QueueNameExists",
            InvalidAttributeName => "InvalidAttributeName",
            InvalidAttributeValue => "InvalidAttributeValue",
            ReceiptHandleIsInvalid => "ReceiptHandleIsInvalid",
            MessageNotInflight => "MessageNotInflight",
            TooManyEntriesInBatchRequest => "TooManyEntriesInBatchRequest",
            EmptyBatchRequest => "EmptyBatchRequest",
            BatchEntryIdsNotDistinct => "BatchEntryIdsNotDistinct",
            BatchRequestTooLong => "BatchRequestTooLong",
            InvalidBatchEntryId => "InvalidBatchEntryId",
            InvalidMessageContents => "InvalidMessageContents",
            UnsupportedOperation => "UnsupportedOperation",
            PurgeQueueInProgress => "PurgeQueueInProgress",
            OverLimit => "OverLimit",
            InvalidAddress => "InvalidAddress",
            InvalidSecurity => "InvalidSecurity",
            ResourceNotFoundException => "ResourceNotFoundException",
            InvalidParameterValue => "InvalidParameterValue",
            MissingParameter => "MissingParameter",
            InvalidAction => "InvalidAction",
            MissingAction => "MissingAction",
            AccessDenied => "AccessDenied",
            InternalError => "InternalError",
            SerializationException => "SerializationException",
            UnknownOperationException => "UnknownOperationException",
            RequestEntityTooLarge => "RequestEntityTooLarge",
        }
    }

    /// The legacy (Query protocol) error code.
    pub fn query_code(self) -> &'static str {
        use ErrorKind::*;
        match self {
            QueueDoesNotExist => "AWS.SimpleQueueService.NonExistentQueue",
            QueueDeletedRecently => "AWS.SimpleQueueService.QueueDeletedRecently",
            QueueNameExists => "QueueAlreadyExists",
            MessageNotInflight => "AWS.SimpleQueueService.MessageNotInflight",
            TooManyEntriesInBatchRequest => "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            EmptyBatchRequest => "AWS.SimpleQueueService.EmptyBatchRequest",
            BatchEntryIdsNotDistinct => "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
            BatchRequestTooLong => "AWS.SimpleQueueService.BatchRequestTooLong",
            InvalidBatchEntryId => "AWS.SimpleQueueService.InvalidBatchEntryId",
            UnsupportedOperation => "AWS.SimpleQueueService.UnsupportedOperation",
            PurgeQueueInProgress => "AWS.SimpleQueueService.PurgeQueueInProgress",
            other => other.name(),
        }
    }

    /// The HTTP status AWS answers with.
    pub fn status(self) -> u16 {
        use ErrorKind::*;
        match self {
            PurgeQueueInProgress | OverLimit | InvalidSecurity | AccessDenied => 403,
            InvalidAddress | ResourceNotFoundException | ReceiptHandleIsInvalid => 404,
            InternalError => 500,
            RequestEntityTooLarge => 413,
            _ => 400,
        }
    }

    /// Whether the caller is at fault (`Sender`) or the server (`Receiver`).
    pub fn sender_fault(self) -> bool {
        self != ErrorKind::InternalError
    }
}

/// An SQS error with its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kind.name())]
pub struct SqsError {
    pub kind: ErrorKind,
    pub message: String,
}

impl SqsError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        SqsError {
            kind,
            message: message.into(),
        }
    }

    pub fn queue_does_not_exist() -> Self {
        Self::new(
            ErrorKind::QueueDoesNotExist,
            "The specified queue does not exist.",
        )
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParameterValue, message)
    }

    /// `Value <value> for parameter <name> is invalid. Reason: <reason>.`
    pub fn invalid_value(name: &str, value: impl std::fmt::Display, reason: &str) -> Self {
        Self::invalid_parameter(format!(
            "Value {value} for parameter {name} is invalid. Reason: {reason}"
        ))
    }

    pub fn missing(name: &str) -> Self {
        Self::new(
            ErrorKind::MissingParameter,
            format!("The request must contain the parameter {name}."),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InternalError, message)
    }
}

pub type SqsResult<T> = Result<T, SqsError>;
