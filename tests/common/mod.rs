//! Shared by the integration tests: start the real binary on a temp
//! directory, talk to it over a real socket, write log lines like an agent.
#![allow(dead_code)]

pub mod chromium;
pub mod fixture;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_creditwatch");

/// A free loopback port (bound and released; the daemon binds it next).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Waits for `cond` with a deadline; polls every 20 ms. Never a fixed sleep.
pub fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

/// One HTTP/1.1 request over a real socket: (status, body).
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Option<(u16, String)> {
    http_within(port, method, path, headers, body, Duration::from_secs(10))
}

/// `http`, waiting up to `timeout` for the answer (a paused daemon answers late).
pub fn http_within(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str, timeout: Duration) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(body) } else { body.to_string() };
    Some((status, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// The value of one series in a scrape, as written.
pub fn metric(scrape: &str, series: &str) -> Option<String> {
    scrape.lines().find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')).map(str::to_string))
}

pub struct Daemon {
    pub child: Child,
    pub port: u16,
    pub dir: PathBuf,
    pub config: PathBuf,
}

impl Daemon {
    /// Writes `config` (with `{port}` and `{dir}` filled in) and starts the
    /// daemon; waits until /readyz says ready.
    pub fn start(dir: &Path, config: &str) -> Daemon {
        let port = free_port();
        let text = config.replace("{port}", &port.to_string()).replace("{dir}", &dir.display().to_string());
        let path = dir.join("config.yaml");
        std::fs::write(&path, text).expect("write config");
        Daemon::start_with(dir, &path, port)
    }

    pub fn start_with(dir: &Path, config: &Path, port: u16) -> Daemon {
        Daemon::start_env(dir, config, port, &[])
    }

    /// `start_with`, with environment variables for the daemon.
    pub fn start_env(dir: &Path, config: &Path, port: u16, env: &[(&str, &str)]) -> Daemon {
        let d = Daemon::spawn(dir, config, port, env);
        wait_for("the daemon to be ready", Duration::from_secs(30), || d.get("/readyz").is_some_and(|(s, _)| s == 200));
        d
    }

    /// Starts the daemon without waiting for it (a replica is never "ready").
    pub fn spawn(dir: &Path, config: &Path, port: u16, env: &[(&str, &str)]) -> Daemon {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("daemon.log")).expect("log file");
        let child = Command::new(BIN)
            .args(["run", "--config"])
            .arg(config)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start creditwatch");
        Daemon { child, port, dir: dir.to_path_buf(), config: config.to_path_buf() }
    }

    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        http(self.port, "GET", path, &[], "")
    }

    pub fn scrape(&self) -> String {
        self.get("/metrics").map(|(_, b)| b).unwrap_or_default()
    }

    /// Waits until a series shows `want`.
    pub fn wait_metric(&self, series: &str, want: &str) {
        let mut last = None;
        let deadline = Duration::from_secs(20);
        let start = Instant::now();
        while start.elapsed() < deadline {
            last = metric(&self.scrape(), series);
            if last.as_deref() == Some(want) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{series}: want {want}, last seen {last:?}\nlog:\n{}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default()
    }

    /// SIGTERM and wait; returns the exit code and how long it took.
    pub fn stop(mut self) -> (Option<i32>, Duration) {
        let start = Instant::now();
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let status = self.child.wait().expect("wait for creditwatch");
        (status.code(), start.elapsed())
    }

    /// SIGKILL: a crash.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An assistant line as Claude Code writes it: haiku 4.5, 1000 input and
/// `output` output tokens -> $0.001 + output * $0.000005.
pub fn assistant_line(message_id: &str, output: u64, timestamp: &str) -> String {
    format!(
        concat!(
            r#"{{"parentUuid":null,"isSidechain":false,"userType":"external","cwd":"/w","sessionId":"s","version":"2.0.1","#,
            r#""message":{{"id":"{id}","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001","content":[{{"type":"text","text":"ok"}}],"#,
            r#""usage":{{"input_tokens":1000,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":{out}}}}},"#,
            r#""requestId":"req_{id}","type":"assistant","uuid":"u-{id}","timestamp":"{ts}"}}"#,
            "\n"
        ),
        id = message_id,
        out = output,
        ts = timestamp
    )
}

pub fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("open for append");
    f.write_all(text.as_bytes()).expect("append");
    f.sync_data().expect("sync");
}

pub const SERIES_SPEND: &str = r#"creditwatch_spend_usd_total{account="personal",app="claude-code",model="claude-haiku-4-5-20251001"}"#;
pub const SERIES_REQUESTS: &str = r#"creditwatch_requests_total{account="personal",app="claude-code",model="claude-haiku-4-5-20251001"}"#;

/// A config following `{dir}/projects/**/*.jsonl` with a fast poll.
pub const FOLLOW_CONFIG: &str = r#"
listen: "127.0.0.1:{port}"
state_dir: "{dir}/state"
accounts:
  - name: personal
    opening_balance_usd: "50.00"
    opening_balance_as_of: "2020-01-01T00:00:00Z"
sources:
  - name: claude-code
    format: claude_code
    paths: ["{dir}/projects/**/*.jsonl"]
    account: personal
    app: claude-code
follow:
  poll_interval: "200ms"
"#;

/// Copies a folder tree (a fixture's `projects/`) into another.
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
