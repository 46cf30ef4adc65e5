//! Shared by the OTLP tests: a real OTLP client (the `opentelemetry-proto`
//! and `grpcio` Python packages, installed into a venv by the tests
//! themselves) and a daemon config with an `otlp` source.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::common::{free_port, Daemon};

pub const TOKEN: &str = "otlp-token-0123456789abcdef";
pub const FIXTURE_JSON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/otlp/claude-code-api-requests.otlp.json");
pub const CLIENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/otlp_support/client.py");

/// The venv's python, created once (pip needs the package registry).
pub fn python() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("otlp-venv");
        let python = venv.join("bin/python");
        if !venv.join(".ready").exists() {
            let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("otlp-venv-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&tmp);
            let ok = Command::new("python3").args(["-m", "venv"]).arg(&tmp).status().expect("python3 -m venv").success();
            assert!(ok, "python3 -m venv failed");
            let pip = Command::new(tmp.join("bin/pip"))
                .args(["install", "-q", "opentelemetry-proto", "grpcio", "googleapis-common-protos"])
                .status()
                .expect("pip");
            assert!(pip.success(), "pip install of the OTLP client packages failed");
            std::fs::write(tmp.join(".ready"), "").unwrap();
            // Another test binary may have won the race; either venv works.
            if std::fs::rename(&tmp, &venv).is_err() {
                let _ = std::fs::remove_dir_all(&tmp);
            }
        }
        assert!(python.exists(), "no venv python at {}", python.display());
        python
    })
    .clone()
}

/// Sends one export request (OTLP/JSON file) and returns the client's
/// summary: `{"status", "rejected", "message", "attempts"}`.
pub fn send(transport: &str, endpoint: &str, token: Option<&str>, file: &Path, extra: &[&str]) -> serde_json::Value {
    let mut cmd = Command::new(python());
    cmd.arg(CLIENT).args(["send", "--transport", transport, "--endpoint", endpoint, "--file"]).arg(file);
    if let Some(t) = token {
        cmd.args(["--token", t]);
    }
    cmd.args(extra);
    let out = cmd.output().expect("run the OTLP client");
    assert!(out.status.success(), "client failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("client output {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

pub struct Team {
    pub daemon: Daemon,
    pub grpc: String,
    pub http: String,
}

/// A daemon with one `otlp` source (account `team`), gRPC on its own port,
/// the token in `{dir}/otlp.token`; `extra` is appended to the config.
pub fn start(dir: &Path, extra: &str) -> Team {
    std::fs::write(dir.join("otlp.token"), format!("{TOKEN}\n")).unwrap();
    let grpc_port = free_port();
    let config = format!(
        r#"
listen: "127.0.0.1:{{port}}"
state_dir: "{{dir}}/state"
accounts:
  - {{ name: team, opening_balance_usd: "100.00", opening_balance_as_of: "2020-01-01T00:00:00Z" }}
sources:
  - {{ name: telemetry, format: otlp, account: team, app: claude-code }}
otlp: {{ grpc_listen: "127.0.0.1:{grpc_port}", token_file: "{{dir}}/otlp.token" }}
follow: {{ poll_interval: "200ms", dedup_retention: "3650d" }}
{extra}"#
    );
    let daemon = Daemon::start(dir, &config);
    let http = format!("127.0.0.1:{}", daemon.port);
    Team { daemon, grpc: format!("127.0.0.1:{grpc_port}"), http }
}

pub fn series(account: &str, model: &str) -> (String, String) {
    (
        format!(r#"creditwatch_requests_total{{account="{account}",app="claude-code",model="{model}"}}"#),
        format!(r#"creditwatch_spend_usd_total{{account="{account}",app="claude-code",model="{model}"}}"#),
    )
}
