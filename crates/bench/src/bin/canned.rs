//! `canned-server ADDR BODY_FILE [CONTENT_TYPE]`: answers every HTTP request with
//! the bytes of BODY_FILE and status 200. The ceiling for a benchmark: a server
//! that does no work but HTTP.
//!
//! `canned-server ADDR --sqs`: the same for the SQS JSON protocol: a fixed
//! SendMessage answer, or a fixed SendMessageBatch answer (ten entries, ids `0` to
//! `9`) when `X-Amz-Target` ends with `SendMessageBatch` (and a queue URL to
//! `CreateQueue`), as
//! `application/x-amz-json-1.0`. Only the header is looked at; the body is read and
//! dropped, as a real server must read it.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// What the server answers.
#[derive(Clone)]
enum Canned {
    /// The same bytes to everything.
    Fixed { body: Bytes, content_type: String },
    /// SQS JSON: a SendMessage, SendMessageBatch or CreateQueue answer, by target.
    Sqs {
        send: Bytes,
        batch: Bytes,
        create: Bytes,
    },
}

const SQS_CONTENT_TYPE: &str = "application/x-amz-json-1.0";

fn sqs_send_answer() -> Bytes {
    Bytes::from_static(
        br#"{"MD5OfMessageBody":"6a1559560f67c5e7a7d8ad3c1e1b5d4f","MessageId":"5fea7756-0ea4-451a-a703-a558b933e274"}"#,
    )
}

fn sqs_batch_answer() -> Bytes {
    let entries: Vec<String> = (0..10)
        .map(|i| {
            format!(
                r#"{{"Id":"{i}","MD5OfMessageBody":"6a1559560f67c5e7a7d8ad3c1e1b5d4f","MessageId":"5fea7756-0ea4-451a-a703-a558b933e27{i}"}}"#
            )
        })
        .collect();
    Bytes::from(format!(r#"{{"Successful":[{}]}}"#, entries.join(",")))
}

impl Canned {
    async fn answer(self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let (body, content_type) = match self {
            Canned::Fixed { body, content_type } => (body, content_type),
            Canned::Sqs {
                send,
                batch,
                create,
            } => {
                let target = req
                    .headers()
                    .get("x-amz-target")
                    .map(|t| t.as_bytes().to_vec())
                    .unwrap_or_default();
                let _ = req.into_body().collect().await;
                let body = if target.ends_with(b"SendMessageBatch") {
                    batch
                } else if target.ends_with(b"CreateQueue") {
                    create
                } else {
                    send
                };
                (body, SQS_CONTENT_TYPE.to_owned())
            }
        };
        Response::builder()
            .header("content-type", content_type.as_str())
            .body(Full::new(body))
            .expect("static response parts are valid")
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(file)) = (args.next(), args.next()) else {
        eprintln!("usage: canned-server ADDR BODY_FILE [CONTENT_TYPE] | canned-server ADDR --sqs");
        std::process::exit(2);
    };
    let canned = if file == "--sqs" {
        Canned::Sqs {
            send: sqs_send_answer(),
            batch: sqs_batch_answer(),
            create: Bytes::from_static(br#"{"QueueUrl":"http://127.0.0.1/000000000000/canned"}"#),
        }
    } else {
        Canned::Fixed {
            body: Bytes::from(std::fs::read(&file)?),
            content_type: args.next().unwrap_or_else(|| "application/json".into()),
        }
    };
    let listener = TcpListener::bind(&addr).await?;
    eprintln!("canned-server on {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let canned = canned.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                let canned = canned.clone();
                async move { Ok::<_, Infallible>(canned.answer(req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
