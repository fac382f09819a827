//! `nextflix service KIND` as a process: it explains itself, refuses an unknown
//! kind, is not ready while its queue cannot be reached, and stops on SIGTERM.

use crate::support::{Server, run};

#[test]
fn service_explains_itself_and_refuses_unknown_kinds() {
    let (ok, out, _) = run(&["service", "--help"]);
    assert!(ok);
    for word in ["search", "recommendation", "streaming", "user"] {
        assert!(out.contains(word), "{word} missing from --help: {out}");
    }
    let (ok, out, _) = run(&["service", "user", "--help"]);
    assert!(ok);
    for flag in [
        "--bind",
        "--queue-url",
        "--catalog-url",
        "--workers",
        "--state-dir",
    ] {
        assert!(out.contains(flag), "{flag} missing from --help: {out}");
    }
    let (ok, _, err) = run(&["service", "billing", "--help"]);
    assert!(!ok, "an unknown kind is refused");
    assert!(err.contains("billing"), "{err}");
}

#[test]
fn a_service_whose_queue_is_unreachable_is_not_ready_and_stops_on_sigterm() {
    // A port nothing listens on: the queue cannot be reached.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let state = tempfile::tempdir().unwrap();
    let queue = format!("http://127.0.0.1:{port}/000000000000/user");
    let mut server = Server::start(
        &[
            "service",
            "user",
            "--queue-url",
            &queue,
            "--state-dir",
            state.path().to_str().unwrap(),
        ],
        &[],
    );
    let ready = status_of(&format!("{}/ready", server.url));
    assert_eq!(ready, 503, "not ready while the queue cannot be reached");
    let status = server.signal("TERM");
    assert!(status.success(), "{status:?}");
}

/// The status of a GET, with a plain TCP client (the test binary's HTTP client is async).
fn status_of(url: &str) -> u16 {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}
