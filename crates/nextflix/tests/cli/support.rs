//! Running `nextflix` as a child process and finding the address it listens on.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub fn nextflix() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nextflix"))
}

/// Runs `nextflix ARGS` to completion, returning (success, stdout, stderr).
pub fn run(args: &[&str]) -> (bool, String, String) {
    let out = nextflix().args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A running server process; killed when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub logs: mpsc::Receiver<String>,
}

impl Server {
    /// Starts `nextflix <args> --bind 127.0.0.1:0 --log-format json` and waits
    /// for the log line that carries its URL.
    pub fn start(args: &[&str], env: &[(&str, &Path)]) -> Server {
        let mut command = nextflix();
        command
            .args(args)
            .args(["--bind", "127.0.0.1:0", "--log-format", "json"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, logs) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = Vec::new();
        let url = loop {
            let line = logs
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("no URL logged; logs so far: {seen:#?}"));
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                && let Some(url) = v["url"].as_str()
            {
                break url.to_owned();
            }
            seen.push(line);
        };
        Server { child, url, logs }
    }

    /// Sends SIGTERM (or SIGKILL) and waits for the exit.
    pub fn signal(&mut self, signal: &str) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `nextflix up` as a process, killed on drop, with the URLs it printed.
pub struct Up {
    pub child: Child,
    pub urls: std::collections::BTreeMap<String, String>,
    pub logs: mpsc::Receiver<String>,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Up {
    /// Everything logged so far (for failure messages).
    pub fn logs(&self) -> Vec<String> {
        self.logs.try_iter().collect()
    }
}

/// Starts `nextflix --log-format json up` on ephemeral ports (plus `extra` flags)
/// and waits for the URLs it prints once every part is ready: `web`, `catalog`,
/// `endpoint` and the four services by name.
pub fn start_up(state_dir: &Path, extra: &[&str]) -> Up {
    let mut child = nextflix()
        .args(["--log-format", "json", "up"])
        .args([
            "--web-bind",
            "127.0.0.1:0",
            "--catalog-bind",
            "127.0.0.1:0",
            "--endpoint-bind",
            "127.0.0.1:0",
            "--services-port",
            "0",
        ])
        .args(extra)
        .arg("--state-dir")
        .arg(state_dir)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("REDIS_URL")
        .env_remove("NEXTFLIX_AWS")
        .env_remove("NEXTFLIX_TOPOLOGY")
        .env_remove("CATALOG_DATA_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, logs) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let stdout = child.stdout.take().unwrap();
    let (url_tx, url_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut urls = std::collections::BTreeMap::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["Web", url, ..] => {
                    urls.insert("web".to_owned(), (*url).to_owned());
                }
                ["Catalog", "API", url, ..] => {
                    urls.insert("catalog".to_owned(), (*url).to_owned());
                }
                ["AWS", "endpoint", url, ..] => {
                    urls.insert("endpoint".to_owned(), (*url).to_owned());
                }
                [
                    kind @ ("search" | "recommendation" | "streaming" | "user"),
                    url,
                ] => {
                    urls.insert((*kind).to_owned(), (*url).to_owned());
                }
                ["Ctrl-C", ..] => {
                    let _ = url_tx.send(urls.clone());
                }
                _ => {}
            }
        }
    });
    let mut up = Up {
        child,
        urls: Default::default(),
        logs,
    };
    match url_rx.recv_timeout(Duration::from_secs(60)) {
        Ok(urls) => up.urls = urls,
        Err(_) => panic!("nextflix up did not print its URLs; logs: {:#?}", up.logs()),
    }
    up
}
