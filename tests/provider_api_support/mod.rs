//! A provider's API played by a local server on 127.0.0.1 (a real socket):
//! each request's target (path and query) is answered by the test's route
//! function, which may change between polls; every request head is kept so
//! a test can check what was asked and with which headers.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    /// Extra header lines (`Name: value`).
    pub headers: Vec<String>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(body: &str) -> Reply {
        Reply { status: 200, headers: vec!["Content-Type: application/json".into()], body: body.as_bytes().to_vec() }
    }

    pub fn status(status: u16, headers: &[&str], body: &str) -> Reply {
        Reply { status, headers: headers.iter().map(|h| h.to_string()).collect(), body: body.as_bytes().to_vec() }
    }
}

type Route = Box<dyn Fn(&str) -> Reply + Send>;

pub struct ApiServer {
    pub port: u16,
    route: Arc<Mutex<Route>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl ApiServer {
    pub fn start(route: impl Fn(&str) -> Reply + Send + 'static) -> ApiServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the provider server");
        let port = listener.local_addr().unwrap().port();
        let route: Arc<Mutex<Route>> = Arc::new(Mutex::new(Box::new(route)));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (r, q) = (route.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (r, q) = (r.clone(), q.clone());
                std::thread::spawn(move || serve(stream, &r, &q));
            }
        });
        ApiServer { port, route, requests }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set(&self, route: impl Fn(&str) -> Reply + Send + 'static) {
        *self.route.lock().unwrap() = Box::new(route);
    }

    /// The request heads received so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// The targets (path and query) asked so far.
    pub fn targets(&self) -> Vec<String> {
        self.requests().iter().filter_map(|h| h.split(' ').nth(1).map(str::to_string)).collect()
    }
}

fn serve(mut stream: TcpStream, route: &Mutex<Route>, requests: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let target = head.split(' ').nth(1).unwrap_or("").to_string();
    requests.lock().unwrap().push(head);
    let reply = (route.lock().unwrap())(&target);
    let mut out = format!("HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n", reply.status, reply.body.len());
    for h in reply.headers {
        out.push_str(&h);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.write_all(&reply.body);
}

/// A documented or captured answer from `../shared/real/provider-examples/`.
pub fn example(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../shared/real/provider-examples/{path}", env!("CARGO_MANIFEST_DIR"))).expect("a provider example")
}

/// One Anthropic cost report page: `(day, [(model, cents)])` buckets and the next page's cursor.
pub fn cost_page(buckets: &[(&str, &[(&str, &str)])], next: Option<&str>) -> String {
    let buckets: Vec<String> = buckets
        .iter()
        .map(|(day, results)| {
            let next_day = (chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap() + chrono::Duration::days(1)).to_string();
            let results: Vec<String> = results
                .iter()
                .map(|(model, cents)| {
                    format!(
                        r#"{{"amount":"{cents}","currency":"USD","description":"{model} usage","cost_type":"tokens","context_window":"0-200k","model":"{model}","service_tier":"standard","token_type":"uncached_input_tokens","workspace_id":null}}"#
                    )
                })
                .collect();
            format!(r#"{{"starting_at":"{day}T00:00:00Z","ending_at":"{next_day}T00:00:00Z","results":[{}]}}"#, results.join(","))
        })
        .collect();
    let next = next.map_or("null".to_string(), |n| format!("\"{n}\""));
    format!(r#"{{"data":[{}],"has_more":{},"next_page":{next}}}"#, buckets.join(","), next != "null")
}

/// A LiteLLM spend-log line with its stated cost (what creditwatch books as is).
pub fn litellm_line(id: &str, model: &str, cost: &str, at: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        r#"{{"id": "{id}", "call_type": "acompletion", "response_cost": {cost}, "status": "success", "total_tokens": 10, "prompt_tokens": 5, "completion_tokens": 5, "startTime": {}, "endTime": {}, "model": "{model}", "custom_llm_provider": "anthropic", "cache_hit": false}}"#,
        at.timestamp(),
        at.timestamp() + 1
    ) + "\n"
}
