//! The typed requests and responses of every SQS action, named as in AWS's API
//! reference. Both wire protocols decode into these structs and encode from them;
//! the engine only ever sees these.
//!
//! Integers accept a JSON number or a numeric string (the Query protocol has only
//! strings); unknown fields are ignored, as AWS does.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::sqs::error::{SqsError, SqsResult};

/// An integer field that may arrive as a number or a string.
fn de_opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(i64),
        Float(f64),
        Str(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Int(i)) => Ok(Some(i)),
        Some(Raw::Float(f)) if f.fract() == 0.0 => Ok(Some(f as i64)),
        Some(Raw::Float(f)) => Err(serde::de::Error::custom(format!("{f} is not an integer"))),
        Some(Raw::Str(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("{s:?} is not an integer"))),
    }
}

pub type Attributes = BTreeMap<String, String>;

/// A message attribute: a typed value (`String`, `Number`, `Binary`, with an
/// optional `.custom` suffix).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessageAttributeValue {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    /// Base64 on the wire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binary_value: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub string_list_values: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub binary_list_values: Vec<String>,
    #[serde(default)]
    pub data_type: String,
}

pub type MessageAttributes = BTreeMap<String, MessageAttributeValue>;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateQueue {
    pub queue_name: Option<String>,
    #[serde(default)]
    pub attributes: Attributes,
    #[serde(default, alias = "tags")]
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueUrlOnly {
    pub queue_url: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueUrl {
    pub queue_name: Option<String>,
    #[serde(rename = "QueueOwnerAWSAccountId")]
    pub queue_owner_aws_account_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueues {
    pub queue_name_prefix: Option<String>,
    pub next_token: Option<String>,
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub max_results: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueAttributes {
    pub queue_url: Option<String>,
    #[serde(default)]
    pub attribute_names: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetQueueAttributes {
    pub queue_url: Option<String>,
    pub attributes: Option<Attributes>,
}

/// The fields of one message to send, shared by SendMessage and its batch entries.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessageToSend {
    /// Only in batch entries.
    pub id: Option<String>,
    pub message_body: Option<String>,
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub delay_seconds: Option<i64>,
    #[serde(default)]
    pub message_attributes: MessageAttributes,
    #[serde(default)]
    pub message_system_attributes: MessageAttributes,
    pub message_deduplication_id: Option<String>,
    pub message_group_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessage {
    pub queue_url: Option<String>,
    #[serde(flatten)]
    pub message: MessageToSend,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageBatch {
    pub queue_url: Option<String>,
    pub entries: Option<Vec<MessageToSend>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveMessage {
    pub queue_url: Option<String>,
    #[serde(default)]
    pub attribute_names: Vec<String>,
    #[serde(default)]
    pub message_system_attribute_names: Vec<String>,
    #[serde(default)]
    pub message_attribute_names: Vec<String>,
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub max_number_of_messages: Option<i64>,
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub visibility_timeout: Option<i64>,
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub wait_time_seconds: Option<i64>,
    pub receive_request_attempt_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteMessage {
    pub queue_url: Option<String>,
    pub receipt_handle: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiptEntry {
    pub id: Option<String>,
    pub receipt_handle: Option<String>,
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub visibility_timeout: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiptBatch {
    pub queue_url: Option<String>,
    pub entries: Option<Vec<ReceiptEntry>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeMessageVisibility {
    pub queue_url: Option<String>,
    pub receipt_handle: Option<String>,
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub visibility_timeout: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagQueue {
    pub queue_url: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagQueue {
    pub queue_url: Option<String>,
    pub tag_keys: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDeadLetterSourceQueues {
    pub queue_url: Option<String>,
    pub next_token: Option<String>,
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub max_results: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddPermission {
    pub queue_url: Option<String>,
    pub label: Option<String>,
    #[serde(rename = "AWSAccountIds")]
    pub aws_account_ids: Option<Vec<String>>,
    pub actions: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemovePermission {
    pub queue_url: Option<String>,
    pub label: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartMessageMoveTask {
    pub source_arn: Option<String>,
    pub destination_arn: Option<String>,
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub max_number_of_messages_per_second: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMessageMoveTasks {
    pub source_arn: Option<String>,
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub max_results: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelMessageMoveTask {
    pub task_handle: Option<String>,
}

/// Every SQS action, with its decoded input.
#[derive(Debug, Clone)]
pub enum Request {
    CreateQueue(CreateQueue),
    DeleteQueue(QueueUrlOnly),
    GetQueueUrl(GetQueueUrl),
    ListQueues(ListQueues),
    GetQueueAttributes(GetQueueAttributes),
    SetQueueAttributes(SetQueueAttributes),
    PurgeQueue(QueueUrlOnly),
    SendMessage(SendMessage),
    SendMessageBatch(SendMessageBatch),
    ReceiveMessage(ReceiveMessage),
    DeleteMessage(DeleteMessage),
    DeleteMessageBatch(ReceiptBatch),
    ChangeMessageVisibility(ChangeMessageVisibility),
    ChangeMessageVisibilityBatch(ReceiptBatch),
    TagQueue(TagQueue),
    UntagQueue(UntagQueue),
    ListQueueTags(QueueUrlOnly),
    ListDeadLetterSourceQueues(ListDeadLetterSourceQueues),
    AddPermission(AddPermission),
    RemovePermission(RemovePermission),
    StartMessageMoveTask(StartMessageMoveTask),
    ListMessageMoveTasks(ListMessageMoveTasks),
    CancelMessageMoveTask(CancelMessageMoveTask),
}

/// Every action's name, as in `X-Amz-Target: AmazonSQS.<name>` and `Action=<name>`.
pub const ACTIONS: [&str; 23] = [
    "CreateQueue",
    "DeleteQueue",
    "GetQueueUrl",
    "ListQueues",
    "GetQueueAttributes",
    "SetQueueAttributes",
    "PurgeQueue",
    "SendMessage",
    "SendMessageBatch",
    "ReceiveMessage",
    "DeleteMessage",
    "DeleteMessageBatch",
    "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch",
    "TagQueue",
    "UntagQueue",
    "ListQueueTags",
    "ListDeadLetterSourceQueues",
    "AddPermission",
    "RemovePermission",
    "StartMessageMoveTask",
    "ListMessageMoveTasks",
    "CancelMessageMoveTask",
];

/// The actions whose answer has no output shape (no `<ActionResult>` element).
pub const NO_OUTPUT: [&str; 9] = [
    "DeleteQueue",
    "SetQueueAttributes",
    "PurgeQueue",
    "DeleteMessage",
    "ChangeMessageVisibility",
    "TagQueue",
    "UntagQueue",
    "AddPermission",
    "RemovePermission",
];

/// Where an action's input is read from.
pub trait Source {
    fn parse<T: serde::de::DeserializeOwned>(self) -> SqsResult<T>;
}

/// The JSON that the Query protocol's parameters were reshaped into.
impl Source for serde_json::Value {
    fn parse<T: serde::de::DeserializeOwned>(self) -> SqsResult<T> {
        let input = if self.is_null() {
            serde_json::Value::Object(Default::default())
        } else {
            self
        };
        serde_json::from_value(input).map_err(|e| {
            SqsError::new(
                crate::sqs::error::ErrorKind::InvalidParameterValue,
                format!("The request is not valid: {e}"),
            )
        })
    }
}

/// A JSON protocol body, decoded straight into the action's input shape (no
/// intermediate tree): an empty body is `{}`, anything but a JSON object is a
/// `SerializationException`, and a value of the wrong type an
/// `InvalidParameterValue`.
pub struct JsonBody<'a>(pub &'a [u8]);

impl Source for JsonBody<'_> {
    fn parse<T: serde::de::DeserializeOwned>(self) -> SqsResult<T> {
        use crate::sqs::error::ErrorKind;
        let not_an_object = || {
            SqsError::new(
                ErrorKind::SerializationException,
                "The request body is not a valid JSON object.",
            )
        };
        let body = self.0.trim_ascii();
        if body.is_empty() {
            return serde_json::from_slice(b"{}").map_err(|_| not_an_object());
        }
        if body[0] != b'{' {
            return Err(not_an_object());
        }
        serde_json::from_slice(body).map_err(|e| {
            if e.is_data() {
                SqsError::new(
                    ErrorKind::InvalidParameterValue,
                    format!("The request is not valid: {e}"),
                )
            } else {
                not_an_object()
            }
        })
    }
}

impl Request {
    /// Decodes an action's input from its JSON form: a JSON protocol body
    /// ([`JsonBody`]), or the JSON the Query protocol reshapes its form
    /// parameters into.
    pub fn decode(action: &str, input: impl Source) -> SqsResult<Request> {
        fn parse<T: serde::de::DeserializeOwned>(input: impl Source) -> SqsResult<T> {
            input.parse()
        }
        use Request::*;
        Ok(match action {
            "CreateQueue" => CreateQueue(parse(input)?),
            "DeleteQueue" => DeleteQueue(parse(input)?),
            "GetQueueUrl" => GetQueueUrl(parse(input)?),
            "ListQueues" => ListQueues(parse(input)?),
            "GetQueueAttributes" => GetQueueAttributes(parse(input)?),
            "SetQueueAttributes" => SetQueueAttributes(parse(input)?),
            "PurgeQueue" => PurgeQueue(parse(input)?),
            "SendMessage" => SendMessage(parse(input)?),
            "SendMessageBatch" => SendMessageBatch(parse(input)?),
            "ReceiveMessage" => ReceiveMessage(parse(input)?),
            "DeleteMessage" => DeleteMessage(parse(input)?),
            "DeleteMessageBatch" => DeleteMessageBatch(parse(input)?),
            "ChangeMessageVisibility" => ChangeMessageVisibility(parse(input)?),
            "ChangeMessageVisibilityBatch" => ChangeMessageVisibilityBatch(parse(input)?),
            "TagQueue" => TagQueue(parse(input)?),
            "UntagQueue" => UntagQueue(parse(input)?),
            "ListQueueTags" => ListQueueTags(parse(input)?),
            "ListDeadLetterSourceQueues" => ListDeadLetterSourceQueues(parse(input)?),
            "AddPermission" => AddPermission(parse(input)?),
            "RemovePermission" => RemovePermission(parse(input)?),
            "StartMessageMoveTask" => StartMessageMoveTask(parse(input)?),
            "ListMessageMoveTasks" => ListMessageMoveTasks(parse(input)?),
            "CancelMessageMoveTask" => CancelMessageMoveTask(parse(input)?),
            other => {
                return Err(SqsError::new(
                    crate::sqs::error::ErrorKind::InvalidAction,
                    format!("The action {other} is not valid for this endpoint."),
                ));
            }
        })
    }

    /// The queue URL the request names, if its action takes one.
    pub fn queue_url(&self) -> Option<&str> {
        use Request::*;
        match self {
            DeleteQueue(r) | PurgeQueue(r) | ListQueueTags(r) => r.queue_url.as_deref(),
            GetQueueAttributes(r) => r.queue_url.as_deref(),
            SetQueueAttributes(r) => r.queue_url.as_deref(),
            SendMessage(r) => r.queue_url.as_deref(),
            SendMessageBatch(r) => r.queue_url.as_deref(),
            ReceiveMessage(r) => r.queue_url.as_deref(),
            DeleteMessage(r) => r.queue_url.as_deref(),
            DeleteMessageBatch(r) | ChangeMessageVisibilityBatch(r) => r.queue_url.as_deref(),
            ChangeMessageVisibility(r) => r.queue_url.as_deref(),
            TagQueue(r) => r.queue_url.as_deref(),
            UntagQueue(r) => r.queue_url.as_deref(),
            ListDeadLetterSourceQueues(r) => r.queue_url.as_deref(),
            AddPermission(r) => r.queue_url.as_deref(),
            RemovePermission(r) => r.queue_url.as_deref(),
            _ => None,
        }
    }

    /// Fills in the queue URL from the request path when the body has none
    /// (older SDKs post to the queue URL itself).
    pub fn set_queue_url_if_missing(&mut self, url: String) {
        use Request::*;
        let slot = match self {
            DeleteQueue(r) | PurgeQueue(r) | ListQueueTags(r) => &mut r.queue_url,
            GetQueueAttributes(r) => &mut r.queue_url,
            SetQueueAttributes(r) => &mut r.queue_url,
            SendMessage(r) => &mut r.queue_url,
            SendMessageBatch(r) => &mut r.queue_url,
            ReceiveMessage(r) => &mut r.queue_url,
            DeleteMessage(r) => &mut r.queue_url,
            DeleteMessageBatch(r) | ChangeMessageVisibilityBatch(r) => &mut r.queue_url,
            ChangeMessageVisibility(r) => &mut r.queue_url,
            TagQueue(r) => &mut r.queue_url,
            UntagQueue(r) => &mut r.queue_url,
            ListDeadLetterSourceQueues(r) => &mut r.queue_url,
            AddPermission(r) => &mut r.queue_url,
            RemovePermission(r) => &mut r.queue_url,
            _ => return,
        };
        if slot.is_none() {
            *slot = Some(url);
        }
    }
}

// ---- Responses -------------------------------------------------------------

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct QueueUrlResult {
    pub queue_url: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesResult {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub queue_urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct AttributesResult {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: Attributes,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageResult {
    /// Only in batch results.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub message_id: String,
    #[serde(rename = "MD5OfMessageBody")]
    pub md5_of_message_body: String,
    #[serde(
        rename = "MD5OfMessageAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    pub md5_of_message_attributes: Option<String>,
    #[serde(
        rename = "MD5OfMessageSystemAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    pub md5_of_message_system_attributes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
}

/// One failed entry of a batch.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct BatchResultErrorEntry {
    pub id: String,
    pub sender_fault: bool,
    pub code: String,
    pub message: String,
}

impl BatchResultErrorEntry {
    pub fn new(id: &str, error: &SqsError) -> Self {
        BatchResultErrorEntry {
            id: id.to_owned(),
            sender_fault: error.kind.sender_fault(),
            code: error.kind.query_code().to_owned(),
            message: error.message.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct BatchResult<T> {
    pub successful: Vec<T>,
    pub failed: Vec<BatchResultErrorEntry>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct IdOnly {
    pub id: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ReceivedMessage {
    pub message_id: String,
    pub receipt_handle: String,
    #[serde(rename = "MD5OfBody")]
    pub md5_of_body: String,
    pub body: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: Attributes,
    #[serde(
        rename = "MD5OfMessageAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    pub md5_of_message_attributes: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub message_attributes: MessageAttributes,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveMessageResult {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<ReceivedMessage>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct TagsResult {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeadLetterSourcesResult {
    #[serde(rename = "queueUrls")]
    pub queue_urls: Vec<String>,
    #[serde(rename = "NextToken", skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct TaskHandleResult {
    pub task_handle: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct MovedCountResult {
    pub approximate_number_of_messages_moved: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct MoveTaskEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_handle: Option<String>,
    pub status: String,
    pub source_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_number_of_messages_per_second: Option<i64>,
    pub approximate_number_of_messages_moved: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approximate_number_of_messages_to_move: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    pub started_timestamp: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ListMoveTasksResult {
    pub results: Vec<MoveTaskEntry>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqs::error::ErrorKind;

    fn kind(body: &str) -> Result<Request, ErrorKind> {
        Request::decode("CreateQueue", JsonBody(body.as_bytes())).map_err(|e| e.kind)
    }

    #[test]
    fn json_bodies_decode_straight_into_the_request() {
        match kind(r#" {"QueueName": "q", "Attributes": {"DelaySeconds": "5"}} "#) {
            Ok(Request::CreateQueue(r)) => assert_eq!(r.queue_name.as_deref(), Some("q")),
            other => panic!("{other:?}"),
        }
        // An empty body is an empty input.
        assert!(matches!(kind(" \n"), Ok(Request::CreateQueue(r)) if r.queue_name.is_none()));
        for garbage in [
            "[]",
            "null",
            "\"q\"",
            "{not json",
            "{\"QueueName\": }",
            &"{".repeat(1000),
        ] {
            assert_eq!(
                kind(garbage).err(),
                Some(ErrorKind::SerializationException),
                "{garbage}"
            );
        }
        assert_eq!(
            kind(r#"{"QueueName": 5}"#).err(),
            Some(ErrorKind::InvalidParameterValue)
        );
        assert_eq!(
            Request::decode("NoSuchAction", JsonBody(b"{}"))
                .map_err(|e| e.kind)
                .err(),
            Some(ErrorKind::InvalidAction)
        );
    }
}
