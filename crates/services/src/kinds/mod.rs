//! The four services' own rules, one file each: what an event changes in the
//! service's state and the routes that show it. Receiving, idempotency, catalog
//! look-ups and saving are [`crate::service`]'s; nothing here does I/O.

pub mod recommendation;
pub mod search;
pub mod streaming;
pub mod user;
