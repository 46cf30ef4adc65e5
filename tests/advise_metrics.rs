//! The cost levers on `/metrics`: cache savings in dollars and the prompt
//! size histogram, booked by the daemon from a transcript written while it
//! runs, and the same after a restart (both are folds of the journal).

mod common;

use common::{append, metric, Daemon, FOLLOW_CONFIG};

const LABELS: &str = r#"account="personal",app="claude-code",model="claude-opus-4-6""#;

/// A Claude Code line on Opus 4.6 with cache reads.
fn line(id: &str, output: u64, read: u64, ts: &str) -> String {
    format!(
        concat!(
            r#"{{"isSidechain":false,"sessionId":"s","message":{{"id":"{id}","type":"message","role":"assistant","model":"claude-opus-4-6","#,
            r#""usage":{{"input_tokens":100,"cache_creation_input_tokens":0,"cache_read_input_tokens":{read},"output_tokens":{out}}}}},"#,
            r#""requestId":"req_{id}","type":"assistant","uuid":"u-{id}-{out}","timestamp":"{ts}"}}"#,
            "\n"
        ),
        id = id,
        out = output,
        read = read,
        ts = ts
    )
}

fn check(scrape: &str) {
    // 1M + 200k reads at $5 input instead of $0.50: $4.5 + $0.9; the later,
    // larger copy of r1 saved nothing more.
    assert_eq!(metric(scrape, &format!("creditwatch_cache_savings_usd_total{{{LABELS}}}")).as_deref(), Some("5.4"));
    let bucket = |le: &str| metric(scrape, &format!(r#"creditwatch_request_prompt_tokens_bucket{{{LABELS},le="{le}"}}"#));
    // Prompts of 1,000,100 and 200,100 tokens: one request each, counted once.
    assert_eq!(bucket("200000").as_deref(), Some("0"));
    assert_eq!(bucket("300000").as_deref(), Some("1"));
    assert_eq!(bucket("1000000").as_deref(), Some("1"));
    assert_eq!(bucket("+Inf").as_deref(), Some("2"));
    assert_eq!(metric(scrape, &format!("creditwatch_request_prompt_tokens_count{{{LABELS}}}")).as_deref(), Some("2"));
    assert_eq!(metric(scrape, &format!("creditwatch_request_prompt_tokens_sum{{{LABELS}}}")).as_deref(), Some("1200200"));
    assert!(scrape.contains("# TYPE creditwatch_request_prompt_tokens histogram"));
}

#[test]
fn cache_savings_and_prompt_sizes_are_exported_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let projects = dir.path().join("projects/-w");
    std::fs::create_dir_all(&projects).unwrap();
    let file = projects.join("s.jsonl");
    append(&file, "");
    let d = Daemon::start(dir.path(), FOLLOW_CONFIG);
    append(&file, &line("r1", 5, 1_000_000, "2026-11-20T10:00:00Z"));
    append(&file, &line("r1", 500, 1_000_000, "2026-11-20T10:00:00Z"));
    append(&file, &line("r2", 5, 200_000, "2026-11-20T10:01:00Z"));
    d.wait_metric(&format!("creditwatch_requests_total{{{LABELS}}}"), "2");
    // The growth copy of r1 was booked too: the output of 500 tokens is in.
    d.wait_metric(r#"creditwatch_tokens_total{account="personal",app="claude-code",kind="output",model="claude-opus-4-6"}"#, "505");
    check(&d.scrape());
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));
    let again = Daemon::start_with(dir.path(), &dir.path().join("config.yaml"), d_port(dir.path()));
    again.wait_metric(&format!("creditwatch_requests_total{{{LABELS}}}"), "2");
    check(&again.scrape());
    let (code, _) = again.stop();
    assert_eq!(code, Some(0));
}

/// The port in the config written by `Daemon::start`.
fn d_port(dir: &std::path::Path) -> u16 {
    let config = std::fs::read_to_string(dir.join("config.yaml")).unwrap();
    let listen = config.lines().find(|l| l.starts_with("listen:")).unwrap();
    listen.trim_end_matches('"').rsplit(':').next().unwrap().parse().unwrap()
}
