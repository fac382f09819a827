//! SNS: topics, subscriptions and fan-out. [`model`] holds the typed actions,
//! [`error`] their errors, [`engine`] the semantics, [`filter`] the filter
//! policies and [`delivery_log`] the record of every delivery. [`dispatch`] runs
//! one decoded request and gives back its result as JSON for either protocol.

pub mod delivery_log;
pub mod engine;
pub mod error;
pub mod filter;
pub mod model;
pub mod signing;

pub use engine::{Ctx, Sns};
pub use error::{SnsError, SnsResult};
pub use model::Request;

use serde::Serialize;
use serde_json::Value;

fn json<T: Serialize>(value: T) -> SnsResult<Value> {
    serde_json::to_value(value).map_err(|e| SnsError::internal(format!("cannot encode: {e}")))
}

fn empty(result: SnsResult<()>) -> SnsResult<Value> {
    result.map(|()| Value::Object(Default::default()))
}

/// Runs one request; the result is the action's output shape as JSON.
pub async fn dispatch(sns: &Sns, ctx: &Ctx, request: Request) -> SnsResult<Value> {
    use Request::*;
    match request {
        CreateTopic(r) => json(sns.create_topic(ctx, r).await?),
        DeleteTopic(r) => empty(sns.delete_topic(r).await),
        ListTopics(r) => json(sns.list_topics(r)?),
        GetTopicAttributes(r) => json(sns.get_topic_attributes(r)?),
        SetTopicAttributes(r) => empty(sns.set_topic_attributes(r).await),
        Subscribe(r) => json(sns.subscribe(ctx, r).await?),
        ConfirmSubscription(r) => json(sns.confirm_subscription(r).await?),
        Unsubscribe(r) => empty(sns.unsubscribe(r).await),
        ListSubscriptions(r) => json(sns.list_subscriptions(r)?),
        ListSubscriptionsByTopic(r) => json(sns.list_subscriptions_by_topic(r)?),
        GetSubscriptionAttributes(r) => json(sns.get_subscription_attributes(r)?),
        SetSubscriptionAttributes(r) => empty(sns.set_subscription_attributes(r).await),
        Publish(r) => json(sns.publish(r).await?),
        PublishBatch(r) => json(sns.publish_batch(r).await?),
        TagResource(r) => empty(sns.tag_resource(r).await),
        UntagResource(r) => empty(sns.untag_resource(r).await),
        ListTagsForResource(r) => json(sns.list_tags_for_resource(r)?),
    }
}
