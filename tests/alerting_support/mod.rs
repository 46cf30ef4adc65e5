//! A real HTTP receiver on 127.0.0.1 for the alerting tests: it records
//! every request and answers from a script (status codes, or hang forever).

#![allow(dead_code)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// How the receiver answers one request.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    Status(u16),
    /// Read the request, never answer.
    Hang,
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub content_type: String,
    pub body: serde_json::Value,
}

struct Shared {
    script: Mutex<VecDeque<Reply>>,
    /// Answer once the script is used up.
    then: Reply,
    requests: Mutex<Vec<Recorded>>,
    changed: Notify,
}

pub struct TestReceiver {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl TestReceiver {
    /// Answers `script` in order, then 200 to everything.
    pub async fn start(script: Vec<Reply>) -> TestReceiver {
        TestReceiver::start_then(script, Reply::Status(200)).await
    }

    pub async fn start_then(script: Vec<Reply>, then: Reply) -> TestReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared { script: Mutex::new(script.into()), then, requests: Mutex::new(Vec::new()), changed: Notify::new() });
        let server = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = server.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| answer(req, shared.clone()));
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        TestReceiver { addr, shared }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived; fails the test after `within`.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Recorded> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let got = self.requests();
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("waited {within:?} for {n} requests at {}, got {}: {got:#?}", self.addr, got.len());
            }
        }
    }
}

async fn answer(req: Request<hyper::body::Incoming>, shared: Arc<Shared>) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let bytes = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    let reply = shared.script.lock().unwrap().pop_front().unwrap_or(shared.then);
    shared.requests.lock().unwrap().push(Recorded { method, path, content_type, body });
    shared.changed.notify_waiters();
    match reply {
        Reply::Hang => std::future::pending().await,
        Reply::Status(code) => {
            let mut response = Response::new(Full::new(Bytes::from_static(b"{}")));
            *response.status_mut() = StatusCode::from_u16(code).unwrap();
            Ok(response)
        }
    }
}

/// Polls `check` until it holds; fails the test after `within`.
pub async fn eventually(within: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "waited {within:?} for: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
