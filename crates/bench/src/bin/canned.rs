//! `canned-server ADDR BODY_FILE [CONTENT_TYPE]`: answers every HTTP request with
//! the bytes of BODY_FILE and status 200. The ceiling for a benchmark: a server
//! that does no work but HTTP.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(file)) = (args.next(), args.next()) else {
        eprintln!("usage: canned-server ADDR BODY_FILE [CONTENT_TYPE]");
        std::process::exit(2);
    };
    let content_type = args.next().unwrap_or_else(|| "application/json".into());
    let body = Bytes::from(std::fs::read(&file)?);
    let listener = TcpListener::bind(&addr).await?;
    eprintln!("canned-server on {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let body = body.clone();
        let content_type = content_type.clone();
        tokio::spawn(async move {
            let service = service_fn(move |_req: Request<hyper::body::Incoming>| {
                let response = Response::builder()
                    .header("content-type", content_type.as_str())
                    .body(Full::new(body.clone()))
                    .expect("static response parts are valid");
                async move { Ok::<_, Infallible>(response) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
