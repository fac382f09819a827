//! SQS: the typed actions ([`model`]), their errors ([`error`]), the engine that
//! carries them out ([`engine`]) over each queue's message state ([`queue`]), and
//! the rules that need no state ([`validate`], [`attributes`], [`digest`],
//! [`receipt`]). [`dispatch`] runs one decoded request and gives back its result
//! encoded for the wire protocol that asked ([`Output`]).

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

use crate::protocol::Wire;

/// An action's result: for the JSON protocol, the JSON bytes serialized straight
/// from the typed output; for the Query protocol, a JSON tree that it renders
/// as XML.
#[derive(Debug)]
pub enum Output {
    Json(Vec<u8>),
    Tree(Value),
}

fn encode<T: Serialize>(wire: Wire, value: T) -> SqsResult<Output> {
    let failed = |e: serde_json::Error| SqsError::internal(format!("cannot encode: {e}"));
    match wire {
        Wire::Json => serde_json::to_vec(&value).map(Output::Json).map_err(failed),
        Wire::Query => serde_json::to_value(value)
            .map(Output::Tree)
            .map_err(failed),
    }
}

fn empty(wire: Wire, result: SqsResult<()>) -> SqsResult<Output> {
    result.map(|()| match wire {
        Wire::Json => Output::Json(b"{}".to_vec()),
        Wire::Query => Output::Tree(Value::Object(Default::default())),
    })
}

/// Runs one request; the result is the action's output shape, encoded for `wire`.
pub async fn dispatch(sqs: &Sqs, ctx: &Ctx, wire: Wire, request: Request) -> SqsResult<Output> {
    use Request::*;
    match request {
        CreateQueue(r) => encode(wire, sqs.create_queue(ctx, r).await?),
        DeleteQueue(r) => empty(wire, sqs.delete_queue(r).await),
        GetQueueUrl(r) => encode(wire, sqs.get_queue_url(ctx, r)?),
        ListQueues(r) => encode(wire, sqs.list_queues(ctx, r)?),
        GetQueueAttributes(r) => encode(wire, sqs.get_queue_attributes(r)?),
        SetQueueAttributes(r) => empty(wire, sqs.set_queue_attributes(r).await),
        PurgeQueue(r) => empty(wire, sqs.purge_queue(r).await),
        SendMessage(r) => encode(wire, sqs.send_message(ctx, r).await?),
        SendMessageBatch(r) => encode(wire, sqs.send_message_batch(ctx, r).await?),
        ReceiveMessage(r) => encode(wire, sqs.receive_message(r).await?),
        DeleteMessage(r) => empty(wire, sqs.delete_message(r).await),
        DeleteMessageBatch(r) => encode(wire, sqs.delete_message_batch(r).await?),
        ChangeMessageVisibility(r) => empty(wire, sqs.change_message_visibility(r).await),
        ChangeMessageVisibilityBatch(r) => {
            encode(wire, sqs.change_message_visibility_batch(r).await?)
        }
        TagQueue(r) => empty(wire, sqs.tag_queue(r).await),
        UntagQueue(r) => empty(wire, sqs.untag_queue(r).await),
        ListQueueTags(r) => encode(wire, sqs.list_queue_tags(r)?),
        ListDeadLetterSourceQueues(r) => encode(wire, sqs.list_dead_letter_source_queues(ctx, r)?),
        AddPermission(r) => empty(wire, sqs.add_permission(r).await),
        RemovePermission(r) => empty(wire, sqs.remove_permission(r).await),
        StartMessageMoveTask(r) => encode(wire, sqs.start_message_move_task(r)?),
        ListMessageMoveTasks(r) => encode(wire, sqs.list_message_move_tasks(r)?),
        CancelMessageMoveTask(r) => encode(wire, sqs.cancel_message_move_task(r)?),
    }
}
