//! Spend per person follows the request, not the copy that carried the
//! person. Claude Code writes each request in its transcript (naming
//! nobody) and in its `api_request` OpenTelemetry event (`user.email`):
//! whichever comes first, `creditwatch_user_spend_usd_total` of the person
//! holds the whole request, also after a restart. And `report --by user`
//! agrees with the metric when two file sources hold copies of a request
//! and only one names the person.

mod common;
mod otlp_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{metric, wait_for, Daemon};
use otlp_support::{python, send, FIXTURE_JSON, TOKEN};

/// The fixture's requests, with the counts its events state (input,
/// output, cache writes, cache reads) and the person each names.
const REQUESTS: [(&str, &str, [u64; 4], &str); 7] = [
    ("req_011C79f74d60ac03031ec35d7d", "claude-opus-4-6", [3337, 3893, 6159, 0], "dev2"),
    ("req_011C8b41c2546a35e3767266e1", "claude-sonnet-4-6", [942, 4100, 14205, 0], "dev2"),
    ("req_011Ce2aeba83e9353b1ce7549c", "claude-sonnet-4-6", [2184, 4525, 12354, 0], "dev2"),
    ("req_011Cb1bed0c33f250fab45d0d3", "claude-opus-4-6", [3661, 5100, 6780, 5179], "dev1"),
    ("req_011C6887d5e745f3cb0d2f926d", "claude-sonnet-4-6", [3378, 881, 0, 7785], "dev1"),
    ("req_011Cc259ca14c0b726d9dd70b6", "claude-sonnet-4-6", [3190, 2564, 8730, 103096], "dev1"),
    ("req_011C23d44588b80542186d778b", "claude-sonnet-4-6", [3022, 1498, 9148, 0], "dev1"),
];
/// Each person's requests at the built-in prices (tests/otlp.rs books the
/// events alone to these figures).
const DEV1_USD: &str = "0.3939913";
const DEV2_USD: &str = "0.390853";

fn config(grpc_port: u16) -> String {
    format!(
        r#"
listen: "127.0.0.1:{{port}}"
state_dir: "{{dir}}/state"
accounts:
  - {{ name: team, opening_balance_usd: "100.00", opening_balance_as_of: "2020-01-01T00:00:00Z" }}
sources:
  - {{ name: claude-code, format: claude_code, paths: ["{{dir}}/projects/**/*.jsonl"], account: team, app: claude-code }}
  - {{ name: telemetry, format: otlp, account: team, app: claude-code }}
otlp: {{ grpc_listen: "127.0.0.1:{grpc_port}", token_file: "{{dir}}/otlp.token" }}
follow: {{ poll_interval: "100ms", dedup_retention: "3650d" }}
"#
    )
}

/// A transcript line of request `i` with the given counts.
fn transcript(i: usize, counts: [u64; 4]) -> String {
    let (request, model, _, _) = REQUESTS[i];
    let [input, output, writes, reads] = counts;
    format!(
        concat!(
            r#"{{"type":"assistant","sessionId":"s","uuid":"u-{i}","timestamp":"2026-12-01T19:40:50.000Z","requestId":"{r}","#,
            r#""message":{{"id":"msg_{i}","role":"assistant","model":"{model}","usage":{{"input_tokens":{input},"output_tokens":{output},"#,
            r#""cache_creation_input_tokens":{writes},"cache_read_input_tokens":{reads}}}}}}}"#,
            "\n"
        ),
        i = i,
        r = request,
        model = model,
        input = input,
        output = output,
        writes = writes,
        reads = reads
    )
}

fn person(scrape: &str, who: &str) -> Option<String> {
    metric(scrape, &format!(r#"creditwatch_user_spend_usd_total{{account="team",user="{who}@example.org"}}"#))
}

fn lines(daemon: &Daemon, source: &str, outcome: &str) -> Option<String> {
    metric(&daemon.scrape(), &format!(r#"creditwatch_source_lines_total{{outcome="{outcome}",source="{source}"}}"#))
}

struct Setup {
    dir: tempfile::TempDir,
    grpc_port: u16,
}

impl Setup {
    fn new() -> Setup {
        python();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("otlp.token"), TOKEN).unwrap();
        std::fs::create_dir_all(dir.path().join("projects/p")).unwrap();
        Setup { dir, grpc_port: common::free_port() }
    }

    fn start(&self) -> Daemon {
        Daemon::start(self.dir.path(), &config(self.grpc_port))
    }

    fn append(&self, text: &str) {
        common::append(&self.dir.path().join("projects/p/session.jsonl"), text);
    }

    fn send_events(&self) {
        let out = send("grpc", &format!("127.0.0.1:{}", self.grpc_port), Some(TOKEN), Path::new(FIXTURE_JSON), &[]);
        assert_eq!(out["status"].as_str(), Some("OK"), "{out}");
    }
}

/// dev2's three requests are in the transcript with their final counts (the
/// event then adds no money); dev1's four as streaming placeholders (the
/// event adds their growth). Either way the person gets the whole request.
#[test]
fn transcript_first_then_event() {
    let setup = Setup::new();
    let mut text = String::new();
    for (i, (_, _, counts, who)) in REQUESTS.iter().enumerate() {
        text.push_str(&transcript(i, if *who == "dev2" { *counts } else { [1, 12, 0, 0] }));
    }
    setup.append(&text);
    let daemon = setup.start();
    wait_for("the transcript to be booked", Duration::from_secs(20), || lines(&daemon, "claude-code", "booked").as_deref() == Some("7"));
    assert_eq!(person(&daemon.scrape(), "dev2"), None, "the transcript names nobody");

    setup.send_events();
    let scrape = daemon.scrape();
    assert_eq!(person(&scrape, "dev2").as_deref(), Some(DEV2_USD));
    assert_eq!(person(&scrape, "dev1").as_deref(), Some(DEV1_USD));
    assert_eq!(lines(&daemon, "telemetry", "duplicate").as_deref(), Some("3"));

    let (code, _) = daemon.stop();
    assert_eq!(code, Some(0));
    let daemon = setup.start();
    let scrape = daemon.scrape();
    assert_eq!((person(&scrape, "dev2").as_deref(), person(&scrape, "dev1").as_deref()), (Some(DEV2_USD), Some(DEV1_USD)));
    // Sending the events again moves nothing.
    setup.send_events();
    assert_eq!(person(&daemon.scrape(), "dev1").as_deref(), Some(DEV1_USD));
}

/// The events first; then the transcript: dev2's copies equal (nothing more),
/// and a copy of dev1's request 4 with 10,000 more output tokens than its
/// event said (growth $0.15 at Sonnet 4.6's $15 per million): the growth is
/// dev1's although the transcript names nobody — before and after a restart.
#[test]
fn event_first_then_transcript() {
    let setup = Setup::new();
    let daemon = setup.start();
    setup.send_events();
    assert_eq!(person(&daemon.scrape(), "dev1").as_deref(), Some(DEV1_USD));

    let mut text = String::new();
    for (i, (_, _, counts, _)) in REQUESTS.iter().enumerate().take(3) {
        text.push_str(&transcript(i, *counts));
    }
    let [input, output, writes, reads] = REQUESTS[4].2;
    text.push_str(&transcript(4, [input, output + 10_000, writes, reads]));
    setup.append(&text);
    wait_for("the transcript to be read", Duration::from_secs(20), || lines(&daemon, "claude-code", "booked").as_deref() == Some("1"));
    let scrape = daemon.scrape();
    assert_eq!(lines(&daemon, "claude-code", "duplicate").as_deref(), Some("3"));
    assert_eq!(person(&scrape, "dev1").as_deref(), Some("0.5439913"), "{DEV1_USD} + $0.15");
    assert_eq!(person(&scrape, "dev2").as_deref(), Some(DEV2_USD));

    // A crash (no snapshot at shutdown): the journal alone gives the same.
    daemon.kill();
    let daemon = setup.start();
    let scrape = daemon.scrape();
    assert_eq!((person(&scrape, "dev1").as_deref(), person(&scrape, "dev2").as_deref()), (Some("0.5439913"), Some(DEV2_USD)));
}

/// Two file sources hold the same request; only `laptop` names its person.
/// The daemon books the request once and gives ana all of it, whichever
/// file it read first; `report --by user` says the same.
#[test]
fn report_by_user_agrees_with_the_metric() {
    let dir = tempfile::tempdir().unwrap();
    let config = r#"
listen: "127.0.0.1:{port}"
state_dir: "{dir}/state"
accounts:
  - { name: personal, opening_balance_usd: "50.00", opening_balance_as_of: "2020-01-01T00:00:00Z" }
sources:
  - { name: shared, format: claude_code, paths: ["{dir}/shared/*.jsonl"], account: personal, app: claude-code }
  - { name: laptop, format: claude_code, paths: ["{dir}/laptop/*.jsonl"], account: personal, app: claude-code, user: "ana@example.com" }
follow: { poll_interval: "100ms", dedup_retention: "3650d" }
"#;
    for folder in ["shared", "laptop"] {
        std::fs::create_dir_all(dir.path().join(folder)).unwrap();
    }
    // Request a: a placeholder in `shared` (earlier), the final copy in `laptop`;
    // request b: only in `shared` (nobody's). Haiku 4.5: $0.001 + output x $0.000005.
    common::append(&dir.path().join("shared/s.jsonl"), &common::assistant_line("a", 10, "2026-12-01T10:00:00.000Z"));
    common::append(&dir.path().join("shared/s.jsonl"), &common::assistant_line("b", 200, "2026-12-01T10:05:00.000Z"));
    common::append(&dir.path().join("laptop/s.jsonl"), &common::assistant_line("a", 1000, "2026-12-01T10:00:01.000Z"));
    let daemon = Daemon::start(dir.path(), config);
    let ana = r#"creditwatch_user_spend_usd_total{account="personal",user="ana@example.com"}"#;
    daemon.wait_metric(ana, "0.006");
    let out = Command::new(common::BIN).args(["report", "--by", "user", "--json", "--config"]).arg(&daemon.config).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let groups: Vec<(&str, &str)> =
        report["groups"].as_array().unwrap().iter().map(|g| (g["key"].as_str().unwrap(), g["cost_usd"].as_str().unwrap())).collect();
    assert_eq!(groups, [("(no user)", "0.002"), ("ana@example.com", "0.006")]);
    let port = daemon.port;
    let (code, _) = daemon.stop();
    assert_eq!(code, Some(0));
    let daemon = Daemon::start_with(dir.path(), &dir.path().join("config.yaml"), port);
    assert_eq!(metric(&daemon.scrape(), ana).as_deref(), Some("0.006"));
}
