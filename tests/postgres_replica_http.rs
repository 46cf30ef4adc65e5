//! Replicas on one PostgreSQL behind a balancer of connections (a Kubernetes
//! Service routes each new TCP connection to a Ready pod, then leaves it
//! there). A replica that does not write answers an OTLP/HTTP export 503 and
//! closes the HTTP/1.1 connection, so the exporter's retry opens a new one,
//! which the balancer sends to the writer of the moment; without the close an
//! exporter whose connection reached a writer that later lost its lease would
//! retry on it for good. The writer keeps its connections open. And a writer
//! that steps down (paused past its lease, then resumed) sends GOAWAY on its
//! HTTP/2 connections, which have no `Connection: close` (gRPC exporters);
//! a replica that does not write closes the gRPC connections it accepts.

mod common;
mod otlp_support;
mod postgres_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{free_port, wait_for, Daemon};
use otlp_support::{FIXTURE_JSON, TOKEN};
use postgres_support::Postgres;

/// A replica's config: an `otlp` source, its own ports and state_dir, the
/// shared database.
fn config(dir: &Path, url_file: &Path, port: u16) -> PathBuf {
    std::fs::write(dir.join("otlp.token"), format!("{TOKEN}\n")).unwrap();
    let text = format!(
        r#"
listen: "127.0.0.1:{port}"
state_dir: "{dir}/state"
postgres: {{ url_file: "{url}", lease_seconds: 2 }}
accounts:
  - {{ name: team, opening_balance_usd: "100.00", opening_balance_as_of: "2020-01-01T00:00:00Z" }}
sources:
  - {{ name: telemetry, format: otlp, account: team, app: claude-code }}
otlp: {{ grpc_listen: "127.0.0.1:{grpc}", token_file: "{dir}/otlp.token" }}
"#,
        dir = dir.display(),
        url = url_file.display(),
        grpc = free_port(),
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts a daemon without waiting for readiness (a replica is never ready).
fn spawn(dir: &Path, config: &Path, port: u16) -> Daemon {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("daemon.log")).unwrap();
    let child = Command::new(common::BIN).args(["run", "--config"]).arg(config).stdout(Stdio::null()).stderr(log).spawn().unwrap();
    let d = Daemon { child, port, dir: dir.to_path_buf(), config: config.to_path_buf() };
    wait_for("the daemon to answer", Duration::from_secs(30), || d.get("/readyz").is_some());
    d
}

/// One OTLP/JSON export on an open keep-alive connection: the status and
/// the response's headers (names lower-cased).
fn export(reader: &mut BufReader<TcpStream>, body: &str) -> (u16, Vec<(String, String)>) {
    let request = format!(
        "POST /v1/logs HTTP/1.1\r\nHost: creditwatch\r\nContent-Type: application/json\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    reader.get_mut().write_all(request.as_bytes()).unwrap();
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status =
        status_line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("status line {status_line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap_or_else(|| panic!("header line {line:?}"));
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let length: usize = headers.iter().find(|(n, _)| n == "content-length").map(|(_, v)| v.parse().unwrap()).expect("a Content-Length");
    let mut answer = vec![0; length];
    reader.read_exact(&mut answer).unwrap();
    (status, headers)
}

fn connect(port: u16) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    // A deadline for every read: a connection the server should close and
    // does not fails the test here instead of hanging it.
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    BufReader::new(stream)
}

/// A database and two daemons on it: the first to start writes.
struct Pair {
    // Dropped after the daemons (fields drop in order).
    writer: Daemon,
    replica: Daemon,
    _dirs: [tempfile::TempDir; 3],
    _pg: Postgres,
}

impl Pair {
    fn start() -> Pair {
        let pg = Postgres::start();
        let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
        let url_file = dirs[2].path().join("postgres.url");
        pg.write_url_file(&url_file);
        let ports = [free_port(), free_port()];
        let writer = spawn(dirs[0].path(), &config(dirs[0].path(), &url_file, ports[0]), ports[0]);
        wait_for("the first daemon to write", Duration::from_secs(30), || writer.get("/readyz").is_some_and(|(s, _)| s == 200));
        let replica = spawn(dirs[1].path(), &config(dirs[1].path(), &url_file, ports[1]), ports[1]);
        Pair { writer, replica, _dirs: dirs, _pg: pg }
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[test]
fn a_replica_closes_the_connection_of_its_503_and_the_writer_keeps_its_own() {
    let pair = Pair::start();
    let (writer, replica) = (&pair.writer, &pair.replica);
    assert_eq!(replica.get("/readyz").map(|(s, _)| s), Some(503));
    let body = std::fs::read_to_string(FIXTURE_JSON).unwrap();

    // The replica: 503, retry after a second, and the connection closed.
    let mut conn = connect(replica.port);
    let (status, headers) = export(&mut conn, &body);
    assert_eq!(status, 503, "{headers:?}");
    assert_eq!(header(&headers, "retry-after"), Some("1"), "{headers:?}");
    assert_eq!(header(&headers, "connection"), Some("close"), "{headers:?}");
    let mut rest = Vec::new();
    let read = conn.read_to_end(&mut rest).expect("the replica closes the connection (not a read timeout)");
    assert_eq!(read, 0, "nothing after the answer, then the end of the stream");

    // The writer: the same export twice on one connection, both booked
    // (the second books nothing new), the connection kept.
    let mut conn = connect(writer.port);
    for round in 0..2 {
        let (status, headers) = export(&mut conn, &body);
        assert_eq!(status, 200, "round {round}: {headers:?}\n{}", writer.log());
        assert_eq!(header(&headers, "connection"), None, "round {round}: {headers:?}");
    }
}

fn signal(d: &Daemon, name: &str) {
    let ok = Command::new("kill").args([&format!("-{name}"), &d.child.id().to_string()]).status().unwrap().success();
    assert!(ok, "kill -{name}");
}

/// The writer paused past its lease (2 s): the replica takes over; resumed,
/// the old writer finds its lease gone and steps down.
fn pause_past_the_lease(writer: &Daemon, replica: &Daemon) {
    signal(writer, "STOP");
    wait_for("the replica to take over", Duration::from_secs(30), || replica.get("/readyz").is_some_and(|(s, _)| s == 200));
    signal(writer, "CONT");
    wait_for("the old writer to step down", Duration::from_secs(30), || {
        writer.get("/readyz").is_some_and(|(s, b)| s == 503 && b.starts_with("not ready: replica"))
    });
}

/// HTTP/2 (gRPC's transport, and OTLP/HTTP over TLS) has no `Connection:
/// close`, and hyper keeps an idle HTTP/2 connection open for good: a writer
/// that steps down sends GOAWAY on the connections it holds, so clients
/// reconnect (through the balancer, to the new writer).
#[test]
fn a_writer_that_steps_down_sends_goaway_on_its_http2_connections() {
    use http_body_util::Empty;
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let pair = Pair::start();
    let (writer, replica) = (&pair.writer, &pair.replica);

    // A client's HTTP/2 connection to the writer (prior knowledge, no TLS),
    // answered once; its task ends when the server ends the connection.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_sender, connection) = runtime.block_on(async {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", writer.port)).await.unwrap();
        let (mut sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await.expect("an HTTP/2 handshake");
        let connection = tokio::spawn(connection);
        let request = hyper::Request::get(format!("http://127.0.0.1:{}/healthz", writer.port)).body(Empty::<bytes::Bytes>::new()).unwrap();
        let answer = sender.send_request(request).await.expect("an answer over HTTP/2");
        assert_eq!(answer.status(), 200);
        // The client holds on to the connection (dropping the sender would
        // end it from this side), as an exporter does.
        (sender, connection)
    });
    pause_past_the_lease(writer, replica);
    let ended = runtime.block_on(async { tokio::time::timeout(Duration::from_secs(10), connection).await });
    assert!(
        matches!(ended, Ok(Ok(Ok(())))),
        "the old writer ends the HTTP/2 connection with GOAWAY (not a timeout, not an error): {ended:?}\n{}",
        writer.log()
    );
}

/// The `otlp.grpc_listen` port a config names.
fn grpc_port(config: &Path) -> u16 {
    let text = std::fs::read_to_string(config).unwrap();
    let at = text.find("grpc_listen: \"127.0.0.1:").expect("a grpc_listen") + "grpc_listen: \"127.0.0.1:".len();
    text[at..].split('"').next().unwrap().parse().unwrap()
}

/// The OTLP/gRPC listener takes only writes: a replica that does not write
/// closes each connection it accepts, so a gRPC exporter (which would keep
/// one HTTP/2 connection for good) gets UNAVAILABLE and connects again,
/// through the balancer to the writer. The writer takes the export.
#[test]
fn a_replica_closes_the_grpc_connections_it_accepts_and_the_writer_takes_the_export() {
    let pair = Pair::start();
    let (writer, replica) = (&pair.writer, &pair.replica);
    assert_eq!(replica.get("/readyz").map(|(s, _)| s), Some(503));

    let mut conn = TcpStream::connect(("127.0.0.1", grpc_port(&replica.config))).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    match conn.read(&mut [0u8; 16]) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("the replica closes the gRPC connection at once (not a read timeout): {other:?}"),
    }
    let endpoint = |d: &Daemon| format!("127.0.0.1:{}", grpc_port(&d.config));
    let refused = otlp_support::send("grpc", &endpoint(replica), Some(TOKEN), Path::new(FIXTURE_JSON), &[]);
    assert_eq!(refused["status"].as_str(), Some("UNAVAILABLE"), "{refused}");
    let taken = otlp_support::send("grpc", &endpoint(writer), Some(TOKEN), Path::new(FIXTURE_JSON), &[]);
    assert_eq!((taken["status"].as_str(), taken["rejected"].as_i64()), (Some("OK"), Some(0)), "{taken}\n{}", writer.log());
    // Replayed on the replica: the fixture's 5 claude-sonnet-4-6 requests, once.
    wait_for("the replica to replay the export", Duration::from_secs(20), || {
        common::metric(&replica.scrape(), r#"creditwatch_requests_total{account="team",app="claude-code",model="claude-sonnet-4-6"}"#)
            .is_some_and(|n| n == "5")
    });
}
