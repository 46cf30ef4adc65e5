//! `creditwatch advise` on the fixture trees: exact findings out. The
//! figures are re-computed independently by `research/advise/check.py`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn fixtures(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures").join(name)
}

fn glob(dir: &Path) -> String {
    format!("{}/**/*.jsonl", dir.display())
}

fn run(args: &[&str]) -> Output {
    Command::new(common::BIN).arg("advise").args(args).output().expect("run advise")
}

fn advise_json(args: &[&str]) -> Value {
    let out = run(&[args, &["--json", "--tz", "UTC"]].concat());
    assert!(out.status.success(), "advise failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("advise --json is JSON")
}

#[test]
fn fixture_findings_are_exact() {
    let projects = fixtures("claude-code").join("projects");
    let got = advise_json(&["--paths", &glob(&projects), "--what-if", "claude-haiku-4-5"]);
    assert_eq!((got["requests"].as_u64(), got["cost_usd"].as_str()), (Some(154), Some("12.35951505")));
    // The session where starting over would have saved most.
    let top = &got["context_growth"]["top_sessions"][0];
    assert_eq!(top["session"], "dd99b95e-886d-42e7-9c16-1a1c73776596");
    assert_eq!(top["project"], "-home-dev-src-web");
    assert_eq!(top["avoidable_usd"], "2.87665755");
    assert_eq!(top["requests"], 52);
    assert_eq!(top["requests_list"].as_array().map(Vec::len), Some(52));
    assert_eq!(got["context_growth"]["sessions"], 6);
    // Model mix: one tier down (Opus 4.6 -> Sonnet 4.6, Sonnet 4.5 -> Haiku 4.5, ...), and all on Haiku 4.5.
    let down = &got["model_mix"]["tier_down"];
    assert_eq!((down["cost_usd"].as_str(), down["what_if_usd"].as_str()), (Some("12.35951505"), Some("5.82512328")));
    let opus = down["by_model"].as_array().unwrap().iter().find(|r| r["key"] == "claude-opus-4-6").unwrap();
    assert_eq!(opus["priced_on"], "claude-sonnet-4-6");
    assert_eq!(got["model_mix"]["what_if"]["what_if_usd"], "3.5926401");
    assert_eq!(got["model_mix"]["most_expensive"]["model"], "claude-opus-4-1-20250805");
    // Caching: the same reads at the input price.
    assert_eq!(got["caching"]["total"]["saved_usd"], "17.3513232");
    assert_eq!(got["caching"]["total"]["cache_read_tokens"], 5227306);
    // `--paths` names the app after the format (`claude-code`), not `paths`.
    let apps: Vec<&str> = got["caching"]["by_app"].as_array().unwrap().iter().filter_map(|a| a["key"].as_str()).collect();
    assert_eq!(apps, ["claude-code"]);
}

#[test]
fn config_working_hours_and_the_reload_cap() {
    let dir = tempfile::tempdir().unwrap();
    let projects = fixtures("claude-code").join("projects");
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "state_dir: {state}\ntimezone: UTC\naccounts:\n  - name: personal\n    auto_reload: {{ threshold_usd: '5', amount_usd: '20', monthly_cap_usd: '10' }}\n\
             sources:\n  - {{ name: cc, format: claude_code, paths: ['{glob}'], account: personal, app: claude-code }}\n\
             alerting:\n  working_hours: {{ days: mon-fri, start: '08:00', end: '19:00' }}\n",
            state = dir.path().join("state").display(),
            glob = glob(&projects)
        ),
    )
    .unwrap();
    let got = advise_json(&["--config", config.to_str().unwrap()]);
    let app = &got["apps"]["apps"][0];
    assert_eq!((app["app"].as_str(), app["cost_usd"].as_str()), (Some("claude-code"), Some("12.35951505")));
    assert_eq!(got["apps"]["working_hours"], true);
    let outside: rust_decimal::Decimal = app["outside_hours_usd"].as_str().unwrap().parse().unwrap();
    let listed: rust_decimal::Decimal = app["outside_hours_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["cost_usd"].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap())
        .sum();
    assert_eq!(outside, listed, "the figure is the sum of the requests listed");
    assert_eq!(app["outside_hours_usd"], "10.9555754");
    let limit = &got["limits"][0];
    assert_eq!(limit["account"], "personal");
    assert_eq!(
        (limit["month"].as_str(), limit["spend_usd"].as_str(), limit["closed"].as_bool()),
        (Some("2026-09"), Some("12.35951505"), Some(true))
    );
    assert_eq!((limit["monthly_cap_usd"].as_str(), limit["projected_over_cap_usd"].as_str()), (Some("10"), Some("2.35951505")));
    assert!(!dir.path().join("state").exists(), "advise is read-only: no state dir");
}

#[test]
fn an_empty_tree_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["--paths", &glob(dir.path())]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no requests found in 0 files (0 lines read): nothing to advise on\n");
}

#[test]
fn a_broken_line_is_counted_as_in_report() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(&fixtures("claude-code").join("projects"), dir.path());
    let file = dir.path().join("-home-dev-src-ml/46685257-bdd6-40fb-8667-1ad11c80317f.jsonl");
    common::append(&file, "{\"type\":\"assistant\",\"message\":{\"usage\":\n");
    let got = advise_json(&["--paths", &glob(dir.path())]);
    let report = Command::new(common::BIN).args(["report", "--json", "--paths", &glob(dir.path())]).output().unwrap();
    assert!(report.status.success());
    let out = run(&["--paths", &glob(dir.path())]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 of 480 lines could not be read"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!((got["lines"].as_u64(), got["error_lines"].as_u64(), got["requests"].as_u64()), (Some(480), Some(1), Some(154)));
}

#[test]
fn a_what_if_model_without_a_price_is_an_error() {
    let out = run(&["--paths", &glob(&fixtures("claude-code").join("projects")), "--what-if", "gpt-99-ultra"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no price for `gpt-99-ultra`"), "{}", String::from_utf8_lossy(&out.stderr));
}
