//! Exactly once across a crash: the daemon is killed (SIGKILL) while it
//! holds an export, once after committing it and before answering, once
//! before committing it. The exporter (the real OTLP client, retrying as
//! exporters do) sends the batch again to the restarted daemon: nothing is
//! lost and nothing is booked twice. `CREDITWATCH_OTLP_FAILPOINT` holds the
//! export at the chosen point while a file exists, so the kill lands exactly
//! there (the test waits for the daemon's log line, never a fixed time).

mod common;
mod otlp_support;

use std::path::Path;
use std::time::Duration;

use common::{metric, wait_for, Daemon};
use otlp_support::{send, series, start, FIXTURE_JSON, TOKEN};

fn held(daemon: &Daemon) -> usize {
    daemon.log().matches("failpoint: holding this OTLP export").count()
}

#[test]
fn a_kill_between_receiving_and_answering_loses_nothing_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let hold = dir.path().join("hold");

    // 1. Killed after the commit, before the reply: the retry is a duplicate.
    std::fs::write(&hold, "").unwrap();
    std::env::set_var("CREDITWATCH_OTLP_FAILPOINT", format!("after-commit:{}", hold.display()));
    let team = start(dir.path(), "");
    let (grpc, port, config) = (team.grpc.clone(), team.daemon.port, team.daemon.config.clone());
    let client = std::thread::spawn(move || send("grpc", &grpc, Some(TOKEN), Path::new(FIXTURE_JSON), &["--retry-until-ok", "60"]));
    wait_for("the export to be held after its commit", Duration::from_secs(30), || held(&team.daemon) == 1);
    let (sonnet_requests, sonnet_spend) = series("team", "claude-sonnet-4-6");
    assert_eq!(metric(&team.daemon.scrape(), &sonnet_requests).as_deref(), Some("5"), "committed before the reply");
    team.daemon.kill();
    std::fs::remove_file(&hold).unwrap();
    let daemon = Daemon::start_with(dir.path(), &config, port);
    let answer = client.join().unwrap();
    assert_eq!(answer["status"].as_str(), Some("OK"), "{answer}");
    assert!(answer["attempts"].as_i64().unwrap_or(0) >= 2, "the client had to retry: {answer}");
    let scrape = daemon.scrape();
    assert_eq!(metric(&scrape, &sonnet_requests).as_deref(), Some("5"));
    assert_eq!(metric(&scrape, &sonnet_spend).as_deref(), Some("0.44157105"));
    assert_eq!(metric(&scrape, r#"creditwatch_source_lines_total{outcome="duplicate",source="telemetry"}"#).as_deref(), Some("7"));
    daemon.kill();

    // 2. Killed before the commit: nothing was booked, the retry books it once.
    std::fs::write(&hold, "").unwrap();
    std::env::set_var("CREDITWATCH_OTLP_FAILPOINT", format!("before-commit:{}", hold.display()));
    let daemon = Daemon::start_with(dir.path(), &config, port);
    let other = dir.path().join("other-batch.json");
    std::fs::write(&other, std::fs::read_to_string(FIXTURE_JSON).unwrap().replace("req_011C", "req_022C")).unwrap();
    let http = format!("127.0.0.1:{port}");
    let client = std::thread::spawn(move || send("http-protobuf", &http, Some(TOKEN), &other, &["--retry-until-ok", "60"]));
    wait_for("the export to be held before its commit", Duration::from_secs(30), || held(&daemon) == 2);
    daemon.kill();
    std::fs::remove_file(&hold).unwrap();
    std::env::remove_var("CREDITWATCH_OTLP_FAILPOINT");
    let daemon = Daemon::start_with(dir.path(), &config, port);
    let answer = client.join().unwrap();
    assert_eq!(answer["status"].as_i64(), Some(200), "{answer}");
    let scrape = daemon.scrape();
    assert_eq!(metric(&scrape, &sonnet_requests).as_deref(), Some("10"));
    assert_eq!(metric(&scrape, &sonnet_spend).as_deref(), Some("0.8831421"));
    assert_eq!(metric(&scrape, &series("team", "claude-opus-4-6").0).as_deref(), Some("4"));
    assert_eq!(metric(&scrape, r#"creditwatch_source_lines_total{outcome="booked",source="telemetry"}"#).as_deref(), Some("14"));
}
