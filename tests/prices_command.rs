//! `creditwatch prices [MODEL]` through the real binary: the price and where
//! it came from — built-in, config, or the downloaded list's cache.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_creditwatch");

const CACHE: &str = r#"{"acme-new-model": {"input_cost_per_token": 1.5e-06, "output_cost_per_token": 6e-06, "cache_read_input_token_cost": 1.5e-07},
 "gpt-4o": {"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06}}"#;

fn prices(config: &std::path::Path, model: &str) -> (bool, String, String) {
    let out = Command::new(BIN).args(["prices", "--config"]).arg(config).arg(model).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn prices_names_the_origin_of_each_price() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    std::fs::write(state.join("prices-cache.json"), CACHE).unwrap();
    let config = dir.path().join("config.yaml");
    // Nothing listens on port 9: `prices` reads the cache and never downloads.
    let text = format!(
        "state_dir: {}\npricing: {{ url: \"http://127.0.0.1:9/prices.json\" }}\nprices:\n  acme-gpt-mini: {{ input_usd: \"0.15\", output_usd: \"0.60\" }}\n",
        state.display()
    );
    std::fs::write(&config, text).unwrap();

    let (ok, out, err) = prices(&config, "openrouter/acme-new-model");
    assert!(ok, "{err}");
    let cache = state.join("prices-cache.json");
    assert!(out.starts_with("openrouter/acme-new-model (as acme-new-model): input $1.5 output $6 cache write $1.5 (no cache-write price: as input) cache read $0.15 per million tokens (downloaded from http://127.0.0.1:9/prices.json, cached in "), "{out}");
    assert!(out.contains(&cache.display().to_string()), "{out}");

    let (ok, out, _) = prices(&config, "gpt-4o-2024-08-06");
    assert!(ok);
    assert_eq!(out, "gpt-4o-2024-08-06 (as gpt-4o): input $2.50 output $10 cache write $2.50 (no cache-write price: as input) cache read $1.25 per million tokens (built-in, list of 2026-12-01)\n");

    let (ok, out, _) = prices(&config, "acme-gpt-mini");
    assert!(ok);
    assert_eq!(out, "acme-gpt-mini: input $0.15 output $0.60 cache write $0.15 (no cache-write price: as input) cache read $0.15 per million tokens (config)\n");

    let (ok, _, err) = prices(&config, "mystery-9");
    assert!(!ok);
    assert!(err.contains("no price for `mystery-9`"), "{err}");
}

#[test]
fn prices_shows_the_rules_of_a_card() {
    let out = Command::new(BIN).args(["prices", "--config", "/nonexistent/creditwatch.yaml", "claude-haiku-5-5"]).output().unwrap();
    // An explicit config that does not exist is an error; without one the built-in table is used.
    assert!(!out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, format!("state_dir: {}\n", dir.path().join("state").display())).unwrap();
    let (ok, out, err) = prices(&config, "us.anthropic.claude-haiku-5-5-v1:0");
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "us.anthropic.claude-haiku-5-5-v1:0 (as claude-haiku-5-5): input $0.10 output $0.50 cache write 5m $0.125 1h $0.20 cache read $0.01 per million tokens, $0.01 per web search, US-only x1.1 (built-in, list of 2026-12-01)\n  \
         past 100000 prompt tokens: input $0.50 output $2.50 cache write 5m $0.625 1h $1 cache read $0.05\n"
    );
    let (ok, out, _) = prices(&config, "claude-sonnet-5-5");
    assert!(ok);
    assert!(out.contains("cache read $0.10 per million tokens, $0.01 per web search, US-only x1.1 (built-in"), "{out}");
    // The whole listing starts with the date of the built-in list.
    let all = Command::new(BIN).args(["prices", "--config"]).arg(&config).output().unwrap();
    assert!(String::from_utf8_lossy(&all.stdout).starts_with("built-in list prices as of 2026-12-01\nclaude-3-5-haiku: "));
    assert!(
        out.contains("\n  before 2026-10-07 00:00 UTC: input $2 output $10 cache write 5m $2.50 1h $4 cache read $0.20 per million"),
        "{out}"
    );
}

const LINE: &str = r#"{"type":"assistant","timestamp":"2026-11-20T10:00:00.000Z","sessionId":"s","requestId":"REQ","message":{"id":"MSG","model":"MODEL","usage":{"input_tokens":10,"output_tokens":5}}}"#;

fn check(config: &std::path::Path) -> (Option<i32>, String, String) {
    let out = Command::new(BIN).args(["prices", "--check", "--config"]).arg(config).output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn check_lists_every_model_of_the_sources_and_fails_on_an_unpriced_one() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("projects/p");
    std::fs::create_dir_all(&logs).unwrap();
    let lines: Vec<String> =
        [("1", "claude-opus-5-5"), ("2", "claude-opus-5-5"), ("3", "anthropic/claude-opus-4.8"), ("4", "acme-gpt-mini")]
            .iter()
            .map(|(n, model)| LINE.replace("REQ", &format!("req_{n}")).replace("MSG", &format!("msg_{n}")).replace("MODEL", model))
            .collect();
    std::fs::write(logs.join("s.jsonl"), lines.join("\n") + "\n").unwrap();
    let config = dir.path().join("config.yaml");
    let write_config = |prices: &str| {
        let text = format!(
            "state_dir: {}\naccounts:\n  - {{ name: a, opening_balance_usd: \"10\", opening_balance_as_of: \"2026-11-01T00:00:00Z\" }}\nsources:\n  - {{ name: cc, format: claude_code, account: a, paths: [\"{}/projects/**/*.jsonl\"] }}\n{prices}",
            dir.path().join("state").display(),
            dir.path().display()
        );
        std::fs::write(&config, text).unwrap();
    };
    write_config("");
    let (code, out, err) = check(&config);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.contains("\nacme-gpt-mini (1 requests): NO PRICE, booked at $0\n"), "{out}");
    assert!(out.contains("\nanthropic/claude-opus-4.8 (1 requests, as claude-opus-4-8): input $5 output $25"), "{out}");
    assert!(out.contains("\nclaude-opus-5-5 (2 requests): input $4 output $20 cache write 5m $5 1h $8 cache read $0.20 per million tokens, $0.01 per web search, fast mode x2, US-only x1.1 (built-in, list of 2026-12-01)\n"), "{out}");
    assert!(out.contains("3 models in 1 files"), "{out}");
    assert!(err.contains("1 of 3 models have no price: acme-gpt-mini"), "{err}");

    write_config("prices:\n  acme-gpt-mini: { input_usd: \"0.15\", output_usd: \"0.60\" }\n");
    let (code, out, err) = check(&config);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("\nacme-gpt-mini (1 requests): input $0.15 output $0.60"), "{out}");
    assert!(out.contains("(config)"), "{out}");
}
