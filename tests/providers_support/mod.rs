//! A provider's API played by a local server on 127.0.0.1 (a real socket):
//! it answers each request with the current `Answer` and remembers what it
//! was asked (so a test can check the headers it got).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone)]
pub enum Answer {
    /// status, extra header lines (`Name: value`), body
    Http(u16, Vec<String>, Vec<u8>),
    /// Reads the request and never answers.
    Silent,
}

impl Answer {
    pub fn json(body: &str) -> Answer {
        Answer::Http(200, vec!["Content-Type: application/json".into()], body.as_bytes().to_vec())
    }
}

pub struct ProviderServer {
    pub port: u16,
    answer: Arc<Mutex<Answer>>,
    requests: Arc<Mutex<Vec<String>>>,
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl ProviderServer {
    pub fn start(first: Answer) -> ProviderServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the provider server");
        let port = listener.local_addr().unwrap().port();
        let answer = Arc::new(Mutex::new(first));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let held = Arc::new(Mutex::new(Vec::new()));
        let (a, r, h) = (answer.clone(), requests.clone(), held.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (a, r, h) = (a.clone(), r.clone(), h.clone());
                std::thread::spawn(move || serve(stream, &a, &r, &h));
            }
        });
        ProviderServer { port, answer, requests, held }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    /// The request heads received so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(mut stream: TcpStream, answer: &Mutex<Answer>, requests: &Mutex<Vec<String>>, held: &Mutex<Vec<TcpStream>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    requests.lock().unwrap().push(String::from_utf8_lossy(&head).into_owned());
    let answer = answer.lock().unwrap().clone();
    match answer {
        Answer::Silent => held.lock().unwrap().push(stream),
        Answer::Http(status, headers, body) => {
            let mut out = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
            for h in headers {
                out.push_str(&h);
                out.push_str("\r\n");
            }
            out.push_str("\r\n");
            let _ = stream.write_all(out.as_bytes());
            let _ = stream.write_all(&body);
        }
    }
}

/// The verbatim capture of 2026-07-18, with its reset times moved to 2099
/// so the windows have not reset when the test runs (the figures are the
/// capture's own).
pub fn captured() -> String {
    let text = std::fs::read_to_string("../shared/real/provider-examples/anthropic/oauth_usage.observed-2026-07-18.json")
        .expect("the captured answer");
    text.replace("2026-07-", "2099-07-")
}

/// The 401 body the endpoint gives for an invalid or expired token, in the
/// shape the captures' README records (`type` and `error.type` are
/// Anthropic's; the message text is ours).
pub const UNAUTHORIZED_BODY: &str = r#"{"type":"error","error":{"type":"authentication_error","message":"Invalid bearer token"}}"#;
