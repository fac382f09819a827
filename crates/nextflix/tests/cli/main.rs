//! Tests of the `nextflix` binary as a user runs it: real processes, real signals.

mod catalog;
mod deploy;
mod e2e;
mod endpoint;
mod moto;
mod service;
mod support;
mod up;
mod web;
