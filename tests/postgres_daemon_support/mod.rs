//! Two `creditwatch run` replicas on one real PostgreSQL, for the
//! daemon-level tests: each replica a real process with its own listen
//! ports and state_dir, started again on the same ports after a kill;
//! OTLP/HTTP JSON exports of Claude Code `api_request` records with known
//! token counts (so every cost is exact); a sender that streams them to both
//! replicas and, like a Collector with a retry queue and two endpoints,
//! retries an export on the other endpoint until one answers 200.
//!
//! Roles are read from `/readyz` (200 `ready: writer`, 503 `not ready:
//! replica`), the way a Kubernetes Service finds the writer.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;

use crate::common::{free_port, http_within, metric, wait_for, Daemon};
use crate::otlp_support::{series, TOKEN};
use crate::postgres_support::Postgres;

pub const LEASE_SECONDS: u64 = 2;
pub const ADMIN_TOKEN: &str = "pg-admin-token-0123456789abcdef";
pub const OPENING_USD: &str = "100.00";
/// Built-in price of claude-sonnet-4-6 (src/pricing/builtin.yaml, Anthropic's
/// pricing page): $3 per million input tokens, $15 per million output tokens.
pub const MODEL: &str = "claude-sonnet-4-6";
const INPUT_TOKENS: u64 = 1000;

/// How long a role change or a catch-up may take before the test fails: far
/// above the lease, for a loaded 2-core machine.
pub const DEADLINE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Writer,
    Replica,
}

/// One `creditwatch run` process slot: its config, ports and folder stay
/// the same across kills and restarts.
pub struct Replica {
    pub name: String,
    pub dir: PathBuf,
    pub config: PathBuf,
    pub port: u16,
    pub grpc: String,
    /// The process's environment (a failpoint).
    pub env: Vec<(String, String)>,
    daemon: Option<Daemon>,
}

impl Replica {
    /// Writes the replica's config (an OTLP source for account `team`, the
    /// database's URL file, `extra` appended); does not start it.
    pub fn new(root: &Path, name: &str, url_file: &Path, extra: &str) -> Replica {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let grpc = format!("127.0.0.1:{}", free_port());
        let config = dir.join("config.yaml");
        let text = format!(
            r#"listen: "127.0.0.1:{port}"
state_dir: "{dir}/state"
accounts:
  - {{ name: team, opening_balance_usd: "{OPENING_USD}", opening_balance_as_of: "2020-01-01T00:00:00Z" }}
sources:
  - {{ name: telemetry, format: otlp, account: team, app: claude-code }}
otlp: {{ grpc_listen: "{grpc}", token_file: "{root}/otlp.token" }}
follow: {{ poll_interval: "200ms", dedup_retention: "3650d" }}
admin_token_file: "{root}/admin.token"
postgres: {{ url_file: "{url}", lease_seconds: {LEASE_SECONDS} }}
{extra}"#,
            dir = dir.display(),
            root = root.display(),
            url = url_file.display(),
        );
        std::fs::write(&config, text).unwrap();
        Replica { name: name.into(), dir, config, port, grpc, env: Vec::new(), daemon: None }
    }

    /// Starts the process and waits until it says what it is (writer or
    /// replica); returns that.
    pub fn start(&mut self) -> Role {
        assert!(self.daemon.is_none(), "{} is already running", self.name);
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let daemon = self.daemon.insert(Daemon::spawn(&self.dir, &self.config, self.port, &env));
        started(daemon)
    }

    /// SIGKILL: the machine is gone.
    pub fn kill(&mut self) {
        self.daemon.take().expect("a running replica").kill();
    }

    /// SIGSTOP / SIGCONT.
    pub fn signal(&self, signal: &str) {
        let pid = self.daemon.as_ref().expect("a running replica").child.id();
        let ok = Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status().unwrap().success();
        assert!(ok, "kill -{signal} {pid}");
    }

    /// What `/readyz` says: None when it does not answer or says neither.
    pub fn role(&self) -> Option<Role> {
        role(self.port)
    }

    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        http_within(self.port, "GET", path, &[], "", Duration::from_secs(10))
    }

    pub fn scrape(&self) -> String {
        self.get("/metrics").map(|(_, body)| body).unwrap_or_default()
    }

    pub fn metric(&self, series: &str) -> Option<String> {
        metric(&self.scrape(), series)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default()
    }

    /// Waits for `cond` within `DEADLINE`; fails with this replica's log.
    pub fn wait(&self, what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + DEADLINE;
        while !cond() {
            if Instant::now() > deadline {
                panic!("{}: waited {DEADLINE:?} for it {what}\nits log:\n{}", self.name, self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until a series shows `want`.
    pub fn wait_metric(&self, series: &str, want: &str) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let last = self.metric(series);
            if last.as_deref() == Some(want) {
                return;
            }
            if Instant::now() > deadline {
                panic!("{}: {series} want {want}, last seen {last:?} after {DEADLINE:?}\nits log:\n{}", self.name, self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// An export to this replica over OTLP/HTTP JSON: (status, body), None
    /// when the connection fails.
    pub fn export(&self, export: &Export, within: Duration) -> Option<(u16, String)> {
        post_export(self.port, export, within)
    }
}

/// What `/readyz` on `port` says: None when it does not answer or says neither.
pub fn role(port: u16) -> Option<Role> {
    match http_within(port, "GET", "/readyz", &[], "", Duration::from_secs(10))? {
        (200, body) if body.starts_with("ready: writer") => Some(Role::Writer),
        (503, body) if body.starts_with("not ready: replica") => Some(Role::Replica),
        _ => None,
    }
}

/// Waits until a just started daemon says writer or replica; fails at once
/// with its log when it exits instead.
pub fn started(daemon: &mut Daemon) -> Role {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(role) = role(daemon.port) {
            return role;
        }
        if let Ok(Some(status)) = daemon.child.try_wait() {
            panic!("creditwatch run exited ({status}) instead of starting:\n{}", daemon.log());
        }
        if Instant::now() > deadline {
            panic!("creditwatch run said neither writer nor replica within {DEADLINE:?}:\n{}", daemon.log());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A database, two replicas, the secrets files they share.
pub struct Pair {
    pub replicas: [Replica; 2],
    pub pg: Postgres,
    pub root: tempfile::TempDir,
}

impl Pair {
    /// Starts PostgreSQL and both replicas (the first one alone first, so it
    /// runs the migrations) and waits until exactly one is the writer.
    pub fn start(extra: &str) -> Pair {
        Pair::start_with(extra, |_| Vec::new())
    }

    /// `start`, each replica with the environment `env` gives it.
    pub fn start_with(extra: &str, env: impl Fn(&Replica) -> Vec<(String, String)>) -> Pair {
        let pg = Postgres::start();
        let root = tempfile::Builder::new().prefix("creditwatch-pgd").tempdir().unwrap();
        std::fs::write(root.path().join("otlp.token"), format!("{TOKEN}\n")).unwrap();
        std::fs::write(root.path().join("admin.token"), format!("{ADMIN_TOKEN}\n")).unwrap();
        let url_file = root.path().join("postgres.url");
        pg.write_url_file(&url_file);
        let mut replicas = ["a", "b"].map(|name| Replica::new(root.path(), name, &url_file, extra));
        for replica in &mut replicas {
            replica.env = env(replica);
            replica.start();
        }
        let pair = Pair { replicas, pg, root };
        pair.writer();
        pair
    }

    pub fn ports(&self) -> [u16; 2] {
        [self.replicas[0].port, self.replicas[1].port]
    }

    /// Waits until one replica says writer and the other replica; its index.
    pub fn writer(&self) -> usize {
        let mut found = None;
        let deadline = Instant::now() + DEADLINE;
        while found.is_none() {
            found = match [self.replicas[0].role(), self.replicas[1].role()] {
                [Some(Role::Writer), Some(Role::Replica)] => Some(0),
                [Some(Role::Replica), Some(Role::Writer)] => Some(1),
                [Some(Role::Writer), Some(Role::Writer)] => panic!("two replicas say writer at once"),
                _ => None,
            };
            if Instant::now() > deadline {
                panic!("no single writer after {DEADLINE:?}\nlog a:\n{}\nlog b:\n{}", self.replicas[0].log(), self.replicas[1].log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        found.unwrap()
    }

    /// Both replicas show exactly `sent` in the ledger: the request count,
    /// the spend and the balance on /metrics, the balance on the API; and the
    /// database holds each request once.
    pub fn assert_ledger(&self, sent: &Sent) {
        let (requests, spend) = series("team", MODEL);
        let balance = OPENING_USD.parse::<Decimal>().unwrap() - sent.cost + sent.topups;
        for replica in &self.replicas {
            replica.wait_metric(&requests, &sent.requests.to_string());
            replica.wait_metric(&spend, &sent.cost.normalize().to_string());
            replica.wait_metric(r#"creditwatch_balance_usd{account="team"}"#, &balance.normalize().to_string());
            let (status, body) = replica.get("/api/v1/accounts").expect("the accounts API answers");
            assert_eq!(status, 200, "{body}");
            let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
            let shown = answer["accounts"][0]["balance_usd"].as_str().unwrap_or_else(|| panic!("balance_usd as a string: {body}"));
            assert_eq!(shown.parse::<Decimal>().unwrap(), balance, "{}: /api/v1/accounts balance {shown}", replica.name);
        }
        assert_eq!(self.pg.psql("SELECT count(*) FROM creditwatch_requests"), sent.requests.to_string(), "request rows in the database");
        let history = |replica: &Replica| replica.get("/api/v1/accounts/team/history").expect("the history API answers");
        let (a, b) = (history(&self.replicas[0]), history(&self.replicas[1]));
        assert_eq!(a.0, 200, "{}", a.1);
        assert!(a == b, "the replicas show different histories:\na: {}\nb: {}", a.1, b.1);
    }
}

/// One OTLP export request: `records` Claude Code api_request records.
pub struct Export {
    pub body: String,
    pub requests: u64,
    pub cost: Decimal,
}

/// Export number `n`: request ids `req_pgd_{n}_{k}`, output tokens varying
/// with the id so that a record booked twice or lost changes the sum.
pub fn export(n: u64, records: u64) -> Export {
    let now = chrono::Utc::now();
    let nanos = now.timestamp_nanos_opt().unwrap_or_default();
    let timestamp = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut cost = Decimal::ZERO;
    let mut logs = Vec::new();
    for k in 0..records {
        let output = 100 + (n * records + k) % 97;
        cost += Decimal::from(INPUT_TOKENS) * Decimal::new(3, 6) + Decimal::from(output) * Decimal::new(15, 6);
        let attrs = [
            ("event.name", "api_request".to_string()),
            ("event.timestamp", timestamp.clone()),
            ("model", MODEL.to_string()),
            ("request_id", format!("req_pgd_{n:06}_{k}")),
            ("input_tokens", INPUT_TOKENS.to_string()),
            ("output_tokens", output.to_string()),
            ("cache_read_tokens", "0".into()),
            ("cache_creation_tokens", "0".into()),
            ("session.id", "pg-daemon-session".into()),
        ];
        let attributes: Vec<_> =
            attrs.iter().map(|(key, value)| serde_json::json!({ "key": key, "value": { "stringValue": value } })).collect();
        logs.push(serde_json::json!({
            "timeUnixNano": nanos.to_string(),
            "eventName": "claude_code.api_request",
            "body": { "stringValue": "claude_code.api_request" },
            "attributes": attributes,
        }));
    }
    let body = serde_json::json!({ "resourceLogs": [{
        "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "claude-code" } }] },
        "scopeLogs": [{ "scope": { "name": "com.anthropic.claude_code.events" }, "logRecords": logs }],
    }]});
    Export { body: body.to_string(), requests: records, cost }
}

/// POST /v1/logs (OTLP/HTTP JSON) with the OTLP token.
pub fn post_export(port: u16, export: &Export, within: Duration) -> Option<(u16, String)> {
    let auth = format!("Bearer {TOKEN}");
    let headers = [("Content-Type", "application/json"), ("Authorization", auth.as_str())];
    http_within(port, "POST", "/v1/logs", &headers, &export.body, within)
}

/// `post_export` on a thread, waiting up to two minutes for the answer (a
/// paused or held daemon answers late).
pub fn post_export_later(port: u16, export: &Export) -> JoinHandle<Option<(u16, String)>> {
    let export = Export { body: export.body.clone(), requests: export.requests, cost: export.cost };
    std::thread::spawn(move || post_export(port, &export, Duration::from_secs(120)))
}

/// A 200 answer must not reject any record (every record here is valid).
pub fn assert_all_accepted(body: &str) {
    let answer: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("a 200 answer that is not JSON ({e}): {body}"));
    let rejected = answer["partialSuccess"]["rejectedLogRecords"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .or(answer["partialSuccess"]["rejectedLogRecords"].as_u64());
    assert_eq!(rejected.unwrap_or(0), 0, "records rejected: {body}");
}

/// What a sender delivered (each answered 200 once at least).
#[derive(Debug, Default, Clone)]
pub struct Sent {
    pub exports: u64,
    pub requests: u64,
    pub cost: Decimal,
    /// Answers other than 200 ("503", "connection failed", ...) and how many.
    pub refusals: std::collections::BTreeMap<String, u64>,
    /// Exports sent again after their 200 (each must book nothing).
    pub repeats: u64,
    /// Top-ups booked through the admin API.
    pub topups: Decimal,
}

impl Sent {
    pub fn add(&mut self, export: &Export) {
        self.exports += 1;
        self.requests += export.requests;
        self.cost += export.cost;
    }
}

/// Delivers `export` to one of `ports`, starting with `first`: any answer
/// but 200 (or no answer) moves to the other port, after a short backoff,
/// until one answers 200 or `DEADLINE` passes.
/// Each refusal is counted in `refusals` by answer and in `refused`.
pub fn deliver(
    ports: [u16; 2],
    first: usize,
    export: &Export,
    refusals: &mut std::collections::BTreeMap<String, u64>,
    refused: &AtomicU64,
) {
    let deadline = Instant::now() + DEADLINE;
    let mut at = first;
    loop {
        let answer = post_export(ports[at], export, Duration::from_secs(10));
        let refusal = match answer {
            Some((200, body)) => return assert_all_accepted(&body),
            Some((status, _)) => status.to_string(),
            None => "no answer".into(),
        };
        *refusals.entry(refusal).or_default() += 1;
        refused.fetch_add(1, Ordering::SeqCst);
        assert!(Instant::now() < deadline, "no replica took an export within {DEADLINE:?}: {refusals:?}");
        at = 1 - at;
        // An exporter's backoff between retries.
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A top-up through the admin API, sent like an export: to one replica,
/// then the other, until one books it (201) or finds it booked (200).
pub fn top_up(ports: [u16; 2], id: &str, amount: &str) -> u16 {
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let body = format!(r#"{{"id":"{id}","amount_usd":"{amount}","note":"card"}}"#);
    let deadline = Instant::now() + DEADLINE;
    for at in [0, 1].into_iter().cycle() {
        match http_within(ports[at], "POST", "/api/v1/accounts/team/topups", &[("Authorization", &auth)], &body, Duration::from_secs(10)) {
            Some((status @ (200 | 201), _)) => return status,
            Some((503, _)) | None => {}
            Some((status, body)) => panic!("top-up {id}: {status} {body}"),
        }
        assert!(Instant::now() < deadline, "no replica took top-up {id} within {DEADLINE:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    unreachable!()
}

/// A thread that streams exports (numbered from `first`, `records` each) to
/// both replicas until stopped; every seventh export is sent once more after
/// its 200, as an exporter whose answer was lost would.
pub struct Sender {
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicU64>,
    refused: Arc<AtomicU64>,
    thread: JoinHandle<Sent>,
}

impl Sender {
    pub fn start(ports: [u16; 2], first: u64, records: u64) -> Sender {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(AtomicU64::new(0));
        let refused = Arc::new(AtomicU64::new(0));
        let (stop_flag, acked_count, refused_count) = (stop.clone(), acked.clone(), refused.clone());
        let thread = std::thread::spawn(move || {
            let mut sent = Sent::default();
            let mut n = first;
            while !stop_flag.load(Ordering::SeqCst) {
                let one = export(n, records);
                deliver(ports, (n % 2) as usize, &one, &mut sent.refusals, &refused_count);
                sent.add(&one);
                if n.is_multiple_of(7) {
                    deliver(ports, (n as usize + 1) % 2, &one, &mut sent.refusals, &refused_count);
                    sent.repeats += 1;
                }
                acked_count.store(sent.exports, Ordering::SeqCst);
                n += 1;
                // Pacing: a steady stream, not a benchmark.
                std::thread::sleep(Duration::from_millis(5));
            }
            sent
        });
        Sender { stop, acked, refused, thread }
    }

    /// Exports answered 200 so far.
    pub fn acked(&self) -> u64 {
        self.acked.load(Ordering::SeqCst)
    }

    /// Answers other than 200 so far.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::SeqCst)
    }

    /// Waits until `n` more exports than now are acknowledged.
    pub fn wait_for_more(&self, n: u64) {
        let want = self.acked() + n;
        wait_for(&format!("the sender to have {want} exports acknowledged"), DEADLINE, || self.acked() >= want);
    }

    /// Stops after the export in progress is delivered; what was sent.
    pub fn finish(self) -> Sent {
        self.stop.store(true, Ordering::SeqCst);
        match self.thread.join() {
            Ok(sent) => sent,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}
