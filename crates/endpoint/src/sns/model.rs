//! The typed requests and results of the SNS actions, named as in AWS's API
//! reference. The JSON protocol decodes straight into them; the Query protocol
//! first reshapes `Attributes.entry.N.key` and `X.member.N` into the same JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::sns::error::{SnsError, SnsResult};
pub use crate::sqs::model::{MessageAttributeValue, MessageAttributes};

pub type Attributes = BTreeMap<String, String>;

fn de_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Str(String),
    }
    Ok(match Option::<Raw>::deserialize(d)? {
        Some(Raw::Bool(b)) => b,
        Some(Raw::Str(s)) => s.eq_ignore_ascii_case("true"),
        None => false,
    })
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateTopic {
    pub name: Option<String>,
    #[serde(default)]
    pub attributes: Attributes,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TopicArnOnly {
    pub topic_arn: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Paged {
    pub topic_arn: Option<String>,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetAttribute {
    pub topic_arn: Option<String>,
    pub subscription_arn: Option<String>,
    pub attribute_name: Option<String>,
    pub attribute_value: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Subscribe {
    pub topic_arn: Option<String>,
    pub protocol: Option<String>,
    pub endpoint: Option<String>,
    #[serde(default)]
    pub attributes: Attributes,
    #[serde(default, deserialize_with = "de_bool")]
    pub return_subscription_arn: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfirmSubscription {
    pub topic_arn: Option<String>,
    pub token: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscriptionArnOnly {
    pub subscription_arn: Option<String>,
}

/// One message to publish: Publish itself, or a PublishBatch entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishEntry {
    pub id: Option<String>,
    pub message: Option<String>,
    pub subject: Option<String>,
    pub message_structure: Option<String>,
    #[serde(default)]
    pub message_attributes: MessageAttributes,
    pub message_deduplication_id: Option<String>,
    pub message_group_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Publish {
    pub topic_arn: Option<String>,
    pub target_arn: Option<String>,
    pub phone_number: Option<String>,
    #[serde(flatten)]
    pub entry: PublishEntry,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishBatch {
    pub topic_arn: Option<String>,
    pub publish_batch_request_entries: Option<Vec<PublishEntry>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResource {
    pub resource_arn: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResource {
    pub resource_arn: Option<String>,
    #[serde(default)]
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceArnOnly {
    pub resource_arn: Option<String>,
}

/// Every SNS action this endpoint serves, with its input.
#[derive(Debug, Clone)]
pub enum Request {
    CreateTopic(CreateTopic),
    DeleteTopic(TopicArnOnly),
    ListTopics(Paged),
    GetTopicAttributes(TopicArnOnly),
    SetTopicAttributes(SetAttribute),
    Subscribe(Subscribe),
    ConfirmSubscription(ConfirmSubscription),
    Unsubscribe(SubscriptionArnOnly),
    ListSubscriptions(Paged),
    ListSubscriptionsByTopic(Paged),
    GetSubscriptionAttributes(SubscriptionArnOnly),
    SetSubscriptionAttributes(SetAttribute),
    Publish(Publish),
    PublishBatch(PublishBatch),
    TagResource(TagResource),
    UntagResource(UntagResource),
    ListTagsForResource(ResourceArnOnly),
}

/// The actions whose answer has no output shape (no `<ActionResult>` element).
pub const NO_OUTPUT: [&str; 4] = [
    "DeleteTopic",
    "SetTopicAttributes",
    "Unsubscribe",
    "SetSubscriptionAttributes",
];

/// The action names, as in `X-Amz-Target: SNS_20100331.<name>` and `Action=<name>`.
pub const ACTIONS: [&str; 17] = [
    "CreateTopic",
    "DeleteTopic",
    "ListTopics",
    "GetTopicAttributes",
    "SetTopicAttributes",
    "Subscribe",
    "ConfirmSubscription",
    "Unsubscribe",
    "ListSubscriptions",
    "ListSubscriptionsByTopic",
    "GetSubscriptionAttributes",
    "SetSubscriptionAttributes",
    "Publish",
    "PublishBatch",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
];

impl Request {
    pub fn decode(action: &str, input: serde_json::Value) -> SnsResult<Request> {
        fn parse<T: serde::de::DeserializeOwned>(input: serde_json::Value) -> SnsResult<T> {
            let input = if input.is_null() {
                serde_json::Value::Object(Default::default())
            } else {
                input
            };
            serde_json::from_value(input)
                .map_err(|e| SnsError::invalid(format!("Request Reason: {e}")))
        }
        use Request::*;
        Ok(match action {
            "CreateTopic" => CreateTopic(parse(input)?),
            "DeleteTopic" => DeleteTopic(parse(input)?),
            "ListTopics" => ListTopics(parse(input)?),
            "GetTopicAttributes" => GetTopicAttributes(parse(input)?),
            "SetTopicAttributes" => SetTopicAttributes(parse(input)?),
            "Subscribe" => Subscribe(parse(input)?),
            "ConfirmSubscription" => ConfirmSubscription(parse(input)?),
            "Unsubscribe" => Unsubscribe(parse(input)?),
            "ListSubscriptions" => ListSubscriptions(parse(input)?),
            "ListSubscriptionsByTopic" => ListSubscriptionsByTopic(parse(input)?),
            "GetSubscriptionAttributes" => GetSubscriptionAttributes(parse(input)?),
            "SetSubscriptionAttributes" => SetSubscriptionAttributes(parse(input)?),
            "Publish" => Publish(parse(input)?),
            "PublishBatch" => PublishBatch(parse(input)?),
            "TagResource" => TagResource(parse(input)?),
            "UntagResource" => UntagResource(parse(input)?),
            "ListTagsForResource" => ListTagsForResource(parse(input)?),
            other => {
                return Err(SnsError::new(
                    "InvalidAction",
                    400,
                    format!("The action {other} is not valid for this endpoint."),
                ));
            }
        })
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TopicArnResult {
    pub topic_arn: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTopicsResult {
    pub topics: Vec<TopicArnResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributesResult {
    pub attributes: Attributes,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscriptionArnResult {
    pub subscription_arn: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscriptionSummary {
    pub subscription_arn: String,
    pub owner: String,
    pub protocol: String,
    pub endpoint: String,
    pub topic_arn: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSubscriptionsResult {
    pub subscriptions: Vec<SubscriptionSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub message_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchErrorEntry {
    pub id: String,
    pub code: String,
    pub message: String,
    pub sender_fault: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishBatchResult {
    pub successful: Vec<PublishResult>,
    pub failed: Vec<BatchErrorEntry>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagsResult {
    pub tags: Vec<Tag>,
}
