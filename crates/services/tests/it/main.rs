//! Integration tests of the four services: each runs in-process against the
//! project's own AWS-compatible endpoint and the real catalog, both on 127.0.0.1
//! ephemeral ports, through the AWS SDK as it would against AWS.

mod apis;
mod delivery;
mod failures;
mod restart;
mod support;
mod throughput;
