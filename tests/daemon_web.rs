//! The real daemon behind its web config: /metrics over TLS with basic auth,
//! as Prometheus scrapes an exporter-toolkit exporter.

mod common;
mod web_support;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hyper::StatusCode;
use web_support::{basic, client, get, write, Pki};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_over_tls_with_basic_auth() {
    creditwatch::common::install_crypto_provider();
    let pki = Pki::new();
    let hash = bcrypt::hash_with_result("scrape-pw", 4).unwrap().format_for_version(bcrypt::Version::TwoY);
    let web = write(
        &pki,
        &format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\nbasic_auth_users:\n  prometheus: '{hash}'\n"
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("projects")).unwrap();
    let port = common::free_port();
    let config = common::FOLLOW_CONFIG.replace("{port}", &port.to_string()).replace("{dir}", &dir.path().display().to_string())
        + &format!("web_config_file: \"{}\"\n", web.display());
    std::fs::write(dir.path().join("config.yaml"), config).unwrap();
    let mut child =
        Command::new(common::BIN).args(["run", "--config"]).arg(dir.path().join("config.yaml")).stderr(Stdio::null()).spawn().unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let auth = basic("prometheus", "scrape-pw");
    let deadline = Instant::now() + Duration::from_secs(20);
    let reply = loop {
        match get(addr, Some(client(&pki.ca_pem, None)), Some(&auth)).await {
            Ok(r) if r.status == StatusCode::OK && r.body.contains("creditwatch_source_files") => break r,
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
            other => panic!("no scrape over TLS: {other:?}"),
        }
    };
    assert!(reply.body.contains("creditwatch_build_info{"), "{}", reply.body);
    assert_eq!(reply.headers.get("x-frame-options").map(|v| v.to_str().unwrap()), Some("deny"));

    let no_auth = get(addr, Some(client(&pki.ca_pem, None)), None).await.unwrap();
    assert_eq!(no_auth.status, StatusCode::UNAUTHORIZED);
    let wrong = get(addr, Some(client(&pki.ca_pem, None)), Some(&basic("prometheus", "nope"))).await.unwrap();
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    // Plain HTTP to a TLS listener gets no metrics.
    assert!(get(addr, None, Some(&auth)).await.map(|r| r.status != StatusCode::OK).unwrap_or(true));
    let _ = child.kill();
    let _ = child.wait();
}
