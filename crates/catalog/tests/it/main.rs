//! Integration tests of the catalog: a real server on 127.0.0.1 and a real HTTP
//! client. One test binary; each module covers one area.

mod default_catalog;
mod routes;
mod shared_data;
mod support;
