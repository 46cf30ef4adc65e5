//! A shared fixture folder (`../shared/fixtures/NAME`) read by `report --json`
//! and its `expected.json`, for the tests that reproduce a fixture's figures.

use std::path::PathBuf;
use std::process::Command;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

pub struct Fixture(pub &'static str);

impl Fixture {
    pub fn dir(&self) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures").join(self.0)
    }

    /// `report --json ARGS` over the fixture's Claude Code projects.
    pub fn report(&self, args: &[&str]) -> Value {
        let glob = format!("{}/projects/**/*.jsonl", self.dir().display());
        let out = Command::new(super::BIN).args(["report", "--paths", &glob, "--json"]).args(args).output().expect("run report");
        assert!(out.status.success(), "report failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("report --json is JSON")
    }

    pub fn expected(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.dir().join("expected.json")).expect("expected.json")).expect("JSON")
    }

    /// An object of `expected.json` as (key, money) pairs.
    pub fn expected_map(&self, key: &str) -> Vec<(String, Decimal)> {
        self.expected()[key].as_object().expect(key).iter().map(|(k, v)| (k.clone(), dec(v))).collect()
    }
}

pub fn dec(v: &Value) -> Decimal {
    Decimal::from_str(v.as_str().expect("money is a decimal string")).expect("a decimal")
}

/// Group key -> cost.
pub fn costs(report: &Value) -> Vec<(String, Decimal)> {
    report["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| (g["key"].as_str().unwrap_or_default().to_string(), dec(&g["cost_usd"])))
        .collect()
}
