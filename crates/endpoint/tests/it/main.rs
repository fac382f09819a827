//! The endpoint over real HTTP, in-process, on a virtual clock: AWS's SQS
//! semantics through both wire protocols, durability across restarts, errors and
//! the admin routes.

mod admin;
mod concurrency;
mod console;
mod delay_retention;
mod dlq;
mod durability;
mod errors;
mod fifo;
mod long_poll;
mod messages;
mod protocols;
mod queues;
mod s3;
mod sns;
mod support;
mod visibility;
