//! OTLP behind the web config's TLS: gRPC and HTTP on the same certificate,
//! and an HTTP/2 POST without its token gets its 401 every time — the body
//! is read before the answer, so the client never sees a stream reset
//! instead (curl exits 92 on those).

mod common;
mod otlp_support;
mod web_support;

use std::path::Path;
use std::process::Command;

use std::time::Duration;

use otlp_support::{send, FIXTURE_JSON, TOKEN};
use web_support::{write, Pki};

#[test]
fn tls_for_both_transports_and_http2_401s_are_answered() {
    let pki = Pki::new();
    let web = write(&pki, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n");
    let ca = pki.dir.path().join("ca.crt");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("otlp.token"), TOKEN).unwrap();
    let (port, grpc_port) = (common::free_port(), common::free_port());
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            r#"
listen: "127.0.0.1:{port}"
state_dir: "{d}/state"
web_config_file: "{web}"
accounts: [{{ name: team, opening_balance_usd: "100.00" }}]
sources: [{{ name: telemetry, format: otlp, account: team, app: claude-code }}]
otlp: {{ grpc_listen: "127.0.0.1:{grpc_port}", token_file: "{d}/otlp.token" }}
"#,
            d = dir.path().display(),
            web = web.display()
        ),
    )
    .unwrap();
    let child = Command::new(common::BIN).args(["run", "--config"]).arg(&config).stderr(std::process::Stdio::null()).spawn().unwrap();
    let _daemon = common::Daemon { child, port, dir: dir.path().to_path_buf(), config };
    let ca_arg = ca.to_str().unwrap();
    let ready = format!("https://127.0.0.1:{port}/readyz");
    common::wait_for("the daemon to be ready over TLS", Duration::from_secs(30), || {
        let out = Command::new("curl").args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", ca_arg, &ready]).output().unwrap();
        out.stdout == b"200"
    });
    struct Team {
        grpc: String,
        http: String,
    }
    let team = Team { grpc: format!("127.0.0.1:{grpc_port}"), http: format!("127.0.0.1:{port}") };

    let grpc = send("grpc", &team.grpc, Some(TOKEN), Path::new(FIXTURE_JSON), &["--tls-ca", ca_arg]);
    assert_eq!(grpc["status"].as_str(), Some("OK"), "{grpc}");
    let http = send("http-protobuf", &team.http, Some(TOKEN), Path::new(FIXTURE_JSON), &["--tls-ca", ca_arg]);
    assert_eq!(http["status"].as_i64(), Some(200), "{http}");

    let body = dir.path().join("request.pb");
    std::fs::write(
        &body,
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/otlp/claude-code-api-requests.otlp.pb")).unwrap(),
    )
    .unwrap();
    let url = format!("https://{}/v1/logs", team.http);
    for attempt in 0..20 {
        let out = Command::new("curl")
            .args(["-sS", "--http2", "--cacert", ca_arg, "-o", "/dev/null", "-w", "%{http_code} %{http_version}"])
            .args(["-H", "Content-Type: application/x-protobuf", "--data-binary"])
            .arg(format!("@{}", body.display()))
            .arg(&url)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "try {attempt}: curl {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "401 2", "try {attempt}");
    }
}
