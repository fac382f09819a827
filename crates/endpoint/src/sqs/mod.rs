//! SQS: the typed actions ([`model`]), their errors ([`error`]), the engine that
//! carries them out ([`engine`]) over each queue's message state ([`queue`]), and
//! the rules that need no state ([`validate`], [`attributes`], [`digest`],
//! [`receipt`]). [`dispatch`] runs one decoded request and gives back its result
//! as JSON, which either wire protocol then encodes.

pub mod attributes;
pub mod digest;
pub mod engine;
pub mod error;
pub mod model;
pub mod policy;
pub mod queue;
pub mod receipt;
pub mod validate;

pub use engine::{Ctx, Sqs};
pub use error::{ErrorKind, SqsError, SqsResult};
pub use model::Request;

use serde::Serialize;
use serde_json::Value;

fn json<T: Serialize>(value: T) -> SqsResult<Value> {
    serde_json::to_value(value).map_err(|e| SqsError::internal(format!("cannot encode: {e}")))
}

fn empty(result: SqsResult<()>) -> SqsResult<Value> {
    result.map(|()| Value::Object(Default::default()))
}

/// Runs one request; the result is the action's output shape as JSON.
pub async fn dispatch(sqs: &Sqs, ctx: &Ctx, request: Request) -> SqsResult<Value> {
    use Request::*;
    match request {
        CreateQueue(r) => json(sqs.create_queue(ctx, r).await?),
        DeleteQueue(r) => empty(sqs.delete_queue(r).await),
        GetQueueUrl(r) => json(sqs.get_queue_url(ctx, r)?),
        ListQueues(r) => json(sqs.list_queues(ctx, r)?),
        GetQueueAttributes(r) => json(sqs.get_queue_attributes(r)?),
        SetQueueAttributes(r) => empty(sqs.set_queue_attributes(r).await),
        PurgeQueue(r) => empty(sqs.purge_queue(r).await),
        SendMessage(r) => json(sqs.send_message(ctx, r).await?),
        SendMessageBatch(r) => json(sqs.send_message_batch(ctx, r).await?),
        ReceiveMessage(r) => json(sqs.receive_message(r).await?),
        DeleteMessage(r) => empty(sqs.delete_message(r).await),
        DeleteMessageBatch(r) => json(sqs.delete_message_batch(r).await?),
        ChangeMessageVisibility(r) => empty(sqs.change_message_visibility(r).await),
        ChangeMessageVisibilityBatch(r) => json(sqs.change_message_visibility_batch(r).await?),
        TagQueue(r) => empty(sqs.tag_queue(r).await),
        UntagQueue(r) => empty(sqs.untag_queue(r).await),
        ListQueueTags(r) => json(sqs.list_queue_tags(r)?),
        ListDeadLetterSourceQueues(r) => json(sqs.list_dead_letter_source_queues(ctx, r)?),
        AddPermission(r) => empty(sqs.add_permission(r).await),
        RemovePermission(r) => empty(sqs.remove_permission(r).await),
        StartMessageMoveTask(r) => json(sqs.start_message_move_task(r)?),
        ListMessageMoveTasks(r) => json(sqs.list_message_move_tasks(r)?),
        CancelMessageMoveTask(r) => json(sqs.cancel_message_move_task(r)?),
    }
}
