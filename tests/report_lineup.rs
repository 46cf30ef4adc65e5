//! `report --json` on `shared/fixtures/claude-code-lineup/` (the December
//! 2026 lineup with fast mode, US-only inference, Haiku 5.5's prompt tier,
//! Sonnet 5.5's dated cache read, web searches) reproduces every figure of
//! its `expected.json`: requests, total, by model, by UTC day.

mod common;

use common::fixture::{costs, dec, Fixture};

const FIXTURE: Fixture = Fixture("claude-code-lineup");

#[test]
fn requests_and_total() {
    let want = FIXTURE.expected();
    let got = FIXTURE.report(&["--by", "model"]);
    assert_eq!(got["totals"]["requests"], want["requests"]);
    assert_eq!(dec(&got["totals"]["cost_usd"]), dec(&want["total_usd"]));
    assert_eq!(got["totals"]["unpriced_requests"], 0);
}

#[test]
fn by_model() {
    assert_eq!(costs(&FIXTURE.report(&["--by", "model"])), FIXTURE.expected_map("by_model_usd"));
}

#[test]
fn by_utc_day() {
    assert_eq!(costs(&FIXTURE.report(&["--by", "day", "--tz", "UTC"])), FIXTURE.expected_map("by_day_utc_usd"));
}

#[test]
fn sessions() {
    let got = FIXTURE.report(&["--by", "session"]);
    assert_eq!(got["groups"].as_array().map(Vec::len), FIXTURE.expected()["sessions"].as_u64().map(|n| n as usize));
}
