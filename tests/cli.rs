//! The command line as users meet it: check-config, --version, prices.

mod common;

use std::process::Command;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(common::BIN).args(args).output().expect("run creditwatch");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn check_config_accepts_the_shipped_config() {
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/config.yaml");
    let (code, out, err) = run(&["check-config", "--config", shipped]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("is valid") && out.contains("account    personal") && out.contains("source     claude-code"), "{out}");
}

#[test]
fn check_config_names_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, "listen: \"127.0.0.1:9947\"\naccounts:\n  - name: a\n    opening_balance_usd: \"12,50\"\n").unwrap();
    let (code, _, err) = run(&["check-config", "--config", path.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    let want = format!("{}:4: accounts[0].opening_balance_usd: `12,50` is not a decimal amount", path.display());
    assert!(err.contains(&want), "{err}");
    let (code, _, err) = run(&["check-config", "--config", "/nonexistent/creditwatch.yaml"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("/nonexistent/creditwatch.yaml: cannot read"), "{err}");
}

#[test]
fn version_and_prices() {
    let (code, out, _) = run(&["--version"]);
    assert_eq!(code, Some(0));
    assert!(out.starts_with(&format!("creditwatch {} (revision ", env!("CARGO_PKG_VERSION"))), "{out}");
    let (code, out, _) = run(&["prices", "--config", concat!(env!("CARGO_MANIFEST_DIR"), "/config.yaml"), "claude-sonnet-4-5-20250929"]);
    assert_eq!(code, Some(0));
    assert!(out.starts_with("claude-sonnet-4-5-20250929 (as claude-sonnet-4-5): input $3 output $15"), "{out}");
    assert!(out.contains("past 200000 prompt tokens: input $6 output $22.50"), "{out}");
    let (code, _, err) = run(&["prices", "--config", concat!(env!("CARGO_MANIFEST_DIR"), "/config.yaml"), "mystery-model"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("no price for `mystery-model`"), "{err}");
}
