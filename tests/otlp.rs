//! The OTLP receiver against the real binary, with a real OTLP client (the
//! `opentelemetry-proto` + `grpcio` Python packages): the shared Claude Code
//! export request over gRPC, HTTP protobuf with gzip and HTTP JSON (the same
//! batch three times: booked once; eight exporters at once: booked once),
//! partial success, and the refusals — no
//! token, a wrong token, a malformed body, an oversized body, an unknown
//! content type — which book nothing.

mod common;
mod otlp_support;

use std::path::Path;

use common::metric;
use otlp_support::{send, series, start, FIXTURE_JSON, TOKEN};

/// The fixture's seven requests at the built-in prices (tokens x rate):
/// opus 4.6 $0.15250375 + $0.1907695; sonnet 4.6 the other five.
const OPUS_USD: &str = "0.34327325";
const SONNET_USD: &str = "0.44157105";

#[test]
fn the_same_batch_over_grpc_http_protobuf_and_http_json_is_booked_once() {
    let dir = tempfile::tempdir().unwrap();
    let team = start(dir.path(), "");
    let fixture = Path::new(FIXTURE_JSON);
    let grpc = send("grpc", &team.grpc, Some(TOKEN), fixture, &[]);
    assert_eq!((grpc["status"].as_str(), grpc["rejected"].as_i64()), (Some("OK"), Some(0)), "{grpc}");
    let (opus_requests, opus_spend) = series("team", "claude-opus-4-6");
    let (sonnet_requests, sonnet_spend) = series("team", "claude-sonnet-4-6");
    // Acknowledged means committed: the figures are there at once.
    let scrape = team.daemon.scrape();
    assert_eq!(metric(&scrape, &opus_requests).as_deref(), Some("2"));
    assert_eq!(metric(&scrape, &sonnet_requests).as_deref(), Some("5"));
    assert_eq!(metric(&scrape, &opus_spend).as_deref(), Some(OPUS_USD));
    assert_eq!(metric(&scrape, &sonnet_spend).as_deref(), Some(SONNET_USD));

    for transport in ["http-protobuf", "http-json"] {
        let again = send(transport, &team.http, Some(TOKEN), fixture, &[]);
        assert_eq!(again["status"].as_i64(), Some(200), "{again}");
        assert_eq!(again["rejected"].as_i64(), Some(0), "{again}");
        let want_type = if transport == "http-json" { "application/json" } else { "application/x-protobuf" };
        assert_eq!(again["content_type"].as_str(), Some(want_type));
    }
    let scrape = team.daemon.scrape();
    assert_eq!(metric(&scrape, &opus_requests).as_deref(), Some("2"));
    assert_eq!(metric(&scrape, &sonnet_spend).as_deref(), Some(SONNET_USD));
    assert_eq!(metric(&scrape, r#"creditwatch_source_lines_total{outcome="booked",source="telemetry"}"#).as_deref(), Some("7"));
    assert_eq!(metric(&scrape, r#"creditwatch_source_lines_total{outcome="duplicate",source="telemetry"}"#).as_deref(), Some("14"));
    // Spend per person, from user.email.
    assert_eq!(
        metric(&scrape, r#"creditwatch_user_spend_usd_total{account="team",user="dev1@example.org"}"#).as_deref(),
        Some("0.3939913")
    );
    assert_eq!(metric(&scrape, r#"creditwatch_user_spend_usd_total{account="team",user="dev2@example.org"}"#).as_deref(), Some("0.390853"));
    assert_eq!(metric(&scrape, r#"creditwatch_balance_usd{account="team"}"#).as_deref(), Some("99.2151557"));

    // A restart replays the journal to the same figures.
    let (code, _) = team.daemon.stop();
    assert_eq!(code, Some(0));
    let team = start(dir.path(), "");
    assert_eq!(metric(&team.daemon.scrape(), &sonnet_spend).as_deref(), Some(SONNET_USD));
}

#[test]
fn records_it_cannot_read_are_rejected_and_the_rest_is_booked() {
    let dir = tempfile::tempdir().unwrap();
    let team = start(dir.path(), "");
    let text = std::fs::read_to_string(FIXTURE_JSON).unwrap();
    // Record 1 loses its model, record 2 gets an unreadable count.
    let broken = text.replacen(r#""stringValue": "claude-opus-4-6""#, r#""stringValue": """#, 1).replacen(
        r#""stringValue": "4100""#,
        r#""stringValue": "many""#,
        1,
    );
    assert_ne!(broken, text);
    let file = dir.path().join("broken.json");
    std::fs::write(&file, broken).unwrap();
    for (transport, endpoint) in [("grpc", &team.grpc), ("http-protobuf", &team.http)] {
        let out = send(transport, endpoint, Some(TOKEN), &file, &[]);
        assert_eq!(out["rejected"].as_i64(), Some(2), "{transport}: {out}");
        assert!(out["message"].as_str().unwrap_or("").contains("2 of 7 log records rejected"), "{out}");
    }
    let scrape = team.daemon.scrape();
    assert_eq!(metric(&scrape, &series("team", "claude-opus-4-6").0).as_deref(), Some("1"));
    assert_eq!(metric(&scrape, &series("team", "claude-sonnet-4-6").0).as_deref(), Some("4"));
    assert_eq!(metric(&scrape, r#"creditwatch_source_lines_total{outcome="error",source="telemetry"}"#).as_deref(), Some("4"));
}

#[test]
fn refusals_book_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let team = start(dir.path(), "");
    let fixture = Path::new(FIXTURE_JSON);
    let status = |v: &serde_json::Value| v["status"].to_string().trim_matches('"').to_string();

    assert_eq!(status(&send("grpc", &team.grpc, None, fixture, &[])), "UNAUTHENTICATED");
    assert_eq!(status(&send("grpc", &team.grpc, Some("wrong-token-0123456789"), fixture, &[])), "UNAUTHENTICATED");
    assert_eq!(status(&send("http-protobuf", &team.http, None, fixture, &[])), "401");
    assert_eq!(status(&send("http-json", &team.http, Some("wrong-token-0123456789"), fixture, &[])), "401");

    let garbage = dir.path().join("garbage.bin");
    std::fs::write(&garbage, b"\x0a\xff\xff\xff\xff\x0fnot protobuf").unwrap();
    let bad_pb = send("http-protobuf", &team.http, Some(TOKEN), fixture, &["--raw-body-file", garbage.to_str().unwrap()]);
    assert_eq!(status(&bad_pb), "400", "{bad_pb}");
    assert!(bad_pb["message"].as_str().unwrap_or("").contains("not an ExportLogsServiceRequest"), "{bad_pb}");
    let bad_json = send(
        "http-json",
        &team.http,
        Some(TOKEN),
        fixture,
        &["--raw-body-file", garbage.to_str().unwrap(), "--content-type", "application/json"],
    );
    assert_eq!(status(&bad_json), "400", "{bad_json}");
    let bad_gzip = send(
        "http-protobuf",
        &team.http,
        Some(TOKEN),
        fixture,
        &["--raw-body-file", garbage.to_str().unwrap(), "--content-encoding", "gzip"],
    );
    assert_eq!(status(&bad_gzip), "400", "{bad_gzip}");
    let text = send(
        "http-protobuf",
        &team.http,
        Some(TOKEN),
        fixture,
        &["--raw-body-file", garbage.to_str().unwrap(), "--content-type", "text/plain"],
    );
    assert_eq!(status(&text), "415", "{text}");

    // Over the 16 MiB bound: 413, not read to the end.
    let big = dir.path().join("big.bin");
    std::fs::write(&big, vec![b'x'; 16 * 1024 * 1024 + 1]).unwrap();
    let out = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", &format!("Authorization: Bearer {TOKEN}")])
        .args(["-H", "Content-Type: application/x-protobuf", "--data-binary"])
        .arg(format!("@{}", big.display()))
        .arg(format!("http://{}/v1/logs", team.http))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "413");

    let scrape = team.daemon.scrape();
    assert_eq!(metric(&scrape, &series("team", "claude-sonnet-4-6").0), None, "nothing booked:\n{scrape}");
    assert_eq!(metric(&scrape, r#"creditwatch_source_lines_total{outcome="booked",source="telemetry"}"#).as_deref(), Some("0"));
}

/// Exports that arrive together are committed together (group commit): the
/// same batch from eight exporters at once is booked once, every exporter
/// is answered OK, and the other seven copies are duplicates.
#[test]
fn the_same_batch_from_eight_exporters_at_once_is_booked_once() {
    let dir = tempfile::tempdir().unwrap();
    let team = start(dir.path(), "");
    let senders: Vec<_> = (0..8)
        .map(|i| {
            let (transport, endpoint) = if i % 2 == 0 { ("grpc", team.grpc.clone()) } else { ("http-protobuf", team.http.clone()) };
            std::thread::spawn(move || send(transport, &endpoint, Some(TOKEN), Path::new(FIXTURE_JSON), &[]))
        })
        .collect();
    for answer in senders.into_iter().map(|s| s.join().unwrap()) {
        assert!(answer["status"].as_str() == Some("OK") || answer["status"].as_i64() == Some(200), "{answer}");
        assert_eq!(answer["rejected"].as_i64(), Some(0), "{answer}");
    }
    let scrape = team.daemon.scrape();
    assert_eq!(metric(&scrape, &series("team", "claude-sonnet-4-6").0).as_deref(), Some("5"));
    assert_eq!(metric(&scrape, &series("team", "claude-opus-4-6").1).as_deref(), Some(OPUS_USD));
    assert_eq!(metric(&scrape, &series("team", "claude-sonnet-4-6").1).as_deref(), Some(SONNET_USD));
    assert_eq!(metric(&scrape, r#"creditwatch_source_lines_total{outcome="booked",source="telemetry"}"#).as_deref(), Some("7"));
    assert_eq!(metric(&scrape, r#"creditwatch_source_lines_total{outcome="duplicate",source="telemetry"}"#).as_deref(), Some("49"));
    assert_eq!(metric(&scrape, r#"creditwatch_balance_usd{account="team"}"#).as_deref(), Some("99.2151557"));
}
