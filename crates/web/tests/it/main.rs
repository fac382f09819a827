//! Integration tests of the web frontend: the real catalog in-process, the
//! frontend on 127.0.0.1, and real peers (moto's server, redis-server, headless
//! Chromium through chromedriver). One test binary; each module covers one area.

mod api;
mod batching;
mod browser;
mod sessions;
mod support;
