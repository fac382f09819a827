//! Tools for the benchmarks in `bench/`. Nothing here is part of Nextflix itself.
//!
//! - `canned-server`: answers every request with the same bytes, as fast as hyper
//!   can, to measure what this machine and the load client can do at most.
